/**
 * The contract between a loss and the trainer (src/train/trainer.ts, options.ts, memory.ts): everything the
 * trainer asks of a loss is a member of `Loss`, and the trainer asks only through it (no class names, no
 * `instanceof`, no pattern on `name`; test/structure.test.ts checks the trainer's files for that).
 *
 * A batch is column-major, as sentence-transformers' losses receive it (one list of features per dataset
 * column): `texts[c][i]` is column c of example i. Column 0 is the anchor, column 1 the positive, columns 2..
 * hard negatives. Every column holds `size` texts.
 *
 * A loss computes its value and the gradients of that value with respect to the variables the trainer asks
 * for, in one call, so that a loss may organise the forward and backward passes as it needs to (the cached
 * losses run the backward mini-batch by mini-batch; see cached-multiple-negatives-ranking.ts).
 *
 * What the trainer reads, and where:
 *   lossAndGrads            every step (trainer.ts)
 *   name, config()          the run's fingerprint, checkpoints and the model card (checkpoint.ts)
 *   validate(batch)         once before the first step, on a batch of the training data (trainer.ts)
 *   inBatchNegatives        a batch of one pair is useless to it: dropLast "auto" and the batchSize-1 error (options.ts)
 *   miniBatchSize           set: its backward is GradCache mini-batches of this many texts, and the memory plan
 *                           counts one mini-batch's tape instead of the whole batch's (memory.ts)
 *   inner                   a wrapper's (MatryoshkaLoss's) wrapped loss: the memory plan of a wrapper without its own
 *                           miniBatchSize is its inner loss's (memory.ts)
 *   cachedForm(m)           the same loss and gradients in GradCache form with mini-batch m, for a step that does not
 *                           fit in memory (memory.ts); absent or undefined: the loss has none, and such a step is
 *                           refused with the settings that would fit
 *
 * Another model kind: `Loss<M>` is generic in the model it trains (default SentenceTransformer). A loss on a
 * cross-encoder (BCE, MNRL, ListNet over (query, passage, label) batches, which TrainingBatch's columns and labels
 * carry) is a `Loss<CrossEncoder>`: it declares the same members, and a trainer for that model reads them the same
 * way without knowing its class. EmbeddingLoss and GradCacheLoss below are the sentence-embedding refinements
 * (a function of the column embeddings), which MatryoshkaLoss and GradCache build on.
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

export interface Loss<M = SentenceTransformer> {
  /** The sentence-transformers class name, e.g. "MultipleNegativesRankingLoss". */
  readonly name: string;
  /**
   * True when the loss learns from in-batch negatives (every other example of the batch is a negative for each
   * anchor, as in the MultipleNegatives* family): a batch of a single pair gives it loss 0, so the trainer drops such
   * batches (dropLast "auto") and refuses batchSize 1 on pair data.
   */
  readonly inBatchNegatives: boolean;
  /** Hyperparameters, written to checkpoints and the model card. */
  config(): Record<string, unknown>;
  /** Throws a clear error when the batch does not suit this loss (too few columns, no labels, ...). */
  validate?(batch: TrainingBatch): void;
  /** Loss value and gradients of it w.r.t. `variables` for one batch (variables not in the graph get zeros). */
  lossAndGrads(model: M, batch: TrainingBatch, variables: tf.Variable[]): LossResult;
  /** Set when lossAndGrads runs GradCache: texts per forward/backward pass (the memory plan's unit). */
  readonly miniBatchSize?: number;
  /** The loss a wrapper applies (MatryoshkaLoss: the loss it computes on truncated embeddings). */
  readonly inner?: Loss<M>;
  /**
   * The same loss and gradients computed with GradCache in mini-batches of `miniBatchSize` texts (a Cached loss:
   * itself with that mini-batch), or undefined when the loss has no such form.
   */
  cachedForm?(miniBatchSize: number): Loss<M> | undefined;
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
  readonly miniBatchSize: number;
  /** Value and variable gradients of `lossOfEmbeddings(embeddings of every column)`, mini-batch by mini-batch. */
  lossAndGradsOf(
    model: SentenceTransformer,
    batch: TrainingBatch,
    variables: tf.Variable[],
    lossOfEmbeddings: (embeddings: tf.Tensor2D[]) => tf.Scalar,
  ): LossResult;
}
