/**
 * Pieces every loss shares: batch validation, one forward pass per column, the similarity functions of
 * sentence-transformers' util (cos_sim, dot_score), cross-entropy with "example i matches candidate i" labels,
 * and turning tf.variableGrads into the LossResult the trainer takes.
 *
 *   cos_sim(a, b)   = normalize(a) normalize(b)^T        normalize(x) = x / max(||x||_2, 1e-12)
 *   dot_score(a, b) = a b^T
 *   CE(S)           = 1/n sum_i [ log sum_j exp(S_ij) - S_ii ]   (torch.nn.CrossEntropyLoss, labels = 0..n-1, mean)
 */
import { tf } from "../../backend";
import { l2Normalize } from "../../model/pooling";
import type { SentenceTransformer } from "../../model/sentence-transformer";
import type { LossResult, TrainingBatch } from "./types";

export type SimilarityName = "cos_sim" | "dot_score";

/** Pairwise similarity matrix [n, m] of a [n, d] and b [m, d]. */
export function similarity(name: SimilarityName, a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    if (name === "dot_score") return tf.matMul(a, b, false, true);
    return tf.matMul(l2Normalize(a), l2Normalize(b), false, true);
  });
}

export function checkSimilarity(owner: string, name: unknown): SimilarityName {
  if (name !== "cos_sim" && name !== "dot_score")
    throw new Error(
      `${owner}: similarityFct "${String(name)}" is not supported; use "cos_sim" (default) or "dot_score" (then set scale 1).`,
    );
  return name;
}

export function checkPositive(owner: string, field: string, value: number, integer = false): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
    throw new Error(
      `${owner}: ${field} is ${String(value)}; it must be a positive ${integer ? "integer" : "finite number"}.`,
    );
  return value;
}

/**
 * Mean cross-entropy of the rows of `scores` [n, m] with target column i for row i (n <= m), i.e.
 * torch.nn.CrossEntropyLoss()(scores, arange(n)).
 *
 * Computed without cancellation: -log softmax(S_i)_i = log(1 + sum_{j != i} exp(S_ij - S_ii))
 * = softplus(logSumExp_{j != i}(S_ij - S_ii)). The textbook logSumExp(S_i) - S_ii subtracts two numbers of the
 * size of the scale (20) in float32, so a loss near 1e-4 kept only ~3 correct digits (relative error 4e-3);
 * here the small differences are formed first, and a loss of 1e-4 keeps float32's ~1e-6 relative precision,
 * as PyTorch's fused log_softmax does. Same value and gradients otherwise. A row with no other candidate
 * (one pair, no negatives) has loss 0.
 */
export function crossEntropyDiagonal(scores: tf.Tensor2D): tf.Scalar {
  const [n, m] = scores.shape;
  if (n > m) throw new Error(`crossEntropyDiagonal: ${n} rows but only ${m} candidates; row i needs candidate i.`);
  return tf.tidy(() => {
    const eye = tf.eye(n, m);
    const target = tf.sum(tf.mul(tf.slice(scores, [0, 0], [n, n]), tf.eye(n)), 1, true); // S_ii, [n, 1]
    const margins = tf.sub(scores, target); // S_ij - S_ii, exactly 0 on the diagonal
    // Leave the diagonal out of the sum: exp(-1e4) is 0 in float32, and its gradient is 0 too.
    const others = tf.where(tf.cast(eye, "bool"), tf.fill([n, m], -1e4), margins);
    return tf.mean(tf.softplus(tf.logSumExp(others, 1))) as tf.Scalar;
  });
}

/**
 * Checks the column-major batch: `columns` and `texts` agree, every column holds `size` strings, and the loss
 * gets as many columns as it needs. Errors say which field and what to do.
 */
export function validateBatch(owner: string, batch: TrainingBatch, minColumns: number, maxColumns = Infinity): void {
  if (!batch || !Array.isArray(batch.texts) || !Array.isArray(batch.columns))
    throw new Error(
      `${owner}: the batch must be { columns: string[], texts: string[][], size: number } (column-major).`,
    );
  const { columns, texts, size } = batch;
  if (texts.length !== columns.length)
    throw new Error(
      `${owner}: batch.columns names ${columns.length} columns (${columns.join(", ")}) but batch.texts holds ${texts.length}.`,
    );
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`${owner}: batch.size is ${String(size)}; a batch needs at least one example.`);
  const want =
    maxColumns === minColumns
      ? `exactly ${minColumns}`
      : maxColumns === Infinity
        ? `at least ${minColumns}`
        : `${minColumns} to ${maxColumns}`;
  if (columns.length < minColumns || columns.length > maxColumns) {
    const hint =
      minColumns >= 3
        ? "(anchor, positive, negative) triplets"
        : "(anchor, positive) pairs, optionally with negative columns";
    throw new Error(
      `${owner}: the batch has ${columns.length} column(s) (${columns.join(", ") || "none"}) but this loss needs ${want}: ${hint}.`,
    );
  }
  texts.forEach((col, c) => {
    if (!Array.isArray(col) || col.length !== size)
      throw new Error(
        `${owner}: column ${c} ("${columns[c]}") holds ${Array.isArray(col) ? col.length : "no list of"} texts but batch.size is ${size}; every column needs one text per example.`,
      );
    col.forEach((t, i) => {
      if (typeof t !== "string")
        throw new Error(
          `${owner}: batch.texts[${c}][${i}] ("${columns[c]}" of example ${i}) is ${t === null ? "null" : typeof t}, expected a string.`,
        );
    });
  });
}

