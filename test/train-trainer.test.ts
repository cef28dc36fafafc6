// train(): input checks, determinism, NaN handling, freezing, keep-best / history / checkpoints, progress display.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "../src/backend";
import { loadModel } from "../src/model/sentence-transformer";
import { MultipleNegativesRankingLoss } from "../src/train/losses/multiple-negatives-ranking";
import type { Loss, LossResult, TrainingBatch } from "../src/train/losses/types";
import type { SentenceTransformer } from "../src/model/sentence-transformer";
import { train, TrainingDivergedError } from "../src/train/trainer";
import { prepareTrainingData } from "../src/train/training-data";
import { readCheckpoint } from "../src/train/checkpoint";
import { LineProgress, NotebookProgress, formatProgress } from "../src/train/progress";
import { differingValues, snapshot, tinyModel, tinyPairs } from "./fixtures/train/tiny";

const mnrl = () => new MultipleNegativesRankingLoss({ scale: 20 });
const quiet = { progress: false as const, onWarning: () => undefined };
const tmp = () => mkdtempSync(join(tmpdir(), "train-test-"));

test("bad input: errors name the row and field; warnings count duplicates, a single example, a batch larger than the data", async () => {
  assert.throws(
    () => prepareTrainingData([{ anchor: "a", positive: "p" }, { anchor: "b" }], "pairs"),
    /pairs row 1: missing field "positive"/,
  );
  assert.throws(
    () =>
      prepareTrainingData([
        { anchor: "a", positive: "  " },
        { anchor: "b", positive: "q" },
      ]),
    /row 0: field "positive" is empty/,
  );
  assert.throws(
    () => prepareTrainingData([{ anchor: "a", positive: 3 }]),
    /row 0: field "positive" is number, expected a string/,
  );
  assert.throws(
    () =>
      prepareTrainingData([
        { anchor: "a", positive: "p", negative: "n" },
        { anchor: "b", positive: "q" },
      ]),
    /row 1: missing field "negative" \(other rows have it/,
  );
  assert.throws(() => prepareTrainingData([]), /no rows/);
  assert.throws(() => prepareTrainingData("rows.jsonl"), /expected an array of rows/);
  const many = Array.from({ length: 14 }, (_, i) => ({ anchor: `a${i}` }));
  assert.throws(
    () => prepareTrainingData(many),
    (e: Error) => /row 0: missing field "positive"[\s\S]*row 9:[\s\S]*and 4 more problems/.test(e.message),
  );
  const dup = prepareTrainingData([
    { anchor: "a", positive: "p" },
    { anchor: "a", positive: "p" },
    { anchor: "a", positive: "p" },
    { anchor: "b", positive: "q" },
  ]);
  assert.match(dup.warnings.join("\n"), /2 of 4 rows repeat an earlier row/);
  assert.match(prepareTrainingData([{ anchor: "a", positive: "p" }]).warnings.join("\n"), /a single example/);
  const withNeg = prepareTrainingData([
    { anchor: "a", positive: "p", negative_2: "n2", negative_1: "n1", doc_id: "x" },
  ]);
  assert.deepEqual(withNeg.columns, ["anchor", "positive", "negative_1", "negative_2"]);
  assert.deepEqual(withNeg.rows, [["a", "p", "n1", "n2"]]);

  const model = tinyModel();
  const warnings: string[] = [];
  const r = await train(model, tinyPairs(3), {
    loss: mnrl(),
    batchSize: 8,
    progress: false,
    onWarning: (w) => warnings.push(w),
  });
  assert.equal(r.steps, 1);
  assert.match(warnings.join("\n"), /batchSize 8 is larger than the 3 training rows/);
  await assert.rejects(
    train(model, tinyPairs(3), { loss: mnrl(), batchSize: 8, dropLast: true, ...quiet }),
    /no batch; lower batchSize to at most 3/,
  );
  await assert.rejects(train(model, tinyPairs(3), {} as never), /options.loss is required/);
  await assert.rejects(
    train(model, [{ anchor: "x", positive: "y" }, { positive: "z" }], { loss: mnrl(), ...quiet }),
    /train data row 1: missing field "anchor"/,
  );
});

test("same seed => bit-identical weights; another seed => different weights", async () => {
  const run = async (seed: number) => {
    const model = tinyModel();
    await train(model, tinyPairs(24), {
      loss: mnrl(),
      batchSize: 8,
      epochs: 2,
      learningRate: 1e-3,
      warmupRatio: 0.2,
      seed,
      ...quiet,
    });
    return snapshot(model);
  };
  const a = await run(5);
  const b = await run(5);
  const c = await run(6);
  const init = snapshot(tinyModel());
  assert.ok(differingValues(a, init) > 1000, "training changed the weights");
  assert.equal(differingValues(a, b), 0, "same seed gives the same bits");
  assert.ok(differingValues(a, c) > 1000, "another seed shuffles differently");
});

/** Wraps a loss and corrupts one step: a NaN loss, or a NaN gradient. */
class CorruptAt implements Loss {
  readonly name = "CorruptAt";
  private calls = 0;
  constructor(
    readonly inner: Loss,
    private readonly at: number,
    private readonly what: "loss" | "grad",
  ) {}
  get inBatchNegatives() {
    return this.inner.inBatchNegatives;
  }
  config() {
    return { at: this.at, what: this.what };
  }
  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    const r = this.inner.lossAndGrads(model, batch, variables);
    if (++this.calls !== this.at) return r;
    if (this.what === "loss") return { ...r, loss: NaN };
    const [v, g] = [...r.grads][0];
    r.grads.set(v, tf.mul(g, Infinity));
    g.dispose();
    return r;
  }
}

