/**
 * The ONNX Runtime side of one SentenceTransformer: which engine encode() runs on and why, the session it reuses,
 * when that session is stale, the folder's graph files, and what happens when ONNX Runtime fails.
 *
 * Runtimes: a Transformer model encodes on ONNX Runtime (onnxruntime-node, ./session.ts) whenever it is not being
 * trained: the graph is built from the current tfjs weights (graph.ts), or read from the folder's onnx/model.onnx when
 * that file was made from exactly these weights (onnx/model_fused.onnx first, when exportOnnx({ fused: true }) wrote it
 * and ONNX Runtime accepts it; fused.ts), and rebuilt whenever the weights change, so it is never stale. The
 * weights are known by identity: training assigns new tensors to the variables, so the tfjs tensors (dataIds) a
 * session or a file was made from differ from the variables' current ones once a step has run. While `training` is
 * set (the trainer sets it), and for StaticEmbedding models (a table lookup and a mean, fast on tfjs already), encode
 * runs on tfjs. With a GPU (tfjs-node-gpu) encode stays on tfjs, which then computes on the GPU (onnxruntime-node runs
 * on the CPU). `encode(texts, { runtime: "tfjs" })` forces tfjs; COURSE_ONNX=0 turns ONNX Runtime off.
 *
 * dtype "q8" (transformers.js' option name; loadModel(folder, { dtype: "q8" })): the folder's
 * onnx/model_quantized.onnx (int8 dynamic quantization, quantize.ts), used while the weights are those it was made
 * from; after they change (training) the int8 graph is made again from them in memory, checked the same way.
 *
 * Failures: when ONNX Runtime fails for a model that did not insist on it, encode says so once and stays on tfjs
 * for that model from then on; encode on tfjs where the user did not ask for it says so once per model, with what it
 * costs (TFJS_ENCODE_SPEED). The tfjs path always computes in fp32, and says so.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { runsOnGpu } from "../../backend";
import { getConfig } from "../../env";
import type { TransformerEncoder } from "../encoder";
import type { EncodeOptions, PoolingConfig, TokenizedBatch, WeightMap } from "../types";
import { ONNX_QUANTIZED_FILE, onnxFileStatus, type OnnxFileStatus } from "./folder";
import { freshFusedFiles, openPreferringFused } from "./fused";
import { describeQuantizedCheck, quantizeVerified } from "./quantize";
import { OnnxEncoder, onnxRuntimeInfo } from "./session";

/** Weight precision encode runs at, in transformers.js' names: "fp32", or "q8" (int8, onnx/model_quantized.onnx). */
export type ModelDtype = "fp32" | "q8";

/** Which engine runs encode's forward passes. */
export type EncodeRuntime = "tfjs" | "onnxruntime";

/** encode's runtime for this model now, and why. */
export interface EncodeRuntimeChoice {
  runtime: EncodeRuntime;
  reason: string;
}

/**
 * What the tfjs encode path costs, measured (bench/ONNX-NOTES.md, `npm run bench -- encode`, MiniLM-L6-sized BERT,
 * 2,000 sentences, 1 thread, 2026-12-04): tfjs + native BLAS 23.6 s, ONNX Runtime 12.4 s, PyTorch 13.2 s.
 */
export const TFJS_ENCODE_SPEED =
  "tfjs encodes about 1.9x slower than ONNX Runtime fp32 and 1.8x PyTorch's time on one thread, and 4-5x slower " +
  "than ONNX Runtime int8 (MiniLM-sized BERT, bench/ONNX-NOTES.md)";

/** What the runtime reads of its model (a SentenceTransformer passes itself). */
export interface OnnxRuntimeModel {
  readonly name: string;
  readonly dim: number;
  readonly normalize: boolean;
  readonly training: boolean;
  readonly encoder: TransformerEncoder | undefined;
  readonly pooling: PoolingConfig | undefined;
  readonly tokenizer: { encodeBatch(texts: string[]): TokenizedBatch };
  /** The graph of the current weights. */
  toOnnx(): Uint8Array;
}

