// The losses on a small random BERT: MNRL's variable gradients against finite differences, the cached (GradCache)
// loss against the plain one (value and every gradient), MatryoshkaLoss's single forward pass and its weighted
// sum, and errors that need a model.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../src/backend";
import { offlineModel, type SentenceTransformer } from "../src/model/sentence-transformer";
import {
  CachedMultipleNegativesRankingLoss,
  CachedMultipleNegativesSymmetricRankingLoss,
  MatryoshkaLoss,
  MultipleNegativesSymmetricRankingLoss,
  MultipleNegativesRankingLoss,
  TripletLoss,
  type Loss,
  type LossResult,
  type TrainingBatch,
} from "../src/train/losses";
import { matryoshkaReference, mnrlReference, type Matrix } from "./fixtures/train-losses/reference";
import { tinyBert } from "./fixtures/train-losses/tiny-bert";

let model: SentenceTransformer;

before(async () => {
  await initBackend();
  model = tinyBert();
});

// Texts of different lengths so that mini-batches pad differently from the whole column.
const batch: TrainingBatch = {
  columns: ["anchor", "positive", "negative"],
  texts: [
    [
      "how many vaccine doses does a puppy need",
      "is chocolate toxic to cats",
      "when should a kitten be spayed",
      "fleas",
      "what does a dental cleaning cost for an older dog",
    ],
    [
      "puppies get three rounds of core vaccines",
      "chocolate is toxic to dogs and cats",
      "kittens are usually spayed at five months",
      "monthly flea prevention",
      "dental cleaning prices depend on anesthesia and x-rays",
    ],
    [
      "senior cats need kidney checks",
      "heartworm is spread by mosquitoes",
      "bring the vaccine record to the appointment",
      "the clinic opens at eight",
      "grapes can hurt a dog's kidneys",
    ],
  ],
  size: 5,
};

function maxAbs(t: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
}

function disposeResult(r: LossResult): void {
  for (const g of r.grads.values()) g.dispose();
}

/** The Hugging Face name of a model variable (tfjs names variables by a counter). */
function nameOf(v: tf.Variable): string {
  for (const [name, w] of (model.encoder as NonNullable<typeof model.encoder>).variables) if (w === v) return name;
  return v.name;
}

/** Max over all variables of max |a - b|, and the largest gradient entry seen. */
function compareGrads(
  a: LossResult,
  b: LossResult,
  variables: tf.Variable[],
): { worst: number; worstName: string; largest: number } {
  let worst = 0;
  let worstName = "";
  let largest = 0;
  for (const v of variables) {
    const ga = a.grads.get(v);
    const gb = b.grads.get(v);
    assert.ok(ga && gb, `gradient of ${v.name} missing`);
    const d = tf.tidy(() => maxAbs(tf.sub(ga, gb)));
    largest = Math.max(largest, maxAbs(ga));
    if (d > worst) [worst, worstName] = [d, nameOf(v)];
  }
  return { worst, worstName, largest };
}

function columnEmbeddings64(texts: string[][]): Matrix[] {
  return texts.map((col) => tf.tidy(() => model.forward(model.tokenize(col))).arraySync() as Matrix);
}

test("MNRL value on a BERT equals the float64 loss of its embeddings; variable gradients match finite differences", () => {
  const loss = new MultipleNegativesRankingLoss();
  const variables = model.trainableVariables();
  const result = loss.lossAndGrads(model, batch, variables);
  const reference = mnrlReference(columnEmbeddings64(batch.texts));
  assert.ok(Math.abs(result.loss - reference) < 1e-4, `loss ${result.loss} vs float64 ${reference}`);
  assert.equal(result.grads.size, variables.length);
  // Central differences on the largest-gradient coordinate of a few variables (float32 forward, so h is not tiny).
  const checked = [
    "encoder.layer.0.attention.self.query.weight",
    "encoder.layer.1.output.dense.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.word_embeddings.weight",
  ];
  const h = 1e-2;
  for (const name of checked) {
    const v = (model.encoder as NonNullable<typeof model.encoder>).variables.get(name) as tf.Variable;
    const grad = result.grads.get(v) as tf.Tensor;
    const flat = grad.dataSync();
    let k = 0;
    for (let i = 1; i < flat.length; i++) if (Math.abs(flat[i]) > Math.abs(flat[k])) k = i;
    const original = v.dataSync().slice();
    const at = (delta: number): number => {
      const data = original.slice();
      data[k] += delta;
      v.assign(tf.tensor(data, v.shape));
      const value = tf.tidy(
        () => loss.lossFromEmbeddings(batch.texts.map((col) => model.forward(model.tokenize(col)))).dataSync()[0],
      );
      return value;
    };
    const numeric = (at(h) - at(-h)) / (2 * h);
    v.assign(tf.tensor(original, v.shape));
    assert.ok(Math.abs(flat[k]) > 1e-3, `${name}: largest gradient ${flat[k]} too small to test`);
    assert.ok(
      Math.abs(numeric - flat[k]) <= 0.005 * Math.abs(flat[k]) + 1e-4,
      `${name}[${k}]: analytic ${flat[k]} vs finite difference ${numeric}`,
    );
  }
  disposeResult(result);
});

