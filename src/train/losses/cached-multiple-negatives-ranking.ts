/**
 * CachedMultipleNegativesRankingLoss: MultipleNegativesRankingLoss computed with GradCache (Gao, Zhang, Han &
 * Callan 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup", arXiv:2101.06983), as
 * sentence-transformers' losses.CachedMultipleNegativesRankingLoss. Same value and gradients as the plain loss
 * (formula in multiple-negatives-ranking.ts; defaults scale 20, cos_sim), but memory bounded by one mini-batch.
 *
 * In-batch negatives make the examples of a batch depend on each other, so the batch cannot simply be split into
 * accumulated mini-batches. GradCache splits the computation instead. With e = embeddings of every text of the
 * batch and L(e) the loss:
 *   (1) embed every column in mini-batches of `miniBatchSize` texts with no gradient tape (nothing kept but e);
 *   (2) compute L(e) and the gradient G = dL/de with respect to the (detached) embedding matrices;
 *   (3) for each mini-batch m, re-run the forward pass under tf.variableGrads on the surrogate sum(e_m * G_m):
 *       its gradient is sum_k G_mk de_mk/dtheta, the mini-batch's share of dL/dtheta by the chain rule; the
 *       shares are summed over mini-batches.
 * The encoder here has no dropout, so the second forward reproduces the first exactly and no random state has to
 * be replayed (Python saves and restores the RNG for that). Cost: one extra forward pass per step (about +1/3).
 * Peak memory: one mini-batch's activations and gradients, plus the accumulated gradients (one copy of the
 * parameters) and the [texts, dim] embedding matrix.
 *
 * Measured with `npm run bench -- cached-mnrl-memory` (MiniLM-L6-sized BERT, 22.6 M parameters, wasm backend with
 * the BLAS matMul; peak = WebAssembly heap after one loss+gradient computation):
 *   64 pairs, seq 128, miniBatchSize 8: 1746 MiB;  miniBatchSize 16: 3114 MiB (same loss and gradient norm)
 *   16 pairs, seq 128, miniBatchSize 8: 1748 MiB   (the peak does not grow with the batch)
 *   256 pairs, seq 64, miniBatchSize 16: 1557 MiB
 * The wasm heap is wasm32 (4 GiB at most) and running out aborts the process: 32 texts of 128 tokens under one
 * tape (the plain loss on 16 pairs) do not fit, so on wasm at seq 128 use miniBatchSize 8-16, not Python's 32.
 *
 * Each mini-batch is tokenized on its own, so it is padded to its own longest text; padded positions are masked
 * out exactly, so the embeddings equal those of the whole-batch forward up to float rounding.
 */
import { backendInfo, tf } from "../../backend";
import { MNRL_SCALE } from "../../defaults";
import type { ModelInput, SentenceTransformer } from "../../model/sentence-transformer";
import {
  cachedFormOf,
  checkPositive,
  checkSimilarity,
  validateBatch,
  variableGrads,
  type SimilarityName,
} from "./common";
import { multipleNegativesRankingFromEmbeddings } from "./in-batch-negatives";
import type { GradCacheLoss, Loss, LossResult, TrainingBatch } from "./types";

export interface CachedMultipleNegativesRankingOptions {
  /** Multiplies the similarities before the softmax (default 20). */
  scale?: number;
  /** "cos_sim" (default) or "dot_score". */
  similarityFct?: SimilarityName;
  /**
   * Texts per forward/backward pass: lower it when memory runs out; it does not change the result.
   * Default: Python's 32 on the native tensorflow backend, 8 on wasm / cpu (see defaultMiniBatchSize).
   */
  miniBatchSize?: number;
  /** Called after each mini-batch of step (3) with (done, total). */
  onMiniBatch?: (done: number, total: number) => void;
}

/**
 * The default mini-batch size. The value only trades memory for speed (GradCache is exact), so it may differ
 * from Python's 32 where 32 cannot work: on wasm, 32 texts of 128 tokens under one gradient tape overrun the
 * 4 GiB heap and abort the process (uncatchable), while 8 peaks at ~1.7 GiB (measured, header above).
 */
export function defaultMiniBatchSize(): number {
  return backendInfo()?.name === "tensorflow" ? 32 : 8;
}

/**
 * GradCache for any loss of the column embeddings: steps (1)-(3) of the header. Returns the loss value and the
 * gradient of every variable (zeros for a variable the model does not use).
 */
