// train() checks before the first step (issue 9 items 2, 7, 9, 10 and concurrent runs): option types, batches
// without in-batch negatives, every output location, one run per outputDir, the trained model's name.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs, { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../src/model/sentence-transformer";
import { MultipleNegativesRankingLoss } from "../src/train/losses/multiple-negatives-ranking";
import { TripletLoss } from "../src/train/losses/triplet";
import type { LossResult, TrainingBatch } from "../src/train/losses/types";
import type { SentenceTransformer } from "../src/model/sentence-transformer";
import type { tf } from "../src/backend";
import { train } from "../src/train/trainer";
import { tinyModel, tinyPairs } from "./fixtures/train/tiny";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";
import { compareSystems, describeComparison } from "../src/eval/compare";
import { comparisonTable, metricsTable, perQueryReport } from "../src/eval/report";
import { loadShippedSplit } from "../src/data/shipped";

const quiet = { progress: false as const, onWarning: () => undefined };
const tmp = () => mkdtempSync(join(tmpdir(), "train-checks-"));

/** MNRL that counts its steps, so a test can assert that none ran. */
class Counting extends MultipleNegativesRankingLoss {
  steps = 0;
  override lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    this.steps++;
    return super.lossAndGrads(model, batch, variables);
  }
}

test("a string (or other non-number) where a number belongs is named with what it got", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { learningRate: "2e-5" },
      /train: learningRate must be a number, got a string \("2e-5"\) \(write learningRate: 2e-5, without quotes\)\.$/,
    ],
    [{ batchSize: "32" }, /batchSize must be a number, got a string \("32"\)/],
    [{ epochs: null }, /epochs must be a number, got null/],
    [{ warmupRatio: "0.1" }, /warmupRatio must be a number, got a string/],
    [{ weightDecay: "0.01" }, /weightDecay must be a number/],
    [{ maxSteps: [3] }, /maxSteps must be a number, got an array/],
    [{ adamBetas: [0.9, "0.999"] }, /adamBetas\[1\] must be a number, got a string/],
    [{ freeze: { layers: "1" } }, /freeze\.layers must be a number, got a string/],
    [{ dropLast: "yes" }, /dropLast must be true or false or "auto", got "yes"/],
    [{ outputDir: 42 }, /outputDir must be a folder path/],
  ];
  for (const [opts, re] of cases) {
    const loss = new Counting();
    await assert.rejects(
      train(tinyModel(), tinyPairs(8), { loss, ...quiet, ...opts } as never),
      re,
      JSON.stringify(opts),
    );
    assert.equal(loss.steps, 0);
  }
});

test("batchSize 1 with an in-batch-negatives loss on pairs is refused with the reason; other cases train", async () => {
  await assert.rejects(
    train(tinyModel(), tinyPairs(8), { loss: new MultipleNegativesRankingLoss(), batchSize: 1, ...quiet }),
    /batchSize 1 with MultipleNegativesRankingLoss on \(anchor, positive\) pairs: each anchor's only candidate is its own positive, so every loss is 0/,
  );
  // With a hard negative there is something to contrast; TripletLoss has no in-batch negatives.
  const triplets = tinyPairs(6).map((r, i) => ({ ...r, negative: `unrelated text number ${i}` }));
  const r1 = await train(tinyModel(), triplets, {
    loss: new MultipleNegativesRankingLoss(),
    batchSize: 1,
    maxSteps: 2,
    ...quiet,
  });
  assert.ok(r1.history.some((h) => h.kind === "train" && h.loss > 0));
  const r2 = await train(tinyModel(), triplets, { loss: new TripletLoss(), batchSize: 1, maxSteps: 2, ...quiet });
  assert.equal(r2.steps, 2);
});

test("a last batch of one pair is skipped by default and the run says so; dropLast: false keeps it", async () => {
  const warnings: string[] = [];
  const r = await train(tinyModel(), tinyPairs(17), {
    loss: new MultipleNegativesRankingLoss(),
    batchSize: 4,
    learningRate: 1e-3,
    progress: false,
    onWarning: (w) => warnings.push(w),
  });
  const sizes = r.history.flatMap((h) => (h.kind === "train" ? [h.batchSize] : []));
  assert.deepEqual(sizes, [4, 4, 4, 4]);
  assert.equal(r.totalSteps, 4);
  assert.ok(sizes.length > 0 && r.history.every((h) => h.kind !== "train" || h.loss > 0));
  assert.match(
    warnings.join("\n"),
    /17 pairs at batchSize 4 leave a last batch of a single pair, which has no in-batch negative for MultipleNegativesRankingLoss \(loss 0, nothing learned\); skipped \(dropLast "auto"; dropLast: false keeps it\)/,
  );
  const kept = await train(tinyModel(), tinyPairs(17), {
    loss: new MultipleNegativesRankingLoss(),
    batchSize: 4,
    dropLast: false,
    ...quiet,
  });
  const keptSizes = kept.history.flatMap((h) => (h.kind === "train" ? [h.batchSize] : []));
  assert.deepEqual(keptSizes, [4, 4, 4, 4, 1]);
});

test("a bad outputDir fails before the first step, naming it", async () => {
  const root = tmp();
  const file = join(root, "out.txt");
  writeFileSync(file, "mine");
  const loss = new Counting();
  await assert.rejects(
    train(tinyModel(), tinyPairs(8), { loss, batchSize: 4, outputDir: file, ...quiet }),
    new RegExp(`outputDir ${file.replace(/[/.]/g, "\\$&")}: is a file, not a folder`),
  );
  // final/ holding someone's files: model.save would refuse after training, so the run refuses now.
  const out = join(root, "run");
  mkdirSync(join(out, "final"), { recursive: true });
  writeFileSync(join(out, "final", "notes.txt"), "keep");
  await assert.rejects(
    train(tinyModel(), tinyPairs(8), { loss, batchSize: 4, outputDir: out, ...quiet }),
    /final\/ exists and is not a model folder the trainer wrote/,
  );
  assert.equal(readFileSync(join(out, "final", "notes.txt"), "utf8"), "keep");
  assert.equal(loss.steps, 0, "no step ran");
});

