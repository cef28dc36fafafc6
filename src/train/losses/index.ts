/**
 * The training losses in one import, each the counterpart of a sentence-transformers loss of the same name, and
 * the contract the trainer calls (types.ts). Formulas, defaults and papers are in each module's header.
 */
export type { TrainingBatch, LossResult, Loss, EmbeddingLoss, GradCacheLoss } from "./types";
export {
  similarity,
  crossEntropyDiagonal,
  validateBatch,
  validateLabels,
  pairwiseCosSim,
  embedColumns,
  gradsOf,
} from "./common";
export type { SimilarityName } from "./common";
export {
  MultipleNegativesRankingLoss,
  multipleNegativesRankingFromEmbeddings,
  inBatchScores,
} from "./multiple-negatives-ranking";
export type { MultipleNegativesRankingOptions } from "./multiple-negatives-ranking";
export { CachedMultipleNegativesRankingLoss, gradCacheLossAndGrads } from "./cached-multiple-negatives-ranking";
export type { CachedMultipleNegativesRankingOptions } from "./cached-multiple-negatives-ranking";
export {
  MultipleNegativesSymmetricRankingLoss,
  multipleNegativesSymmetricRankingFromEmbeddings,
} from "./multiple-negatives-symmetric-ranking";
export type { MultipleNegativesSymmetricRankingOptions } from "./multiple-negatives-symmetric-ranking";
export { CachedMultipleNegativesSymmetricRankingLoss } from "./cached-multiple-negatives-symmetric-ranking";
export type { CachedMultipleNegativesSymmetricRankingOptions } from "./cached-multiple-negatives-symmetric-ranking";
export { TripletLoss, tripletDistance } from "./triplet";
export type { TripletLossOptions, TripletDistanceMetric } from "./triplet";
export { MatryoshkaLoss, shrinkEmbedding } from "./matryoshka";
export type { MatryoshkaLossOptions } from "./matryoshka";
export { CosineSimilarityLoss } from "./cosine-similarity";
export { CoSENTLoss, cosentFromScores } from "./cosent";
export type { CoSENTLossOptions } from "./cosent";
