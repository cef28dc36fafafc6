/**
 * Running an exported graph (graph.ts) on ONNX Runtime (onnxruntime-node): the inference path of
 * SentenceTransformer.encode when the model is not being trained. Measured on a MiniLM-L6-sized BERT it is
 * 2-3x faster than PyTorch on one thread, where our tfjs forward pass is about 1.5x slower (bench/encode.ts).
 *
 * onnxruntime-node is loaded on first use; when it cannot be (not installed, no binary for this platform),
 * onnxRuntimeInfo() says why and encode stays on tfjs. Threads follow the machine: one intra-op thread per
 * CPU that Node reports (os.availableParallelism), unless COURSE_ONNX_THREADS or `threads` says otherwise.
 *
 * Idle intra-op threads do not spin (session option intra_op.allow_spinning = 0): ONNX Runtime's default keeps them
 * busy-waiting between operators, which on a machine whose cores are shared (a notebook kernel beside other work, a
 * server beside its clients, the course's 2-core box) takes CPU from the threads doing the work. Measured with
 * 2 threads under load (scratch A/B, bench model, 300 sentences, ABBA): 0.72-0.78x the time for fp32, 0.63x for int8;
 * with 1 thread it changes nothing. `spinning: true` restores the default (a few per cent on an idle dedicated box).
 */
import { availableParallelism } from "node:os";
import { getConfig } from "../../env";
import type { TokenizedBatch } from "../types";

type Ort = typeof import("onnxruntime-node");
type Session = import("onnxruntime-node").InferenceSession;

export interface OnnxRuntimeInfo {
  /** onnxruntime-node loaded. */
  available: boolean;
  /** Its version, when it loaded. */
  version?: string;
  /** Why it is or is not used, in words. */
  reason: string;
}

let ort: Ort | undefined;
let ortInfo: OnnxRuntimeInfo | undefined;

/** Loads onnxruntime-node once; undefined (with the reason in onnxRuntimeInfo()) when it cannot be loaded. */
export function loadOnnxRuntime(): Ort | undefined {
  if (ortInfo) return ort;
  try {
    ort = require("onnxruntime-node") as Ort;
    const version = ort.env.versions?.node ?? ort.env.versions?.common ?? "?";
    ortInfo = { available: true, version, reason: `onnxruntime-node ${version}` };
  } catch (err) {
    ortInfo = {
      available: false,
      reason: `onnxruntime-node cannot be loaded (${(err as Error).message.split("\n")[0]}); run npm install`,
    };
  }
  return ort;
}

export function onnxRuntimeInfo(): OnnxRuntimeInfo {
  loadOnnxRuntime();
  return ortInfo as OnnxRuntimeInfo;
}

/** Intra-op threads a new session gets: COURSE_ONNX_THREADS, else one per CPU (os.availableParallelism()). */
export function defaultOnnxThreads(): number {
  return getConfig().onnxThreads ?? availableParallelism();
}

function int64(values: Int32Array): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]);
  return out;
}

/**
 * An ONNX Runtime session with this module's options (CPU, all graph optimisations, `threads` intra-op threads
 * (default defaultOnnxThreads()), no spinning unless asked); shared by every graph this project runs.
 */
export async function createOnnxSession(
  bytes: Uint8Array,
  options: { threads?: number; spinning?: boolean } = {},
): Promise<{ session: Session; threads: number }> {
  const runtime = loadOnnxRuntime();
  if (!runtime) throw new Error(`ONNX Runtime: ${onnxRuntimeInfo().reason}`);
  const threads = options.threads ?? defaultOnnxThreads();
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError(`ONNX Runtime: threads ${threads} must be a positive integer.`);
  const session = await runtime.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    extra: { session: { "intra_op.allow_spinning": options.spinning ? "1" : "0" } },
  });
  return { session, threads };
}

/** An ONNX Runtime session of an exported sentence-transformer graph. */
export class OnnxEncoder {
  readonly threads: number;
  /** Output width of sentence_embedding. */
  readonly dim: number;
  private session: Session | undefined;

  private constructor(session: Session, threads: number, dim: number) {
    this.session = session;
    this.threads = threads;
    this.dim = dim;
  }

  /** A session for the serialised ModelProto `bytes`; `dim` is the width of its sentence_embedding output. */
  static async create(
    bytes: Uint8Array,
    dim: number,
    options: { threads?: number; spinning?: boolean } = {},
  ): Promise<OnnxEncoder> {
    const { session, threads } = await createOnnxSession(bytes, options);
    for (const name of ["input_ids", "attention_mask", "token_type_ids"])
      if (!session.inputNames.includes(name))
        throw new Error(`ONNX Runtime: the graph has no input "${name}" (inputs: ${session.inputNames.join(", ")}).`);
    return new OnnxEncoder(session, threads, dim);
  }

  /** Sentence embeddings of one batch through a session of `bytes` opened for it (one thread) and released. */
  static async embedOnce(bytes: Uint8Array, dim: number, batch: TokenizedBatch): Promise<Float32Array> {
    const session = await OnnxEncoder.create(bytes, dim, { threads: 1 });
    try {
      return await session.sentenceEmbeddings(batch);
    } finally {
      await session.release();
    }
  }

  private feeds(batch: TokenizedBatch): Record<string, import("onnxruntime-node").Tensor> {
    const runtime = ort as Ort;
    const dims = [batch.batchSize, batch.seqLen];
    return {
      input_ids: new runtime.Tensor("int64", int64(batch.inputIds), dims),
      attention_mask: new runtime.Tensor("int64", int64(batch.attentionMask), dims),
      token_type_ids: new runtime.Tensor("int64", int64(batch.tokenTypeIds), dims),
    };
  }

  private live(): Session {
    if (!this.session) throw new Error("OnnxEncoder: the session was released");
    return this.session;
  }

  /** Sentence embeddings of a padded batch, [batchSize * dim] row-major (the graph's sentence_embedding). */
  async sentenceEmbeddings(batch: TokenizedBatch): Promise<Float32Array> {
    if (batch.batchSize * batch.seqLen === 0) return new Float32Array(batch.batchSize * this.dim);
    const out = await this.live().run(this.feeds(batch), ["sentence_embedding"]);
    return out.sentence_embedding.data as Float32Array;
  }

  /** Token embeddings [batchSize * seqLen * hidden] (the graph's last_hidden_state), for checks against tfjs. */
  async lastHiddenState(batch: TokenizedBatch): Promise<Float32Array> {
    const out = await this.live().run(this.feeds(batch), ["last_hidden_state"]);
    return out.last_hidden_state.data as Float32Array;
  }

  async release(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }
}