/** What encode runs its batches with: a session (ONNX Runtime) or none (tfjs). */
export interface EncodeSession {
  session: OnnxEncoder | undefined;
  runtime: EncodeRuntime;
  dtype: ModelDtype;
  /** With a session: where its graph came from (a file, or built from the current weights). */
  graph?: string;
}

export class ModelOnnxRuntime {
  /** "q8": encode on ONNX Runtime runs the int8 graph (loadModel(folder, { dtype: "q8" })). */
  dtype: ModelDtype = "fp32";
  /** The folder's onnx/model.onnx as found at load time (undefined when the model was not loaded from a folder). */
  file: OnnxFileStatus | undefined;
  /** The folder's onnx/model_quantized.onnx, when loaded with dtype "q8". */
  quantizedFile: OnnxFileStatus | undefined;
  /** The ONNX Runtime session and the tfjs tensors (dataIds) of the weights it was built from. */
  private session: { encoder: Promise<OnnxEncoder>; dataIds: object[]; source: string; dtype: ModelDtype } | undefined;
  /** Weights (dataIds) the fresh onnx/model.onnx on disk was made from. */
  private fileDataIds: object[] | undefined;
  /** Weights (dataIds) onnx/model_quantized.onnx was made from. */
  private quantizedDataIds: object[] | undefined;
  /** The folder's fresh onnx/model_fused*.onnx (fused.ts) and the weights (dataIds) they were made from. */
  private fusedFiles: { fp32?: string; q8?: string; dataIds: object[] } | undefined;
  /** Why ONNX Runtime refused the fused graph, after which encode uses the plain one. */
  private fusedRefused: string | undefined;
  /** Why ONNX Runtime failed for this model, after which encode stays on tfjs. */
  private failure: string | undefined;
  /** The tfjs speed warning was printed for this model. */
  private tfjsWarned = false;

  constructor(private readonly model: OnnxRuntimeModel) {}

  /** The tfjs tensors the model's weights are now. */
  private weightIds(): object[] {
    return (this.model.encoder as TransformerEncoder).trainableVariables().map((v) => v.dataId as object);
  }

  /** The runtime encode() would use now with these options, and why (see the header comment). */
  choose(options: Pick<EncodeOptions, "runtime" | "normalize"> = {}): EncodeRuntimeChoice {
    const m = this.model;
    const asked = options.runtime ?? "auto";
    if (asked !== "auto" && asked !== "tfjs" && asked !== "onnxruntime")
      throw new Error(`encode: runtime "${String(asked)}" must be "auto", "tfjs" or "onnxruntime".`);
    if (asked === "tfjs") return { runtime: "tfjs", reason: 'asked for (runtime: "tfjs")' };
    const cannot = (why: string): EncodeRuntimeChoice => {
      if (asked === "onnxruntime") throw new Error(`${m.name}: encode on ONNX Runtime is not possible: ${why}.`);
      return { runtime: "tfjs", reason: why };
    };
    if (!m.encoder)
      return cannot(
        "a StaticEmbedding model (a table lookup and a mean) has no ONNX graph; it is fast on tfjs already",
      );
    const normalize = options.normalize ?? m.normalize;
    if (m.normalize && !normalize) return cannot("normalize: false on a model whose graph ends with Normalize");
    if (asked === "auto") {
      if (m.training) return { runtime: "tfjs", reason: "the model is being trained" };
      if (!getConfig().onnx) return { runtime: "tfjs", reason: "COURSE_ONNX=0" };
      // onnxruntime-node computes on the CPU: with a GPU under tfjs, tfjs is the faster path.
      if (runsOnGpu()) return { runtime: "tfjs", reason: "tfjs runs on the GPU (@tensorflow/tfjs-node-gpu)" };
    }
    const info = onnxRuntimeInfo();
    if (!info.available) return cannot(info.reason);
    if (this.failure) return cannot(`ONNX Runtime failed for this model earlier (${this.failure})`);
    return {
      runtime: "onnxruntime",
      reason:
        (asked === "auto" ? `not training; ${info.reason}` : `asked for; ${info.reason}`) +
        (this.dtype === "q8" ? `; int8 graph, dtype "q8" (${ONNX_QUANTIZED_FILE})` : ""),
    };
  }

