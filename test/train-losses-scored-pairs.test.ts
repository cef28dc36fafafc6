// CosineSimilarityLoss and CoSENTLoss on fixed embeddings against float64 hand code (written from the formulas in
// their headers), their embedding gradients against float64 central differences, closed-form values, labels
// through prepareTrainingData and the trainer's batches, and the errors for unlabelled or bad batches.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../src/backend";
import { CoSENTLoss, CosineSimilarityLoss, type EmbeddingLoss, type TrainingBatch } from "../src/train/losses";
import { prepareTrainingData } from "../src/train/training-data";
import { dot, numericGradient, seededMatrix, type Matrix } from "./fixtures/train-losses/reference";

before(async () => {
  await initBackend();
});

/** float64 cosine of two rows with torch.cosine_similarity's per-norm eps 1e-8. */
function cosine(a: number[], b: number[]): number {
  return dot(a, b) / (Math.max(Math.sqrt(dot(a, a)), 1e-8) * Math.max(Math.sqrt(dot(b, b)), 1e-8));
}

function cosineSimilarityReference(columns: Matrix[], labels: number[]): number {
  const [u, v] = columns;
  return u.reduce((s, _, i) => s + (cosine(u[i], v[i]) - labels[i]) ** 2, 0) / u.length;
}

function cosentReference(columns: Matrix[], labels: number[], scale = 20): number {
  const [u, v] = columns;
  const s = u.map((_, i) => scale * cosine(u[i], v[i]));
  // log(1 + sum exp(s_i - s_j)) over y_i < y_j, computed stably around the largest term.
  const terms = [0];
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++) if (labels[i] < labels[j]) terms.push(s[i] - s[j]);
  const max = Math.max(...terms);
  return max + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - max), 0));
}

function batchOf(columns: Matrix[], labels: number[] | undefined): TrainingBatch {
  const b: TrainingBatch = {
    columns: ["anchor", "positive"],
    texts: columns.map((m) => m.map((_, i) => `text ${i}`)),
    size: columns[0].length,
  };
  if (labels) b.labels = labels;
  return b;
}

