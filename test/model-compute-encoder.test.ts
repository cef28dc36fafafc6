// TransformerEncoder against the independent float64 reference (test/reference/bert.ts), on small random
// BERT and RoBERTa models with padding in the batch; weight validation; gradients.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../src/backend";
import { TransformerEncoder, expectedWeightShapes } from "../src/model/encoder";
import { embeddingLookup, linear } from "../src/model/layers";
import { mulberry32 } from "../src/random";
import { normalSampler } from "../src/model/embedded";
import type { TokenizedBatch, TransformerConfig, WeightMap } from "../src/model/types";
import { erf64, referenceForward } from "./reference/bert";

before(async () => {
  await initBackend();
});

function tinyConfig(
  architecture: "bert" | "roberta",
  hiddenAct: TransformerConfig["hiddenAct"] = "gelu",
): TransformerConfig {
  return {
    architecture,
    vocabSize: 40,
    hiddenSize: 16,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    intermediateSize: 24,
    hiddenAct,
    maxPositionEmbeddings: 20,
    typeVocabSize: architecture === "roberta" ? 1 : 2,
    layerNormEps: 1e-5,
    padTokenId: architecture === "roberta" ? 1 : 0,
    raw: {},
  };
}

/** Every weight random (biases and LayerNorm too), large enough that a wrong formula shows. */
function randomWeights(config: TransformerConfig, seed: number): WeightMap {
  const normal = normalSampler(mulberry32(seed));
  const weights: WeightMap = new Map();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNormWeight = name.includes("LayerNorm") && name.endsWith("weight");
    for (let i = 0; i < data.length; i++) data[i] = isNormWeight ? 1 + 0.2 * normal() : 0.3 * normal();
    weights.set(name, { shape, data });
  }
  return weights;
}

/** 3 rows of lengths 7, 4, 2, right-padded to 7; the BERT batch has token type 1 on part of row 0. */
function paddedBatch(config: TransformerConfig): TokenizedBatch {
  const S = 7;
  const lengths = [7, 4, 2];
  const pad = config.padTokenId;
  const rand = mulberry32(7);
  const inputIds = new Int32Array(3 * S).fill(pad);
  const attentionMask = new Int32Array(3 * S);
  const tokenTypeIds = new Int32Array(3 * S);
  lengths.forEach((n, b) => {
    for (let s = 0; s < n; s++) {
      inputIds[b * S + s] = 2 + Math.floor(rand() * (config.vocabSize - 2)); // never the pad id
      attentionMask[b * S + s] = 1;
      if (config.typeVocabSize > 1 && b === 0 && s >= 4) tokenTypeIds[b * S + s] = 1;
    }
  });
  return { inputIds, attentionMask, tokenTypeIds, batchSize: 3, seqLen: S, truncated: 0 };
}

function maxAbsDiff(ours: Float32Array, ref: Float64Array[][], H: number): number {
  let worst = 0;
  ref.forEach((rows, b) =>
    rows.forEach((vec, s) => {
      for (let j = 0; j < H; j++) worst = Math.max(worst, Math.abs(ours[(b * rows.length + s) * H + j] - vec[j]));
    }),
  );
  return worst;
}

test("erf64 (reference helper) matches known values", () => {
  // Abramowitz & Stegun table 7.1 / standard values.
  assert.ok(Math.abs(erf64(0.5) - 0.5204998778130465) < 1e-13);
  assert.ok(Math.abs(erf64(1) - 0.8427007929497149) < 1e-13);
  assert.ok(Math.abs(erf64(-2) + 0.9953222650189527) < 1e-13);
  assert.ok(Math.abs(erf64(3.5) - 0.9999992569016276) < 1e-13);
});

for (const [arch, act] of [
  ["bert", "gelu"],
  ["roberta", "gelu"],
  ["bert", "gelu_new"],
  ["bert", "relu"],
] as const) {
  test(`${arch} (${act}) forward matches the float64 reference within 1e-4, padding included`, () => {
    const config = tinyConfig(arch, act);
    const weights = randomWeights(config, 11);
    const batch = paddedBatch(config);
    const encoder = new TransformerEncoder(config, weights);
    const out = encoder.forward(batch);
    assert.deepEqual(out.shape, [3, 7, 16]);
    const ours = out.dataSync() as Float32Array;
    out.dispose();
    const ref = referenceForward(config, weights, batch);
    const diff = maxAbsDiff(ours, ref, 16);
    assert.ok(diff < 1e-4, `max |ours - reference| = ${diff}`);
    // The outputs are not trivially equal across rows (a broken mask or position would still differ here).
    assert.ok(Math.abs(ours[0] - ours[7 * 16]) > 1e-3);
    encoder.dispose();
  });
}

