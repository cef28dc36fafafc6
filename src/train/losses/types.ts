/**
 * The contract between a loss and the trainer (src/train/trainer.ts).
 *
 * A batch is column-major, as sentence-transformers' losses receive it (one list of features per dataset
 * column): `texts[c][i]` is column c of example i. Column 0 is the anchor, column 1 the positive, columns 2..
 * hard negatives. Every column holds `size` texts.
 *
 * A loss computes its value and the gradients of that value with respect to the variables the trainer asks
 * for, in one call, so that a loss may organise the forward and backward passes as it needs to (the cached
 * losses run the backward mini-batch by mini-batch; see cached-multiple-negatives-ranking.ts).
 */
import type { tf } from "../../backend";
import type { SentenceTransformer } from "../../model/sentence-transformer";

/** Column-major batch: texts[c][i] is column c of example i. Column 0 = anchor, 1 = positive, 2.. = negatives. */
export interface TrainingBatch {
  /** Column names, e.g. ["anchor", "positive"] or ["anchor", "positive", "negative"]. */
  columns: string[];
  texts: string[][];
  /** Examples in the batch (the length of every texts[c]). */
  size: number;
  /**
   * One float label per example, for losses on scored pairs (CosineSimilarityLoss, CoSENTLoss): the dataset's
   * "label" or "score" column, as sentence-transformers' trainer passes it. Absent for (anchor, positive, ...) rows.
   */
  labels?: number[];
}

export interface LossResult {
  loss: number;
  /** Gradient of `loss` per variable; the caller disposes the tensors. */
  grads: Map<tf.Variable, tf.Tensor>;
}

export interface Loss {
  /** The sentence-transformers class name, e.g. "MultipleNegativesRankingLoss". */
  readonly name: string;
  /** Hyperparameters, written to checkpoints and the model card. */
  config(): Record<string, unknown>;
  /** Loss value and gradients of it w.r.t. `variables` for one batch (variables not in the graph get zeros). */
  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult;
}

/**
 * A loss that is a function of the sentence embeddings alone (one forward per column, then this). MatryoshkaLoss
 * wraps such a loss: it embeds once and applies `lossFromEmbeddings` to truncated copies of the embeddings.
 */
export interface EmbeddingLoss extends Loss {
  /** Throws a clear error when the batch does not suit this loss (too few columns, ...). */
  validate(batch: TrainingBatch): void;
  /** The loss as a differentiable scalar of the embeddings: `embeddings[c]` is [batch.size, dim] for column c. */
  lossFromEmbeddings(embeddings: tf.Tensor2D[], batch: TrainingBatch): tf.Scalar;
}

/** A loss that runs its own chunked backward (GradCache) for a given function of the embeddings. */
export interface GradCacheLoss extends EmbeddingLoss {
  /** Value and variable gradients of `lossOfEmbeddings(embeddings of every column)`, mini-batch by mini-batch. */
  lossAndGradsOf(
    model: SentenceTransformer,
    batch: TrainingBatch,
    variables: tf.Variable[],
    lossOfEmbeddings: (embeddings: tf.Tensor2D[]) => tf.Scalar,
  ): LossResult;
}
