// The losses as functions of fixed embeddings, against float64 hand computations (test/fixtures/train-losses/
// reference.ts) and closed-form numbers; batch validation errors.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../src/backend";
import {
  CachedMultipleNegativesRankingLoss,
  MatryoshkaLoss,
  MultipleNegativesRankingLoss,
  MultipleNegativesSymmetricRankingLoss,
  TripletLoss,
  type EmbeddingLoss,
  type TrainingBatch,
} from "../src/train/losses";
import {
  matryoshkaReference,
  mnrlReference,
  numericGradient,
  seededMatrix,
  symmetricReference,
  type Matrix,
} from "./fixtures/train-losses/reference";

before(async () => {
  await initBackend();
});

function batchOf(columns: Matrix[]): TrainingBatch {
  const names = ["anchor", "positive", ...columns.slice(2).map((_, k) => `negative_${k + 1}`)];
  return { columns: names, texts: columns.map((m) => m.map((_, i) => `text ${i}`)), size: columns[0].length };
}

/** Value and gradients w.r.t. each embedding matrix of loss.lossFromEmbeddings, on tfjs. */
function valueAndEmbeddingGrads(loss: EmbeddingLoss, columns: Matrix[]): { value: number; grads: Matrix[] } {
  const batch = batchOf(columns);
  const tensors = columns.map((m) => tf.tensor2d(m));
  const { value, grads } = tf.valueAndGrads((...e: tf.Tensor[]) => loss.lossFromEmbeddings(e as tf.Tensor2D[], batch))(
    tensors,
  );
  const out = { value: value.dataSync()[0], grads: grads.map((g) => g.arraySync() as Matrix) };
  value.dispose();
  grads.forEach((g) => g.dispose());
  tensors.forEach((t) => t.dispose());
  return out;
}

function assertMatricesClose(actual: Matrix[], expected: Matrix[], tol: number, what: string): void {
  let worst = 0;
  expected.forEach((m, c) =>
    m.forEach((row, i) => row.forEach((x, j) => (worst = Math.max(worst, Math.abs(actual[c][i][j] - x))))),
  );
  assert.ok(worst <= tol, `${what}: max |difference| ${worst} > ${tol}`);
}

test("MNRL on pairs: value and embedding gradients equal the float64 hand computation", () => {
  const columns = [seededMatrix(4, 6, 1), seededMatrix(4, 6, 2)];
  const got = valueAndEmbeddingGrads(new MultipleNegativesRankingLoss(), columns);
  const want = mnrlReference(columns);
  assert.ok(want > 0.1, `reference loss ${want} should be far from 0 for random embeddings`);
  assert.ok(Math.abs(got.value - want) < 1e-5 * Math.max(1, want), `loss ${got.value} vs reference ${want}`);
  assertMatricesClose(
    got.grads,
    numericGradient((c) => mnrlReference(c), columns),
    2e-5,
    "embedding gradients",
  );
});

test("MNRL with hard negatives: every negative of the batch is a candidate, positives first (column-major)", () => {
  const columns = [seededMatrix(3, 5, 11), seededMatrix(3, 5, 12), seededMatrix(3, 5, 13), seededMatrix(3, 5, 14)];
  const got = valueAndEmbeddingGrads(new MultipleNegativesRankingLoss(), columns);
  const want = mnrlReference(columns);
  assert.ok(Math.abs(got.value - want) < 1e-5 * Math.max(1, want), `loss ${got.value} vs reference ${want}`);
  // Interleaving (p0, n0, p1, n1, ...) would put the wrong candidate at index i: that loss differs.
  const interleaved: Matrix = [];
  for (let i = 0; i < 3; i++) for (const col of columns.slice(1)) interleaved.push(col[i]);
  const wrong = mnrlReference([columns[0], interleaved]);
  assert.ok(Math.abs(wrong - want) > 1e-2, "test must distinguish the candidate order");
  assertMatricesClose(
    got.grads,
    numericGradient((c) => mnrlReference(c), columns),
    2e-5,
    "embedding gradients",
  );
});

test("MNRL scale and dot_score: closed-form value", () => {
  // a = I, p = [[2,0],[1,1]], dot scores [[2,1],[0,1]], scale 1: both rows give log(1 + e^-1).
  const columns = [
    [
      [1, 0],
      [0, 1],
    ],
    [
      [2, 0],
      [1, 1],
    ],
  ];
  const got = valueAndEmbeddingGrads(
    new MultipleNegativesRankingLoss({ scale: 1, similarityFct: "dot_score" }),
    columns,
  );
  assert.ok(Math.abs(got.value - Math.log1p(Math.exp(-1))) < 1e-6, `got ${got.value}`);
  // d/dS of row 0 = softmax - onehot = (-(1 - s), 1 - s) with s = 1 / (1 + e^-1); dL/dp_0 = 1/2 (sum_i dS_i0 a_i).
  const s = 1 / (1 + Math.exp(-1));
  assert.ok(Math.abs(got.grads[1][0][0] - -(1 - s) / 2) < 1e-6, `dL/dp00 ${got.grads[1][0][0]}`);
  assert.deepEqual(new MultipleNegativesRankingLoss().config(), { scale: 20, similarity_fct: "cos_sim" });
});

