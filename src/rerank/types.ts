/**
 * The contract of a pair re-ranker (a cross-encoder), shared by everything that scores (query, passage) pairs:
 * the TensorFlow.js CrossEncoder (src/rerank/cross-encoder.ts), its ONNX Runtime session, the server's
 * `POST /v1/rerank` route, the CLI and LangChain's document compressor.
 *
 * Scores mean what sentence-transformers' `CrossEncoder.predict` returns: for a model with one label, the
 * sigmoid of the logit by default (`activation: "sigmoid"`), or the raw logit (`activation: "identity"`);
 * higher = more relevant. Pairs are tokenized as Hugging Face tokenizers do for `text_pair`:
 * `[CLS] query [SEP] passage [SEP]`, token_type_ids 0 then 1, truncation "longest_first" at `maxLength`.
 */

/** One (query, passage) pair. */
export type TextPair = readonly [query: string, passage: string];

export interface PredictOptions {
  /** Pairs per forward pass (default 32, as CrossEncoder.predict). */
  batchSize?: number;
  /** "sigmoid" (default for one label, as sentence-transformers) or "identity" for raw logits. */
  activation?: "sigmoid" | "identity";
}

/** One passage of `rank()`'s answer: its index in the passages given, its score, and its text. */
export interface RankedPassage {
  corpusId: number;
  score: number;
  text: string;
}

export interface RankOptions extends PredictOptions {
  /** Keep only the best k (default: all). */
  topK?: number;
}

export interface PairScorer {
  /** The model's id or folder, for tables and the API's `model` field. */
  readonly name: string;
  /** Tokens per pair after truncation (CrossEncoder's max_length). */
  readonly maxLength: number;
  /** One score per pair, in the pairs' order. */
  predict(pairs: readonly TextPair[], options?: PredictOptions): Promise<number[]>;
  /** The passages sorted by score for one query, best first (ties: the earlier passage first). */
  rank(query: string, passages: readonly string[], options?: RankOptions): Promise<RankedPassage[]>;
  /** Tokens each pair occupies after truncation, special tokens included (the API's `usage`). */
  tokenCounts(pairs: readonly TextPair[]): number[];
}
