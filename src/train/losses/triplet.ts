/**
 * TripletLoss (Schroff et al. 2015, "FaceNet"; for sentences: Reimers & Gurevych 2019, "Sentence-BERT"), as
 * sentence-transformers' losses.TripletLoss.
 *
 * Input: (anchor, positive, negative) triplets, exactly three columns. Per triplet i:
 *
 *   L_i = max(d(a_i, p_i) - d(a_i, n_i) + margin, 0)        L = mean_i L_i
 *
 * d is one of sentence-transformers' TripletDistanceMetric:
 *   EUCLIDEAN (default)  d(x, y) = || x - y + 1e-6 ||_2    (torch.nn.functional.pairwise_distance, eps 1e-6)
 *   MANHATTAN            d(x, y) = || x - y + 1e-6 ||_1
 *   COSINE               d(x, y) = 1 - x.y / (max(||x||, 1e-8) max(||y||, 1e-8))
 * Default margin 5. The embeddings are the model's output (unit length when the model ends with Normalize, where
 * euclidean distances are at most 2 and margin 5 keeps every triplet active — as in Python).
 */
import { tf } from "../../backend";
import type { SentenceTransformer } from "../../model/sentence-transformer";
import { embedColumns, gradsOf, validateBatch } from "./common";
import type { EmbeddingLoss, LossResult, TrainingBatch } from "./types";

export type TripletDistanceMetric = "EUCLIDEAN" | "MANHATTAN" | "COSINE";

export interface TripletLossOptions {
  /** Default "EUCLIDEAN". */
  distanceMetric?: TripletDistanceMetric;
  /** How much further the negative must be than the positive (default 5). */
  tripletMargin?: number;
}

/** Row-wise distance [n] between x and y [n, d]. */
export function tripletDistance(metric: TripletDistanceMetric, x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    if (metric === "COSINE") {
      const dot = tf.sum(tf.mul(x, y), 1);
      const nx = tf.maximum(tf.norm(x, "euclidean", 1), 1e-8);
      const ny = tf.maximum(tf.norm(y, "euclidean", 1), 1e-8);
      return tf.sub(1, tf.div(dot, tf.mul(nx, ny))) as tf.Tensor1D;
    }
    const diff = tf.add(tf.sub(x, y), 1e-6);
    if (metric === "MANHATTAN") return tf.sum(tf.abs(diff), 1) as tf.Tensor1D;
    return tf.sqrt(tf.sum(tf.square(diff), 1)) as tf.Tensor1D;
  });
}

export class TripletLoss implements EmbeddingLoss {
  readonly name = "TripletLoss";
  readonly inBatchNegatives = false;
  readonly distanceMetric: TripletDistanceMetric;
  readonly tripletMargin: number;

  constructor(options: TripletLossOptions = {}) {
    const metric = options.distanceMetric ?? "EUCLIDEAN";
    if (metric !== "EUCLIDEAN" && metric !== "MANHATTAN" && metric !== "COSINE")
      throw new Error(
        `TripletLoss: distanceMetric "${String(metric)}" is not one of EUCLIDEAN (default), MANHATTAN, COSINE.`,
      );
    const margin = options.tripletMargin ?? 5;
    if (typeof margin !== "number" || !Number.isFinite(margin) || margin < 0)
      throw new Error(`TripletLoss: tripletMargin is ${String(margin)}; it must be a finite number >= 0 (default 5).`);
    this.distanceMetric = metric;
    this.tripletMargin = margin;
  }

  config(): Record<string, unknown> {
    return { distance_metric: `TripletDistanceMetric.${this.distanceMetric}`, triplet_margin: this.tripletMargin };
  }

  validate(batch: TrainingBatch): void {
    validateBatch(this.name, batch, 3, 3);
  }

  lossFromEmbeddings(embeddings: tf.Tensor2D[]): tf.Scalar {
    return tf.tidy(() => {
      const [anchor, positive, negative] = embeddings;
      const dPos = tripletDistance(this.distanceMetric, anchor, positive);
      const dNeg = tripletDistance(this.distanceMetric, anchor, negative);
      return tf.mean(tf.relu(tf.add(tf.sub(dPos, dNeg), this.tripletMargin))) as tf.Scalar;
    });
  }

  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    this.validate(batch);
    return gradsOf(this.name, () => this.lossFromEmbeddings(embedColumns(model, batch)), variables);
  }
}