test("MultipleNegativesSymmetricRankingLoss: closed-form value; negatives only in the forward direction", () => {
  // Same S as above. forward = log(1+e^-1); backward rows of S^T = [[2,0],[1,1]]: log(1+e^-2) and log 2.
  const columns = [
    [
      [1, 0],
      [0, 1],
    ],
    [
      [2, 0],
      [1, 1],
    ],
  ];
  const loss = new MultipleNegativesSymmetricRankingLoss({ scale: 1, similarityFct: "dot_score" });
  const want = (Math.log1p(Math.exp(-1)) + (Math.log1p(Math.exp(-2)) + Math.LN2) / 2) / 2;
  const got = valueAndEmbeddingGrads(loss, columns);
  assert.ok(Math.abs(got.value - want) < 1e-6, `got ${got.value}, want ${want}`);
  const triplets = [seededMatrix(4, 6, 21), seededMatrix(4, 6, 22), seededMatrix(4, 6, 23)];
  const withNeg = valueAndEmbeddingGrads(new MultipleNegativesSymmetricRankingLoss(), triplets);
  const ref = symmetricReference(triplets);
  assert.ok(Math.abs(withNeg.value - ref) < 1e-5 * Math.max(1, ref), `loss ${withNeg.value} vs reference ${ref}`);
  assertMatricesClose(
    withNeg.grads,
    numericGradient((c) => symmetricReference(c), triplets),
    2e-5,
    "embedding gradients",
  );
});

test("TripletLoss (euclidean, margin 5): hand-computed value and gradient", () => {
  // d(a,p) - d(a,n) + 5 per triplet: 5 - 1 + 5 = 9; 0 - 3 + 5 = 2; 1 - 10 + 5 < 0 -> 0. Mean 11/3.
  const anchors = [
    [0, 0],
    [1, 1],
    [0, 0],
  ];
  const positives = [
    [3, 4],
    [1, 1],
    [1, 0],
  ];
  const negatives = [
    [0, 1],
    [1, 4],
    [8, 6],
  ];
  const got = valueAndEmbeddingGrads(new TripletLoss(), [anchors, positives, negatives]);
  assert.ok(Math.abs(got.value - 11 / 3) < 1e-4, `got ${got.value}`);
  // dL/dp_0 = (p_0 - a_0) / ||p_0 - a_0|| / 3 = (0.6, 0.8) / 3; the inactive triplet gets no gradient.
  assert.ok(
    Math.abs(got.grads[1][0][0] - 0.2) < 1e-4 && Math.abs(got.grads[1][0][1] - 0.8 / 3) < 1e-4,
    `dL/dp0 ${got.grads[1][0]}`,
  );
  assert.deepEqual(got.grads[0][2], [0, 0]);
  assert.deepEqual(new TripletLoss().config(), {
    distance_metric: "TripletDistanceMetric.EUCLIDEAN",
    triplet_margin: 5,
  });
  const cosine = valueAndEmbeddingGrads(new TripletLoss({ distanceMetric: "COSINE", tripletMargin: 1 }), [
    [[1, 0]],
    [[1, 1]],
    [[0, 1]],
  ]);
  // (1 - cos45) - (1 - cos90) + 1 = 1 - 1/sqrt2
  assert.ok(Math.abs(cosine.value - (1 - Math.SQRT1_2)) < 1e-6, `cosine ${cosine.value}`);
});

test("MatryoshkaLoss.lossFromEmbeddings equals the weighted sum of the inner loss on truncated, re-normalised embeddings", () => {
  const columns = [seededMatrix(4, 8, 31), seededMatrix(4, 8, 32)];
  const loss = new MatryoshkaLoss(new MultipleNegativesRankingLoss(), {
    matryoshkaDims: [2, 8, 4],
    matryoshkaWeights: [3, 1, 0.5],
  });
  assert.deepEqual(loss.matryoshkaDims, [8, 4, 2]);
  assert.deepEqual(loss.matryoshkaWeights, [1, 0.5, 3]);
  const f = (c: Matrix[]) => matryoshkaReference(c, [8, 4, 2], [1, 0.5, 3], (cols) => mnrlReference(cols));
  const got = valueAndEmbeddingGrads(loss, columns);
  const want = f(columns);
  assert.ok(Math.abs(got.value - want) < 1e-5 * Math.max(1, want), `loss ${got.value} vs reference ${want}`);
  assertMatricesClose(got.grads, numericGradient(f, columns), 5e-5, "embedding gradients");
  // Truncation matters: dims [8] alone is a different number.
  assert.ok(Math.abs(mnrlReference(columns) - want) > 0.1);
  assert.deepEqual(loss.config(), {
    loss: "MultipleNegativesRankingLoss",
    matryoshka_dims: [8, 4, 2],
    matryoshka_weights: [1, 0.5, 3],
    n_dims_per_step: -1,
  });
});