  /**
   * encode's engine for one call: a session when choose() picks ONNX Runtime and it opens; when it fails and the
   * caller did not insist on it, tfjs (said once, and kept for this model). Encoding on tfjs unasked is said once.
   */
  async open(options: Pick<EncodeOptions, "runtime" | "normalize" | "threads">): Promise<EncodeSession> {
    const m = this.model;
    let { runtime } = this.choose(options);
    let session: OnnxEncoder | undefined;
    if (runtime === "onnxruntime") {
      try {
        session = await this.encoder({ threads: options.threads });
      } catch (err) {
        if (options.runtime === "onnxruntime") throw err;
        this.failure = (err as Error).message.split("\n")[0];
        console.warn(`${m.name}: ONNX Runtime failed (${this.failure}); encoding on tfjs.`);
        runtime = "tfjs";
      }
    }
    if (session) return { session, runtime, dtype: this.dtype, graph: this.session?.source };
    if (m.encoder && options.runtime !== "tfjs" && !m.training && !this.tfjsWarned) {
      // Said once per model, where tfjs is chosen although the user did not ask for it.
      this.tfjsWarned = true;
      console.warn(
        `${m.name}: encoding on tfjs (${this.choose({ runtime: "auto" }).reason})` +
          `${this.dtype === "q8" ? ' in fp32 (dtype "q8" needs ONNX Runtime)' : ""}: ${TFJS_ENCODE_SPEED}.`,
      );
    }
    return { session: undefined, runtime, dtype: "fp32" };
  }

  /**
   * The ONNX Runtime session for the current weights: reused while the weights are those it was built from,
   * rebuilt (from the variables, or from a fresh onnx/model.onnx) when they changed.
   */
  async encoder(options: { threads?: number } = {}): Promise<OnnxEncoder> {
    if (!this.model.encoder) throw new Error(`${this.model.name}: a StaticEmbedding model has no ONNX graph.`);
    const dataIds = this.weightIds();
    const same = (ids: object[] | undefined) =>
      ids !== undefined && ids.length === dataIds.length && ids.every((id, i) => id === dataIds[i]);
    const current = this.session;
    if (current && same(current.dataIds) && current.dtype === this.dtype) {
      const enc = await current.encoder;
      if (options.threads === undefined || options.threads === enc.threads) return enc;
    }
    this.session = undefined;
    if (current)
      void current.encoder.then(
        (e) => e.release(),
        () => undefined,
      );
    const session = { encoder: undefined as unknown as Promise<OnnxEncoder>, dataIds, source: "", dtype: this.dtype };
    const opened = openPreferringFused(
      this.fusedRefused ? undefined : async () => this.fusedGraph(same),
      () => this.graphBytes(same),
      (bytes) => OnnxEncoder.create(bytes, this.model.dim, options),
      (reason) => {
        this.fusedRefused = reason;
        console.warn(
          `${this.model.name}: ONNX Runtime refused the fused graph (${reason}); encoding with the plain graph.`,
        );
      },
    );
    const encoder = opened.then((o) => {
      session.source = o.source;
      return o.encoder;
    });
    session.encoder = encoder;
    this.session = session;
    try {
      return await encoder;
    } catch (err) {
      if (this.session?.encoder === encoder) this.session = undefined;
      throw err;
    }
  }

  /**
   * The folder's fused graph (fused.ts; exportOnnx(folder, { fused: true }) writes it) for the dtype, when it was
   * made from the current weights; otherwise undefined and the plain graph is used (built in memory when the weights
   * changed: the fused kernels measured no faster than ONNX Runtime's own fusions of the plain graph in fp32, and
   * slower in int8, bench/ONNX-NOTES.md).
   */
  private fusedGraph(same: (ids: object[] | undefined) => boolean): { bytes: Uint8Array; source: string } | undefined {
    const files = this.fusedFiles;
    const file = same(files?.dataIds) ? (this.dtype === "q8" ? files?.q8 : files?.fp32) : undefined;
    return file ? { bytes: readFileSync(file), source: file } : undefined;
  }

