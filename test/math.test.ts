// src/math.ts: the shared numeric helpers against values worked out by hand or by numpy / torch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dot, l2NormalizeRows, mean, quantile, sampleStd } from "../src/math";

test("quantile matches numpy's default (linear) interpolation", () => {
  // numpy.quantile([1, 2, 3, 4], 0.25) = 1.75; numpy.quantile([0, 10], 0.975) = 9.75; median of [5] = 5
  assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75);
  assert.equal(quantile([0, 10], 0.975), 9.75);
  assert.equal(quantile([5], 0.5), 5);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Math.abs(quantile([10, 20, 30, 40, 50], 0.95) - 48) < 1e-12);
  assert.equal(quantile([1, 2, 3], 1), 3);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test("mean and sampleStd (n - 1, as torch.std); NaN where undefined", () => {
  assert.equal(mean([1, 2, 3, 6]), 3);
  // torch.tensor([1., 2., 3., 6.]).std() = sqrt((4 + 1 + 0 + 9) / 3)
  assert.ok(Math.abs(sampleStd([1, 2, 3, 6]) - Math.sqrt(14 / 3)) < 1e-12);
  assert.ok(Number.isNaN(mean([])));
  assert.ok(Number.isNaN(sampleStd([5])));
});

test("dot over rows of flat arrays", () => {
  assert.equal(dot([1, 2, 3], [4, 5, 6]), 32);
  // second row of a [2, 2] array against first row of another
  assert.equal(dot(Float32Array.from([9, 9, 1, 2]), Float32Array.from([3, 4, 7, 7]), 2, 2, 0), 11);
});

test("l2NormalizeRows: unit rows in place, a zero row stays zero, a bad shape is an error", () => {
  const x = Float32Array.from([3, 4, 0, 0, 0, 5]);
  const out = l2NormalizeRows(x, 2);
  assert.equal(out, x);
  assert.deepEqual(x, Float32Array.from([0.6, 0.8, 0, 0, 0, 1]));
  assert.throws(() => l2NormalizeRows(new Float64Array(5), 2), /5 values do not form rows of dim 2/);
});
