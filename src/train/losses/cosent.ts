/**
 * CoSENTLoss (Su Jianlin 2022, "CoSENT", https://kexue.fm/archives/8847), as sentence-transformers'
 * losses.CoSENTLoss.
 *
 * Input: (sentence_A, sentence_B) pairs with a float label y_i (rows {anchor, positive, label} or "score"). With
 * s_i = scale * cos(u_i, v_i) (util.pairwise_cos_sim: each row normalised, eps 1e-12), every ordered pair of pairs
 * (i, j) of the batch whose labels say "i less similar than j" (y_i < y_j) adds a term:
 *
 *   L = log( 1 + sum_{(i, j): y_i < y_j} exp(s_i - s_j) )
 *
 * Only the order of the labels matters, not their values, so 0/1 labels from mined negatives work as they are.
 * Defaults: scale 20 (inverse temperature), pairwise cosine similarity. A batch whose labels are all equal has
 * no ordered pair and a loss of log 1 = 0 (no gradient), as in Python. As there, the sum runs over all pairs of
 * the batch: a larger batch compares more pairs.
 */
import { tf } from "../../backend";
import type { SentenceTransformer } from "../../model/sentence-transformer";
import { checkPositive, embedColumns, gradsOf, pairwiseCosSim, validateBatch, validateLabels } from "./common";
import type { EmbeddingLoss, LossResult, TrainingBatch } from "./types";

export interface CoSENTLossOptions {
  /** Multiplies the cosine similarities (default 20). */
  scale?: number;
}

/** The loss from pairwise scores s [n] (already scaled) and labels y [n]: log(1 + sum_{y_i < y_j} exp(s_i - s_j)). */
export function cosentFromScores(scores: tf.Tensor1D, labels: readonly number[]): tf.Scalar {
  const n = labels.length;
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mask[i * n + j] = labels[i] < labels[j] ? 1 : 0;
  return tf.tidy(() => {
    const diff = tf.sub(tf.expandDims(scores, 1), tf.expandDims(scores, 0)); // [i, j] = s_i - s_j
    // Pairs that do not count are pushed to -1e12 so that exp() makes them vanish (Python does the same).
    const masked = tf.sub(diff, tf.mul(tf.sub(1, tf.tensor2d(mask, [n, n])), 1e12));
    return tf.logSumExp(tf.concat([tf.zeros([1]), tf.reshape(masked, [-1])], 0)) as tf.Scalar;
  });
}

export class CoSENTLoss implements EmbeddingLoss {
  readonly name = "CoSENTLoss";
  readonly inBatchNegatives = false;
  readonly scale: number;

  constructor(options: CoSENTLossOptions = {}) {
    this.scale = checkPositive(this.name, "scale", options.scale ?? 20);
  }

  config(): Record<string, unknown> {
    return { scale: this.scale, similarity_fct: "pairwise_cos_sim" };
  }

  validate(batch: TrainingBatch): void {
    validateBatch(this.name, batch, 2, 2);
    validateLabels(this.name, batch);
  }

  lossFromEmbeddings(embeddings: tf.Tensor2D[], batch: TrainingBatch): tf.Scalar {
    const labels = validateLabels(this.name, batch);
    return tf.tidy(() =>
      cosentFromScores(tf.mul(pairwiseCosSim(embeddings[0], embeddings[1]), this.scale) as tf.Tensor1D, labels),
    );
  }

  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    this.validate(batch);
    return gradsOf(this.name, () => this.lossFromEmbeddings(embedColumns(model, batch), batch), variables);
  }
}