test("a NaN loss or gradient stops training naming the step; the last good checkpoint stays intact", async () => {
  for (const what of ["loss", "grad"] as const) {
    const dir = tmp();
    const model = tinyModel();
    const err = await train(model, tinyPairs(40), {
      loss: new CorruptAt(mnrl(), 5, what),
      batchSize: 8,
      learningRate: 1e-3,
      outputDir: dir,
      checkpointSteps: 2,
      ...quiet,
    }).then(
      () => assert.fail("should have stopped"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TrainingDivergedError, String(err));
    assert.equal(err.step, 5);
    assert.match(
      err.message,
      what === "loss" ? /step 5 \(epoch 1, batch 5\): the loss is NaN/ : /step 5 .*the gradient norm is (NaN|Infinity)/,
    );
    assert.ok(err.lastCheckpoint?.endsWith("checkpoint-000004"), err.lastCheckpoint);
    assert.match(err.message, /checkpoint-000004/);
    const ck = readCheckpoint(err.lastCheckpoint!);
    assert.equal(ck.state.step, 4);
    assert.deepEqual(readdirSync(join(dir, "checkpoints")).sort(), ["checkpoint-000002", "checkpoint-000004"]);
    // The model still holds the step-4 weights: the bad step changed nothing.
    for (const [name, v] of model.encoder!.variables)
      assert.deepEqual(Float32Array.from(v.dataSync()), ck.weights.get(name)!.data, name);
    const history = JSON.parse(readFileSync(join(dir, "history.json"), "utf8"));
    assert.equal(history.entries.filter((e: { kind: string }) => e.kind === "train").length, 4);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("freeze: embeddings and the lowest layers stay fixed, the rest trains", async () => {
  const model = tinyModel();
  const before = snapshot(model);
  const r = await train(model, tinyPairs(16), {
    loss: mnrl(),
    batchSize: 8,
    learningRate: 1e-3,
    freeze: { embeddings: true, layers: 1 },
    ...quiet,
  });
  const after = snapshot(model);
  for (const [name, w] of before) {
    const changed = differingValues(new Map([[name, w]]), new Map([[name, after.get(name)!]])) > 0;
    const frozen = name.startsWith("embeddings.") || name.startsWith("encoder.layer.0.");
    if (frozen) assert.equal(changed, false, `${name} is frozen`);
    else if (!name.endsWith("bias") || name.includes("layer.1")) assert.equal(changed, true, `${name} trains`);
  }
  assert.ok(r.frozenParameters.includes("embeddings.word_embeddings.weight"));
  assert.ok(r.trainedParameters.every((n) => n.startsWith("encoder.layer.1.")));
  await assert.rejects(
    train(tinyModel(), tinyPairs(4), { loss: mnrl(), freeze: { layers: 3 }, ...quiet }),
    /freeze.layers 3: the model has only 2 layers/,
  );
});

test("evaluation every N steps, keep-best in sentence-transformers layout, history.json, last K checkpoints", async () => {
  const dir = tmp();
  const model = tinyModel();
  // A fake evaluator whose metric peaks at step 4, so "best" must be the step-4 model.
  const scores: Record<number, number> = { 0: 0.1, 2: 0.3, 4: 0.9, 6: 0.5, 8: 0.2 };
  let calls = 0;
  const atStep4 = { value: undefined as Map<string, Float32Array> | undefined };
  const evaluator = {
    async evaluate(m: SentenceTransformer) {
      const step = 2 * calls++;
      if (step === 4) atStep4.value = snapshot(m);
      return {
        metrics: { "dev_cosine_ndcg@10": scores[step], "dev_cosine_mrr@10": scores[step] / 2 },
        primaryMetric: "dev_cosine_ndcg@10",
      };
    },
  };
  const r = await train(model, tinyPairs(32), {
    loss: mnrl(),
    batchSize: 4,
    maxSteps: 8,
    learningRate: 1e-3,
    evaluator,
    evalSteps: 2,
    outputDir: dir,
    checkpointSteps: 3,
    keepCheckpoints: 2,
    ...quiet,
  });
  assert.equal(r.steps, 8);
  assert.deepEqual(r.best && { metric: r.best.metric, value: r.best.value, step: r.best.step }, {
    metric: "dev_cosine_ndcg@10",
    value: 0.9,
    step: 4,
  });
  const evals = r.history.filter((h) => h.kind === "eval");
  assert.deepEqual(
    evals.map((e) => e.step),
    [0, 2, 4, 6, 8],
  );
  assert.deepEqual(
    r.history.filter((h) => h.kind === "train").map((h) => h.step),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  const best = await loadModel(join(dir, "best"));
  assert.equal(differingValues(snapshot(best), atStep4.value!), 0, "best/ holds the step-4 weights");
  const final = await loadModel(join(dir, "final"));
  assert.equal(differingValues(snapshot(final), snapshot(model)), 0, "final/ holds the last weights");
  assert.ok(existsSync(join(dir, "best", "modules.json")) && existsSync(join(dir, "best", "1_Pooling", "config.json")));
  assert.deepEqual(readdirSync(join(dir, "checkpoints")).sort(), ["checkpoint-000006", "checkpoint-000008"]);
  const history = JSON.parse(readFileSync(join(dir, "history.json"), "utf8")) as { entries: unknown[] };
  assert.deepEqual(history.entries, JSON.parse(JSON.stringify(r.history)));
  const lrs = r.history.flatMap((h) => (h.kind === "train" ? [h.learningRate] : []));
  assert.deepEqual(
    lrs.map((x) => +x.toExponential(6)),
    [8, 7, 6, 5, 4, 3, 2, 1].map((k) => +((1e-3 * k) / 8).toExponential(6)),
  );
  // loadBestModelAtEnd puts the best weights back into the model.
  const dir2 = tmp();
  calls = 0;
  const m2 = tinyModel();
  await train(m2, tinyPairs(32), {
    loss: mnrl(),
    batchSize: 4,
    maxSteps: 8,
    learningRate: 1e-3,
    evaluator,
    evalSteps: 2,
    outputDir: dir2,
    loadBestModelAtEnd: true,
    ...quiet,
  });
  assert.equal(differingValues(snapshot(m2), atStep4.value!), 0);
  rmSync(dir, { recursive: true, force: true });
  rmSync(dir2, { recursive: true, force: true });
});

test("a changed setting refuses to resume another run's checkpoint; resumeFrom: false starts over", async () => {
  const dir = tmp();
  await train(tinyModel(), tinyPairs(16), { loss: mnrl(), batchSize: 8, learningRate: 1e-3, outputDir: dir, ...quiet });
  await assert.rejects(
    train(tinyModel(), tinyPairs(16), { loss: mnrl(), batchSize: 8, learningRate: 2e-3, outputDir: dir, ...quiet }),
    /checkpoint of a different run \(learningRate: checkpoint 0.001, now 0.002\)/,
  );
  const r = await train(tinyModel(), tinyPairs(16), {
    loss: mnrl(),
    batchSize: 8,
    learningRate: 2e-3,
    outputDir: dir,
    resumeFrom: false,
    ...quiet,
  });
  assert.equal(r.resumedFrom, undefined);
  assert.equal(r.steps, 2);
  rmSync(dir, { recursive: true, force: true });
});

test("progress: plain lines every N steps; in a notebook one display updated in place", async () => {
  const lines: string[] = [];
  await train(tinyModel(), tinyPairs(24), {
    loss: mnrl(),
    batchSize: 4,
    learningRate: 1e-3,
    progress: new LineProgress(2, (l) => lines.push(l)),
    onWarning: () => undefined,
  });
  assert.deepEqual(
    lines.map((l) => l.split(" | ")[0]),
    ["step 2/6 (33%)", "step 4/6 (66%)", "step 6/6 (100%)"],
  );
  assert.match(lines[0], /loss \d\.\d{4} \| lr \d\.\d\de-\d \| grad norm \d+\.\d{3} \| \d+\.\d\d s\/step \| ETA /);
  assert.equal(
    formatProgress({ step: 5, totalSteps: 20, epoch: 0.25, epochs: 1, secondsPerStep: 2 }),
    "step 5/20 (25%) | epoch 0.25/1 | 2.00 s/step | ETA 30 s",
  );

  const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: unknown };
  const sent: { data: Record<string, string>; transient: { display_id: string }; update: boolean }[] = [];
  jupyter.lastWriteDisplayData = (
    msg: { data: Record<string, string>; transient: { display_id: string } },
    update: boolean,
  ) => sent.push({ ...msg, update });
  try {
    await train(tinyModel(), tinyPairs(12), {
      loss: mnrl(),
      batchSize: 4,
      learningRate: 1e-3,
      progress: new NotebookProgress(0),
      onWarning: () => undefined,
    });
  } finally {
    jupyter.lastWriteDisplayData = null;
  }
  assert.ok(sent.length >= 4, `${sent.length} messages`);
  assert.equal(sent[0].update, false);
  assert.ok(
    sent.slice(1).every((m) => m.update),
    "later messages update the same output",
  );
  assert.equal(new Set(sent.map((m) => m.transient.display_id)).size, 1);
  assert.match(sent[sent.length - 1].data["text/plain"], /^step 3\/3 \(100%\)/);
  assert.match(sent[sent.length - 1].data["text/html"], /<progress value="100.0"/);
});

test("a nodejs-polars DataFrame trains exactly like the same rows as objects", async () => {
  const { pairsToDataFrame } = await import("../src/data/pairs");
  const rows = tinyPairs(12).map((r, i) => ({ ...r, negative: `an unrelated passage ${i}`, doc_id: `doc${i}` }));
  const frame = pairsToDataFrame(rows);
  assert.deepEqual(prepareTrainingData(frame).columns, ["anchor", "positive", "negative"]);
  const a = tinyModel();
  const b = tinyModel();
  await train(a, rows, { loss: mnrl(), batchSize: 4, learningRate: 1e-3, ...quiet });
  await train(b, frame, { loss: mnrl(), batchSize: 4, learningRate: 1e-3, ...quiet });
  assert.equal(differingValues(snapshot(a), snapshot(b)), 0);
  const withNull = pairsToDataFrame([
    { anchor: "a", positive: "p" },
    { anchor: "b", positive: null as unknown as string },
  ]);
  assert.throws(() => prepareTrainingData(withNull, "frame"), /frame row 1: missing field "positive"/);
});

test("terminal progress rewrites one line and ends it with a newline", async () => {
  const { TerminalProgress } = await import("../src/train/progress");
  let out = "";
  const stream = {
    columns: 200,
    write: (s: string) => {
      out += s;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  await train(tinyModel(), tinyPairs(12), {
    loss: mnrl(),
    batchSize: 4,
    learningRate: 1e-3,
    progress: new TerminalProgress(stream),
    onWarning: () => undefined,
  });
  const updates = out.split("\r\x1b[2K").filter((s) => s.length > 0);
  assert.deepEqual(
    updates.map((u) => u.split(" | ")[0]),
    ["step 1/3 (33%)", "step 2/3 (66%)", "step 3/3 (100%)", "step 3/3 (100%)"],
  );
  assert.equal(out.split("\n").length - 1, 1, "a single newline, at the end");
  assert.ok(out.endsWith("\n"));
});

test("a static model (StaticEmbedding) trains its embedding table; freezing it is an error", async () => {
  const { offlineModel } = await import("../src/model/sentence-transformer");
  const model = offlineModel("offline-random");
  const before = Float32Array.from(model.trainableVariables()[0].dataSync());
  const r = await train(model, tinyPairs(8), { loss: mnrl(), batchSize: 4, learningRate: 1e-2, ...quiet });
  assert.deepEqual(r.trainedParameters, ["embedding.weight"]);
  const after = model.trainableVariables()[0].dataSync();
  const dim = model.dim;
  // Beyond weight decay (p * (1 - lr_t * 0.01) at lr 1e-2 then 5e-3), only rows of tokens in the training texts move.
  const decay = (1 - 1e-2 * 0.01) * (1 - 5e-3 * 0.01);
  const moved = (id: number) => {
    let m = 0;
    for (let j = 0; j < dim; j++) m = Math.max(m, Math.abs(after[id * dim + j] - before[id * dim + j] * decay));
    return m;
  };
  const [river] = model.tokenizer.encodeContent("river");
  const [zebra] = model.tokenizer.encodeContent("zebra");
  assert.ok(moved(river) > 1e-3, `row of "river" moved ${moved(river)}`);
  assert.ok(moved(zebra) < 1e-6, `row of "zebra" (not in the data) moved ${moved(zebra)}`);
  await assert.rejects(
    train(model, tinyPairs(8), { loss: mnrl(), freeze: { embeddings: true }, ...quiet }),
    /every parameter is frozen/,
  );
  model.dispose();
});

test("an error inside the loss (e.g. the wasm heap running out) names the step, the fix and the last checkpoint", async () => {
  const dir = tmp();
  let calls = 0;
  const inner = mnrl();
  const failing: Loss = {
    name: "MultipleNegativesRankingLoss",
    inBatchNegatives: true,
    config: () => inner.config(),
    lossAndGrads(model, batch, variables) {
      if (++calls === 3) {
        const e = new Error("memory access out of bounds");
        e.name = "RuntimeError"; // what WebAssembly.RuntimeError says
        throw e;
      }
      return inner.lossAndGrads(model, batch, variables);
    },
  };
  await assert.rejects(
    train(tinyModel(), tinyPairs(24), { loss: failing, batchSize: 4, outputDir: dir, checkpointSteps: 2, ...quiet }),
    (e: Error) =>
      /^train: step 3 \(epoch 1, batch 3 of 4 examples\): MultipleNegativesRankingLoss failed: memory access out of bounds\./.test(
        e.message,
      ) &&
      /CachedMultipleNegativesRankingLoss/.test(e.message) &&
      /checkpoint-000002/.test(e.message),
  );
  calls = 0;
  const other: Loss = {
    ...failing,
    lossAndGrads: () => {
      throw new Error("boom");
    },
  };
  await assert.rejects(
    train(tinyModel(), tinyPairs(8), { loss: other, batchSize: 4, ...quiet }),
    (e: Error) =>
      e.message === "train: step 1 (epoch 1, batch 1 of 4 examples): MultipleNegativesRankingLoss failed: boom.",
  );
  rmSync(dir, { recursive: true, force: true });
});

test("wiring: the sampler's batches reach the loss without repeated texts, the warmup schedule reaches AdamW", async () => {
  const seen: TrainingBatch[] = [];
  const inner = mnrl();
  const spy: Loss = {
    name: inner.name,
    inBatchNegatives: true,
    config: () => inner.config(),
    lossAndGrads: (m, b, v) => {
      seen.push(b);
      return inner.lossAndGrads(m, b, v);
    },
  };
  // 16 rows over 6 distinct positives: duplicates must be spread over batches.
  const rows = Array.from({ length: 16 }, (_, i) => ({
    anchor: `query number ${i}`,
    positive: `shared passage ${i % 6}`,
  }));
  const r = await train(tinyModel(), rows, {
    loss: spy,
    batchSize: 4,
    epochs: 2,
    learningRate: 1e-3,
    warmupRatio: 0.25,
    ...quiet,
  });
  assert.equal(seen.length, r.steps);
  for (const b of seen) {
    assert.deepEqual(b.columns, ["anchor", "positive"]);
    const texts = b.texts.flat();
    assert.equal(new Set(texts).size, texts.length, `a batch repeats a text: ${JSON.stringify(b.texts)}`);
  }
  const perEpoch = r.history.filter((h) => h.kind === "train" && h.epoch <= 1).length;
  const firstEpoch = seen
    .slice(0, perEpoch)
    .flatMap((b) => b.texts[0])
    .sort();
  assert.deepEqual(firstEpoch, rows.map((x) => x.anchor).sort(), "every row once in epoch 1");
  const T = r.steps;
  const W = Math.ceil(T * 0.25);
  const lrs = r.history.flatMap((h) => (h.kind === "train" ? [h.learningRate] : []));
  assert.deepEqual(
    lrs,
    Array.from({ length: T }, (_, s) => 1e-3 * (s < W ? s / W : (T - s) / (T - W))),
  );
});

test("an explicit resumeFrom checkpoint continues from it; a finished run started again does nothing more", async () => {
  const dir = tmp();
  const opts = {
    loss: mnrl(),
    batchSize: 4,
    learningRate: 1e-3,
    outputDir: dir,
    checkpointSteps: 1,
    keepCheckpoints: 10,
    ...quiet,
  };
  const full = tinyModel();
  const r1 = await train(full, tinyPairs(16), opts);
  assert.equal(r1.steps, 4);
  const again = await train(tinyModel(), tinyPairs(16), opts);
  assert.match(again.resumedFrom ?? "", /checkpoint-000004$/);
  assert.deepEqual(again.history, r1.history);
  const fromTwo = tinyModel();
  const dir2 = tmp();
  const r2 = await train(fromTwo, tinyPairs(16), {
    ...opts,
    outputDir: dir2,
    resumeFrom: join(dir, "checkpoints", "checkpoint-000002"),
  });
  assert.equal(r2.steps, 4);
  assert.deepEqual(
    r2.history.map((h) => h.kind === "train" && h.loss),
    r1.history.map((h) => h.kind === "train" && h.loss),
  );
  assert.equal(differingValues(snapshot(fromTwo), snapshot(full)), 0);
  await assert.rejects(
    train(tinyModel(), tinyPairs(16), { ...opts, resumeFrom: join(dir, "nope") }),
    /resumeFrom .*nope does not exist/,
  );
  rmSync(dir, { recursive: true, force: true });
  rmSync(dir2, { recursive: true, force: true });
});