test("roberta position ids: padding_idx + 1 + running count of non-pad tokens, pads get padding_idx", () => {
  const config = tinyConfig("roberta");
  const encoder = new TransformerEncoder(config, randomWeights(config, 3));
  const batch = paddedBatch(config);
  const ids = encoder.positionIds(batch);
  assert.deepEqual(Array.from(ids.subarray(0, 7)), [2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(Array.from(ids.subarray(7, 14)), [2, 3, 4, 5, 1, 1, 1]);
  assert.deepEqual(Array.from(ids.subarray(14, 21)), [2, 3, 1, 1, 1, 1, 1]);
  encoder.dispose();
});

for (const arch of ["bert", "roberta"] as const) {
  test(`${arch}: a padded row gives the same real-token outputs as the same row alone (and as the reference)`, () => {
    const config = tinyConfig(arch);
    const weights = randomWeights(config, 5);
    const encoder = new TransformerEncoder(config, weights);
    const batch = paddedBatch(config);
    const alone: TokenizedBatch = {
      inputIds: batch.inputIds.slice(7, 11),
      attentionMask: batch.attentionMask.slice(7, 11),
      tokenTypeIds: batch.tokenTypeIds.slice(7, 11),
      batchSize: 1,
      seqLen: 4,
      truncated: 0,
    };
    const padded = encoder.forward(batch).dataSync();
    const single = encoder.forward(alone).dataSync();
    let worst = 0;
    for (let i = 0; i < 4 * 16; i++) worst = Math.max(worst, Math.abs(padded[7 * 16 + i] - single[i]));
    assert.ok(worst < 1e-5, `padding changed real tokens by ${worst}`);
    const diff = maxAbsDiff(single as Float32Array, referenceForward(config, weights, alone), 16);
    assert.ok(diff < 1e-4, `unpadded row vs reference: ${diff}`);
    encoder.dispose();
  });
}

test("missing and misshaped weights are named with the expected shape; extras survive toWeightMap", () => {
  const config = tinyConfig("bert");
  const weights = randomWeights(config, 1);
  const missing = new Map(weights);
  missing.delete("encoder.layer.1.intermediate.dense.weight");
  assert.throws(
    () => new TransformerEncoder(config, missing),
    /missing weight "encoder\.layer\.1\.intermediate\.dense\.weight" \(expected shape \[24,16\]\)/,
  );
  const wrong = new Map(weights);
  wrong.set("encoder.layer.0.attention.self.key.weight", { shape: [16, 8], data: new Float32Array(128) });
  assert.throws(
    () => new TransformerEncoder(config, wrong),
    /"encoder\.layer\.0\.attention\.self\.key\.weight" has shape \[16,8\], expected \[16,16\]/,
  );

  const withExtras = new Map(weights);
  withExtras.set("pooler.dense.weight", { shape: [16, 16], data: new Float32Array(256).fill(0.5) });
  const encoder = new TransformerEncoder(config, withExtras);
  const back = encoder.toWeightMap();
  assert.equal(back.size, withExtras.size);
  assert.deepEqual(Array.from(back.get("pooler.dense.weight")!.data.subarray(0, 3)), [0.5, 0.5, 0.5]);
  const name = "encoder.layer.1.output.dense.weight";
  assert.deepEqual(back.get(name)!.shape, [16, 24]);
  assert.deepEqual(Array.from(back.get(name)!.data), Array.from(weights.get(name)!.data));
  encoder.dispose();
});

test("an empty batch gives an empty [0, 0, hidden] tensor; a wrong-length batch names the field", () => {
  const config = tinyConfig("bert");
  const encoder = new TransformerEncoder(config, randomWeights(config, 1));
  const empty = {
    inputIds: new Int32Array(0),
    attentionMask: new Int32Array(0),
    tokenTypeIds: new Int32Array(0),
    batchSize: 0,
    seqLen: 0,
    truncated: 0,
  };
  assert.deepEqual(encoder.forward(empty).shape, [0, 0, 16]);
  const bad = { ...paddedBatch(config), attentionMask: new Int32Array(5) };
  assert.throws(() => encoder.forward(bad), /batch\.attentionMask has 5 entries, expected batchSize\*seqLen = 21/);
  encoder.dispose();
});

test("a 'bert.'-prefixed weight map is accepted and given back with the same names", () => {
  const config = tinyConfig("bert");
  const weights = randomWeights(config, 2);
  const prefixed: WeightMap = new Map([...weights].map(([k, v]) => [`bert.${k}`, v]));
  const a = new TransformerEncoder(config, weights);
  const b = new TransformerEncoder(config, prefixed);
  const batch = paddedBatch(config);
  assert.deepEqual(Array.from(b.forward(batch).dataSync()), Array.from(a.forward(batch).dataSync()));
  assert.ok(b.toWeightMap().has("bert.embeddings.word_embeddings.weight"));
  a.dispose();
  b.dispose();
});

test("linear's custom gradient equals tfjs autodiff of x W^T + b", () => {
  const rand = normalSampler(mulberry32(9));
  const values = (n: number) => Float32Array.from({ length: n }, () => rand());
  const x = tf.tensor2d(values(15), [5, 3]);
  const W = tf.tensor2d(values(12), [4, 3]);
  const b = tf.tensor1d(values(4));
  const R = tf.tensor2d(values(20), [5, 4]); // loss = sum(R * y) makes dy = R
  const ours = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.mul(linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D), R)),
  )([x, W, b]);
  // Hand formulas: dx = R W, dW = R^T x, db = column sums of R.
  const expected = [tf.matMul(R, W), tf.matMul(R, x, true, false), tf.sum(R, 0)];
  ours.forEach((g, i) => {
    const diff = tf.max(tf.abs(tf.sub(g, expected[i]))).dataSync()[0];
    assert.ok(diff < 1e-5, `gradient ${i} differs by ${diff}`);
  });
});

