/**
 * Types shared by the model modules (declared once, reused): weights as read from safetensors,
 * the transformer config read from config.json, a tokenized batch, and sentence-transformers'
 * pooling config (1_Pooling/config.json, field names kept as Python writes them).
 */

/** A tensor held in memory as float32, whatever dtype it had on disk (fp32, fp16, bf16 are widened). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Weights keyed by Hugging Face parameter names, e.g. "encoder.layer.0.attention.self.query.weight". */
export type WeightMap = Map<string, HostTensor>;

export type Architecture = "bert" | "roberta";

/** What the encoder needs from config.json (Hugging Face names in comments). */
export interface TransformerConfig {
  architecture: Architecture; // model_type
  vocabSize: number; // vocab_size
  hiddenSize: number; // hidden_size
  numHiddenLayers: number; // num_hidden_layers
  numAttentionHeads: number; // num_attention_heads
  intermediateSize: number; // intermediate_size
  hiddenAct: "gelu" | "gelu_new" | "relu"; // hidden_act
  maxPositionEmbeddings: number; // max_position_embeddings
  typeVocabSize: number; // type_vocab_size
  layerNormEps: number; // layer_norm_eps
  padTokenId: number; // pad_token_id (RoBERTa position ids start after it)
  /** The whole config.json as read, written back unchanged (apart from edits we make on purpose) by save(). */
  raw: Record<string, unknown>;
}

/** A batch padded to its longest member; row-major [batchSize, seqLen]. */
export interface TokenizedBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
  /** How many inputs of this batch were cut to max_seq_length. */
  truncated: number;
}

/** 1_Pooling/config.json as sentence-transformers writes it. */
export interface PoolingConfig {
  word_embedding_dimension: number;
  pooling_mode_cls_token: boolean;
  pooling_mode_mean_tokens: boolean;
  pooling_mode_max_tokens: boolean;
  pooling_mode_mean_sqrt_len_tokens: boolean;
  pooling_mode_weightedmean_tokens?: boolean;
  pooling_mode_lasttoken?: boolean;
  include_prompt?: boolean;
}

/** Embeddings of `count` texts, row-major: row i is data.subarray(i * dim, (i + 1) * dim). */
export interface Embeddings {
  count: number;
  dim: number;
  data: Float32Array;
}

export interface EncodeOptions {
  /** Texts per forward pass (default 32). Batches are padded only to their longest member. */
  batchSize?: number;
  /** L2-normalise the output (default: what the model's modules say, i.e. true when it has Normalize). */
  normalize?: boolean;
  /**
   * Engine for the forward passes: "auto" (default: ONNX Runtime unless the model is being trained, a
   * StaticEmbedding model, or COURSE_ONNX=0), "tfjs", or "onnxruntime" (an error when it cannot be used).
   */
  runtime?: "auto" | "tfjs" | "onnxruntime";
  /** ONNX Runtime intra-op threads (default COURSE_ONNX_THREADS, else one per CPU). */
  threads?: number;
  /** Called after each batch with (texts done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Anything that turns texts into vectors: a SentenceTransformer, or a test double in evaluator tests. */
export interface Embedder {
  /** A label for tables and charts, e.g. "all-MiniLM-L6-v2" or "offline-static (embedded offline default)". */
  readonly name: string;
  encode(texts: string[], options?: EncodeOptions): Promise<Embeddings>;
}

/** Row i of an Embeddings matrix (a view, not a copy). */
export function embeddingRow(e: Embeddings, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || i >= e.count) throw new RangeError(`row ${i} out of range 0..${e.count - 1}`);
  return e.data.subarray(i * e.dim, (i + 1) * e.dim);
}
