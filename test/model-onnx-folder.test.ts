// onnx/model.onnx in a model folder: save(folder, { onnx: true }) writes it and loadModel uses it; a file made
// from other weights (weights changed on disk) or for another graph (pooling changed) is detected by its checksum /
// spec, never used, and rebuilt by exportOnnx; a file written by other tooling is refused unless asked; unsupported
// architectures and StaticEmbedding folders are refused by name. And training: while train() runs, encode stays on
// tfjs; after one training step both runtimes agree on the new weights (the graph is never stale).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { initBackend } from "../src/backend";
import { exportOnnx } from "../src/model/onnx/export";
import { onnxFileStatus } from "../src/model/onnx/folder";
import { readModelFolder } from "../src/model/folder";
import { writeSafetensors } from "../src/model/safetensors";
import { loadModel, offlineModel } from "../src/model/sentence-transformer";
import type { PoolingConfig } from "../src/model/types";
import { MultipleNegativesRankingLoss } from "../src/train/losses/multiple-negatives-ranking";
import { train } from "../src/train/trainer";
import { randomWeights, writeTinyBert } from "./fixtures/model-io/tiny-bert";
import { tinyModel, tinyPairs } from "./fixtures/train/tiny";

const TEXTS = ["How many PTO days do I get?", "Expense reports are due within thirty days.", "wfh", ""];
const tmp = () => mkdtempSync(join(tmpdir(), "onnx-folder-"));

before(async () => {
  await initBackend();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Runs fn with console.warn captured. */
async function warnings<T>(fn: () => Promise<T>): Promise<{ value: T; warned: string[] }> {
  const warned: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warned.push(args.join(" "));
  try {
    return { value: await fn(), warned };
  } finally {
    console.warn = original;
  }
}

function folderStatus(dir: string) {
  const data = readModelFolder(dir);
  if (data.first.kind !== "transformer") throw new Error("expected a Transformer folder");
  return onnxFileStatus(dir, {
    config: data.first.config,
    weights: data.first.weights,
    pooling: data.pooling as PoolingConfig,
    normalize: data.normalize,
  });
}

test("save(folder, { onnx: true }) writes onnx/model.onnx; loadModel finds it fresh and encodes from it", async () => {
  const dir = join(tmp(), "model");
  const m = offlineModel("offline-bert");
  await m.save(dir, { onnx: true });
  assert.ok(existsSync(join(dir, "onnx", "model.onnx")));
  assert.ok(
    existsSync(join(dir, "config.json")) && existsSync(join(dir, "tokenizer.json")),
    "transformers.js layout: config and tokenizer beside onnx/",
  );
  assert.equal(folderStatus(dir).state, "fresh");
  const loaded = await loadModel(dir);
  assert.equal(loaded.onnxFile?.state, "fresh");
  const onnxRows = await loaded.encode(TEXTS);
  assert.equal(loaded.lastEncodeStats?.runtime, "onnxruntime");
  assert.equal(loaded.lastEncodeStats?.onnxGraph, join(dir, "onnx", "model.onnx"), "the fresh file is the graph used");
  const tfRows = await m.encode(TEXTS, { runtime: "tfjs" });
  assert.ok(maxAbsDiff(onnxRows.data, tfRows.data) < 1e-4);
  // A plain save() leaves no ONNX file behind (the folder is replaced whole).
  await m.save(dir);
  assert.ok(!existsSync(join(dir, "onnx", "model.onnx")));
  m.dispose();
  loaded.dispose();
});

test("stale: weights changed on disk after the export are detected, the file is not used, exportOnnx rebuilds it", async () => {
  const dir = join(tmp(), "model");
  writeTinyBert(dir, { normalize: true });
  const first = await exportOnnx(dir);
  assert.equal(first.before, "missing");
  assert.ok(first.written && first.maxAbsDiff !== undefined && first.maxAbsDiff < 1e-4);
  assert.equal(folderStatus(dir).state, "fresh");
  assert.equal((await exportOnnx(dir)).written, false, "a fresh file is left alone");
  const staleBytes = readFileSync(join(dir, "onnx", "model.onnx"));

  // New weights on disk (as after training in another tool, or a copy of another model's weights).
  writeSafetensors(join(dir, "model.safetensors"), randomWeights(99));
  const status = folderStatus(dir);
  assert.equal(status.state, "stale");
  assert.match(status.reason, /was made from other weights/);
  const { value: loaded, warned } = await warnings(() => loadModel(dir));
  assert.equal(loaded.onnxFile?.state, "stale");
  assert.match(warned.join("\n"), /made from other weights .* It is not used/);
  assert.match(loaded.describe(), /onnx\/model\.onnx is stale and not used/);
  const viaOnnx = await loaded.encode(TEXTS);
  assert.equal(loaded.lastEncodeStats?.runtime, "onnxruntime");
  assert.equal(loaded.lastEncodeStats?.onnxGraph, "built from the current weights");
  const viaTfjs = await loaded.encode(TEXTS, { runtime: "tfjs" });
  assert.ok(
    maxAbsDiff(viaOnnx.data, viaTfjs.data) < 1e-4,
    "encode used a graph of the new weights, not the stale file",
  );
  loaded.dispose();

  const rebuilt = await exportOnnx(dir);
  assert.equal(rebuilt.before, "stale");
  assert.equal(rebuilt.written, true);
  assert.equal(folderStatus(dir).state, "fresh");
  assert.ok(!readFileSync(join(dir, "onnx", "model.onnx")).equals(staleBytes));
});

test("mismatched graph: a pooling change after the export makes the file stale, naming the field", async () => {
  const dir = join(tmp(), "model");
  writeTinyBert(dir);
  await exportOnnx(dir);
  const poolingPath = join(dir, "1_Pooling", "config.json");
  writeFileSync(
    poolingPath,
    JSON.stringify({
      ...JSON.parse(readFileSync(poolingPath, "utf8")),
      pooling_mode_mean_tokens: false,
      pooling_mode_cls_token: true,
    }),
  );
  const status = folderStatus(dir);
  assert.equal(status.state, "stale");
  assert.match(status.reason, /pooling: \["mean"\] in the file, \["cls"\] now/);
});

test("a file by other tooling is not used nor overwritten unless asked; unsupported architecture and static folders are refused by name", async () => {
  const dir = join(tmp(), "model");
  writeTinyBert(dir);
  const foreign = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "pytorch",
    opsetImport: [{ domain: "", version: 14 }],
    graph: { name: "g" },
  }).finish();
  mkdirSync(join(dir, "onnx"));
  writeFileSync(join(dir, "onnx", "model.onnx"), foreign);
  assert.equal(folderStatus(dir).state, "foreign");
  const loaded = await loadModel(dir);
  assert.equal(loaded.onnxFile?.state, "foreign");
  await loaded.encode(TEXTS.slice(0, 1)); // a graph built from the weights, not the foreign file (which has no nodes)
  assert.equal(loaded.lastEncodeStats?.runtime, "onnxruntime");
  loaded.dispose();
  await assert.rejects(exportOnnx(dir), /written by "pytorch" without the checksum.*overwriteForeign/s);
  assert.ok(readFileSync(join(dir, "onnx", "model.onnx")).equals(foreign), "the foreign file is untouched");
  assert.equal((await exportOnnx(dir, { overwriteForeign: true })).written, true);
  assert.equal(folderStatus(dir).state, "fresh");
  // Bytes that are not ONNX at all: the model still loads (and encodes from its weights); the file is left alone.
  writeFileSync(join(dir, "onnx", "model.onnx"), "not a protobuf \u0000\u00ff");
  const garbled = await loadModel(dir);
  assert.equal(garbled.onnxFile?.state, "foreign");
  assert.match(garbled.onnxFile?.reason ?? "", /not an ONNX model/);
  garbled.dispose();

  const other = join(tmp(), "distil");
  writeTinyBert(other);
  const cfgPath = join(other, "config.json");
  writeFileSync(
    cfgPath,
    JSON.stringify({
      ...JSON.parse(readFileSync(cfgPath, "utf8")),
      model_type: "distilbert",
      architectures: ["DistilBertModel"],
    }),
  );
  await assert.rejects(
    exportOnnx(other),
    /model_type "distilbert" \(architectures: DistilBertModel\) is not supported/,
  );

  const staticDir = join(tmp(), "static");
  const stat = offlineModel("offline");
  await stat.save(staticDir);
  await assert.rejects(exportOnnx(staticDir), /StaticEmbedding model has no ONNX export/);
  await assert.rejects(stat.save(join(tmp(), "static2"), { onnx: true }), /StaticEmbedding model has no ONNX export/);
  stat.dispose();
});

