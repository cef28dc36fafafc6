/**
 * npm run bench -- train-step-memory [--json] [--fit] [--quick]
 *
 * Calibrates and checks the trainer's memory estimator (src/train/memory.ts). For each shape (layers, hidden, heads,
 * intermediate), batch size B and sequence length S below it runs ONE loss + gradient computation of
 * MultipleNegativesRankingLoss on B (anchor, positive) pairs whose texts are all cut to S tokens, on a seeded random
 * BERT, and measures the PEAK BYTES OF LIVE TENSOR BUFFERS during it, minus the bytes alive before. tf.memory().numBytes
 * (and tf.profile's peakBytes) count a reshape or a clone again although it shares its buffer, so they overstate what
 * the heap holds; here every buffer (tfjs dataId) is counted once (test/fixtures/memory-probe.ts). With --only N, the
 * Nth case runs alone and the wasm heap's growth is reported too (WebAssembly memory only grows; in a fresh process
 * its growth is the step's real footprint, allocator slack included). Some shapes are also run with
 * CachedMultipleNegativesRankingLoss (mini-batch M). It prints measured vs estimated (estimateLossMemory) per row.
 *
 * --fit solves the least-squares fit of the estimator's coefficients (per token and layer: a x hidden +
 * b x intermediate + c x heads x S; per token: d x hidden) on the plain-loss rows, which is how the constants in
 * memory.ts were obtained. --quick runs the small shapes only.
 */
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend";
import { nativeMatMulInfo } from "../src/native/kernels";
import { measureStep, type StepCase } from "../test/fixtures/memory-probe";

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    fit: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
  },
});

type Case = StepCase;

const SMALL: Case[] = [
  { layers: 1, hidden: 64, heads: 4, intermediate: 256, batch: 8, seq: 32 },
  { layers: 2, hidden: 64, heads: 4, intermediate: 256, batch: 8, seq: 32 },
  { layers: 2, hidden: 128, heads: 4, intermediate: 256, batch: 8, seq: 32 },
  { layers: 2, hidden: 64, heads: 4, intermediate: 1024, batch: 8, seq: 32 },
  { layers: 2, hidden: 64, heads: 8, intermediate: 256, batch: 8, seq: 64 },
  { layers: 2, hidden: 64, heads: 2, intermediate: 256, batch: 16, seq: 128 },
  { layers: 3, hidden: 128, heads: 2, intermediate: 512, batch: 4, seq: 64 },
  { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 16, seq: 64, miniBatch: 4 },
];
const LARGE: Case[] = [
  { layers: 6, hidden: 384, heads: 12, intermediate: 1536, batch: 4, seq: 64 },
  { layers: 6, hidden: 384, heads: 12, intermediate: 1536, batch: 8, seq: 128 },
  { layers: 6, hidden: 384, heads: 12, intermediate: 1536, batch: 16, seq: 128, miniBatch: 8 },
];

const MiB = 1024 * 1024;

interface Row extends Case {
  measured: number;
  /** Growth of the wasm heap during the case (with --only; null otherwise or on another backend). */
  heapGrowth: number | null;
  estimated: number;
  seconds: number;
}

function measure(c: Case): Row {
  const r = measureStep(c);
  return { ...c, ...r, heapGrowth: flags.only ? (r.heapGrowth ?? null) : null };
}

/** Least squares for y = X beta (normal equations, Gaussian elimination; a handful of unknowns). */
function leastSquares(X: number[][], y: number[]): number[] {
  const k = X[0].length;
  const A = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k + 1 }, (_, j) =>
      j < k ? X.reduce((s, r) => s + r[i] * r[j], 0) : X.reduce((s, r, n) => s + r[i] * y[n], 0),
    ),
  );
  for (let i = 0; i < k; i++) {
    let p = i;
    for (let r = i + 1; r < k; r++) if (Math.abs(A[r][i]) > Math.abs(A[p][i])) p = r;
    [A[i], A[p]] = [A[p], A[i]];
    for (let r = 0; r < k; r++) {
      if (r === i) continue;
      const f = A[r][i] / A[i][i];
      for (let j = i; j <= k; j++) A[r][j] -= f * A[i][j];
    }
  }
  return A.map((row, i) => row[k] / row[i]);
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const all = flags.quick ? SMALL : [...SMALL, ...LARGE];
  const cases = flags.only ? [all[Number(flags.only)]] : all;
  const rows: Row[] = [];
  for (const c of cases) {
    const r = measure(c);
    rows.push(r);
    if (!flags.json)
      console.log(
        `L${r.layers} H${r.hidden} A${r.heads} I${r.intermediate} B${r.batch} S${r.seq}` +
          `${r.miniBatch ? ` cached m${r.miniBatch}` : ""}: measured ${(r.measured / MiB).toFixed(1)} MiB, ` +
          `estimated ${(r.estimated / MiB).toFixed(1)} MiB (${((100 * r.estimated) / r.measured - 100).toFixed(0)}%), ` +
          `${r.heapGrowth === null ? "" : `wasm heap grew ${(r.heapGrowth / MiB).toFixed(0)} MiB, `}${r.seconds.toFixed(1)} s`,
      );
  }
  if (flags.fit) {
    // Unknowns: a, b, c (per token and layer), d (per token), e (per parameter); bytes = 4 x floats.
    const plain = rows.filter((r) => !r.miniBatch);
    const X = plain.map((r) => {
      const tokens = 2 * r.batch * r.seq;
      const params = r.layers * (4 * r.hidden * r.hidden + 2 * r.hidden * r.intermediate) + 30522 * r.hidden;
      return [
        tokens * r.layers * r.hidden,
        tokens * r.layers * r.intermediate,
        tokens * r.layers * r.heads * r.seq,
        tokens * r.hidden,
        params,
      ];
    });
    const beta = leastSquares(
      X,
      plain.map((r) => r.measured / 4),
    );
    console.log(
      `fit (floats): ${["a*H", "b*I", "c*heads*S", "d*H (per token)", "e*params"].map((n, i) => `${n}: ${beta[i].toFixed(3)}`).join(", ")}`,
    );
  }
  const native = nativeMatMulInfo();
  if (flags.json)
    console.log(
      JSON.stringify({
        backend: backend.name,
        native_matmul: native.active,
        rows: rows.map((r) => ({ ...r, measured_mb: r.measured / MiB, estimated_mb: r.estimated / MiB })),
      }),
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
