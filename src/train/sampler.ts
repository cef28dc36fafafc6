/**
 * Batch samplers, seeded per epoch (sentence-transformers' samplers reseed with seed + epoch at the start of
 * each epoch, so an epoch's batches depend only on (seed, epoch): that is what lets a resumed run recompute
 * the interrupted epoch and skip the batches it already trained on).
 *
 * NoDuplicatesBatchSampler (sentence_transformers/sampler.py): with in-batch negatives every other text of
 * the batch is a negative, so the same text twice in a batch (a repeated positive, or an anchor that is
 * also another row's passage) becomes a false negative. The sampler walks the shuffled indices that are
 * still waiting; it takes a row unless one of its texts (any column) is already in the batch, until the
 * batch is full; skipped rows wait for a later batch. When a pass over all waiting rows cannot fill the
 * batch, the partial batch is emitted (unless dropLast). Every row is used exactly once per epoch. We keep
 * the shuffled order (current sentence-transformers iterates an insertion-ordered dict; older versions a
 * set, whose order is not the shuffle).
 *
 * DefaultBatchSampler: consecutive slices of the shuffled order.
 */
import { rngFor, shuffled } from "../random";

export type BatchSamplerName = "no_duplicates" | "default";

export interface BatchSamplerOptions {
  batchSize: number;
  seed: number;
  /** Drop a last batch smaller than batchSize (default false, as transformers' dataloader_drop_last). */
  dropLast?: boolean;
}

/** A permutation of 0..n-1 for (seed, epoch): seeded Fisher-Yates. */
export function epochPermutation(n: number, seed: number, epoch: number): number[] {
  return shuffled(
    Array.from({ length: n }, (_, i) => i),
    rngFor(seed, `train-sampler-epoch-${epoch}`),
  );
}

/** Batches (row indices) of one epoch; `rows[i]` lists the texts of row i (all columns). */
export function noDuplicatesBatches(
  rows: readonly (readonly string[])[],
  epoch: number,
  options: BatchSamplerOptions,
): number[][] {
  checkBatchSize(options.batchSize);
  return noDuplicatesFromOrder(
    rows,
    epochPermutation(rows.length, options.seed, epoch),
    options.batchSize,
    options.dropLast ?? false,
  );
}

/**
 * The no-duplicates batching of rows visited in `order` (the shuffled indices). The waiting rows are kept in order
 * with a "taken" flag and compacted when half of them are taken, so an epoch costs about O(n) set lookups when
 * duplicates are rare instead of O(n^2 / batchSize) for re-filtering the list after every batch.
 */
export function noDuplicatesFromOrder(
  rows: readonly (readonly string[])[],
  order: readonly number[],
  batchSize: number,
  dropLast = false,
): number[][] {
  checkBatchSize(batchSize);
  let remaining = order.slice();
  let taken = new Uint8Array(remaining.length);
  let takenCount = 0;
  let first = 0; // every position before `first` is taken
  const batches: number[][] = [];
  while (takenCount < remaining.length) {
    while (taken[first]) first++;
    const texts = new Set<string>();
    const batch: number[] = [];
    const positions: number[] = [];
    for (let p = first; p < remaining.length; p++) {
      if (taken[p]) continue;
      const values = rows[remaining[p]];
      if (values.some((t) => texts.has(t))) continue;
      batch.push(remaining[p]);
      positions.push(p);
      if (batch.length === batchSize) break;
      for (const t of values) texts.add(t);
    }
    if (batch.length === batchSize || !dropLast) batches.push(batch);
    for (const p of positions) taken[p] = 1;
    takenCount += positions.length;
    if (takenCount * 2 > remaining.length && takenCount < remaining.length) {
      remaining = remaining.filter((_, p) => !taken[p]);
      taken = new Uint8Array(remaining.length);
      takenCount = 0;
      first = 0;
    }
  }
  return batches;
}

/** Consecutive slices of the epoch's permutation. */
export function defaultBatches(n: number, epoch: number, options: BatchSamplerOptions): number[][] {
  const { batchSize, seed, dropLast = false } = options;
  checkBatchSize(batchSize);
  const order = epochPermutation(n, seed, epoch);
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length === batchSize || !dropLast) batches.push(b);
  }
  return batches;
}

export function epochBatches(
  sampler: BatchSamplerName,
  rows: readonly (readonly string[])[],
  epoch: number,
  options: BatchSamplerOptions,
): number[][] {
  return sampler === "no_duplicates"
    ? noDuplicatesBatches(rows, epoch, options)
    : defaultBatches(rows.length, epoch, options);
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize ${batchSize} must be a positive integer.`);
}
