// The no-duplicates batch sampler (sentence-transformers' NoDuplicatesBatchSampler semantics) and seeded shuffling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultBatches, epochPermutation, noDuplicatesBatches, noDuplicatesFromOrder } from "../src/train/sampler";

test("hand-traced example: skipped rows wait for a later batch, a partial batch closes the epoch", () => {
  const rows = [["a", "p1"], ["b", "p1"], ["c", "p2"], ["d", "p3"], ["a", "p4"], ["e", "p5"]];
  // Pass 1 over 0..5: take 0 (a, p1); 1 shares p1: skip; take 2, 3; 4 shares a: skip; take 5 -> full.
  // Pass 2 over the waiting 1, 4: both fit -> partial batch.
  assert.deepEqual(noDuplicatesFromOrder(rows, [0, 1, 2, 3, 4, 5], 4), [[0, 2, 3, 5], [1, 4]]);
  assert.deepEqual(noDuplicatesFromOrder(rows, [0, 1, 2, 3, 4, 5], 4, true), [[0, 2, 3, 5]]);
  // Order matters: starting with 1 takes (b, p1), then 0 must wait.
  assert.deepEqual(noDuplicatesFromOrder(rows, [1, 0, 2, 3, 4, 5], 3), [[1, 2, 3], [0, 5], [4]]);
});

test("no text twice in a batch; every row exactly once per epoch; seeded", () => {
  // 60 rows over 12 positives and 20 anchors: many collisions.
  const rows = Array.from({ length: 60 }, (_, i) => [`anchor ${i % 20}`, `passage ${i % 12}`, `negative ${i % 7}`]);
  for (const epoch of [0, 1, 2]) {
    const batches = noDuplicatesBatches(rows, epoch, { batchSize: 5, seed: 42 });
    for (const b of batches) {
      const texts = b.flatMap((i) => rows[i]);
      assert.equal(new Set(texts).size, texts.length, `epoch ${epoch}: batch ${JSON.stringify(b)} repeats a text`);
      assert.ok(b.length >= 1 && b.length <= 5);
    }
    assert.deepEqual(batches.flat().sort((x, y) => x - y), Array.from({ length: 60 }, (_, i) => i));
  }
  const e0 = noDuplicatesBatches(rows, 0, { batchSize: 5, seed: 42 });
  assert.deepEqual(noDuplicatesBatches(rows, 0, { batchSize: 5, seed: 42 }), e0);
  assert.notDeepEqual(noDuplicatesBatches(rows, 1, { batchSize: 5, seed: 42 }), e0);
  assert.notDeepEqual(noDuplicatesBatches(rows, 0, { batchSize: 5, seed: 43 }), e0);
});

test("epoch permutations are permutations, differ by epoch and seed, and are stable", () => {
  const p = epochPermutation(50, 7, 0);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(p, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(epochPermutation(50, 7, 0), p);
  assert.notDeepEqual(epochPermutation(50, 7, 1), p);
  assert.notDeepEqual(epochPermutation(50, 8, 0), p);
});

test("default sampler: consecutive slices of the permutation, last partial unless dropLast", () => {
  const order = epochPermutation(10, 1, 0);
  assert.deepEqual(defaultBatches(10, 0, { batchSize: 4, seed: 1 }), [order.slice(0, 4), order.slice(4, 8), order.slice(8)]);
  assert.deepEqual(defaultBatches(10, 0, { batchSize: 4, seed: 1, dropLast: true }), [order.slice(0, 4), order.slice(4, 8)]);
  assert.throws(() => defaultBatches(10, 0, { batchSize: 0, seed: 1 }), /batchSize 0/);
});