test("CachedMultipleNegativesRankingLoss equals MNRL (value and every variable's gradient) with mini-batches smaller than the batch", () => {
  const variables = model.trainableVariables();
  const plain = new MultipleNegativesRankingLoss().lossAndGrads(model, batch, variables);
  let miniBatches = 0;
  const cachedLoss = new CachedMultipleNegativesRankingLoss({ miniBatchSize: 2, onMiniBatch: () => miniBatches++ });
  const cached = cachedLoss.lossAndGrads(model, batch, variables);
  assert.equal(miniBatches, 3 * 3, "3 columns of 5 texts in mini-batches of 2 -> 9 backward passes");
  assert.ok(Math.abs(cached.loss - plain.loss) < 1e-5, `cached ${cached.loss} vs plain ${plain.loss}`);
  const { worst, worstName, largest } = compareGrads(cached, plain, variables);
  assert.ok(largest > 1e-2, `gradients too small (${largest}) for the comparison to mean anything`);
  assert.ok(worst < 1e-5, `gradient of ${worstName} differs by ${worst} (largest entry ${largest})`);
  assert.deepEqual(cachedLoss.config(), { scale: 20, similarity_fct: "cos_sim", mini_batch_size: 2 });
  disposeResult(plain);
  disposeResult(cached);
});

test("CachedMultipleNegativesSymmetricRankingLoss equals MultipleNegativesSymmetricRankingLoss (value and every gradient)", () => {
  const variables = model.trainableVariables();
  const plain = new MultipleNegativesSymmetricRankingLoss().lossAndGrads(model, batch, variables);
  const cached = new CachedMultipleNegativesSymmetricRankingLoss({ miniBatchSize: 3 }).lossAndGrads(
    model,
    batch,
    variables,
  );
  const mnrl = new MultipleNegativesRankingLoss().lossAndGrads(model, batch, variables);
  assert.ok(
    Math.abs(plain.loss - mnrl.loss) > 1e-3,
    "the symmetric loss must differ from MNRL for the comparison to mean anything",
  );
  assert.ok(Math.abs(cached.loss - plain.loss) < 1e-5, `cached ${cached.loss} vs plain ${plain.loss}`);
  const { worst, worstName } = compareGrads(cached, plain, variables);
  assert.ok(worst < 1e-5, `gradient of ${worstName} differs by ${worst}`);
  assert.throws(
    () => new CachedMultipleNegativesSymmetricRankingLoss({ scale: -2 }),
    /^Error: CachedMultipleNegativesSymmetricRankingLoss: scale is -2/,
  );
  [plain, cached, mnrl].forEach(disposeResult);
});

test("the cached loss does not leak tensors and gives zeros for a variable the model does not use", () => {
  const stray = tf.variable(tf.ones([3]), true);
  const variables = [...model.trainableVariables(), stray];
  const loss = new CachedMultipleNegativesRankingLoss({ miniBatchSize: 3 });
  const pairs: TrainingBatch = { columns: ["anchor", "positive"], texts: batch.texts.slice(0, 2), size: 5 };
  disposeResult(loss.lossAndGrads(model, pairs, variables)); // warm-up (kernels may allocate once)
  const before = tf.memory().numTensors;
  const result = loss.lossAndGrads(model, pairs, variables);
  assert.equal(tf.memory().numTensors, before + variables.length, "only the returned gradients stay allocated");
  assert.deepEqual(Array.from((result.grads.get(stray) as tf.Tensor).dataSync()), [0, 0, 0]);
  disposeResult(result);
  stray.dispose();
});