test("bad batches and options give errors that name the problem", () => {
  const mnrl = new MultipleNegativesRankingLoss();
  assert.throws(
    () => mnrl.validate({ columns: ["anchor"], texts: [["a", "b"]], size: 2 }),
    /1 column\(s\) \(anchor\) but this loss needs at least 2/,
  );
  assert.throws(
    () => mnrl.validate({ columns: ["anchor", "positive"], texts: [["a", "b"], ["c"]], size: 2 }),
    /column 1 \("positive"\) holds 1 texts but batch.size is 2/,
  );
  assert.throws(
    () => mnrl.validate({ columns: ["anchor", "positive"], texts: [["a"]], size: 1 }),
    /batch.columns names 2 columns .* batch.texts holds 1/,
  );
  assert.throws(
    () => mnrl.validate({ columns: ["anchor", "positive"], texts: [["a"], [null as unknown as string]], size: 1 }),
    /batch.texts\[1\]\[0\] \("positive" of example 0\) is null/,
  );
  assert.throws(
    () => new TripletLoss().validate({ columns: ["anchor", "positive"], texts: [["a"], ["b"]], size: 1 }),
    /needs exactly 3: \(anchor, positive, negative\) triplets/,
  );
  assert.throws(
    () => new MultipleNegativesRankingLoss({ scale: 0 }),
    /^Error: MultipleNegativesRankingLoss: scale is 0/,
  );
  assert.throws(
    () => new MultipleNegativesSymmetricRankingLoss({ scale: -1 }),
    /^Error: MultipleNegativesSymmetricRankingLoss: scale is -1/,
  );
  assert.throws(
    () => new CachedMultipleNegativesRankingLoss({ miniBatchSize: 2.5 }),
    /miniBatchSize is 2.5; it must be a positive integer/,
  );
  assert.throws(() => new MatryoshkaLoss(mnrl, { matryoshkaDims: [] }), /at least one dimension/);
  assert.throws(
    () => new MatryoshkaLoss(mnrl, { matryoshkaDims: [64, 32], matryoshkaWeights: [1] }),
    /one weight per dim/,
  );
  assert.throws(() => new MatryoshkaLoss(mnrl, { matryoshkaDims: [64, -1] }), /matryoshkaDims\[1\] is -1/);
  const opaque = {
    name: "OpaqueLoss",
    inBatchNegatives: false,
    config: () => ({}),
    lossAndGrads: () => ({ loss: 0, grads: new Map() }),
  };
  assert.throws(
    () => new MatryoshkaLoss(opaque, { matryoshkaDims: [8] }),
    /OpaqueLoss does not expose lossFromEmbeddings/,
  );
});

test("MNRL near loss 0 keeps float32's relative precision (issue 9 item 12: no logSumExp(S) - S_ii cancellation)", () => {
  // Anchor i equals its positive (S_ii = 20); the other positives are at cosine ~0.53-0.55 from it, so each row
  // loses ~exp(20 * (0.54 - 1)) ~ 1e-4. Entries are float32 values so the float64 reference sees the same input.
  const n = 6;
  const anchors: Matrix = Array.from({ length: n }, (_, i) => {
    const angle = i * 0.93 + 0.017 * i * i; // consecutive directions ~57 degrees apart, in a plane plus a tilt
    return [Math.cos(angle), Math.sin(angle), 0.05 * i].map(Math.fround);
  });
  const columns = [anchors, anchors.map((r) => r.slice())];
  const expected = mnrlReference(columns);
  assert.ok(expected > 1e-5 && expected < 1e-3, `the case is near 0 (loss ${expected})`);
  const { value, grads } = valueAndEmbeddingGrads(new MultipleNegativesRankingLoss(), columns);
  const relative = Math.abs(value - expected) / expected;
  assert.ok(relative < 2e-5, `loss ${value} vs float64 ${expected}: relative error ${relative.toExponential(2)}`);
  // The gradients stay those of the float64 loss.
  const numeric = numericGradient((cols) => mnrlReference(cols), columns);
  const scaleOf = Math.max(...numeric.flat(2).map(Math.abs));
  assertMatricesClose(grads, numeric, scaleOf * 1e-3, "MNRL gradient near 0");
});