function valueAndGrads(loss: EmbeddingLoss, columns: Matrix[], labels: number[]): { value: number; grads: Matrix[] } {
  const batch = batchOf(columns, labels);
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

function maxDiff(a: Matrix[], b: Matrix[]): number {
  let worst = 0;
  b.forEach((m, c) =>
    m.forEach((row, i) => row.forEach((x, j) => (worst = Math.max(worst, Math.abs(a[c][i][j] - x))))),
  );
  return worst;
}

test("CosineSimilarityLoss: value and embedding gradients equal the float64 hand computation", () => {
  const columns = [seededMatrix(5, 7, 41), seededMatrix(5, 7, 42)];
  const labels = [1, 0, 0.5, -0.25, 1];
  const got = valueAndGrads(new CosineSimilarityLoss(), columns, labels);
  const want = cosineSimilarityReference(columns, labels);
  assert.ok(want > 0.1, `reference ${want} should be far from 0`);
  assert.ok(Math.abs(got.value - want) < 1e-6 * Math.max(1, want), `loss ${got.value} vs reference ${want}`);
  const fd = numericGradient((c) => cosineSimilarityReference(c, labels), columns);
  assert.ok(maxDiff(got.grads, fd) < 2e-5, `gradients differ from finite differences by ${maxDiff(got.grads, fd)}`);
});

test("CosineSimilarityLoss: closed form; the label is the target cosine", () => {
  // cos 0 = 1 (label 1) and cos 90 = 0 (label 1): mean of 0 and 1 = 0.5; scaling a vector changes nothing.
  const got = valueAndGrads(
    new CosineSimilarityLoss(),
    [
      [
        [1, 0],
        [3, 0],
      ],
      [
        [2, 0],
        [0, 5],
      ],
    ],
    [1, 1],
  );
  assert.ok(Math.abs(got.value - 0.5) < 1e-7, `got ${got.value}`);
  assert.deepEqual(new CosineSimilarityLoss().config(), {
    loss_fct: "torch.nn.modules.loss.MSELoss",
    cos_score_transformation: "torch.nn.modules.linear.Identity",
  });
});

test("CoSENTLoss: value and embedding gradients equal the float64 hand computation (graded and 0/1 labels)", () => {
  const columns = [seededMatrix(6, 5, 51), seededMatrix(6, 5, 52)];
  const wants: number[] = [];
  for (const base of [
    [0.9, 0.1, 0.5, 0.5, 0.3, 0.7],
    [1, 0, 0, 1, 0, 0],
  ]) {
    for (const labels of [base, base.map((y) => -y)]) {
      for (const scale of [20, 1]) {
        const loss = new CoSENTLoss({ scale });
        const got = valueAndGrads(loss, columns, labels);
        const want = cosentReference(columns, labels, scale);
        wants.push(want);
        assert.ok(
          Math.abs(got.value - want) < 2e-5 * Math.max(1, want),
          `scale ${scale}: loss ${got.value} vs reference ${want}`,
        );
        const fd = numericGradient((c) => cosentReference(c, labels, scale), columns);
        const tol = scale === 20 ? 5e-4 : 2e-5;
        assert.ok(
          maxDiff(got.grads, fd) < tol,
          `scale ${scale}: gradients differ from finite differences by ${maxDiff(got.grads, fd)}`,
        );
      }
    }
  }
  assert.ok(
    Math.min(...wants) < 0.01 && Math.max(...wants) > 1,
    `the cases must include small and large losses: ${wants}`,
  );
});

test("CoSENTLoss: closed form; only the order of labels counts; equal labels give 0", () => {
  // cos = (1, 0) for pairs labelled (0, 1): one ordered pair (0, 1): log(1 + exp(20 (1 - 0))).
  const columns = [
    [
      [1, 0],
      [1, 0],
    ],
    [
      [1, 0],
      [0, 1],
    ],
  ];
  const got = valueAndGrads(new CoSENTLoss(), columns, [0, 1]);
  assert.ok(Math.abs(got.value - Math.log1p(Math.exp(20))) < 1e-4, `got ${got.value}`);
  const rescaled = valueAndGrads(new CoSENTLoss(), columns, [0.2, 0.3]);
  assert.ok(Math.abs(rescaled.value - got.value) < 1e-6, "labels 0.2 < 0.3 are the same order as 0 < 1");
  const equal = valueAndGrads(new CoSENTLoss(), columns, [0.5, 0.5]);
  assert.equal(equal.value, 0);
  assert.ok(
    equal.grads.flat(2).every((g) => g === 0),
    "no ordered pair: no gradient",
  );
  assert.deepEqual(new CoSENTLoss().config(), { scale: 20, similarity_fct: "pairwise_cos_sim" });
});

test("labelled rows: prepareTrainingData carries the label/score column; bad labels and unlabelled batches are errors", () => {
  const data = prepareTrainingData([
    { anchor: "q", positive: "p", label: 1 },
    { anchor: "q", positive: "n", label: 0 },
  ]);
  assert.deepEqual(data.columns, ["anchor", "positive"]);
  assert.deepEqual(data.labels, [1, 0]);
  assert.equal(data.labelColumn, "label");
  assert.deepEqual(prepareTrainingData([{ anchor: "a", positive: "b", score: 0.25 }]).labels, [0.25]);
  assert.equal(
    prepareTrainingData([
      { anchor: "a", positive: "b" },
      { anchor: "c", positive: "d" },
    ]).labels,
    undefined,
  );
  assert.throws(
    () =>
      prepareTrainingData([
        { anchor: "a", positive: "b", label: 1 },
        { anchor: "c", positive: "d", label: "high" },
      ]),
    /row 1: field "label" is "high", expected a finite number/,
  );
  assert.throws(
    () => prepareTrainingData([{ anchor: "a", positive: "b", label: 1, score: 1 }]),
    /both a "label" and a "score" column/,
  );
  const loss = new CoSENTLoss();
  assert.throws(
    () => loss.validate(batchOf([[[1]], [[1]]], undefined)),
    /CoSENTLoss: the batch has no labels.*labeled-pair/,
  );
  assert.throws(
    () =>
      new CosineSimilarityLoss().validate(
        batchOf(
          [
            [[1], [2]],
            [[1], [2]],
          ],
          [1],
        ),
      ),
    /holds 1 values but batch.size is 2/,
  );
  assert.throws(
    () =>
      new CosineSimilarityLoss().validate({
        columns: ["anchor", "positive", "negative"],
        texts: [["a"], ["b"], ["c"]],
        size: 1,
        labels: [1],
      }),
    /needs exactly 2/,
  );
  assert.throws(() => new CoSENTLoss({ scale: 0 }), /CoSENTLoss: scale is 0/);
});
