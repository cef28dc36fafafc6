/**
 * MultipleNegativesRankingLoss (in-batch negatives; Henderson et al. 2017, "Efficient Natural Language Response
 * Suggestion for Smart Reply", section 4.4), as sentence-transformers' losses.MultipleNegativesRankingLoss.
 *
 * Input: (anchor, positive) pairs, or (anchor, positive, negative_1, ..., negative_k) tuples. With a = anchor
 * embeddings [n, d] and the candidates c = concat(positives, negatives_1, ..., negatives_k) [(1 + k) n, d]
 * (column-major: all positives first, then every first negative, ...), so that candidate i is anchor i's positive
 * and every other positive and every hard negative of the batch is a negative for it:
 *
 *   S_ij = scale * sim(a_i, c_j)                       sim = cos_sim (default) or dot_score
 *   L    = 1/n sum_i -log( exp(S_ii) / sum_j exp(S_ij) )   cross-entropy with labels 0..n-1, mean over the batch
 *
 * Defaults: scale 20 (a softmax temperature of 0.05), cos_sim. With dot_score use scale 1.
 * A larger batch gives more negatives and usually a better model; CachedMultipleNegativesRankingLoss computes
 * the same loss and gradients in bounded memory for large batches.
 */
import type { tf } from "../../backend";
import { MNRL_SCALE } from "../../defaults";
import type { SentenceTransformer } from "../../model/sentence-transformer";
import { CachedMultipleNegativesRankingLoss } from "./cached-multiple-negatives-ranking";
import {
  cachedFormOf,
  checkPositive,
  checkSimilarity,
  embedColumns,
  gradsOf,
  validateBatch,
  type SimilarityName,
} from "./common";
import { multipleNegativesRankingFromEmbeddings } from "./in-batch-negatives";
import type { EmbeddingLoss, Loss, LossResult, TrainingBatch } from "./types";

export { inBatchScores, multipleNegativesRankingFromEmbeddings } from "./in-batch-negatives";

export interface MultipleNegativesRankingOptions {
  /** Multiplies the similarities before the softmax (default 20). */
  scale?: number;
  /** "cos_sim" (default) or "dot_score". */
  similarityFct?: SimilarityName;
}

export class MultipleNegativesRankingLoss implements EmbeddingLoss {
  /** A getter (not a field) so that a subclass's name is already in place inside this constructor's error messages. */
  get name(): string {
    return "MultipleNegativesRankingLoss";
  }
  readonly inBatchNegatives = true;
  readonly scale: number;
  readonly similarityFct: SimilarityName;

  constructor(options: MultipleNegativesRankingOptions = {}) {
    this.scale = checkPositive(this.name, "scale", options.scale ?? MNRL_SCALE);
    this.similarityFct = checkSimilarity(this.name, options.similarityFct ?? "cos_sim");
  }

  config(): Record<string, unknown> {
    return { scale: this.scale, similarity_fct: this.similarityFct };
  }

  validate(batch: TrainingBatch): void {
    validateBatch(this.name, batch, 2);
  }

  lossFromEmbeddings(embeddings: tf.Tensor2D[]): tf.Scalar {
    return multipleNegativesRankingFromEmbeddings(embeddings, this.scale, this.similarityFct);
  }

  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    this.validate(batch);
    return gradsOf(this.name, () => this.lossFromEmbeddings(embedColumns(model, batch)), variables);
  }

  /** CachedMultipleNegativesRankingLoss with this scale and similarity; none for a subclass (it may compute otherwise). */
  cachedForm(miniBatchSize: number): Loss | undefined {
    return cachedFormOf(this, MultipleNegativesRankingLoss, CachedMultipleNegativesRankingLoss, miniBatchSize);
  }
}