test("MatryoshkaLoss runs one forward per column and equals the weighted sum of MNRL on truncated embeddings", () => {
  const dims = [32, 16, 8];
  const weights = [1, 0.5, 2];
  const loss = new MatryoshkaLoss(new MultipleNegativesRankingLoss(), {
    matryoshkaDims: dims,
    matryoshkaWeights: weights,
  });
  const variables = model.trainableVariables();
  const forward = model.forward.bind(model);
  let calls = 0;
  model.forward = (input, options) => {
    calls++;
    return forward(input, options);
  };
  let result: LossResult;
  try {
    result = loss.lossAndGrads(model, batch, variables);
  } finally {
    model.forward = forward;
  }
  assert.equal(calls, 3, "one forward pass per column, shared by the three dims");
  const reference = matryoshkaReference(columnEmbeddings64(batch.texts), dims, weights, (cols) => mnrlReference(cols));
  assert.ok(Math.abs(result.loss - reference) < 1e-4, `loss ${result.loss} vs float64 ${reference}`);
  // Gradients are linear in the terms: Matryoshka(32:1, 16:0.5, 8:2) = MNRL + 0.5 Matryoshka(16) + 2 Matryoshka(8)
  // (the model's output is unit length, so dim 32 re-normalised is the plain MNRL).
  const parts: [Loss, number][] = [
    [new MultipleNegativesRankingLoss(), 1],
    [new MatryoshkaLoss(new MultipleNegativesRankingLoss(), { matryoshkaDims: [16] }), 0.5],
    [new MatryoshkaLoss(new MultipleNegativesRankingLoss(), { matryoshkaDims: [8] }), 2],
  ];
  const warn = console.warn;
  console.warn = () => {};
  const partResults = parts.map(([l]) => l.lossAndGrads(model, batch, variables));
  console.warn = warn;
  const sumGrads = new Map<tf.Variable, tf.Tensor>();
  for (const v of variables)
    sumGrads.set(
      v,
      tf.tidy(() => tf.addN(partResults.map((r, i) => tf.mul(r.grads.get(v) as tf.Tensor, parts[i][1])))),
    );
  const sumLoss = partResults.reduce((s, r, i) => s + parts[i][1] * r.loss, 0);
  assert.ok(Math.abs(sumLoss - result.loss) < 1e-4, `sum of parts ${sumLoss} vs ${result.loss}`);
  const { worst, worstName } = compareGrads(result, { loss: sumLoss, grads: sumGrads }, variables);
  assert.ok(worst < 1e-5, `gradient of ${worstName} differs by ${worst}`);
  partResults.forEach(disposeResult);
  disposeResult({ loss: 0, grads: sumGrads });
  disposeResult(result);
});

test("MatryoshkaLoss over the cached loss equals it over the plain loss", () => {
  const options = { matryoshkaDims: [32, 8], matryoshkaWeights: [1, 0.7] };
  const variables = model.trainableVariables();
  const pairs: TrainingBatch = { columns: ["anchor", "positive"], texts: batch.texts.slice(0, 2), size: 5 };
  const plain = new MatryoshkaLoss(new MultipleNegativesRankingLoss(), options).lossAndGrads(model, pairs, variables);
  const cached = new MatryoshkaLoss(new CachedMultipleNegativesRankingLoss({ miniBatchSize: 2 }), options).lossAndGrads(
    model,
    pairs,
    variables,
  );
  assert.ok(Math.abs(cached.loss - plain.loss) < 1e-5, `cached ${cached.loss} vs plain ${plain.loss}`);
  const { worst, worstName } = compareGrads(cached, plain, variables);
  assert.ok(worst < 1e-5, `gradient of ${worstName} differs by ${worst}`);
  disposeResult(plain);
  disposeResult(cached);
});

