// The loss contract (src/train/losses/types.ts) from the outside: a loss written here against the `Loss` interface
// alone (no class of src/train/losses, none of its helpers) trains with train(), and the trainer does what the loss
// declares: its validate before the first step, single-pair batches dropped because it says inBatchNegatives, its
// cachedForm when a step does not fit memoryLimit, and a wrapper planned by its inner loss.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../src/backend";
import type { SentenceTransformer } from "../src/model/sentence-transformer";
import type { Loss, LossResult, TrainingBatch } from "../src/train/losses/types";
import {
  type EncoderShape,
  encoderShapeOf,
  estimateLossMemory,
  longestTokenized,
  lossMemoryPlan,
  SAFETY,
} from "../src/train/memory";
import { train } from "../src/train/trainer";
import { tinyModel, tinyPairs } from "./fixtures/train/tiny";

/**
 * InfoNCE over dot products at temperature 0.1: anchor i against every positive of the batch, label i. Its "cached
 * form" declares a mini-batch and computes the same value in one pass: what is under test is the trainer's reading
 * of the declarations, not GradCache (test/train-losses-model.test.ts checks that).
 */
class PairSoftmaxLoss implements Loss {
  readonly name: string;
  validated = 0;
  steps = 0;
  readonly cachedForms: PairSoftmaxLoss[] = [];
  constructor(
    readonly inBatchNegatives: boolean,
    readonly miniBatchSize?: number,
  ) {
    this.name = miniBatchSize === undefined ? "PairSoftmaxLoss" : "CachedPairSoftmaxLoss";
  }
  config() {
    return { temperature: 0.1, mini_batch_size: this.miniBatchSize ?? null };
  }
  validate(batch: TrainingBatch): void {
    this.validated++;
    if (batch.texts.length !== 2) throw new Error(`${this.name}: needs (anchor, positive) pairs`);
  }
  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    this.steps++;
    const n = batch.size;
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const [a, p] = batch.texts.map((texts) => model.forward(model.tokenize(texts)));
          const logits = tf.div(tf.matMul(a, p, false, true), 0.1);
          return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.eye(n)), 1))) as tf.Scalar;
        }),
      variables,
    );
    const loss = value.dataSync()[0];
    value.dispose();
    return { loss, grads: new Map(variables.map((v) => [v, grads[v.name] ?? tf.zerosLike(v)])) };
  }
  cachedForm(miniBatchSize: number): Loss {
    const cached = new PairSoftmaxLoss(this.inBatchNegatives, miniBatchSize);
    this.cachedForms.push(cached);
    return cached;
  }
}

const trainLosses = (r: Awaited<ReturnType<typeof train>>) =>
  r.history.flatMap((h) => (h.kind === "train" ? [h.loss] : []));

test("a loss written against the interface trains: validated once, single-pair batches dropped as it declares, loss falls", async () => {
  const pairs = tinyPairs(9); // batches of 4, 4 and 1 per epoch
  const opts = { batchSize: 4, epochs: 4, learningRate: 3e-3, seed: 3, progress: false as const };
  const warnings: string[] = [];
  const loss = new PairSoftmaxLoss(true);
  const model = tinyModel(5);
  const r = await train(model, pairs, { ...opts, loss, onWarning: (m) => warnings.push(m) });
  assert.equal(loss.validated, 1);
  assert.equal(r.steps, 8); // 2 batches x 4 epochs: the batch of one pair is skipped
  assert.equal(loss.steps, 8);
  assert.ok(
    warnings.some((w) => /single pair.*no in-batch negative for PairSoftmaxLoss/.test(w)),
    warnings.join("\n"),
  );
  const l = trainLosses(r);
  assert.ok(l[6] + l[7] < 0.8 * (l[0] + l[1]), `loss did not fall: ${l.map((x) => x.toFixed(3)).join(", ")}`);
  assert.equal(r.memory?.loss, "PairSoftmaxLoss");
  model.dispose();

  // The same loss declaring no in-batch negatives keeps every batch: the trainer reads the flag, not the name.
  const plainModel = tinyModel(5);
  const noNegatives = new PairSoftmaxLoss(false);
  const kept = await train(plainModel, pairs, { ...opts, epochs: 1, loss: noNegatives, onWarning: () => {} });
  assert.equal(kept.steps, 3);
  assert.equal(noNegatives.steps, 3);
  plainModel.dispose();
});

test("a step over memoryLimit trains with the form the loss's cachedForm returns, at the mini-batch that fits", async () => {
  const pairs = tinyPairs(16);
  const model = tinyModel(5);
  const shape = encoderShapeOf(model) as EncoderShape;
  const columns = longestTokenized(
    model,
    pairs.map((p) => [p.anchor, p.positive]),
    2,
  ).map((seqLen) => ({ texts: 8, seqLen }));
  const fixed = tf.memory().numBytes + 8 * shape.parameters;
  const need = (plan: Parameters<typeof estimateLossMemory>[2]) =>
    fixed + estimateLossMemory(shape, columns, plan).bytes;
  // Room for a mini-batch of 4 texts, not for 8.
  const memoryLimit = Math.ceil(need({ kind: "cached", miniBatchSize: 4 }) / SAFETY) + 1024;
  assert.ok(need({ kind: "cached", miniBatchSize: 8 }) > SAFETY * memoryLimit);
  const loss = new PairSoftmaxLoss(true);
  const warnings: string[] = [];
  const r = await train(model, pairs, {
    loss,
    batchSize: 8,
    epochs: 1,
    progress: false,
    memoryLimit,
    onWarning: (m) => warnings.push(m),
  });
  // Asked for mini-batch 8 (too large), then 4.
  assert.deepEqual(
    loss.cachedForms.map((c) => c.miniBatchSize),
    [8, 4],
  );
  assert.equal(loss.steps, 0);
  assert.equal(loss.cachedForms[1].steps, 2);
  assert.equal(r.memory?.loss, "CachedPairSoftmaxLoss");
  assert.ok(
    warnings.some((w) => /Training with CachedPairSoftmaxLoss \(miniBatchSize 4\)/.test(w)),
    warnings.join("\n"),
  );
  model.dispose();
});

test("memory planning reads miniBatchSize, and a wrapper's inner loss when it has none", () => {
  const wrapper = (inner: Loss): Loss => ({
    name: "Wrapper",
    inBatchNegatives: inner.inBatchNegatives,
    inner,
    config: () => ({}),
    lossAndGrads: (m, b, v) => inner.lossAndGrads(m, b, v),
  });
  assert.deepEqual(lossMemoryPlan(new PairSoftmaxLoss(true)), { kind: "plain" });
  assert.deepEqual(lossMemoryPlan(new PairSoftmaxLoss(true, 2)), { kind: "cached", miniBatchSize: 2 });
  assert.deepEqual(lossMemoryPlan(wrapper(new PairSoftmaxLoss(true, 2))), { kind: "cached", miniBatchSize: 2 });
  assert.deepEqual(lossMemoryPlan(wrapper(new PairSoftmaxLoss(true))), { kind: "plain" });
});

test("a loss that does not declare inBatchNegatives is refused with the member to add", async () => {
  const { inBatchNegatives: _, ...undeclared } = new PairSoftmaxLoss(true);
  const model = tinyModel(5);
  await assert.rejects(
    train(model, tinyPairs(4), {
      loss: { ...undeclared, lossAndGrads: () => assert.fail("no step may run") } as unknown as Loss,
      progress: false,
    }),
    /train: options\.loss PairSoftmaxLoss must declare inBatchNegatives/,
  );
  model.dispose();
});
