/**
 * MatryoshkaLoss (Kusupati et al. 2022, "Matryoshka Representation Learning", arXiv:2205.13147), as
 * sentence-transformers' losses.MatryoshkaLoss: a wrapper that trains the leading dimensions of the embedding
 * to work on their own, so that users can truncate embeddings (e.g. 384 -> 64) for cheaper storage and search.
 *
 * With inner loss L (MultipleNegativesRankingLoss, TripletLoss, ...), dims d_1 > ... > d_k and weights w_k
 * (default 1 each):
 *
 *   L_matryoshka = sum_k w_k * L( shrink(e, d_k) )        shrink(e, d) = normalize(e[:, :d])   (unit L2 rows)
 *
 * Python re-normalises every truncated embedding, whatever the inner loss (cosine losses are unaffected by it;
 * for euclidean TripletLoss it puts every dimensionality on the unit sphere); so does this module.
 * As in Python the forward pass runs ONCE per column: the full embeddings are computed and then sliced for each
 * dimensionality (Python caches the model outputs in a ForwardDecorator for the same reason). With a GradCache
 * loss (CachedMultipleNegativesRankingLoss) the weighted sum over dims becomes the function of the embeddings
 * whose gradient is cached, as Python's CachedLossDecorator does, so memory stays bounded.
 *
 * Input: whatever the inner loss takes. Dims are sorted in decreasing order (weights follow them); every dim must
 * be a positive integer no larger than the model's embedding size. Python's n_dims_per_step (a random subset of
 * dims per step) is not offered: every step uses every dim (n_dims_per_step = -1, the default).
 */
import { tf } from "../../backend";
import type { SentenceTransformer } from "../../model/sentence-transformer";
import { l2Normalize } from "../../model/pooling";
import { embedColumns, gradsOf } from "./common";
import type { EmbeddingLoss, GradCacheLoss, Loss, LossResult, TrainingBatch } from "./types";

export interface MatryoshkaLossOptions {
  /** Embedding sizes to train, e.g. [384, 256, 128, 64]. */
  matryoshkaDims: number[];
  /** One weight per dim (default 1 each). */
  matryoshkaWeights?: number[];
}

function isEmbeddingLoss(loss: Loss): loss is EmbeddingLoss {
  const l = loss as Partial<EmbeddingLoss>;
  return typeof l.lossFromEmbeddings === "function" && typeof l.validate === "function";
}

function isGradCacheLoss(loss: Loss): loss is GradCacheLoss {
  return isEmbeddingLoss(loss) && typeof (loss as Partial<GradCacheLoss>).lossAndGradsOf === "function";
}

/** normalize(e[:, :dim]): the first `dim` coordinates of each row, rescaled to unit length. */
export function shrinkEmbedding(embedding: tf.Tensor2D, dim: number): tf.Tensor2D {
  const full = embedding.shape[1];
  if (dim > full)
    throw new Error(
      `MatryoshkaLoss: dimension ${dim} in matryoshkaDims is larger than the model's embedding dimension ${full}; use dims <= ${full}.`,
    );
  return tf.tidy(() =>
    l2Normalize(dim === full ? embedding : (tf.slice(embedding, [0, 0], [embedding.shape[0], dim]) as tf.Tensor2D)),
  );
}

export class MatryoshkaLoss implements EmbeddingLoss {
  readonly name = "MatryoshkaLoss";
  /** The loss applied to every truncation (Python's MatryoshkaLoss.loss). */
  readonly inner: EmbeddingLoss;
  /** Sorted largest first, as Python sorts them. */
  readonly matryoshkaDims: number[];
  readonly matryoshkaWeights: number[];
  private warnedFor: number | undefined;

