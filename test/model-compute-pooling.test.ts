// Pooling modes, l2Normalize and StaticEmbedding on inputs small enough to check by hand.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../src/backend";
import { l2Normalize, pool, pooledDimension, poolingConfig } from "../src/model/pooling";
import { StaticEmbedding } from "../src/model/static-embedding";
import type { PoolingConfig } from "../src/model/types";

before(async () => {
  await initBackend();
});

// Two texts, three positions, two dimensions. Row 0 has a padded last token whose values are the
// largest, so a max or mean that forgets the mask gives a different answer.
const tokens = () =>
  tf.tensor3d(
    [
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [-1, 0],
        [2, -2],
        [4, 1],
      ],
    ],
    [2, 3, 2],
  );
const mask = () =>
  tf.tensor2d(
    [
      [1, 1, 0],
      [1, 1, 1],
    ],
    [2, 3],
    "int32",
  );

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `index ${i}: ${actual[i]} vs ${expected[i]} (all: ${Array.from(actual)})`,
    );
  }
}

// Expected values worked out by hand:
//   mean row 0 = ([1,2]+[3,4])/2;  row 1 = ([-1,0]+[2,-2]+[4,1])/3 = [5/3, -1/3]
//   mean_sqrt_len row 0 = [4,6]/sqrt(2); row 1 = [5,-1]/sqrt(3)
//   weightedmean row 0 = (1*[1,2] + 2*[3,4]) / 3 = [7/3, 10/3]; row 1 = (1*[-1,0] + 2*[2,-2] + 3*[4,1]) / 6 = [15/6, -1/6]
const expected: Record<string, number[]> = {
  cls: [1, 2, -1, 0],
  max: [3, 4, 4, 1],
  mean: [2, 3, 5 / 3, -1 / 3],
  mean_sqrt_len: [4 / Math.SQRT2, 6 / Math.SQRT2, 5 / Math.sqrt(3), -1 / Math.sqrt(3)],
  weightedmean: [7 / 3, 10 / 3, 15 / 6, -1 / 6],
  lasttoken: [3, 4, 4, 1],
};

for (const mode of ["cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"] as const) {
  test(`pooling mode ${mode} on hand-checked values`, () => {
    const out = pool(tokens(), mask(), poolingConfig(2, mode));
    assert.deepEqual(out.shape, [2, 2]);
    close(out.dataSync(), expected[mode]);
  });
}

test("several modes are concatenated in sentence-transformers' order (cls, max, mean, mean_sqrt_len, weightedmean, lasttoken)", () => {
  const cfg: PoolingConfig = {
    word_embedding_dimension: 2,
    pooling_mode_cls_token: true,
    pooling_mode_max_tokens: true,
    pooling_mode_mean_tokens: true,
    pooling_mode_mean_sqrt_len_tokens: true,
    pooling_mode_weightedmean_tokens: true,
    pooling_mode_lasttoken: true,
  };
  assert.equal(pooledDimension(cfg), 12);
  const out = pool(tokens(), mask(), cfg);
  assert.deepEqual(out.shape, [2, 12]);
  const order = ["cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"];
  const row0 = order.flatMap((m) => expected[m].slice(0, 2));
  const row1 = order.flatMap((m) => expected[m].slice(2, 4));
  close(out.dataSync(), [...row0, ...row1]);
});

test("max pooling keeps negative maxima (padding set to -1e9, not 0) and lasttoken with left padding", () => {
  const x = tf.tensor3d(
    [
      [
        [0, 0],
        [-3, -1],
        [-2, -5],
      ],
    ],
    [1, 3, 2],
  );
  const leftPadded = tf.tensor2d([[0, 1, 1]], [1, 3], "int32");
  close(pool(x, leftPadded, poolingConfig(2, "max")).dataSync(), [-2, -1]);
  close(pool(x, leftPadded, poolingConfig(2, "lasttoken")).dataSync(), [-2, -5]);
  close(pool(x, tf.tensor2d([[1, 0, 1]], [1, 3], "int32"), poolingConfig(2, "lasttoken")).dataSync(), [-2, -5]);
  close(pool(x, tf.tensor2d([[1, 1, 0]], [1, 3], "int32"), poolingConfig(2, "lasttoken")).dataSync(), [-3, -1]);
});

test("pooling config errors name the file and field", () => {
  const none = { ...poolingConfig(2, "mean"), pooling_mode_mean_tokens: false };
  assert.throws(() => pool(tokens(), mask(), none), /1_Pooling\/config\.json: no pooling mode is true/);
  assert.throws(
    () => pool(tokens(), mask(), poolingConfig(3, "mean")),
    /word_embedding_dimension is 3 but the token embeddings have 2/,
  );
});

test("l2Normalize: unit rows, zero row stays zero (eps 1e-12)", () => {
  const out = l2Normalize(
    tf.tensor2d(
      [
        [3, 4],
        [0, 0],
        [-1e-3, 0],
      ],
      [3, 2],
    ),
  );
  close(out.dataSync(), [0.6, 0.8, 0, 0, -1, 0]);
});

test("StaticEmbedding: mean of token rows (EmbeddingBag mean), empty text -> zero vector", () => {
  const table = { shape: [4, 2], data: Float32Array.from([0, 0, 1, 2, 3, -4, 5, 6]) };
  const model = new StaticEmbedding(new Map([["embedding.weight", table]]));
  const out = model.forward([[1, 3], [2], [], [3, 3, 1]]);
  // [(1+5)/2, (2+6)/2], [3,-4], [0,0], [(5+5+1)/3, (6+6+2)/3]
  close(out.dataSync(), [3, 4, 3, -4, 0, 0, 11 / 3, 14 / 3]);
  assert.deepEqual(Array.from(model.toWeightMap().get("embedding.weight")!.data), Array.from(table.data));
  assert.throws(() => model.forward([[4]]), /text 0, token 0 has id 4, outside the vocabulary of 4/);
  assert.throws(() => new StaticEmbedding(new Map()), /missing weight "embedding\.weight"/);
  // Long lists go through in chunks and give the same rows.
  const many = Array.from({ length: 600 }, (_, i) => [i % 4, (i * 7) % 4]);
  const big = model.forward(many).dataSync();
  assert.equal(big.length, 1200);
  const i = 599; // ids 3 and 1: [(5+1)/2, (6+2)/2]
  close(big.subarray(2 * i, 2 * i + 2), [3, 4]);
  model.dispose();
});

test("StaticEmbedding gradient: d(sum of embedding . r)/dE[id] = r * (count of id in text) / length", () => {
  const table = { shape: [3, 2], data: Float32Array.from([0, 0, 0, 0, 0, 0]) };
  const model = new StaticEmbedding(table);
  const r = tf.tensor2d([[1, 2]], [1, 2]);
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.mul(model.forward([[1, 1, 2, 0]]), r)) as tf.Scalar,
    [model.embedding],
  );
  // text length 4: id 1 twice -> 2/4 * r, id 2 once -> 1/4 * r, id 0 once -> 1/4 * r
  close(grads[model.embedding.name].dataSync(), [0.25, 0.5, 0.5, 1, 0.25, 0.5]);
  model.dispose();
});
