/**
 * src/rerank: the second stage of retrieval, a cross-encoder re-ranker (sentence-transformers' CrossEncoder).
 *
 *   loadCrossEncoder(folder | Hub id | "offline") ──▶ CrossEncoder: predict(pairs) / rank(query, passages) / save(folder)
 *   mined rows ──rerankingExamples──▶ examples ──trainCrossEncoder(model, examples, { loss })──▶ fine-tuned model
 *   losses: BinaryCrossEntropyLoss, MultipleNegativesRankingLoss, ListNetLoss                 losses.ts
 *   RerankedRetriever(first stage, re-ranker): a Retriever, so InformationRetrievalEvaluator measures it
 *   CrossEncoderRerankingEvaluator: sentence-transformers' evaluator (MRR@10, NDCG@10, MAP; base_* = first stage)
 *
 * The contract every pair scorer shares (the ONNX session, the server route, the CLI): types.ts.
 */
export { CrossEncoder, crossEncoderFromEncoder } from "./cross-encoder";
export { loadCrossEncoder } from "./load";
export { offlineCrossEncoder } from "./offline";
// MultipleNegativesRankingLoss is sentence_transformers.cross_encoder.losses' name; train/ has the bi-encoder one.
export {
  BinaryCrossEntropyLoss,
  ListNetLoss,
  MultipleNegativesRankingLoss as CrossEncoderMultipleNegativesRankingLoss,
  type CrossEncoderLoss,
} from "./losses";
export { rerankingExamples } from "./data";
export { trainCrossEncoder } from "./train";
export { CrossEncoderRerankingEvaluator } from "./evaluate";
export { RerankedRetriever } from "./reranked-retriever";
export { OnnxCrossEncoder } from "./onnx-scorer";
export { exportCrossEncoderOnnx } from "./onnx";
export type { PairScorer, TextPair } from "./types";
