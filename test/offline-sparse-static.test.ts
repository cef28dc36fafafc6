// The sparse plain-JS MNRL trainer of a StaticEmbedding table (used to pretrain the offline model) against the
// project's MultipleNegativesRankingLoss on a tfjs StaticEmbedding model: same loss, same row gradients.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, type tf } from "../src/backend";
import { SentenceTransformer } from "../src/model/sentence-transformer";
import { StaticEmbedding } from "../src/model/static-embedding";
import { offlineBertTokenizer } from "../src/model/tokenizer";
import { MultipleNegativesRankingLoss } from "../src/train/losses";
import { staticMnrlLossAndGrads, trainStaticMnrl } from "../src/offline/sparse-static";
import { mulberry32 } from "../src/random";

const V = 30522;
const D = 8;

function table(seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: V * D }, () => rng() - 0.5);
}

test("staticMnrlLossAndGrads equals MultipleNegativesRankingLoss on a StaticEmbedding model (loss and row gradients)", async () => {
  await initBackend();
  const data = table(3);
  const tok = offlineBertTokenizer(Infinity);
  const anchors = ["vacation days", "sick leave policy", "laptop broken", "expense report deadline"];
  const positives = [
    "paid time off accrues monthly",
    "call in sick before noon",
    "it loaner laptops",
    "submit expenses within 30 days of travel",
  ];
  const model = new SentenceTransformer({
    name: "t",
    source: "t",
    tokenizer: tok,
    staticEmbedding: new StaticEmbedding({ shape: [V, D], data }),
    normalize: true,
  });
  const vars = model.trainableVariables();
  const ref = new MultipleNegativesRankingLoss({ scale: 20 }).lossAndGrads(
    model,
    { columns: ["anchor", "positive"], texts: [anchors, positives], size: anchors.length },
    vars,
  );
  const refLoss = ref.loss;
  const refGrad = (await (ref.grads.get(vars[0]) as tf.Tensor).data()) as Float32Array;
  const ours = staticMnrlLossAndGrads(
    data,
    D,
    anchors.map((t) => tok.encodeContent(t)),
    positives.map((t) => tok.encodeContent(t)),
    20,
  );
  assert.ok(Math.abs(ours.loss - refLoss) < 1e-5, `loss ${ours.loss} vs ${refLoss}`);
  let checked = 0;
  for (let id = 0; id < V; id++) {
    const g = ours.grads.get(id);
    for (let k = 0; k < D; k++) {
      const expected = refGrad[id * D + k];
      const actual = g ? g[k] : 0;
      assert.ok(
        Math.abs(actual - expected) < 1e-5 + 1e-3 * Math.abs(expected),
        `row ${id}[${k}]: ${actual} vs ${expected}`,
      );
      if (g) checked++;
    }
  }
  assert.ok(checked > 10 * D);
  model.dispose();
});

test("trainStaticMnrl lowers the loss, touches only rows of the training tokens, and is deterministic", () => {
  const tok = offlineBertTokenizer(Infinity);
  const texts = [
    ["dog", "a domesticated canine"],
    ["car", "a motor vehicle with four wheels"],
    ["happy", "feeling joy"],
    ["river", "a large natural stream of water"],
    ["bread", "food made of baked flour"],
    ["doctor", "a licensed medical practitioner"],
    ["winter", "the coldest season"],
    ["teacher", "a person whose job is teaching"],
  ];
  const pairs = texts.map(([a, p]) => ({
    anchor: a,
    positive: p,
    anchorIds: tok.encodeContent(a),
    positiveIds: tok.encodeContent(p),
  }));
  const run = () => {
    const t = table(5);
    const before = staticMnrlLossAndGrads(
      t,
      D,
      pairs.map((p) => p.anchorIds),
      pairs.map((p) => p.positiveIds),
    ).loss;
    trainStaticMnrl(t, D, pairs, { batchSize: 8, learningRate: 0.05, epochs: 20, warmupRatio: 0.1, seed: 1 });
    const after = staticMnrlLossAndGrads(
      t,
      D,
      pairs.map((p) => p.anchorIds),
      pairs.map((p) => p.positiveIds),
    ).loss;
    return { t, before, after };
  };
  const a = run();
  const b = run();
  assert.ok(a.after < a.before * 0.5, `loss ${a.before} -> ${a.after}`);
  assert.ok(Buffer.from(a.t.buffer).equals(Buffer.from(b.t.buffer)), "same inputs, same bytes");
  const used = new Set(pairs.flatMap((p) => [...p.anchorIds, ...p.positiveIds]));
  const start = table(5);
  for (let id = 0; id < V; id += 1) {
    if (used.has(id)) continue;
    for (let k = 0; k < D; k++)
      if (a.t[id * D + k] !== start[id * D + k]) assert.fail(`row ${id} moved but is not in any training text`);
  }
});
