// The offline re-ranker's start (src/rerank/offline.ts): BERT-Tiny whose token embeddings are the shipped static
// table projected to 128-d (deterministic; similar words stay similar) and its WordNet training examples.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend";
import { readOfflineModelFile } from "../src/model/offline-file";
import { OFFLINE_RERANKER_RECIPE, offlineRerankerExamples, offlineRerankerStart } from "../src/rerank/offline";

function row(data: ArrayLike<number>, id: number, dim: number): number[] {
  return Array.from({ length: dim }, (_, j) => data[id * dim + j]);
}
const cos = (a: number[], b: number[]) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((x, i) => {
    ab += x * b[i];
    aa += x * x;
    bb += b[i] * b[i];
  });
  return ab / Math.sqrt(aa * bb);
};

test("offlineRerankerStart: the static table projected to the encoder's width keeps word similarities; scaled to std 0.02", async () => {
  await initBackend();
  const a = offlineRerankerStart();
  const words = a.encoder.variables.get("embeddings.word_embeddings.weight");
  assert.ok(words);
  const data = words.dataSync();
  const { table } = readOfflineModelFile();
  const [, dim] = table.shape;
  const tok = a.tokenizer;
  const id = (w: string) => tok.encodeContent(w)[0];
  const pairs: [string, string][] = [
    ["holiday", "vacation"],
    ["dog", "cat"],
    ["salary", "pay"],
    ["holiday", "engine"],
    ["dog", "invoice"],
  ];
  const before = pairs.map(([x, y]) => cos(row(table.data, id(x), dim), row(table.data, id(y), dim)));
  const after = pairs.map(([x, y]) => cos(row(data, id(x), 128), row(data, id(y), 128)));
  before.forEach((c, i) =>
    assert.ok(Math.abs(c - after[i]) < 0.3, `${pairs[i]}: cosine ${c.toFixed(2)} -> ${after[i].toFixed(2)}`),
  );
  let sumSq = 0;
  for (let i = 0; i < data.length; i++) sumSq += data[i] * data[i];
  assert.ok(Math.abs(Math.sqrt(sumSq / data.length) - 0.02) < 1e-4, "scaled to initializer_range");
  assert.equal(a.maxLength, OFFLINE_RERANKER_RECIPE.maxLength);
  a.dispose();
});

test("offlineRerankerExamples: each WordNet pair once as a positive and once with another pair's passage as a negative", () => {
  const ex = offlineRerankerExamples({ ...OFFLINE_RERANKER_RECIPE, pairs: 50 });
  assert.equal(ex.length, 100);
  for (let i = 0; i < ex.length; i += 2) {
    const [pos, neg] = [ex[i], ex[i + 1]];
    assert.ok(pos.kind === "labeled-pair" && neg.kind === "labeled-pair");
    if (pos.kind !== "labeled-pair" || neg.kind !== "labeled-pair") continue;
    assert.equal(pos.label, 1);
    assert.equal(neg.label, 0);
    assert.equal(pos.query, neg.query);
  }
  assert.deepEqual(ex, offlineRerankerExamples({ ...OFFLINE_RERANKER_RECIPE, pairs: 50 }));
});
