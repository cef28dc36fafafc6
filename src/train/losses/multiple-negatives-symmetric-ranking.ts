/**
 * MultipleNegativesSymmetricRankingLoss, as sentence-transformers' losses.MultipleNegativesSymmetricRankingLoss:
 * MultipleNegativesRankingLoss plus the reverse task "given a positive, find its anchor among all anchors".
 *
 * Input: (anchor, positive) pairs; extra negative columns are candidates in the forward direction only.
 * With S_ij = scale * sim(a_i, c_j) over c = concat(positives, negatives...) as in MultipleNegativesRankingLoss:
 *
 *   forward  = CE(S)                     anchor i against every positive and every hard negative, label i
 *   backward = CE(S[:, :n]^T)            positive i against the n anchors only, label i
 *   L        = (forward + backward) / 2
 *
 * Defaults: scale 20, cos_sim. Reference: the sentence-transformers implementation (no separate paper); the
 * symmetric in-batch softmax is also used by e.g. CLIP (Radford et al. 2021).
 */
import type { tf } from "../../backend";
import { CachedMultipleNegativesSymmetricRankingLoss } from "./cached-multiple-negatives-symmetric-ranking";
import { cachedFormOf, type SimilarityName } from "./common";
import { multipleNegativesSymmetricRankingFromEmbeddings } from "./in-batch-negatives";
import { MultipleNegativesRankingLoss } from "./multiple-negatives-ranking";
import type { Loss } from "./types";

export { multipleNegativesSymmetricRankingFromEmbeddings } from "./in-batch-negatives";

export interface MultipleNegativesSymmetricRankingOptions {
  /** Multiplies the similarities before the softmax (default 20). */
  scale?: number;
  /** "cos_sim" (default) or "dot_score". */
  similarityFct?: SimilarityName;
}

/** Shares MultipleNegativesRankingLoss's options, validation and forward; only the loss of the embeddings differs. */
export class MultipleNegativesSymmetricRankingLoss extends MultipleNegativesRankingLoss {
  override get name(): string {
    return "MultipleNegativesSymmetricRankingLoss";
  }

  constructor(options: MultipleNegativesSymmetricRankingOptions = {}) {
    super(options);
  }

  override lossFromEmbeddings(embeddings: tf.Tensor2D[]): tf.Scalar {
    return multipleNegativesSymmetricRankingFromEmbeddings(embeddings, this.scale, this.similarityFct);
  }

  /** CachedMultipleNegativesSymmetricRankingLoss with this scale and similarity; none for a subclass. */
  override cachedForm(miniBatchSize: number): Loss | undefined {
    return cachedFormOf(
      this,
      MultipleNegativesSymmetricRankingLoss,
      CachedMultipleNegativesSymmetricRankingLoss,
      miniBatchSize,
    );
  }
}
