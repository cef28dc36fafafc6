// Matryoshka truncation evaluated per dimension, and the measuring helpers (sizes, history).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IRSplit } from "../src/data";
import type { Embedder, Embeddings } from "../src/model";
import { loadModel } from "../src/model";
import { VectorIndex } from "../src/retrieval";
import { writeHistory } from "../src/train/history";
import {
  dimensionFigure,
  dimensionTable,
  meanTokens,
  encodeThroughput,
  matryoshkaCurve,
  searchLatency,
  sizeOnDisk,
  trainingTime,
} from "../src/cost";
import { defaultDims, truncateEmbeddings } from "../src/cost/matryoshka";
import { encodePath } from "../src/cost/measure";

test("truncateEmbeddings keeps the first d coordinates and re-normalises", () => {
  const e: Embeddings = { count: 2, dim: 3, data: Float32Array.from([3, 4, 12, 0, 0, 5]) };
  const two = truncateEmbeddings(e, 2);
  assert.equal(two.dim, 2);
  assert.deepEqual(Array.from(two.data), [0.6000000238418579, 0.800000011920929, 0, 0]);
  assert.deepEqual(Array.from(truncateEmbeddings(e, 1).data), [1, 0]);
  assert.throws(() => truncateEmbeddings(e, 4), /dim=4 must be an integer in 1\.\.3/);
  assert.deepEqual(defaultDims(256), [16, 32, 64, 128, 256]);
  assert.deepEqual(defaultDims(384), [16, 32, 64, 128, 256, 384]);
});

/** A lookup-table embedder: the first coordinate separates nothing, the second and third do. */
const table: Record<string, number[]> = {
  "doc a": [1, 1, 0],
  "doc b": [1, 0, 1],
  "doc c": [1, -1, 0],
  "q a": [1, 0.9, 0.1],
  "q b": [1, 0.1, 0.9],
  "q c": [1, -0.8, 0.2],
};
const lookup: Embedder = {
  name: "lookup",
  async encode(texts: string[]): Promise<Embeddings> {
    return { count: texts.length, dim: 3, data: Float32Array.from(texts.flatMap((t) => table[t])) };
  },
};
const split: IRSplit = {
  split: "test",
  queries: new Map([
    ["qa", "q a"],
    ["qb", "q b"],
    ["qc", "q c"],
  ]),
  corpus: new Map([
    ["a", { _id: "a", title: "", text: "doc a", doc_id: "a" }],
    ["b", { _id: "b", title: "", text: "doc b", doc_id: "b" }],
    ["c", { _id: "c", title: "", text: "doc c", doc_id: "c" }],
  ]),
  relevant: new Map([
    ["qa", new Set(["a"])],
    ["qb", new Set(["b"])],
    ["qc", new Set(["c"])],
  ]),
};

