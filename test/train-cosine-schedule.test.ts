// The cosine learning-rate schedule (lrScheduler: "cosine"), against the formula of transformers'
// get_cosine_schedule_with_warmup (num_cycles 0.5):
//   lr_lambda(s) = s / max(1, W)                                         s < W
//                = max(0, 0.5 * (1 + cos(pi * num_cycles * 2 * p)))      p = (s - W) / max(1, T - W)
// against PyTorch's own CosineAnnealingLR after the warmup (test/fixtures/train/cosine-schedule-torch.json, made by
// cosine_schedule_torch.py beside it), and through the trainer: the learning rate each step used, from its history.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MultipleNegativesRankingLoss } from "../src/train/losses/multiple-negatives-ranking";
import { cosineWarmupFactor, learningRateAt } from "../src/train/schedule";
import { train } from "../src/train/trainer";
import { tinyModel, tinyPairs } from "./fixtures/train/tiny";

/** transformers' lr_lambda, written out as it is there (num_cycles = 0.5). */
function transformersCosine(step: number, T: number, W: number, numCycles = 0.5): number {
  if (step < W) return step / Math.max(1, W);
  const progress = (step - W) / Math.max(1, T - W);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
}

test("cosine factor: the warmup ramp, then half a cosine to 0 (values worked by hand, and the formula at every step)", () => {
  // T = 10, W = 2: 0, 0.5 (ramp); 1 at the end of warmup; cos(pi/4) a quarter in; 0.5 half-way; 0 at the end.
  assert.equal(cosineWarmupFactor(0, 10, 2), 0);
  assert.equal(cosineWarmupFactor(1, 10, 2), 0.5);
  assert.equal(cosineWarmupFactor(2, 10, 2), 1);
  assert.ok(Math.abs(cosineWarmupFactor(4, 10, 2) - (1 + Math.SQRT1_2) / 2) < 1e-15);
  assert.ok(Math.abs(cosineWarmupFactor(6, 10, 2) - 0.5) < 1e-15);
  assert.ok(Math.abs(cosineWarmupFactor(10, 10, 2)) < 1e-15);
  for (const [T, W] of [
    [52, 6],
    [7, 0],
    [1, 1],
    [100, 10],
  ])
    for (let s = 0; s <= T; s++)
      assert.equal(cosineWarmupFactor(s, T, W), transformersCosine(s, T, W), `T=${T} W=${W} s=${s}`);
  // Not the linear schedule: a quarter into the decay the cosine is higher (0.854 vs 0.75).
  assert.ok(
    learningRateAt({ peakLearningRate: 1, totalSteps: 10, warmupSteps: 2, type: "cosine" }, 4) >
      learningRateAt({ peakLearningRate: 1, totalSteps: 10, warmupSteps: 2 }, 4) + 0.1,
  );
});

test("cosine factor after the warmup = PyTorch's CosineAnnealingLR(T_max = T - W, eta_min 0), step by step", () => {
  const ref = JSON.parse(readFileSync(join(__dirname, "fixtures", "train", "cosine-schedule-torch.json"), "utf8")) as {
    cases: { total: number; warmup: number; after_warmup: number[] }[];
  };
  assert.equal(ref.cases.length, 3);
  for (const { total, warmup, after_warmup } of ref.cases) {
    assert.equal(after_warmup.length, total - warmup + 1);
    after_warmup.forEach((lr, i) =>
      assert.ok(
        Math.abs(cosineWarmupFactor(warmup + i, total, warmup) - lr) < 1e-12,
        `T=${total} W=${warmup} step ${warmup + i}: ours ${cosineWarmupFactor(warmup + i, total, warmup)}, torch ${lr}`,
      ),
    );
  }
});

test('train({ lrScheduler: "cosine" }): every step uses the cosine learning rate; a wrong name is an error', async () => {
  const r = await train(tinyModel(), tinyPairs(24), {
    loss: new MultipleNegativesRankingLoss({ scale: 20 }),
    batchSize: 4,
    epochs: 2,
    learningRate: 2e-3,
    warmupRatio: 0.1,
    lrScheduler: "cosine",
    progress: false,
    onWarning: () => undefined,
  });
  const T = r.steps;
  const W = Math.ceil(T * 0.1);
  const lrs = r.history.flatMap((h) => (h.kind === "train" ? [h.learningRate] : []));
  assert.equal(lrs.length, T);
  lrs.forEach((lr, s) => assert.ok(Math.abs(lr - 2e-3 * transformersCosine(s, T, W)) < 1e-15, `step ${s}: ${lr}`));
  await assert.rejects(
    train(tinyModel(), tinyPairs(8), {
      loss: new MultipleNegativesRankingLoss(),
      lrScheduler: "constant" as never,
      progress: false,
    }),
    /lrScheduler "constant" must be "linear" or "cosine"/,
  );
});
