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
 * Runtimes: a Transformer model encodes on ONNX Runtime (onnxruntime-node) whenever it is not being trained, with
 * a graph of exactly its current weights; while training, for StaticEmbedding models, with a GPU or COURSE_ONNX=0 it
 * encodes on tfjs. That policy, the session cache and its staleness, and the folder's graph files (onnx/model.onnx,
 * and onnx/model_quantized.onnx for `loadModel(folder, { dtype: "q8" })`) are ./onnx/runtime.ts; what a spec names
 * (the offline models, a folder, a Hub id) is ./load.ts.
 */
import { resolve } from "node:path";
import { backendInfo, initBackend, tf } from "../backend";
import { getConfig } from "../env";
import { l2NormalizeRows } from "../math";
import { nativeMatMulInfo } from "../native/kernels";
import type { TransformerEncoder } from "./encoder";
import { writeModelFolder, type ModelFolder, type WriteModelOptions } from "./folder";
import {
  modelFolderParts,
  offlineModelParts,
  resolveModel,
  type LoadOptions,
  type OfflineModelName,
  type ResolvedModel,
  type SentenceTransformerParts,
} from "./load";
import { buildOnnxModel } from "./onnx/graph";
import { ONNX_QUANTIZED_FILE, onnxForFolder, type OnnxFileStatus } from "./onnx/folder";
import { describeQuantizedCheck, quantizeVerified } from "./onnx/quantize";
import {
  ModelOnnxRuntime,
  TFJS_ENCODE_SPEED,
  type EncodeRuntime,
  type EncodeRuntimeChoice,
  type ModelDtype,
} from "./onnx/runtime";
import type { OnnxEncoder } from "./onnx/session";
import { l2Normalize, pool, pooledDimension, poolingModes } from "./pooling";
import type { StaticEmbedding } from "./static-embedding";
import type { Tokenizer } from "./tokenizer";
import type {
  Embedder,
  Embeddings,
  EncodeOptions,
  PoolingConfig,
  TokenizedBatch,
  TransformerConfig,
  WeightMap,
} from "./types";

export {
  OFFLINE_MODEL_NAMES,
  folderModelName,
  type LoadOptions,
  type OfflineModelName,
  type SentenceTransformerParts,
} from "./load";
export { onnxForFolder } from "./onnx/folder";
export { TFJS_ENCODE_SPEED, type EncodeRuntime, type EncodeRuntimeChoice, type ModelDtype } from "./onnx/runtime";

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

export interface SaveOptions {
  /** Also write onnx/model.onnx (the transformers.js / Hub layout), built from the weights being saved. */
  onnx?: boolean;
  /** With onnx: also onnx/model_quantized.onnx (int8, transformers.js' dtype "q8"), checked against fp32 first. */
  quantize?: "int8";
}

export const OFFLINE_HINT =
  "embedded offline default — set COURSE_MODEL or call loadModel('BAAI/bge-small-en-v1.5') for a Hub model";

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
  /** The ONNX Runtime side: engine choice, session cache, the folder's graph files (./onnx/runtime.ts). */
  private readonly onnx = new ModelOnnxRuntime(this);
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

  /** The folder's onnx/model.onnx as found at load time (undefined when the model was not loaded from a folder). */
  get onnxFile(): OnnxFileStatus | undefined {
    return this.onnx.file;
  }

  /** "q8": encode on ONNX Runtime runs the int8 graph (loadModel(folder, { dtype: "q8" })). */
  get dtype(): ModelDtype {
    return this.onnx.dtype;
  }

  /** The folder's onnx/model_quantized.onnx, when loaded with dtype "q8". */
  get onnxQuantizedFile(): OnnxFileStatus | undefined {
    return this.onnx.quantizedFile;
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

  /** The runtime encode() would use now with these options, and why (./onnx/runtime.ts). */
  encodeRuntime(options: Pick<EncodeOptions, "runtime" | "normalize"> = {}): EncodeRuntimeChoice {
    return this.onnx.choose(options);
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

  /** The ONNX Runtime session for the current weights (reused until they change; ./onnx/runtime.ts). */
  onnxEncoder(options: { threads?: number } = {}): Promise<OnnxEncoder> {
    return this.onnx.encoder(options);
  }

  /** Encode with the folder's onnx/model_quantized.onnx (dtype "q8"); throws when it is missing, stale or not ours. */
  useQuantizedFile(dir: string, weights: WeightMap): OnnxFileStatus {
    return this.onnx.useQuantizedFile(dir, weights);
  }

  /** Records the folder's onnx/model.onnx (loadModel calls this): used when fresh, reported and unused when stale. */
  attachOnnxFile(dir: string, weights: WeightMap): OnnxFileStatus | undefined {
    return this.onnx.attachFile(dir, weights);
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
    const { session, runtime, dtype, graph } = await this.onnx.open(options);
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
      dtype,
    };
    if (session) stats.onnxGraph = graph;
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
    this.onnx.release();
    this.encoder?.dispose();
    this.staticEmbedding?.dispose();
  }
}

/** Builds a SentenceTransformer from folder data (weights move into tfjs variables). */
export function fromModelFolder(folder: ModelFolder, name: string, source: string): SentenceTransformer {
  return new SentenceTransformer(modelFolderParts(folder, name, source));
}

/** An embedded offline model (the registry is ./load.ts: "offline", "offline-random", "offline-bert"). */
export function offlineModel(which: OfflineModelName = "offline"): SentenceTransformer {
  return new SentenceTransformer(offlineModelParts(which));
}

/**
 * Loads a model: "offline" (embedded, pretrained on WordNet) / "offline-random" / "offline-bert" (embedded, random), a local folder, or a Hub id ("org/name", optionally
 * "org/name@revision") downloaded once into the Hugging Face cache. Default: COURSE_MODEL (else "offline").
 */
export async function loadModel(
  idOrPath: string = getConfig().model,
  options: LoadOptions = {},
): Promise<SentenceTransformer> {
  return withOnnxFile(await resolveModel(idOrPath, options));
}

/** The model, then a folder's onnx/model.onnx (and, for "q8", model_quantized.onnx) checked against its weights. */
function withOnnxFile({ parts, folder }: ResolvedModel): SentenceTransformer {
  const model = new SentenceTransformer(parts);
  if (!folder) return model;
  const { dir, data, dtype } = folder;
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