test("matryoshkaCurve: each dimension evaluated; 1-d cannot rank, 2-d and 3-d rank every query right", async () => {
  const rows = await matryoshkaCurve(lookup, split, { dims: [1, 2], resamples: 200 });
  assert.deepEqual(
    rows.map((r) => r.dim),
    [1, 2, 3],
  );
  // 1-d: every vector is [1]: all ties, corpus order a, b, c -> only qa at rank 1.
  assert.ok(Math.abs(rows[0].metrics["accuracy@1"].estimate - 1 / 3) < 1e-12);
  // 2-d: q b = (1, 0.1) has cos 0.995 with b = (1, 0) and 0.774 with a = (1, 1): b first; q a -> a, q c -> c.
  assert.equal(rows[1].metrics["accuracy@1"].estimate, 1);
  assert.equal(rows[2].metrics["accuracy@1"].estimate, 1);
  assert.equal(rows[2].relativeToFull, 1);
  assert.ok(rows[0].relativeToFull < 1);
  assert.deepEqual(
    rows.map((r) => r.bytesPerVector),
    [4, 8, 12],
  );
  assert.ok(rows[0].indexBytes < rows[1].indexBytes && rows[1].indexBytes < rows[2].indexBytes);
  assert.equal(rows[2].indexBytes - rows[1].indexBytes, 3 * 4, "one more float32 per vector, three vectors");
  const low = rows[0].metrics["ndcg@10"];
  assert.ok(low.low <= low.estimate && low.estimate <= low.high);
  const fig = dimensionFigure([{ name: "lookup", rows }]);
  assert.deepEqual(fig.data[0].x, ["1", "2", "3"]);
  assert.equal(fig.data[0].name, "lookup: ndcg@10");
  const table = dimensionTable([{ name: "lookup", rows }]).toRecords();
  assert.deepEqual(table[2], {
    model: "lookup",
    dimensions: 3,
    "ndcg@10": 1,
    "95% CI": "[1.000, 1.000]",
    "ndcg@10 vs full dimension": "100.0%",
    "storage vs full dimension": "100.0%",
    "bytes per vector": 12,
    "index on disk (KB)": (rows[2].indexBytes / 1024).toFixed(1),
  });
  assert.equal(table[0]["storage vs full dimension"], "33.3%", "4 of 12 bytes per vector");
  await assert.rejects(matryoshkaCurve(lookup, split, { dims: [5] }), /dimension 5 must be an integer in 1\.\.3/);
});

test("sizeOnDisk sums a folder; trainingTime reads history.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "cost-"));
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "a.bin"), Buffer.alloc(100));
  writeFileSync(join(dir, "sub", "b.bin"), Buffer.alloc(23));
  assert.equal(sizeOnDisk(dir), 123);
  assert.equal(sizeOnDisk(join(dir, "a.bin")), 100);
  assert.throws(() => sizeOnDisk(join(dir, "nope")), /does not exist/);
  const path = join(dir, "history.json");
  writeHistory(path, [
    { kind: "eval", step: 0, epoch: 0, metrics: { "x_cosine_ndcg@10": 0.5 }, evalSeconds: 1, seconds: 0 },
    { kind: "train", step: 1, epoch: 0.5, loss: 2, learningRate: 1e-5, gradNorm: 1, batchSize: 32, seconds: 4.5 },
    { kind: "train", step: 2, epoch: 1, loss: 1.5, learningRate: 0, gradNorm: 1, batchSize: 16, seconds: 9 },
    { kind: "eval", step: 2, epoch: 1, metrics: { "x_cosine_ndcg@10": 0.6 }, evalSeconds: 1, seconds: 10.25 },
  ]);
  assert.deepEqual(trainingTime(path), { seconds: 10.25, steps: 2, examples: 48, evaluations: 2 });
  assert.throws(() => trainingTime(join(dir, "missing.json")), /fine-tune first/);
});

test("encodeThroughput and searchLatency measure the real model and index, and name the path", async () => {
  const model = await loadModel("offline");
  const texts = Array.from({ length: 64 }, (_, i) => `question number ${i} about leave and pay`);
  const t = await encodeThroughput(model, texts, { batchSize: 16 });
  assert.equal(t.texts, 64);
  assert.ok(t.seconds > 0 && Math.abs(t.textsPerSecond - 64 / t.seconds) < 1e-9);
  assert.ok(t.tokensPerSecond > t.textsPerSecond, "several tokens per text");
  assert.match(t.path, /^StaticEmbedding: .*tfjs \w+ backend/);
  assert.equal(encodePath(model), t.path);
  // "parental leave" -> parental, leave: 2 WordPiece tokens; "WFH" -> w ##f ##h: 3.
  assert.equal(meanTokens(model, ["parental leave", "WFH"]), 2.5);
  const e = await model.encode(texts);
  const index = VectorIndex.fromVectors(
    texts.map((_, i) => `d${i}`),
    e,
  );
  const s = searchLatency(index, e, 5);
  assert.equal(s.queries, 64);
  assert.ok(s.medianMs > 0 && s.p95Ms >= s.medianMs && s.batchQueriesPerSecond > 0);
  assert.match(s.implementation, /^(faiss|typescript) flat$/);
});