test("GradCache bounds memory: the cached loss's peak tensor memory does not grow with the batch, the plain loss's does", async () => {
  const variables = model.trainableVariables();
  const sentence = "the clinic offers vaccines dental care and surgery for dogs and cats every day of the week";
  const pairsOf = (n: number): TrainingBatch => ({
    columns: ["anchor", "positive"],
    texts: [
      Array.from({ length: n }, (_, i) => `question ${i} ${sentence}`),
      Array.from({ length: n }, (_, i) => `answer ${i} ${sentence} ${sentence}`),
    ],
    size: n,
  });
  /** tf.profile's peakBytes: the most tensor memory alive at once during one loss+gradient computation. */
  const peak = async (loss: Loss, n: number): Promise<number> => {
    let result: LossResult | undefined;
    const info = await tf.profile(() => {
      result = loss.lossAndGrads(model, pairsOf(n), variables);
    });
    disposeResult(result as LossResult);
    return info.peakBytes;
  };
  const cached = new CachedMultipleNegativesRankingLoss({ miniBatchSize: 4 });
  const plain = new MultipleNegativesRankingLoss();
  const [cached8, cached32, plain8, plain32] = [
    await peak(cached, 8),
    await peak(cached, 32),
    await peak(plain, 8),
    await peak(plain, 32),
  ];
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  assert.ok(
    plain32 > 2 * plain8,
    `plain loss: ${mib(plain8)} at 8 pairs, ${mib(plain32)} at 32 (expected to grow with the batch)`,
  );
  assert.ok(
    cached32 < 1.05 * cached8,
    `cached loss: ${mib(cached8)} at 8 pairs, ${mib(cached32)} at 32 (expected flat)`,
  );
  assert.ok(
    cached32 < plain8,
    `cached at 32 pairs (${mib(cached32)}) should need less than plain at 8 (${mib(plain8)})`,
  );
});

test("on a StaticEmbedding model: cached == plain, and only the rows of tokens in the batch get gradient", () => {
  const staticModel = offlineModel("offline-random");
  try {
    const variables = staticModel.trainableVariables();
    const plain = new MultipleNegativesRankingLoss().lossAndGrads(staticModel, batch, variables);
    const cached = new CachedMultipleNegativesRankingLoss({ miniBatchSize: 2 }).lossAndGrads(
      staticModel,
      batch,
      variables,
    );
    assert.ok(Math.abs(cached.loss - plain.loss) < 1e-5, `cached ${cached.loss} vs plain ${plain.loss}`);
    const table = plain.grads.get(variables[0]) as tf.Tensor2D;
    const diff = tf.tidy(() => maxAbs(tf.sub(table, cached.grads.get(variables[0]) as tf.Tensor)));
    assert.ok(diff < 1e-5, `embedding table gradients differ by ${diff}`);
    const rowNorm = (token: string): number => {
      const id = staticModel.tokenizer.encodeContent(token)[0];
      return tf.tidy(() => tf.norm(tf.slice(table, [id, 0], [1, -1])).dataSync()[0]);
    };
    assert.ok(rowNorm("chocolate") > 1e-4, "a token of the batch gets a gradient");
    assert.equal(rowNorm("volcano"), 0, "a token outside the batch gets none");
    disposeResult(plain);
    disposeResult(cached);
  } finally {
    staticModel.dispose();
  }
});

test("model-dependent errors: a Matryoshka dim larger than the embedding; a triplet loss given pairs", () => {
  const variables = model.trainableVariables();
  const tooLarge = new MatryoshkaLoss(new MultipleNegativesRankingLoss(), { matryoshkaDims: [64, 32] });
  assert.throws(
    () => tooLarge.lossAndGrads(model, batch, variables),
    /matryoshkaDims 64 exceed the embedding dimension 32 of model/,
  );
  const pairs: TrainingBatch = { columns: ["anchor", "positive"], texts: batch.texts.slice(0, 2), size: 5 };
  assert.throws(
    () => new TripletLoss().lossAndGrads(model, pairs, variables),
    /TripletLoss: the batch has 2 column\(s\) \(anchor, positive\)/,
  );
  assert.throws(
    () => new MultipleNegativesRankingLoss().lossAndGrads(model, batch, []),
    /no variables to differentiate/,
  );
  const unrelated = tf.variable(tf.zeros([2]), true);
  assert.throws(
    () => new MultipleNegativesRankingLoss().lossAndGrads(model, batch, [unrelated]),
    /none of the 1 variables passed affects the loss/,
  );
  assert.throws(
    () => new CachedMultipleNegativesRankingLoss({ miniBatchSize: 4 }).lossAndGrads(model, batch, [unrelated]),
    /none of the 1 variables passed affects the loss/,
  );
  unrelated.dispose();
});