export function gradCacheLossAndGrads(
  owner: string,
  model: SentenceTransformer,
  batch: TrainingBatch,
  variables: tf.Variable[],
  miniBatchSize: number,
  lossOfEmbeddings: (embeddings: tf.Tensor2D[]) => tf.Scalar,
  onMiniBatch?: (done: number, total: number) => void,
): LossResult {
  if (variables.length === 0)
    throw new Error(
      `${owner}: no variables to differentiate; pass model.trainableVariables() (or the unfrozen subset).`,
    );
  const trainable = variables.filter((v) => v.trainable);
  // (1) Embed without a tape; keep the tokenized mini-batches for the second pass.
  const inputs: ModelInput[][] = batch.texts.map((col) => {
    const chunks: ModelInput[] = [];
    for (let b = 0; b < col.length; b += miniBatchSize) chunks.push(model.tokenize(col.slice(b, b + miniBatchSize)));
    return chunks;
  });
  const embeddings = inputs.map((chunks) =>
    tf.tidy(() => {
      const parts = chunks.map((input) => model.forward(input));
      return parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor2D);
    }),
  );
  // (2) The loss and its gradient with respect to the embedding matrices.
  const { value, grads: embeddingGrads } = tf.valueAndGrads((...e: tf.Tensor[]) =>
    lossOfEmbeddings(e as tf.Tensor2D[]),
  )(embeddings);
  const loss = value.dataSync()[0];
  value.dispose();
  embeddings.forEach((e) => e.dispose());
  // (3) Backpropagate the cached gradients mini-batch by mini-batch and sum the variable gradients.
  const acc = new Map<tf.Variable, tf.Tensor>();
  const total = inputs.reduce((s, chunks) => s + chunks.length, 0);
  let done = 0;
  try {
    if (trainable.length > 0) {
      inputs.forEach((chunks, c) => {
        let row = 0;
        for (const input of chunks) {
          const rows = input.kind === "transformer" ? input.batch.batchSize : input.ids.length;
          const g = tf.slice(embeddingGrads[c], [row, 0], [rows, -1]);
          row += rows;
          const out = variableGrads(owner, () => tf.sum(tf.mul(model.forward(input), g)) as tf.Scalar, trainable);
          out.value.dispose();
          g.dispose();
          for (const v of trainable) {
            const grad = out.grads[v.name];
            if (!grad) continue;
            const prev = acc.get(v);
            if (prev) {
              acc.set(v, tf.add(prev, grad));
              prev.dispose();
              grad.dispose();
            } else acc.set(v, grad);
          }
          onMiniBatch?.(++done, total);
        }
      });
    }
  } catch (err) {
    for (const t of acc.values()) t.dispose();
    throw err;
  } finally {
    embeddingGrads.forEach((g) => g.dispose());
  }
  for (const v of variables) if (!acc.has(v)) acc.set(v, tf.zerosLike(v));
  return { loss, grads: acc };
}

export class CachedMultipleNegativesRankingLoss implements GradCacheLoss {
  /** A getter so that a subclass's name is already in place inside this constructor's error messages. */
  get name(): string {
    return "CachedMultipleNegativesRankingLoss";
  }
  readonly inBatchNegatives = true;
  readonly scale: number;
  readonly similarityFct: SimilarityName;
  readonly miniBatchSize: number;
  private readonly onMiniBatch: ((done: number, total: number) => void) | undefined;

  constructor(options: CachedMultipleNegativesRankingOptions = {}) {
    this.scale = checkPositive(this.name, "scale", options.scale ?? MNRL_SCALE);
    this.similarityFct = checkSimilarity(this.name, options.similarityFct ?? "cos_sim");
    this.miniBatchSize = checkPositive(
      this.name,
      "miniBatchSize",
      options.miniBatchSize ?? defaultMiniBatchSize(),
      true,
    );
    this.onMiniBatch = options.onMiniBatch;
  }

  config(): Record<string, unknown> {
    return { scale: this.scale, similarity_fct: this.similarityFct, mini_batch_size: this.miniBatchSize };
  }

  validate(batch: TrainingBatch): void {
    validateBatch(this.name, batch, 2);
  }

  lossFromEmbeddings(embeddings: tf.Tensor2D[]): tf.Scalar {
    return multipleNegativesRankingFromEmbeddings(embeddings, this.scale, this.similarityFct);
  }

  lossAndGradsOf(
    model: SentenceTransformer,
    batch: TrainingBatch,
    variables: tf.Variable[],
    lossOfEmbeddings: (embeddings: tf.Tensor2D[]) => tf.Scalar,
  ): LossResult {
    this.validate(batch);
    return gradCacheLossAndGrads(
      this.name,
      model,
      batch,
      variables,
      this.miniBatchSize,
      lossOfEmbeddings,
      this.onMiniBatch,
    );
  }

  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    return this.lossAndGradsOf(model, batch, variables, (e) => this.lossFromEmbeddings(e));
  }

  /** Itself with another mini-batch (same loss and gradients); none for a subclass (it may compute otherwise). */
  cachedForm(miniBatchSize: number): Loss | undefined {
    return cachedFormOf(this, CachedMultipleNegativesRankingLoss, CachedMultipleNegativesRankingLoss, miniBatchSize);
  }
}