  /** The graph for the current weights and dtype: the folder's file when it was made from them, else built now. */
  private async graphBytes(
    same: (ids: object[] | undefined) => boolean,
  ): Promise<{ bytes: Uint8Array; source: string }> {
    const m = this.model;
    if (this.dtype === "q8") {
      const file = this.quantizedFile;
      if (file?.state === "fresh" && same(this.quantizedDataIds))
        return { bytes: readFileSync(file.path), source: file.path };
      const q = await quantizeVerified(
        m.toOnnx(),
        (texts) => m.tokenizer.encodeBatch(texts),
        m.dim,
        `${m.name} (int8 graph of the current weights)`,
      );
      console.log(
        `${m.name}: the weights changed since ${ONNX_QUANTIZED_FILE} was written; quantized them again: ${describeQuantizedCheck(q)}`,
      );
      return { bytes: q.bytes, source: "int8, quantized in memory from the current weights" };
    }
    if (this.file?.state === "fresh" && same(this.fileDataIds))
      return { bytes: readFileSync(this.file.path), source: this.file.path };
    return { bytes: m.toOnnx(), source: "built from the current weights" };
  }

  /** The parts a folder's graph file is checked against: the model's config, pooling and head, these weights. */
  private graphParts(weights: WeightMap) {
    const encoder = this.model.encoder as TransformerEncoder;
    return {
      config: encoder.config,
      weights,
      pooling: this.model.pooling as PoolingConfig,
      normalize: this.model.normalize,
    };
  }

  /**
   * Switches encode to the folder's onnx/model_quantized.onnx (loadModel(folder, { dtype: "q8" }) calls this).
   * Throws, naming the command that makes the file, when it is missing, stale or not ours.
   */
  useQuantizedFile(dir: string, weights: WeightMap): OnnxFileStatus {
    const make = `npm run cli -- export-onnx ${dir} --quantize int8 (in code: exportOnnx("${dir}", { quantize: "int8" }))`;
    if (!this.model.encoder)
      throw new Error(
        `${this.model.name}: dtype "q8" needs a Transformer model; a StaticEmbedding model has no ONNX graph.`,
      );
    const status = onnxFileStatus(dir, this.graphParts(weights), undefined, ONNX_QUANTIZED_FILE);
    if (status.state === "missing")
      throw new Error(`${status.path} does not exist, and dtype "q8" encodes with it. Make it with ${make}.`);
    if (status.state === "stale")
      throw new Error(
        `${status.reason}. Make it again from these weights with npm run cli -- export-onnx ${dir} --quantize int8 ` +
          `--force (in code: exportOnnx("${dir}", { quantize: "int8", force: true })).`,
      );
    if (status.state === "foreign")
      throw new Error(
        `${status.reason}. Replace it with ours: npm run cli -- export-onnx ${dir} --quantize int8 --overwrite-foreign.`,
      );
    this.quantizedFile = status;
    this.quantizedDataIds = this.weightIds();
    this.dtype = "q8";
    return status;
  }

  /**
   * Records the folder's onnx/model.onnx (loadModel calls this): a fresh file is used for the first ONNX Runtime
   * session; a stale one is reported and never used.
   */
  attachFile(dir: string, weights: WeightMap): OnnxFileStatus | undefined {
    if (!this.model.encoder) return undefined;
    this.fusedFiles = { ...freshFusedFiles(dir, this.graphParts(weights)), dataIds: this.weightIds() };
    if (!existsSync(resolve(dir, "onnx", "model.onnx"))) {
      this.file = undefined;
      return undefined;
    }
    this.file = onnxFileStatus(dir, this.graphParts(weights));
    this.fileDataIds = this.file.state === "fresh" ? this.weightIds() : undefined;
    if (this.file.state === "stale")
      console.warn(
        `${this.model.name}: ${this.file.reason}. It is not used: encoding builds a graph from model.safetensors. ` +
          "Refresh the file with exportOnnx(folder) (or save(folder, { onnx: true })).",
      );
    return this.file;
  }

  /** Lets the session go (its native memory is freed once it is no longer running). */
  release(): void {
    const session = this.session;
    this.session = undefined;
    if (session)
      void session.encoder.then(
        (e) => e.release(),
        () => undefined,
      );
  }
}
