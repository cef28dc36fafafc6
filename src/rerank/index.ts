/**
 * src/rerank: the second stage of retrieval, a cross-encoder re-ranker (sentence-transformers' CrossEncoder).
 *
 *   loadCrossEncoder(folder | Hub id) ──▶ CrossEncoder: predict(pairs) / rank(query, passages) / save(folder)
 *   losses (BinaryCrossEntropyLoss, MultipleNegativesRankingLoss, ListNetLoss)          losses.ts
 *
 * The contract every pair scorer shares (the ONNX session, the server route, the CLI): types.ts.
 */
export { CrossEncoder, crossEncoderFromEncoder, loadCrossEncoder } from "./cross-encoder";
// MultipleNegativesRankingLoss is sentence_transformers.cross_encoder.losses' name; train/ has the bi-encoder one.
export {
  BinaryCrossEntropyLoss,
  ListNetLoss,
  MultipleNegativesRankingLoss as CrossEncoderMultipleNegativesRankingLoss,
  type CrossEncoderLoss,
} from "./losses";
export type { PairScorer, TextPair } from "./types";