  constructor(loss: Loss, options: MatryoshkaLossOptions) {
    if (!isEmbeddingLoss(loss))
      throw new Error(
        `MatryoshkaLoss: the inner loss ${loss?.name ?? String(loss)} does not expose lossFromEmbeddings(), so its embeddings cannot be truncated; ` +
          "wrap MultipleNegativesRankingLoss, CachedMultipleNegativesRankingLoss, MultipleNegativesSymmetricRankingLoss or TripletLoss.",
      );
    if (loss instanceof MatryoshkaLoss)
      throw new Error("MatryoshkaLoss: the inner loss is already a MatryoshkaLoss; wrap the plain loss once.");
    const dims = options?.matryoshkaDims;
    if (!Array.isArray(dims) || dims.length === 0)
      throw new Error("MatryoshkaLoss: matryoshkaDims must list at least one dimension, e.g. [384, 256, 128, 64].");
    dims.forEach((d, i) => {
      if (!Number.isInteger(d) || d <= 0)
        throw new Error(`MatryoshkaLoss: matryoshkaDims[${i}] is ${String(d)}; every dim must be a positive integer.`);
    });
    if (new Set(dims).size !== dims.length)
      throw new Error(`MatryoshkaLoss: matryoshkaDims [${dims.join(", ")}] lists a dimension twice.`);
    const weights = options.matryoshkaWeights ?? dims.map(() => 1);
    if (!Array.isArray(weights) || weights.length !== dims.length)
      throw new Error(
        `MatryoshkaLoss: matryoshkaWeights has ${Array.isArray(weights) ? weights.length : "no"} entries but matryoshkaDims has ${dims.length}; give one weight per dim.`,
      );
    weights.forEach((w, i) => {
      if (typeof w !== "number" || !Number.isFinite(w))
        throw new Error(`MatryoshkaLoss: matryoshkaWeights[${i}] is ${String(w)}; weights must be finite numbers.`);
    });
    const order = dims.map((_, i) => i).sort((a, b) => dims[b] - dims[a]);
    this.inner = loss;
    this.matryoshkaDims = order.map((i) => dims[i]);
    this.matryoshkaWeights = order.map((i) => weights[i]);
  }

  /** Whatever the inner loss learns from: MatryoshkaLoss only truncates its embeddings. */
  get inBatchNegatives(): boolean {
    return this.inner.inBatchNegatives;
  }

  config(): Record<string, unknown> {
    return {
      loss: this.inner.name,
      matryoshka_dims: [...this.matryoshkaDims],
      matryoshka_weights: [...this.matryoshkaWeights],
      n_dims_per_step: -1,
    };
  }

  validate(batch: TrainingBatch): void {
    this.inner.validate(batch);
  }

  /** Checks the dims against the model before any computation; warns once when the full size is not trained. */
  checkModel(model: SentenceTransformer): void {
    const full = model.dim;
    const tooLarge = this.matryoshkaDims.filter((d) => d > full);
    if (tooLarge.length > 0)
      throw new Error(
        `MatryoshkaLoss: matryoshkaDims ${tooLarge.join(", ")} exceed the embedding dimension ${full} of model ${model.name}; use dims <= ${full}.`,
      );
    if (!this.matryoshkaDims.includes(full) && this.warnedFor !== full) {
      this.warnedFor = full;
      console.warn(
        `MatryoshkaLoss: the model's embedding dimension ${full} is not in matryoshkaDims [${this.matryoshkaDims.join(", ")}], so the full embedding is not trained; add ${full}.`,
      );
    }
  }

  /** sum_k w_k * inner(shrink(e, d_k)). */
  lossFromEmbeddings(embeddings: tf.Tensor2D[], batch: TrainingBatch): tf.Scalar {
    return tf.tidy(() => {
      let total: tf.Scalar | undefined;
      this.matryoshkaDims.forEach((dim, k) => {
        const term = tf.mul(
          this.inner.lossFromEmbeddings(
            embeddings.map((e) => shrinkEmbedding(e, dim)),
            batch,
          ),
          this.matryoshkaWeights[k],
        ) as tf.Scalar;
        total = total ? (tf.add(total, term) as tf.Scalar) : term;
      });
      return total as tf.Scalar;
    });
  }

  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    this.validate(batch);
    this.checkModel(model);
    const inner = this.inner;
    if (isGradCacheLoss(inner))
      return inner.lossAndGradsOf(model, batch, variables, (e) => this.lossFromEmbeddings(e, batch));
    return gradsOf(this.name, () => this.lossFromEmbeddings(embedColumns(model, batch), batch), variables);
  }
}