/** Sentence embeddings of every column, one forward pass per column as sentence-transformers does ([size, dim] each). */
export function embedColumns(model: SentenceTransformer, batch: TrainingBatch): tf.Tensor2D[] {
  return batch.texts.map((col) => model.forward(model.tokenize(col)));
}

/**
 * Runs `f` under tf.variableGrads and returns its value and the gradient of every variable asked for; a variable
 * that `f` does not depend on (or that is not trainable) gets a zero gradient, so the map always has them all.
 */
export function gradsOf(owner: string, f: () => tf.Scalar, variables: tf.Variable[]): LossResult {
  if (variables.length === 0)
    throw new Error(
      `${owner}: no variables to differentiate; pass model.trainableVariables() (or the unfrozen subset).`,
    );
  const trainable = variables.filter((v) => v.trainable);
  const grads = new Map<tf.Variable, tf.Tensor>();
  let loss: number;
  if (trainable.length === 0) {
    const value = tf.tidy(f);
    loss = value.dataSync()[0];
    value.dispose();
  } else {
    const out = variableGrads(owner, f, trainable);
    loss = out.value.dataSync()[0];
    out.value.dispose();
    for (const v of trainable) if (out.grads[v.name]) grads.set(v, out.grads[v.name]);
  }
  for (const v of variables) if (!grads.has(v)) grads.set(v, tf.zerosLike(v));
  return { loss, grads };
}

/** tf.variableGrads with tfjs's "Cannot find a connection" turned into an error that says what to pass. */
export function variableGrads(
  owner: string,
  f: () => tf.Scalar,
  trainable: tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  try {
    return tf.variableGrads(f, trainable);
  } catch (err) {
    if (!/Cannot find a connection/.test((err as Error).message)) throw err;
    throw new Error(
      `${owner}: none of the ${trainable.length} variables passed affects the loss; pass model.trainableVariables() of the model being trained (or a subset of them).`,
    );
  }
}

/**
 * Checks that a batch carries one finite float label per example (losses on scored pairs); the error says which
 * column the rows need.
 */
export function validateLabels(owner: string, batch: TrainingBatch): number[] {
  const labels = batch.labels;
  if (!Array.isArray(labels))
    throw new Error(
      `${owner}: the batch has no labels; this loss trains on scored pairs: rows {anchor, positive, label} (or "score"), ` +
        'e.g. mineHardNegatives(..., { outputFormat: "labeled-pair" }).',
    );
  if (labels.length !== batch.size)
    throw new Error(
      `${owner}: batch.labels holds ${labels.length} values but batch.size is ${batch.size}; give one label per example.`,
    );
  labels.forEach((y, i) => {
    if (typeof y !== "number" || !Number.isFinite(y))
      throw new Error(`${owner}: batch.labels[${i}] is ${String(y)}; labels must be finite numbers.`);
  });
  return labels;
}

/** Row-wise cosine similarity [n] of a and b [n, d], each row normalised first (util.pairwise_cos_sim). */
export function pairwiseCosSim(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(l2Normalize(a), l2Normalize(b)), 1) as tf.Tensor1D);
}

/**
 * The GradCache form of an in-batch-negatives loss (types.ts cachedForm): `Cached` with the loss's scale and
 * similarity and a mini-batch of `miniBatchSize` texts, when `loss` is exactly a `cls`; undefined for a subclass,
 * which may compute something else.
 */
export function cachedFormOf<L>(
  loss: { scale: number; similarityFct: SimilarityName },
  cls: abstract new (...args: never[]) => unknown,
  Cached: new (options: { scale: number; similarityFct: SimilarityName; miniBatchSize: number }) => L,
  miniBatchSize: number,
): L | undefined {
  if (Object.getPrototypeOf(loss) !== cls.prototype) return undefined;
  return new Cached({ scale: loss.scale, similarityFct: loss.similarityFct, miniBatchSize });
}
