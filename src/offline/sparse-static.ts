/**
 * MultipleNegativesRankingLoss training of a StaticEmbedding table in plain JavaScript, with sparse
 * gradients: a step touches only the rows of the tokens in its batch, so pretraining on hundreds of
 * thousands of pairs takes about a minute on 2 cores where the tfjs trainer (which updates the whole
 * 30,522 x dim table with AdamW at every step) took 0.55 s per step. Used to pretrain the embedded offline
 * model (src/offline/pretrain.ts); fine-tuning in the course uses train() (./trainer).
 *
 * The loss is the same as MultipleNegativesRankingLoss on a StaticEmbedding model with a Normalize module
 * (test/offline-sparse-static.test.ts checks loss and gradients against it):
 *   e(t) = u / |u|,  u = mean of the table rows of t's token ids;  S_ij = scale * e(a_i) . e(p_j);
 *   loss = mean_i cross-entropy(S_i, i).
 * The update is Adam with lazy moments (PyTorch's SparseAdam: a row's moments change only when the row has
 * a gradient; bias correction by the global step), after clipping the global gradient norm (default 1, as
 * the trainer), with a linear warmup/decay schedule and no weight decay. Batches come from the trainer's
 * no-duplicates sampler, seeded per epoch. Plain float arithmetic in a fixed order: the same inputs give
 * the same bytes on every machine with the same Node.js.
 */
import { noDuplicatesBatches } from "../train/sampler";
import { learningRateAt, warmupStepsFor } from "../train/schedule";
import { DEFAULT_SEED, MNRL_SCALE } from "../defaults";

export interface SparseStaticOptions {
  batchSize: number;
  learningRate: number;
  epochs: number;
  warmupRatio?: number;
  /** MNRL scale (default 20). */
  scale?: number;
  seed?: number;
  betas?: [number, number];
  eps?: number;
  /** Global gradient-norm clip (default 1; 0 turns it off). */
  maxGradNorm?: number;
  /** Called every `logEvery` steps with the mean loss since the last call. */
  onLog?: (step: number, totalSteps: number, meanLoss: number) => void;
  logEvery?: number;
}

export interface SparseStaticResult {
  steps: number;
  meanLoss: number;
  seconds: number;
}

/** Loss and row gradients of one batch: `grads` maps a row id to its gradient (length dim). */
export function staticMnrlLossAndGrads(
  table: Float32Array,
  dim: number,
  anchors: readonly (readonly number[])[],
  positives: readonly (readonly number[])[],
  scale = MNRL_SCALE,
): { loss: number; grads: Map<number, Float64Array> } {
  const n = anchors.length;
  if (positives.length !== n) throw new Error(`staticMnrlLossAndGrads: ${n} anchors but ${positives.length} positives`);
  const texts = [...anchors, ...positives];
  const emb = texts.map(() => new Float64Array(dim));
  const norms = new Float64Array(texts.length);
  texts.forEach((ids, t) => {
    const u = emb[t];
    for (const id of ids) {
      const off = id * dim;
      for (let k = 0; k < dim; k++) u[k] += table[off + k];
    }
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      u[k] /= Math.max(ids.length, 1);
      norm += u[k] * u[k];
    }
    norm = Math.sqrt(norm);
    norms[t] = norm;
    if (norm > 0) for (let k = 0; k < dim; k++) u[k] /= norm;
  });
  // dS = (softmax(S_i) - onehot(i)) / n, gE = scale * dS-weighted sums.
  const gE = texts.map(() => new Float64Array(dim));
  let loss = 0;
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = emb[i];
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const p = emb[n + j];
      let s = 0;
      for (let k = 0; k < dim; k++) s += a[k] * p[k];
      row[j] = scale * s;
      if (row[j] > max) max = row[j];
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(row[j] - max);
    loss += max + Math.log(sum) - row[i];
    for (let j = 0; j < n; j++) {
      const d = (Math.exp(row[j] - max) / sum - (i === j ? 1 : 0)) / n;
      if (d === 0) continue;
      const p = emb[n + j];
      const ga = gE[i];
      const gp = gE[n + j];
      for (let k = 0; k < dim; k++) {
        ga[k] += scale * d * p[k];
        gp[k] += scale * d * a[k];
      }
    }
  }
  const grads = new Map<number, Float64Array>();
  texts.forEach((ids, t) => {
    if (ids.length === 0 || norms[t] === 0) return;
    const e = emb[t];
    const g = gE[t];
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += e[k] * g[k];
    const f = 1 / (norms[t] * ids.length);
    for (const id of ids) {
      let acc = grads.get(id);
      if (!acc) grads.set(id, (acc = new Float64Array(dim)));
      for (let k = 0; k < dim; k++) acc[k] += (g[k] - e[k] * dot) * f;
    }
  });
  return { loss: loss / n, grads };
}

