/**
 * The in-batch-negatives losses as functions of the column embeddings [anchors, positives, negatives...], shared by
 * the plain classes and their Cached (GradCache) forms, so that each plain class can name its Cached form without an
 * import loop. Formulas: multiple-negatives-ranking.ts (MNRL) and multiple-negatives-symmetric-ranking.ts (its
 * symmetric variant).
 */
import { tf } from "../../backend";
import { crossEntropyDiagonal, similarity, type SimilarityName } from "./common";

/** S = scale * sim(anchors, concat(positives, negatives_1, ...)), [n, (1 + k) n]: row i's positive is column i. */
export function inBatchScores(embeddings: tf.Tensor2D[], scale: number, sim: SimilarityName): tf.Tensor2D {
  return tf.tidy(() => {
    const candidates = embeddings.length === 2 ? embeddings[1] : (tf.concat(embeddings.slice(1), 0) as tf.Tensor2D);
    return tf.mul(similarity(sim, embeddings[0], candidates), scale) as tf.Tensor2D;
  });
}

/** The loss of embeddings [anchors, positives, negatives...] (shared with the cached variant). */
export function multipleNegativesRankingFromEmbeddings(
  embeddings: tf.Tensor2D[],
  scale: number,
  sim: SimilarityName,
): tf.Scalar {
  return tf.tidy(() => crossEntropyDiagonal(inBatchScores(embeddings, scale, sim)));
}

/** (forward + backward) / 2 of embeddings [anchors, positives, negatives...] (shared with the cached variant). */
export function multipleNegativesSymmetricRankingFromEmbeddings(
  embeddings: tf.Tensor2D[],
  scale: number,
  sim: SimilarityName,
): tf.Scalar {
  return tf.tidy(() => {
    const n = embeddings[0].shape[0];
    const scores = inBatchScores(embeddings, scale, sim);
    const forward = crossEntropyDiagonal(scores);
    const backward = crossEntropyDiagonal(tf.transpose(tf.slice(scores, [0, 0], [n, n])) as tf.Tensor2D);
    return tf.div(tf.add(forward, backward), 2) as tf.Scalar;
  });
}
