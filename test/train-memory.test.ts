// The trainer's memory planning (src/train/memory.ts): the estimate against measured peaks, the backend's limit (wasm,
// CPU, a stand-in GPU), the switch to a Cached loss with the same result, the refusal naming the setting, and memory
// that stays flat over 30 steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type BackendInfo, deviceMemory, initBackend, parseNvidiaSmi, runsOnGpu, tf } from "../src/backend";
import { CachedMultipleNegativesRankingLoss } from "../src/train/losses/cached-multiple-negatives-ranking";
import { CachedMultipleNegativesSymmetricRankingLoss } from "../src/train/losses/cached-multiple-negatives-symmetric-ranking";
import { CoSENTLoss } from "../src/train/losses/cosent";
import { MultipleNegativesRankingLoss } from "../src/train/losses/multiple-negatives-ranking";
import { MultipleNegativesSymmetricRankingLoss } from "../src/train/losses/multiple-negatives-symmetric-ranking";
import { TripletLoss } from "../src/train/losses/triplet";
import {
  type EncoderShape,
  encoderShapeOf,
  estimateLossMemory,
  longestTokenized,
  lossMemoryPlan,
  memoryLimit,
  planStepMemory,
  SAFETY,
  tapeBytes,
  WASM_HEAP_LIMIT,
} from "../src/train/memory";
import type { ProgressReporter } from "../src/train/progress";
import { train } from "../src/train/trainer";
import { measureStep } from "./fixtures/memory-probe";
import { seededWordTexts } from "./fixtures/shaped-model";
import { differingValues, snapshot, tinyModel, tinyPairs } from "./fixtures/train/tiny";

const GiB = 1024 ** 3;
const MINILM: EncoderShape = { layers: 6, hidden: 384, heads: 12, intermediate: 1536, parameters: 22_713_216 };
const wasm = (inUseBytes = 0) => ({ limitBytes: WASM_HEAP_LIMIT, inUseBytes, source: "the wasm heap" });

test("the estimate: linear in texts and layers, quadratic in the sequence length; GradCache bounded by its mini-batch", () => {
  const one = tapeBytes(MINILM, 1, 128);
  assert.equal(tapeBytes(MINILM, 16, 128), 16 * one);
  assert.equal(tapeBytes({ ...MINILM, layers: 12 }, 1, 128) > 1.9 * one, true);
  // Doubling S more than doubles the tape (attention scores grow with S^2).
  assert.ok(tapeBytes(MINILM, 1, 256) > 2.1 * one);
  const columns = [
    { texts: 16, seqLen: 32 },
    { texts: 16, seqLen: 256 },
  ];
  const plain = estimateLossMemory(MINILM, columns, { kind: "plain" });
  const cached8 = estimateLossMemory(MINILM, columns, { kind: "cached", miniBatchSize: 8 });
  const cached8Big = estimateLossMemory(
    MINILM,
    columns.map((c) => ({ ...c, texts: 256 })),
    { kind: "cached", miniBatchSize: 8 },
  );
  assert.equal(plain.tapeBytes, tapeBytes(MINILM, 16, 32) + tapeBytes(MINILM, 16, 256));
  assert.equal(cached8.tapeBytes, tapeBytes(MINILM, 8, 256)); // the longest column's mini-batch
  assert.equal(cached8Big.bytes, cached8.bytes); // does not grow with the batch
  // The issue's case: MiniLM-L6, batch 16, passages of 256 tokens: plain MNRL does not fit the usable part of the
  // 4 GiB heap (it died at step 7 in the course's kernel), nor does GradCache with mini-batch 8; mini-batch 4 does.
  assert.ok(plain.bytes > SAFETY * WASM_HEAP_LIMIT, `${plain.bytes / GiB} GiB`);
  assert.ok(cached8.bytes > SAFETY * WASM_HEAP_LIMIT, `${cached8.bytes / GiB} GiB`);
  const cached4 = estimateLossMemory(MINILM, columns, { kind: "cached", miniBatchSize: 4 });
  assert.ok(cached4.bytes < 0.7 * SAFETY * WASM_HEAP_LIMIT, `${cached4.bytes / GiB} GiB`);
});

