// The no-duplicates batch sampler (sentence-transformers' NoDuplicatesBatchSampler semantics) and seeded shuffling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultBatches, epochPermutation, noDuplicatesBatches, noDuplicatesFromOrder } from "../src/train/sampler";

test("hand-traced example: skipped rows wait for a later batch, a partial batch closes the epoch", () => {
  const rows = [
    ["a", "p1"],
    ["b", "p1"],
    ["c", "p2"],
    ["d", "p3"],
    ["a", "p4"],
    ["e", "p5"],
  ];
  // Pass 1 over 0..5: take 0 (a, p1); 1 shares p1: skip; take 2, 3; 4 shares a: skip; take 5 -> full.
  // Pass 2 over the waiting 1, 4: both fit -> partial batch.
  assert.deepEqual(noDuplicatesFromOrder(rows, [0, 1, 2, 3, 4, 5], 4), [
    [0, 2, 3, 5],
    [1, 4],
  ]);
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
    assert.deepEqual(
      batches.flat().sort((x, y) => x - y),
      Array.from({ length: 60 }, (_, i) => i),
    );
  }
  const e0 = noDuplicatesBatches(rows, 0, { batchSize: 5, seed: 42 });
  assert.deepEqual(noDuplicatesBatches(rows, 0, { batchSize: 5, seed: 42 }), e0);
  assert.notDeepEqual(noDuplicatesBatches(rows, 1, { batchSize: 5, seed: 42 }), e0);
  assert.notDeepEqual(noDuplicatesBatches(rows, 0, { batchSize: 5, seed: 43 }), e0);
});

test("epoch permutations are permutations, differ by epoch and seed, and are stable", () => {
  const p = epochPermutation(50, 7, 0);
  assert.deepEqual(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(
    p,
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(epochPermutation(50, 7, 0), p);
  assert.notDeepEqual(epochPermutation(50, 7, 1), p);
  assert.notDeepEqual(epochPermutation(50, 8, 0), p);
});

test("default sampler: consecutive slices of the permutation, last partial unless dropLast", () => {
  const order = epochPermutation(10, 1, 0);
  assert.deepEqual(defaultBatches(10, 0, { batchSize: 4, seed: 1 }), [
    order.slice(0, 4),
    order.slice(4, 8),
    order.slice(8),
  ]);
  assert.deepEqual(defaultBatches(10, 0, { batchSize: 4, seed: 1, dropLast: true }), [
    order.slice(0, 4),
    order.slice(4, 8),
  ]);
  assert.throws(() => defaultBatches(10, 0, { batchSize: 0, seed: 1 }), /batchSize 0/);
});

/** The sampler as sentence-transformers writes it: re-scan the waiting list from the start for every batch. */
function referenceNoDuplicates(rows: string[][], order: number[], batchSize: number, dropLast: boolean): number[][] {
  let remaining = order.slice();
  const out: number[][] = [];
  while (remaining.length > 0) {
    const texts = new Set<string>();
    const batch: number[] = [];
    for (const i of remaining) {
      if (rows[i].some((t) => texts.has(t))) continue;
      batch.push(i);
      if (batch.length === batchSize) break;
      rows[i].forEach((t) => texts.add(t));
    }
    if (batch.length === batchSize || !dropLast) out.push(batch);
    remaining = remaining.filter((i) => !batch.includes(i));
  }
  return out;
}

test("the compacting implementation gives the reference batches (random data, heavy and light duplication)", () => {
  let x = 12345;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const [n, distinct, batchSize] of [
    [200, 5, 8],
    [300, 150, 16],
    [97, 97, 10],
    [50, 2, 4],
  ]) {
    const rows = Array.from({ length: n }, (_, i) => [`a${Math.floor(rand() * distinct)}`, `p${i % distinct}`]);
    const order = epochPermutation(n, n, 0);
    for (const dropLast of [false, true])
      assert.deepEqual(
        noDuplicatesFromOrder(rows, order, batchSize, dropLast),
        referenceNoDuplicates(rows, order, batchSize, dropLast),
        `n ${n} distinct ${distinct} B ${batchSize} dropLast ${dropLast}`,
      );
  }
});

test("an epoch of 100,000 rows is batched in seconds, not minutes (no re-filtering per batch)", () => {
  const rows = Array.from({ length: 100_000 }, (_, i) => [`anchor ${i}`, `passage ${i % 20_000}`]);
  const t0 = performance.now();
  const batches = noDuplicatesBatches(rows, 0, { batchSize: 32, seed: 1 });
  const ms = performance.now() - t0;
  assert.equal(batches.flat().length, 100_000);
  assert.ok(ms < 3000, `${ms.toFixed(0)} ms`);
});
