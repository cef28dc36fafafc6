// AdamW, gradient clipping and the learning-rate schedule against PyTorch (a fixture written by torch 1.13's
// torch.optim.AdamW + clip_grad_norm_, see fixtures/train/make_adamw_fixture.py) and against hand computations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend, tf } from "../src/backend";
import { AdamW, clipGradNorm, noWeightDecay } from "../src/train/optimizer";
import { learningRateAt, linearWarmupDecayFactor, warmupStepsFor } from "../src/train/schedule";

interface Fixture {
  lr: number;
  total: number;
  warmup: number;
  shapes: Record<string, number[]>;
  initial: Record<string, number[]>;
  steps: {
    lr: number;
    grad_norm: number;
    grads: Record<string, number[]>;
    params: Record<string, number[]>;
    exp_avg: Record<string, number[]>;
    exp_avg_sq: Record<string, number[]>;
  }[];
}

function close(actual: ArrayLike<number>, expected: number[], what: string, rel = 2e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  // Relative to each value, plus a floor relative to the array's scale (sums that nearly cancel).
  const scale = Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * (Math.abs(expected[i]) + scale);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs torch ${expected[i]}`);
  }
}

test("AdamW + clip_grad_norm_ + linear schedule follow torch step by step", async () => {
  await initBackend();
  const fx = JSON.parse(readFileSync(join(__dirname, "fixtures/train/adamw-torch.json"), "utf8")) as Fixture;
  const names = Object.keys(fx.shapes);
  const vars = new Map(names.map((n) => [n, tf.variable(tf.tensor(fx.initial[n], fx.shapes[n], "float32"), true)]));
  const opt = new AdamW(names.map((name) => ({ name, variable: vars.get(name)! })));
  assert.deepEqual(opt.decayGroups().noDecay.sort(), [
    "embeddings.LayerNorm.weight",
    "encoder.layer.0.attention.self.query.bias",
  ]);
  const schedule = { peakLearningRate: fx.lr, totalSteps: fx.total, warmupSteps: fx.warmup };
  let clipped = 0;
  fx.steps.forEach((s, step) => {
    const lr = learningRateAt(schedule, step);
    assert.ok(Math.abs(lr - s.lr) < 1e-15, `step ${step}: lr ${lr} vs torch ${s.lr}`);
    const grads = new Map(names.map((n) => [vars.get(n)!, tf.tensor(s.grads[n], fx.shapes[n], "float32")]));
    const norm = clipGradNorm(grads, 1);
    assert.ok(
      Math.abs(norm - s.grad_norm) <= 1e-6 * s.grad_norm,
      `step ${step}: grad norm ${norm} vs torch ${s.grad_norm}`,
    );
    if (norm > 1) clipped++;
    opt.step(grads, lr);
    for (const g of grads.values()) g.dispose();
    const state = opt.state();
    for (const n of names) {
      close(vars.get(n)!.dataSync(), s.params[n], `step ${step} ${n}`);
      close(state.get(n)!.expAvg.data, s.exp_avg[n], `step ${step} exp_avg ${n}`);
      close(state.get(n)!.expAvgSq.data, s.exp_avg_sq[n], `step ${step} exp_avg_sq ${n}`);
    }
  });
  assert.ok(clipped >= 2 && clipped < fx.steps.length, `the fixture clips some steps and not others (${clipped})`);
  opt.dispose();
  for (const v of vars.values()) v.dispose();
});

test("one AdamW step equals the hand computation (decay on weights, none on biases)", async () => {
  await initBackend();
  const w = tf.variable(tf.tensor1d([1, -2]), true);
  const b = tf.variable(tf.tensor1d([0.5]), true);
  const opt = new AdamW(
    [
      { name: "dense.weight", variable: w },
      { name: "dense.bias", variable: b },
    ],
    { weightDecay: 0.1 },
  );
  const lr = 0.01;
  const gw = [0.2, -0.4];
  const gb = [3];
  opt.step(
    new Map([
      [w, tf.tensor1d(gw)],
      [b, tf.tensor1d(gb)],
    ]),
    lr,
  );
  // Step 1: m = 0.1 g, v = 0.001 g^2, m/(1-0.9) = g, sqrt(v/(1-0.999)) = |g|: p <- p (1 - lr wd) - lr g / (|g| + eps).
  const expectW = [1 * (1 - lr * 0.1) - lr * (0.2 / (0.2 + 1e-8)), -2 * (1 - lr * 0.1) - lr * (-0.4 / (0.4 + 1e-8))];
  const expectB = [0.5 - lr * (3 / (3 + 1e-8))];
  close(w.dataSync(), expectW, "weight", 1e-6);
  close(b.dataSync(), expectB, "bias", 1e-6);
  // Step 2 with g2: m = 0.09 g1 + 0.1 g2, v = 0.000999 g1^2 + 0.001 g2^2, bias corrections 1 - 0.9^2, 1 - 0.999^2.
  const g2 = -0.1;
  const m = 0.09 * 3 + 0.1 * g2;
  const v = 0.000999 * 9 + 0.001 * g2 * g2;
  const expected2 = expectB[0] - ((lr / (1 - 0.81)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
  const wAfterStep1 = [...w.dataSync()];
  opt.step(new Map([[b, tf.tensor1d([g2])]]), lr); // w gets no gradient: untouched, its step count stays 1
  close(b.dataSync(), [expected2], "bias after step 2", 1e-6);
  assert.deepEqual([...w.dataSync()], wAfterStep1);
  assert.equal(opt.state().get("dense.weight")!.step, 1);
  assert.equal(opt.state().get("dense.bias")!.step, 2);
  opt.dispose();
});

test("state() / loadState() round-trip and refuse another model's state", async () => {
  await initBackend();
  const mk = () =>
    tf.variable(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      true,
    );
  const a = mk();
  const opt = new AdamW([{ name: "x.weight", variable: a }]);
  opt.step(
    new Map([
      [
        a,
        tf.tensor2d([
          [0.1, 0.2],
          [0.3, 0.4],
        ]),
      ],
    ]),
    0.1,
  );
  const saved = opt.state();
  const b = mk();
  const opt2 = new AdamW([{ name: "x.weight", variable: b }]);
  opt2.loadState(saved);
  assert.deepEqual([...opt2.state().get("x.weight")!.expAvg.data], [...saved.get("x.weight")!.expAvg.data]);
  assert.equal(opt2.state().get("x.weight")!.step, 1);
  const opt3 = new AdamW([{ name: "y.weight", variable: mk() }]);
  assert.throws(
    () => opt3.loadState(saved, "ck/optimizer.safetensors"),
    /ck\/optimizer.safetensors: no state for parameter "y.weight"/,
  );
});

test("no weight decay on biases and LayerNorm, by Hugging Face names", () => {
  for (const n of [
    "encoder.layer.3.output.dense.bias",
    "embeddings.LayerNorm.weight",
    "bert.encoder.layer.0.attention.output.LayerNorm.bias",
    "encoder.layer.1.output.LayerNorm.gamma",
    "ln.bias",
    "model.layer_norm.weight",
  ])
    assert.equal(noWeightDecay(n), true, n);
  for (const n of [
    "encoder.layer.3.output.dense.weight",
    "embeddings.word_embeddings.weight",
    "embedding.weight",
    "pooler.dense.weight",
    "biasmlp.weight",
  ])
    assert.equal(noWeightDecay(n), false, n);
});

test("clipGradNorm: global norm of per-tensor norms, scale max/(norm + 1e-6), no change under the limit", async () => {
  await initBackend();
  const v1 = tf.variable(tf.zeros([2]));
  const v2 = tf.variable(tf.zeros([1]));
  const grads = new Map<tf.Variable, tf.Tensor>([
    [v1, tf.tensor1d([3, 4])],
    [v2, tf.tensor1d([12])],
  ]);
  const norm = clipGradNorm(grads, 1);
  assert.ok(Math.abs(norm - 13) < 1e-5);
  const c = 1 / (13 + 1e-6);
  close(grads.get(v1)!.dataSync(), [3 * c, 4 * c], "clipped 1", 1e-6);
  close(grads.get(v2)!.dataSync(), [12 * c], "clipped 2", 1e-6);
  const small = new Map<tf.Variable, tf.Tensor>([[v1, tf.tensor1d([0.3, 0.4])]]);
  assert.ok(Math.abs(clipGradNorm(small, 1) - 0.5) < 1e-6);
  assert.deepEqual(
    [...small.get(v1)!.dataSync()].map((x) => Math.round(x * 1e6) / 1e6),
    [0.3, 0.4],
  );
  const bad = new Map<tf.Variable, tf.Tensor>([[v1, tf.tensor1d([NaN, 1])]]);
  assert.ok(Number.isNaN(clipGradNorm(bad, 1)));
});

test("linear warmup then linear decay to 0, as get_linear_schedule_with_warmup", () => {
  // T = 10, W = 2: 0, 1/2, then (10 - s) / 8.
  const f = Array.from({ length: 11 }, (_, s) => linearWarmupDecayFactor(s, 10, 2));
  assert.deepEqual(f, [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0]);
  assert.deepEqual(
    [0, 1, 2].map((s) => linearWarmupDecayFactor(s, 2, 0)),
    [1, 0.5, 0],
  );
  assert.equal(warmupStepsFor(100, { warmupRatio: 0.1 }), 10);
  assert.equal(warmupStepsFor(27, { warmupRatio: 0.1 }), 3); // ceil(2.7)
  assert.equal(warmupStepsFor(27, { warmupRatio: 0.1, warmupSteps: 5 }), 5);
  assert.equal(warmupStepsFor(27, {}), 0);
  assert.throws(() => warmupStepsFor(10, { warmupRatio: 1.5 }), /warmupRatio 1.5/);
  assert.equal(learningRateAt({ peakLearningRate: 2e-5, totalSteps: 10, warmupSteps: 2 }, 1), 1e-5);
});
