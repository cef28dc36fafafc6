/**
 * CachedMultipleNegativesSymmetricRankingLoss: MultipleNegativesSymmetricRankingLoss computed with GradCache, as
 * sentence-transformers' losses.CachedMultipleNegativesSymmetricRankingLoss (current version: the backward
 * direction scores each positive against ALL anchors of the batch, exactly as the plain symmetric loss does).
 *
 *   L = (CE(S) + CE(S[:, :n]^T)) / 2     S_ij = scale * sim(a_i, c_j), c = concat(positives, negatives...)
 *
 * Formula and defaults (scale 20, cos_sim) in multiple-negatives-symmetric-ranking.ts; the GradCache steps,
 * memory behaviour and miniBatchSize (default: defaultMiniBatchSize()) in cached-multiple-negatives-ranking.ts. Same value and
 * gradients as the plain symmetric loss, in memory bounded by one mini-batch.
 */
import type { tf } from "../../backend";
import {
  CachedMultipleNegativesRankingLoss,
  type CachedMultipleNegativesRankingOptions,
} from "./cached-multiple-negatives-ranking";
import { cachedFormOf } from "./common";
import { multipleNegativesSymmetricRankingFromEmbeddings } from "./in-batch-negatives";
import type { Loss } from "./types";

export type CachedMultipleNegativesSymmetricRankingOptions = CachedMultipleNegativesRankingOptions;

/** CachedMultipleNegativesRankingLoss's options, validation and GradCache; only the loss of the embeddings differs. */
export class CachedMultipleNegativesSymmetricRankingLoss extends CachedMultipleNegativesRankingLoss {
  override get name(): string {
    return "CachedMultipleNegativesSymmetricRankingLoss";
  }

  override lossFromEmbeddings(embeddings: tf.Tensor2D[]): tf.Scalar {
    return multipleNegativesSymmetricRankingFromEmbeddings(embeddings, this.scale, this.similarityFct);
  }

  /** Itself with another mini-batch; none for a subclass. */
  override cachedForm(miniBatchSize: number): Loss | undefined {
    return cachedFormOf(
      this,
      CachedMultipleNegativesSymmetricRankingLoss,
      CachedMultipleNegativesSymmetricRankingLoss,
      miniBatchSize,
    );
  }
}