test("an outputDir that cannot be written fails before the first step (EACCES injected)", async (t) => {
  const out = join(tmp(), "locked", "run");
  const real = fs.mkdirSync;
  t.mock.method(fs, "mkdirSync", (...args: Parameters<typeof fs.mkdirSync>) => {
    if (String(args[0]).includes("locked")) {
      const err = new Error(`EACCES: permission denied, mkdir '${String(args[0])}'`) as NodeJS.ErrnoException;
      err.code = "EACCES";
      throw err;
    }
    return real(...args);
  });
  const loss = new Counting();
  await assert.rejects(
    train(tinyModel(), tinyPairs(8), { loss, batchSize: 4, outputDir: out, ...quiet }),
    /outputDir .*run: cannot be created or written \(EACCES: permission denied.*give a folder you can write to/,
  );
  assert.equal(loss.steps, 0);
});

test("two trainings into one outputDir at the same time: the second refuses; user files there survive resumeFrom: false", async () => {
  const out = join(tmp(), "run");
  const opts = { batchSize: 4, learningRate: 1e-3, outputDir: out, ...quiet };
  const [first, second] = await Promise.allSettled([
    train(tinyModel(), tinyPairs(16), { loss: new MultipleNegativesRankingLoss(), ...opts }),
    train(tinyModel(), tinyPairs(16), { loss: new MultipleNegativesRankingLoss(), ...opts }),
  ]);
  assert.equal(first.status, "fulfilled");
  assert.equal(second.status, "rejected");
  assert.match(
    String((second as PromiseRejectedResult).reason),
    /is being written by this process right now \(a training run; lock .*\.run\.lock\)/,
  );
  // The lock is released: a new run into the same folder starts over and keeps a user's file in checkpoints/.
  writeFileSync(join(out, "checkpoints", "my-notes.txt"), "keep");
  await train(tinyModel(), tinyPairs(16), {
    loss: new MultipleNegativesRankingLoss(),
    ...opts,
    learningRate: 2e-3,
    resumeFrom: false,
  });
  assert.equal(readFileSync(join(out, "checkpoints", "my-notes.txt"), "utf8"), "keep");
  assert.deepEqual(readdirSync(join(out, "..")).sort(), ["run"]);
});

test("a trained model's name says so, after save / load too; the README flow's tables show both sides", async () => {
  const out = join(tmp(), "policy");
  const model = await loadModel("offline");
  assert.equal(model.name, "offline (embedded offline default, pretrained on WordNet, not a Hub model)");
  // The README flow without explicit names: evaluate, train, evaluate the same model object again.
  const testEval = InformationRetrievalEvaluator.fromSplit(loadShippedSplit("policy-handbook", "test"), {
    name: "policy-test",
  });
  const base = await testEval.evaluate(model);
  await train(model, tinyPairs(8), {
    loss: new MultipleNegativesRankingLoss(),
    batchSize: 4,
    outputDir: out,
    ...quiet,
  });
  assert.equal(model.name, "offline + fine-tuned");
  const tuned = await testEval.evaluate(model);
  assert.deepEqual(metricsTable([base, tuned]).columns, [
    "metric",
    "offline (embedded offline default, pretrained on WordNet, not a Hub model)",
    "offline + fine-tuned",
  ]);
  assert.ok(perQueryReport([base, tuned]).columns.includes("offline + fine-tuned rank"));
  const cmp = compareSystems(base, tuned, { resamples: 100 });
  assert.deepEqual(comparisonTable(cmp).columns.slice(0, 3), [
    "metric",
    "offline (embedded offline default, pretrained on WordNet, not a Hub model)",
    "offline + fine-tuned",
  ]);
  assert.match(
    describeComparison(cmp),
    /^offline \+ fine-tuned vs offline \(embedded offline default, pretrained on WordNet, not a Hub model\) on \d+ queries/,
  );
  const reloaded = await loadModel(join(out, "final"));
  assert.equal(reloaded.name, "policy/final");
  assert.ok(existsSync(join(out, "final", "modules.json")));
  model.dispose();
  reloaded.dispose();
});

test("a checkpoint that cannot be written (ENOSPC injected) names the checkpoint and the earlier one that is intact", async (t) => {
  const out = join(tmp(), "run");
  let writes = 0;
  const real = fs.renameSync;
  t.mock.method(fs, "renameSync", (...args: Parameters<typeof fs.renameSync>) => {
    if (String(args[1]).endsWith("checkpoint-000002") && ++writes === 1) {
      const err = new Error("ENOSPC: no space left on device") as NodeJS.ErrnoException;
      err.code = "ENOSPC";
      throw err;
    }
    return real(...args);
  });
  const err = await train(tinyModel(), tinyPairs(16), {
    loss: new MultipleNegativesRankingLoss(),
    batchSize: 4,
    checkpointSteps: 1,
    outputDir: out,
    ...quiet,
  }).then(
    () => assert.fail("expected a failure"),
    (e: Error) => e,
  );
  assert.match(
    err.message,
    /^Saving checkpoint checkpoint-000002 to .*checkpoint-000002 failed: no space left on the device \(ENOSPC\)\. The earlier checkpoint .*checkpoint-000001 is intact\. To fix: free some disk space/,
  );
  t.mock.restoreAll();
  assert.deepEqual(readdirSync(join(out, "checkpoints")), ["checkpoint-000001"]);
});