test("training: encode runs on tfjs during train(); after one step both runtimes agree on the trained weights", async () => {
  const model = tinyModel();
  const before = await model.encode(TEXTS); // builds an ONNX Runtime session of the initial weights
  assert.equal(model.lastEncodeStats?.runtime, "onnxruntime");
  const seen: string[] = [];
  const evaluator = {
    async evaluate(m: typeof model) {
      seen.push(m.encodeRuntime().runtime);
      await m.encode(TEXTS.slice(0, 2));
      seen.push(m.lastEncodeStats?.runtime ?? "none");
      return { metrics: { score: 0 } };
    },
  };
  await train(model, tinyPairs(8), {
    loss: new MultipleNegativesRankingLoss({ scale: 20 }),
    batchSize: 8,
    maxSteps: 1,
    learningRate: 1e-2,
    progress: false,
    onWarning: () => undefined,
    evaluator,
    evalAtStart: false,
  });
  assert.deepEqual(seen, ["tfjs", "tfjs"], "evaluation during training encodes on tfjs");
  assert.equal(model.training, false);
  const viaOnnx = await model.encode(TEXTS);
  assert.equal(model.lastEncodeStats?.runtime, "onnxruntime");
  const viaTfjs = await model.encode(TEXTS, { runtime: "tfjs" });
  assert.ok(
    maxAbsDiff(viaOnnx.data, viaTfjs.data) < 1e-4,
    `ONNX Runtime and tfjs differ by ${maxAbsDiff(viaOnnx.data, viaTfjs.data)} after training`,
  );
  assert.ok(
    maxAbsDiff(viaOnnx.data, before.data) > 1e-3,
    "the step changed the embeddings, and the ONNX path shows the change",
  );
  model.dispose();
});