test("embeddingLookup's gradient sums the rows of repeated ids", () => {
  const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
  const ids = Int32Array.from([1, 3, 1]);
  assert.deepEqual(Array.from(embeddingLookup(table, ids).dataSync()), [3, 4, 7, 8, 3, 4]);
  const dy = tf.tensor2d([1, 10, 2, 20, 4, 40], [3, 2]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, ids), dy)))(table);
  assert.deepEqual(Array.from(g.dataSync()), [0, 0, 5, 50, 0, 0, 2, 20]);
  assert.throws(() => embeddingLookup(table, Int32Array.from([4])), /id 4 at position 0 is outside the table's 4 rows/);
});

test("gradients through the whole encoder match finite differences of the float64 reference", () => {
  const config = tinyConfig("bert");
  const weights = randomWeights(config, 21);
  const batch = paddedBatch(config);
  const H = config.hiddenSize;
  const rand = normalSampler(mulberry32(4));
  const R = Float64Array.from({ length: 3 * 7 * H }, () => rand());
  // loss = sum over real tokens of R * output.
  const refLoss = (w: WeightMap): number => {
    let s = 0;
    referenceForward(config, w, batch).forEach((rows, b) =>
      rows.forEach((vec, t) => {
        if (batch.attentionMask[b * 7 + t]) for (let j = 0; j < H; j++) s += R[(b * 7 + t) * H + j] * vec[j];
      }),
    );
    return s;
  };
  const encoder = new TransformerEncoder(config, weights);
  const maskR = tf.mul(
    tf.tensor3d(Float32Array.from(R), [3, 7, H]),
    tf.tensor3d(Float32Array.from(batch.attentionMask), [3, 7, 1]),
  );
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.mul(encoder.forward(batch), maskR)) as tf.Scalar,
    encoder.trainableVariables(),
  );
  const byName = new Map([...encoder.variables].map(([name, v]) => [name, grads[v.name]]));
  const probes: [string, number][] = [
    ["embeddings.word_embeddings.weight", batch.inputIds[2] * H + 3],
    ["embeddings.position_embeddings.weight", 1 * H + 5],
    ["embeddings.token_type_embeddings.weight", 1 * H + 2],
    ["encoder.layer.0.attention.self.query.weight", 17],
    ["encoder.layer.0.attention.self.key.bias", 6],
    ["encoder.layer.1.intermediate.dense.weight", 100],
    ["encoder.layer.1.output.LayerNorm.weight", 9],
  ];
  for (const [name, index] of probes) {
    const h = 1e-3;
    const plus = new Map(weights);
    const minus = new Map(weights);
    const base = weights.get(name)!;
    const up = base.data.slice();
    const down = base.data.slice();
    up[index] += h;
    down[index] -= h;
    plus.set(name, { shape: base.shape, data: up });
    minus.set(name, { shape: base.shape, data: down });
    // Central difference on the float32-rounded perturbation actually applied.
    const numeric = (refLoss(plus) - refLoss(minus)) / (up[index] - down[index]);
    const analytic = byName.get(name)!.dataSync()[index];
    assert.ok(
      Math.abs(analytic - numeric) < 2e-3 * Math.max(1, Math.abs(numeric)),
      `${name}[${index}]: tfjs ${analytic}, finite difference ${numeric}`,
    );
  }
  encoder.dispose();
});