test("the plan of a loss: Cached losses are GradCache with their mini-batch, everything else one tape", () => {
  assert.deepEqual(lossMemoryPlan(new MultipleNegativesRankingLoss()), { kind: "plain" });
  assert.deepEqual(lossMemoryPlan(new CachedMultipleNegativesRankingLoss({ miniBatchSize: 4 })), {
    kind: "cached",
    miniBatchSize: 4,
  });
  assert.deepEqual(lossMemoryPlan(new TripletLoss()), { kind: "plain" });
});

test("calibration: the estimate is within 30% of the measured peak of one step (small shapes, measured here)", async () => {
  await initBackend();
  for (const c of [
    { layers: 2, hidden: 64, heads: 4, intermediate: 256, batch: 8, seq: 32 },
    { layers: 1, hidden: 128, heads: 2, intermediate: 512, batch: 4, seq: 64 },
    { layers: 2, hidden: 64, heads: 4, intermediate: 256, batch: 16, seq: 32, miniBatch: 4 },
  ]) {
    const { measured, estimated } = measureStep(c);
    const ratio = estimated / measured;
    assert.ok(ratio > 0.7 && ratio < 1.3, `${JSON.stringify(c)}: estimated/measured ${ratio}`);
  }
});

test("the backend's limit: wasm 4 GiB; a GPU's free memory from nvidia-smi (stand-in); else the machine's free memory", () => {
  const gpuBackend: BackendInfo = { name: "tensorflow", package: "@tensorflow/tfjs-node-gpu", notes: [] };
  const smi = "NVIDIA H200, 143771, 100000\nNVIDIA H200, 143771, 143000\n";
  assert.deepEqual(parseNvidiaSmi(smi), {
    totalBytes: 143771 * 1024 ** 2,
    freeBytes: 100000 * 1024 ** 2,
    source: "nvidia-smi: NVIDIA H200, 100000 of 143771 MiB free",
  });
  assert.equal(parseNvidiaSmi(""), undefined);
  assert.equal(parseNvidiaSmi("garbage"), undefined);
  assert.equal(deviceMemory(gpuBackend, () => smi)?.freeBytes, 100000 * 1024 ** 2);
  assert.equal(runsOnGpu(gpuBackend), true); // and encode() then stays on tfjs (sentence-transformer.ts)
  assert.equal(runsOnGpu({ name: "wasm", package: "@tensorflow/tfjs-backend-wasm", notes: [] }), false);
  assert.equal(
    deviceMemory(gpuBackend, () => {
      throw new Error("nvidia-smi: not found");
    }),
    undefined,
  );
  // tfjs-node on the CPU is never asked about a GPU.
  const cpuNative: BackendInfo = { name: "tensorflow", package: "@tensorflow/tfjs-node", notes: [] };
  assert.equal(
    deviceMemory(cpuNative, () => {
      throw new Error("must not be called");
    }),
    undefined,
  );
  const inUse = tf.memory().numBytes;
  assert.deepEqual(memoryLimit({ name: "wasm", package: "x", notes: [] }), {
    limitBytes: WASM_HEAP_LIMIT,
    inUseBytes: inUse,
    source: "the wasm heap (4 GiB at most: wasm32)",
  });
  const gpu = memoryLimit(gpuBackend, () => parseNvidiaSmi(smi));
  assert.equal(gpu.limitBytes, 100000 * 1024 ** 2 + inUse);
  assert.match(gpu.source, /GPU memory \(nvidia-smi: NVIDIA H200/);
  const cpu = memoryLimit(cpuNative, () => undefined);
  assert.match(cpu.source, /free memory .*tfjs-node on the CPU/);
  assert.ok(cpu.limitBytes > 0);
  // A GPU plan uses the device's memory: a MiniLM batch of 64 x 256 tokens fits 100 GB, not the wasm heap.
  const columns = [0, 1].map(() => ({ texts: 64, seqLen: 256 }));
  const args = { shape: MINILM, columns, batchSize: 64, maxSeqLength: 256 };
  const onGpu = planStepMemory({ ...args, loss: new MultipleNegativesRankingLoss(), limit: gpu });
  assert.equal(onGpu.loss.name, "MultipleNegativesRankingLoss");
  assert.equal(onGpu.switched, undefined);
  const onWasm = planStepMemory({ ...args, loss: new MultipleNegativesRankingLoss(), limit: wasm() });
  assert.equal(onWasm.loss.name, "CachedMultipleNegativesRankingLoss");
});

test("too big for the heap: in-batch losses switch to their Cached form with the largest mini-batch that fits", () => {
  const columns = [
    { texts: 16, seqLen: 40 },
    { texts: 16, seqLen: 256 },
  ];
  const base = { shape: MINILM, columns, batchSize: 16, maxSeqLength: 256, limit: wasm(200 * 1024 ** 2) };
  const plan = planStepMemory({ ...base, loss: new MultipleNegativesRankingLoss({ scale: 30 }) });
  assert.ok(plan.loss instanceof CachedMultipleNegativesRankingLoss);
  const cached = plan.loss as CachedMultipleNegativesRankingLoss;
  assert.equal(cached.scale, 30);
  assert.ok(plan.estimatedBytes <= plan.budgetBytes);
  assert.equal(plan.budgetBytes, SAFETY * WASM_HEAP_LIMIT);
  // The largest candidate that fits: twice that mini-batch would not.
  const twice = planStepMemory({
    ...base,
    loss: new CachedMultipleNegativesRankingLoss({ miniBatchSize: cached.miniBatchSize }),
  });
  assert.equal(twice.switched, undefined);
  assert.throws(() => {
    const p = planStepMemory({
      ...base,
      loss: new CachedMultipleNegativesRankingLoss({ miniBatchSize: 2 * cached.miniBatchSize }),
    });
    if (p.switched) throw new Error("switched");
  }, /switched/);
  assert.match(
    plan.switched ?? "",
    /one step of MultipleNegativesRankingLoss at batchSize 16 on texts of up to 256 tokens .* needs about .* GiB, more than the 3\.2 GiB usable of the wasm heap.*Training with CachedMultipleNegativesRankingLoss \(miniBatchSize \d+\) instead: GradCache computes the same loss and gradients/,
  );
  const sym = planStepMemory({ ...base, loss: new MultipleNegativesSymmetricRankingLoss() });
  assert.ok(sym.loss instanceof CachedMultipleNegativesSymmetricRankingLoss);
  // A Cached loss whose mini-batch is too large gets a smaller one (same result).
  const big = planStepMemory({ ...base, loss: new CachedMultipleNegativesRankingLoss({ miniBatchSize: 16 }) });
  assert.ok((big.loss as CachedMultipleNegativesRankingLoss).miniBatchSize < 16);
  assert.match(big.switched ?? "", /miniBatchSize 16/);
});

test("nothing fits: refused before the first step, naming the setting to change", () => {
  const limit = { limitBytes: 3 * GiB, inUseBytes: 0, source: "a small heap" };
  // TripletLoss has no GradCache form: the batch size that fits is named.
  const triplet = [0, 1, 2].map(() => ({ texts: 32, seqLen: 128 }));
  assert.throws(
    () =>
      planStepMemory({
        shape: MINILM,
        columns: triplet,
        loss: new TripletLoss(),
        batchSize: 32,
        maxSeqLength: 128,
        limit,
      }),
    (err: Error) => {
      assert.match(err.message, /one step of TripletLoss at batchSize 32 on texts of up to 128 tokens/);
      assert.match(err.message, /Refusing before the first step/);
      const b = Number(/batchSize (\d+) or less/.exec(err.message)?.[1]);
      assert.ok(b >= 2 && b < 32, err.message);
      // The named batch size does fit.
      planStepMemory({
        shape: MINILM,
        columns: triplet.map((c) => ({ ...c, texts: b })),
        loss: new TripletLoss(),
        batchSize: b,
        maxSeqLength: 128,
        limit,
      });
      return true;
    },
  );
  // Even one text of 512 tokens per mini-batch is too much for a tiny limit: max_seq_length is named.
  const tiny = { limitBytes: 0.6 * GiB, inUseBytes: 0, source: "a tiny heap" };
  assert.throws(
    () =>
      planStepMemory({
        shape: { ...MINILM, layers: 12 },
        columns: [0, 1].map(() => ({ texts: 16, seqLen: 512 })),
        loss: new MultipleNegativesRankingLoss(),
        batchSize: 16,
        maxSeqLength: 512,
        limit: tiny,
      }),
    /even in GradCache form with a mini-batch of 1.*max_seq_length of \d+ or less \(model.tokenizer's maxSeqLength; now 512\)/,
  );
  // CoSENTLoss (scored pairs, no in-batch negatives) is never switched.
  assert.throws(
    () =>
      planStepMemory({
        shape: MINILM,
        columns: [0, 1].map(() => ({ texts: 64, seqLen: 256 })),
        loss: new CoSENTLoss(),
        batchSize: 64,
        maxSeqLength: 256,
        limit,
      }),
    /CoSENTLoss.*batchSize \d+ or less/,
  );
});

test("longestTokenized: the longest text of each column in tokens, special tokens included, cut to max_seq_length", () => {
  const model = tinyModel(); // max_seq_length 32
  const rows = [
    ["short question", seededWordTexts(1, 64, 5)[0]],
    ["a b c d e", "two words"],
  ];
  const [anchor, positive] = longestTokenized(model, rows, 2);
  assert.equal(anchor, model.tokenizer.encode("a b c d e").ids.length);
  assert.equal(positive, 32);
  model.dispose();
});

test("train(): a step over memoryLimit runs as CachedMNRL, says so once, and ends with the weights plain MNRL gives", async () => {
  const pairs = tinyPairs(24);
  const opts = { batchSize: 8, epochs: 1, learningRate: 1e-3, seed: 5, progress: false as const };
  const plainModel = tinyModel(11);
  const plain = await train(plainModel, pairs, {
    ...opts,
    loss: new MultipleNegativesRankingLoss(),
    onWarning: () => {},
  });
  assert.equal(plain.memory?.loss, "MultipleNegativesRankingLoss");
  assert.ok(["wasm", "cpu", "tensorflow"].includes(plain.backend.name));

  const warnings: string[] = [];
  const switchedModel = tinyModel(11);
  const shape = encoderShapeOf(switchedModel) as EncoderShape;
  const [a, p] = longestTokenized(
    switchedModel,
    pairs.map((r) => [r.anchor, r.positive]),
    2,
  );
  const columns = [
    { texts: 8, seqLen: a },
    { texts: 8, seqLen: p },
  ];
  // A limit between what GradCache with mini-batch 4 needs and what the plain loss needs.
  const fixed = tf.memory().numBytes + 8 * shape.parameters;
  const need = (plan: Parameters<typeof estimateLossMemory>[2]) =>
    fixed + estimateLossMemory(shape, columns, plan).bytes;
  const memoryLimit = Math.ceil(need({ kind: "cached", miniBatchSize: 4 }) / SAFETY) + 1024;
  assert.ok(need({ kind: "cached", miniBatchSize: 8 }) > SAFETY * memoryLimit);
  const switched = await train(switchedModel, pairs, {
    ...opts,
    loss: new MultipleNegativesRankingLoss(),
    memoryLimit,
    onWarning: (m) => warnings.push(m),
  });
  assert.equal(switched.memory?.loss, "CachedMultipleNegativesRankingLoss");
  const said = warnings.filter((w) => /Training with CachedMultipleNegativesRankingLoss \(miniBatchSize 4\)/.test(w));
  assert.equal(said.length, 1, warnings.join("\n"));
  // Same loss and gradients: the same training to float32 rounding.
  assert.equal(switched.steps, plain.steps);
  for (let i = 0; i < plain.history.length; i++) {
    const [x, y] = [plain.history[i], switched.history[i]];
    if (x.kind === "train" && y.kind === "train") assert.ok(Math.abs(x.loss - y.loss) < 1e-4, `${x.loss} vs ${y.loss}`);
  }
  const [wa, wb] = [snapshot(plainModel), snapshot(switchedModel)];
  let maxDiff = 0;
  for (const [k, v] of wa) {
    const u = wb.get(k) as Float32Array;
    for (let i = 0; i < v.length; i++) maxDiff = Math.max(maxDiff, Math.abs(v[i] - u[i]));
  }
  assert.ok(maxDiff < 1e-4, `largest weight difference ${maxDiff}`);
  assert.ok(differingValues(wa, snapshot(tinyModel(11))) > 0); // both trained
  plainModel.dispose();
  switchedModel.dispose();
});

test("train(): a step that cannot fit is refused before the first step, naming the setting", async () => {
  const model = tinyModel(3);
  const before = snapshot(model);
  const rows = tinyPairs(12).map((r, i) => ({ ...r, negative: tinyPairs(12)[(i + 1) % 12].positive }));
  await assert.rejects(
    train(model, rows, {
      loss: new TripletLoss(),
      batchSize: 8,
      progress: false,
      memoryLimit: 1024 * 1024,
      onWarning: () => {},
    }),
    /train: one step of TripletLoss at batchSize 8 .*Refusing before the first step/,
  );
  assert.equal(differingValues(before, snapshot(model)), 0);
  model.dispose();
});

test("memory does not grow from step to step: 30 steps, tf.memory() and RSS flat", async () => {
  const model = tinyModel(21);
  const samples: { step: number; bytes: number; tensors: number; rss: number }[] = [];
  const reporter: ProgressReporter = {
    update: (state, event) => {
      if (event !== "step") return;
      const m = tf.memory();
      samples.push({ step: state.step, bytes: m.numBytes, tensors: m.numTensors, rss: process.memoryUsage().rss });
    },
    end: () => {},
  };
  const result = await train(model, tinyPairs(60), {
    loss: new MultipleNegativesRankingLoss(),
    batchSize: 4,
    epochs: 2,
    maxSteps: 30,
    progress: reporter,
    onWarning: () => {},
  });
  assert.equal(result.steps, 30);
  assert.equal(samples.length, 30);
  // From the second step on (the first allocates AdamW's moments) the live tensors are exactly the same.
  for (const s of samples.slice(1)) {
    assert.equal(s.tensors, samples[1].tensors, `step ${s.step}: ${s.tensors} tensors, step 2: ${samples[1].tensors}`);
    assert.equal(s.bytes, samples[1].bytes, `step ${s.step}: ${s.bytes} bytes, step 2: ${samples[1].bytes}`);
  }
  // RSS: no trend. Compare the mean of steps 21-30 with steps 6-15 (allocator noise is a few MB).
  const mean = (xs: typeof samples) => xs.reduce((a, s) => a + s.rss, 0) / xs.length;
  const growth = (mean(samples.slice(20)) - mean(samples.slice(5, 15))) / 1024 ** 2;
  assert.ok(growth < 24, `RSS grew ${growth.toFixed(1)} MB over 15 steps`);
  model.dispose();
});