/** Trains `table` [vocab, dim] in place on (anchor ids, positive ids) pairs; `texts` name them for the sampler. */
export function trainStaticMnrl(
  table: Float32Array,
  dim: number,
  pairs: readonly { anchor: string; positive: string; anchorIds: readonly number[]; positiveIds: readonly number[] }[],
  options: SparseStaticOptions,
): SparseStaticResult {
  const started = performance.now();
  const { batchSize, learningRate, epochs } = options;
  const scale = options.scale ?? MNRL_SCALE;
  const seed = options.seed ?? DEFAULT_SEED;
  const [b1, b2] = options.betas ?? [0.9, 0.999];
  const eps = options.eps ?? 1e-8;
  const maxGradNorm = options.maxGradNorm ?? 1;
  const m = new Float32Array(table.length);
  const v = new Float32Array(table.length);
  const rows = pairs.map((p) => [p.anchor, p.positive]);
  const epochBatches = Array.from({ length: epochs }, (_, e) =>
    noDuplicatesBatches(rows, e, { batchSize, seed, dropLast: false }),
  );
  const totalSteps = epochBatches.reduce((s, b) => s + b.length, 0);
  const schedule = {
    totalSteps,
    warmupSteps: warmupStepsFor(totalSteps, { warmupRatio: options.warmupRatio ?? 0 }),
    peakLearningRate: learningRate,
  };
  let step = 0;
  let lossSum = 0;
  let windowSum = 0;
  let windowCount = 0;
  const logEvery = options.logEvery ?? 200;
  for (const batches of epochBatches) {
    for (const batch of batches) {
      const { loss, grads } = staticMnrlLossAndGrads(
        table,
        dim,
        batch.map((i) => pairs[i].anchorIds),
        batch.map((i) => pairs[i].positiveIds),
        scale,
      );
      if (!Number.isFinite(loss))
        throw new Error(`trainStaticMnrl: the loss is ${loss} at step ${step + 1}; lower the learning rate.`);
      let sq = 0;
      for (const g of grads.values()) for (let k = 0; k < dim; k++) sq += g[k] * g[k];
      const norm = Math.sqrt(sq);
      const clip = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / (norm + 1e-6) : 1;
      step++;
      const lr = learningRateAt(schedule, step - 1);
      const c1 = 1 - b1 ** step;
      const c2 = 1 - b2 ** step;
      for (const [id, g] of [...grads].sort((x, y) => x[0] - y[0])) {
        const off = id * dim;
        for (let k = 0; k < dim; k++) {
          const gk = g[k] * clip;
          m[off + k] = b1 * m[off + k] + (1 - b1) * gk;
          v[off + k] = b2 * v[off + k] + (1 - b2) * gk * gk;
          table[off + k] -= (lr * (m[off + k] / c1)) / (Math.sqrt(v[off + k] / c2) + eps);
        }
      }
      lossSum += loss;
      windowSum += loss;
      windowCount++;
      if (options.onLog && (step % logEvery === 0 || step === totalSteps)) {
        options.onLog(step, totalSteps, windowSum / windowCount);
        windowSum = 0;
        windowCount = 0;
      }
    }
  }
  return { steps: step, meanLoss: lossSum / Math.max(step, 1), seconds: (performance.now() - started) / 1000 };
}
