/**
 * npm run bench -- encode [--json] [--sentences N] [--batch-size B] [--threads T] [--no-torch] [--no-native]
 *                         [--no-onnx] [--no-q8] [--no-fused] [--no-tfjs] [--no-2t] [--memory-texts N]
 *
 * Encoding speed of a MiniLM-L6-sized BERT (6 layers, hidden 384, 12 heads, intermediate 1536,
 * vocab 30522; random weights) on N sentences (default 2,000) of 20-60 tokens: token ids drawn
 * from a seed, sorted by length and batched as sentence-transformers' encode does, forward + mean
 * pooling + L2 normalisation + reading the vectors back to JS. The same batches then go through the
 * same model in PyTorch (bench/torch_encode.py with Debian's /usr/bin/python3) when torch is
 * installed. --json prints one JSON object on the last line:
 *   { backend, sentences, seconds, sentences_per_s, torch_sentences_per_s, slowdown_vs_torch, ... }
 * slowdown_vs_torch = our tfjs time / PyTorch's time; null when PyTorch is not installed.
 * The same batches also run through ONNX Runtime (onnxruntime-node) on the graph our exporter writes for this
 * model (src/model/onnx/graph.ts, mean pooling + Normalize in the graph): onnx_seconds, onnx_slowdown_vs_torch
 * = ONNX Runtime time / PyTorch's time (below 1: faster than PyTorch), onnx_speedup_vs_torch = its inverse.
 * The int8 graph of the same model (src/model/onnx/quantize.ts, what exportOnnx(folder, { quantize: "int8" }) writes
 * as onnx/model_quantized.onnx and transformers.js loads with dtype "q8") runs too: onnx_q8_seconds,
 * onnx_q8_slowdown_vs_torch, onnx_q8_vs_onnx_fp32 (int8 time / fp32 time), and onnx_q8_cosine_mean / _min, the
 * cosine of each sentence's int8 embedding to its fp32 one (random weights: trained weights agree less; the cost
 * notebook measures the course's fine-tuned model). --no-q8 skips it; --no-tfjs skips tfjs (quicker on a busy machine).
 * The fused graph (src/model/onnx/fused.ts: ONNX Runtime's Attention, SkipLayerNormalization, BiasGelu,
 * EmbedLayerNormalization kernels; what exportOnnx({ fused: true }) writes) and its int8 form (QAttention) run too:
 * onnx_fused_seconds, onnx_fused_slowdown_vs_torch, onnx_fused_vs_onnx_fp32 (fused time / plain time),
 * onnx_fused_q8_slowdown_vs_torch, onnx_fused_q8_vs_onnx_q8, onnx_fused_vs_onnx_max_abs_diff and
 * onnx_fused_q8_cosine_mean / _min (to the plain fp32 vectors); --no-fused skips them.
 * cpu: the CPU's model and ISA flags (avx2, avx512f, avx512_vnni, ...; bench/lib/machine.ts), load_before /
 * load_after: os.loadavg() before the first and after the last timed run, so that a figure can be
 * told to come from a quiet machine (load < 0.5) or not.
 * Then everything again with 2 threads each (fields ending in _2t; --no-2t skips that).
 * Order, so that a shared machine slows all alike: PyTorch, ONNX Runtime fp32, int8, tfjs, int8, fp32, PyTorch (per
 * thread count); PyTorch's and ONNX Runtime's figures are the means of their two runs.
 * --memory-texts N (e.g. 100000) instead encodes N synthetic texts with SentenceTransformer.encode on ONNX Runtime
 * (the embedded offline-bert, BERT-Tiny sized, so that it takes seconds) and reports the resident memory over the
 * run: bounded by one batch plus the output matrix, whatever N.
 * Matrix products run on BLAS when build/native-matmul.node is built (src/native/kernels.ts);
 * --no-native measures tfjs's own kernels. --threads T sets both BLAS's and PyTorch's thread count
 * (default 1; both reported in the output).
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend, tf } from "../src/backend";
import { numberArg } from "./lib/cli";
import { mulberry32 } from "../src/random";
import { parseTransformerConfig } from "../src/model/config";
import { TransformerEncoder } from "../src/model/encoder";
import {
  disableNativeMatMul,
  enableNativeMatMul,
  nativeMatMulInfo,
  setNativeMatMulThreads,
} from "../src/native/kernels";
import { initBertWeights } from "../src/model/embedded";
import { l2Normalize, pool, poolingConfig } from "../src/model/pooling";
import { buildOnnxModel } from "../src/model/onnx/graph";
import { buildFusedOnnxModel } from "../src/model/onnx/fused";
import { cpuInfo, loadAverages } from "./lib/machine";
import { quantizeOnnxModel, rowCosines } from "../src/model/onnx/quantize";
import { OnnxEncoder, onnxRuntimeInfo } from "../src/model/onnx/session";
import { offlineModel } from "../src/model/sentence-transformer";
import type { TokenizedBatch, TransformerConfig } from "../src/model/types";

const args = process.argv.slice(2);
const json = args.includes("--json");
const sentences = numberArg(args, "--sentences", 2000);
const batchSize = numberArg(args, "--batch-size", 32);
// One thread each by default: PyTorch's own default on the project machine, and the comparison that
// stays stable when the machine is shared (OpenMP/OpenBLAS threads collapse under contention).
const threads = numberArg(args, "--threads", 1);
const withTorch = !args.includes("--no-torch");
const withOnnx = !args.includes("--no-onnx");
const with2t = !args.includes("--no-2t") && threads !== 2;
const withQ8 = withOnnx && !args.includes("--no-q8");
const withTfjs = !args.includes("--no-tfjs");
const withFused = withOnnx && !args.includes("--no-fused");

const raw = {
  model_type: "bert",
  vocab_size: 30522,
  hidden_size: 384,
  num_hidden_layers: 6,
  num_attention_heads: 12,
  intermediate_size: 1536,
  hidden_act: "gelu",
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};
const config: TransformerConfig = parseTransformerConfig(raw, "bench model");

/** Seeded token-id rows: [CLS] + 18..58 random word ids + [SEP], i.e. 20-60 tokens. */
function makeRows(n: number, seed: number): number[][] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const len = 20 + Math.floor(rand() * 41);
    const row = [101];
    for (let i = 0; i < len - 2; i++) row.push(1996 + Math.floor(rand() * (30522 - 1996)));
    row.push(102);
    return row;
  });
}

function toBatch(rows: number[][]): TokenizedBatch {
  const S = Math.max(...rows.map((r) => r.length));
  const B = rows.length;
  const inputIds = new Int32Array(B * S);
  const attentionMask = new Int32Array(B * S);
  rows.forEach((r, b) => {
    inputIds.set(r, b * S);
    attentionMask.fill(1, b * S, b * S + r.length);
  });
  return { inputIds, attentionMask, tokenTypeIds: new Int32Array(B * S), batchSize: B, seqLen: S, truncated: 0 };
}

function torchBench(
  batches: number[][][],
  torchThreads: number | undefined,
): { seconds: number; version: string; threads: number } | null {
  const dir = mkdtempSync(join(tmpdir(), "bench-encode-"));
  try {
    const spec = join(dir, "spec.json");
    writeFileSync(spec, JSON.stringify({ config: raw, batches }));
    const res = spawnSync("/usr/bin/python3", [join(__dirname, "torch_encode.py"), spec, String(torchThreads ?? 0)], {
      encoding: "utf8",
    });
    if (res.status !== 0) {
      const why = (res.stderr || String(res.error ?? "")).trim().split("\n").pop();
      console.log(`PyTorch: not measured (${why}); install with apt-get install -y python3-torch`);
      return null;
    }
    const out = JSON.parse(res.stdout.trim().split("\n").pop()!) as {
      sentences: number;
      seconds: number;
      torch_version: string;
      threads: number;
    };
    return { seconds: out.seconds, version: out.torch_version, threads: out.threads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Timing {
  seconds: number;
  runs: number[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

async function main(): Promise<void> {
  if (args.includes("--memory-texts")) return memoryRun(numberArg(args, "--memory-texts", 100_000));
  const backend = await initBackend();
  const rows = makeRows(sentences, 1);
  // sentence-transformers sorts by length (longest first) so that each batch pads little.
  const sorted = rows.slice().sort((a, b) => b.length - a.length);
  const batches: number[][][] = [];
  for (let i = 0; i < sorted.length; i += batchSize) batches.push(sorted.slice(i, i + batchSize));
  const tokens = rows.reduce((n, r) => n + r.length, 0);

  const encoder = new TransformerEncoder(config, initBertWeights(config, 0)); // initBackend enabled the BLAS matMul
  if (args.includes("--no-native")) disableNativeMatMul();
  else enableNativeMatMul({ threads });
  const native = nativeMatMulInfo();
  const pooling = poolingConfig(config.hiddenSize, "mean");
  const ort = onnxRuntimeInfo();
  const onnxBytes =
    withOnnx && ort.available
      ? buildOnnxModel({
          config,
          weights: encoder.toWeightMap(),
          pooling,
          normalize: true,
          name: "bench MiniLM-L6-sized BERT",
        })
      : undefined;
  if (withOnnx && !ort.available) console.log(`ONNX Runtime: not measured (${ort.reason})`);
  const q8Bytes = onnxBytes && withQ8 ? quantizeOnnxModel(onnxBytes).bytes : undefined;
  // The fused graph (src/model/onnx/fused.ts) and its int8 form (plain embeddings, as exportOnnx writes it).
  const fusedInput = { config, weights: encoder.toWeightMap(), pooling, normalize: true };
  const fusedBytes = onnxBytes && withFused ? buildFusedOnnxModel(fusedInput) : undefined;
  const fusedQ8Bytes =
    fusedBytes && withQ8
      ? quantizeOnnxModel(buildFusedOnnxModel(fusedInput, { embedLayerNormalization: false })).bytes
      : undefined;

  const encodeBatch = (batchRows: number[][]): Float32Array => {
    const batch = toBatch(batchRows);
    const out = tf.tidy(() => {
      const tokenEmbeddings = encoder.forward(batch);
      const mask = tf.tensor2d(batch.attentionMask, [batch.batchSize, batch.seqLen], "int32");
      return l2Normalize(pool(tokenEmbeddings, mask, pooling));
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  };
  let peakTensors = 0;
  let peakBytes = 0;
  let done = 0;
  const tfjsRun = (): number => {
    encodeBatch(batches[batches.length - 1]); // warm-up (kernel set-up), not timed
    const start = performance.now();
    done = 0;
    for (const b of batches) {
      done += encodeBatch(b).length / config.hiddenSize;
      peakTensors = Math.max(peakTensors, tf.memory().numTensors);
      peakBytes = Math.max(peakBytes, tf.memory().numBytes);
    }
    return (performance.now() - start) / 1000;
  };
  let onnxCheck: number | undefined;
  // The first run's vectors of each graph, for the int8-vs-fp32 cosines.
  const vectors = new Map<Uint8Array, Float32Array[]>();
  const onnxRun = async (n: number, bytes = onnxBytes as Uint8Array): Promise<number> => {
    const session = await OnnxEncoder.create(bytes, config.hiddenSize, { threads: n });
    try {
      const warm = toBatch(batches[batches.length - 1]);
      const got = await session.sentenceEmbeddings(warm); // warm-up, not timed; also checked against tfjs once
      if (onnxCheck === undefined && bytes === onnxBytes) {
        const want = encodeBatch(batches[batches.length - 1]);
        onnxCheck = want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
      }
      const keep = !vectors.has(bytes);
      const outs: Float32Array[] = [];
      const start = performance.now();
      for (const b of batches) {
        const rows = await session.sentenceEmbeddings(toBatch(b));
        if (keep) outs.push(rows);
      }
      const seconds = (performance.now() - start) / 1000;
      if (keep) vectors.set(bytes, outs);
      return seconds;
    } finally {
      await session.release();
    }
  };

  /** PyTorch, ONNX Runtime fp32, int8, fused, fused int8, tfjs, and back in reverse order at `n` threads. */
  const round4 = async (n: number) => {
    const torchRuns: { seconds: number; version: string; threads: number }[] = [];
    const onnxRuns: number[] = [];
    const q8Runs: number[] = [];
    const fusedRuns: number[] = [];
    const fusedQ8Runs: number[] = [];
    const torchOnce = () => {
      const t = withTorch ? torchBench(batches, n) : null;
      if (t) torchRuns.push(t);
    };
    torchOnce();
    if (onnxBytes) onnxRuns.push(await onnxRun(n));
    if (q8Bytes) q8Runs.push(await onnxRun(n, q8Bytes));
    if (fusedBytes) fusedRuns.push(await onnxRun(n, fusedBytes));
    if (fusedQ8Bytes) fusedQ8Runs.push(await onnxRun(n, fusedQ8Bytes));
    if (native.active) setNativeMatMulThreads(n);
    const tfjsSeconds = withTfjs ? tfjsRun() : Number.NaN;
    if (fusedQ8Bytes) fusedQ8Runs.push(await onnxRun(n, fusedQ8Bytes));
    if (fusedBytes) fusedRuns.push(await onnxRun(n, fusedBytes));
    if (q8Bytes) q8Runs.push(await onnxRun(n, q8Bytes));
    if (onnxBytes) onnxRuns.push(await onnxRun(n));
    if (torchRuns.length > 0) torchOnce();
    const torch: (Timing & { version: string; threads: number }) | null =
      torchRuns.length === 2
        ? {
            seconds: mean(torchRuns.map((t) => t.seconds)),
            runs: torchRuns.map((t) => t.seconds),
            version: torchRuns[0].version,
            threads: torchRuns[0].threads,
          }
        : null;
    const onnx: Timing | null = onnxRuns.length === 2 ? { seconds: mean(onnxRuns), runs: onnxRuns } : null;
    const timing = (runs: number[]): Timing | null => (runs.length === 2 ? { seconds: mean(runs), runs } : null);
    const q8 = timing(q8Runs);
    return { tfjsSeconds, torch, onnx, q8, fused: timing(fusedRuns), fusedQ8: timing(fusedQ8Runs) };
  };

  const loadBefore = loadAverages();
  const main1 = await round4(threads);
  const second = with2t ? await round4(2) : undefined;
  encoder.dispose();
  if (!withTfjs) done = sentences;
  // Agreement of the int8 vectors with the fp32 ones, sentence by sentence.
  let q8Cosines: number[] = [];
  const fp32Vectors = onnxBytes ? vectors.get(onnxBytes) : undefined;
  const q8Vectors = q8Bytes ? vectors.get(q8Bytes) : undefined;
  if (fp32Vectors && q8Vectors)
    q8Cosines = fp32Vectors.flatMap((rows, i) => rowCosines(rows, q8Vectors[i], config.hiddenSize));

  const loadAfter = loadAverages();
  // The fused graph's vectors against the plain graph's (fp32), and its int8 form's cosines to them.
  const fusedVectors = fusedBytes ? vectors.get(fusedBytes) : undefined;
  const fusedQ8Vectors = fusedQ8Bytes ? vectors.get(fusedQ8Bytes) : undefined;
  const fusedDiff =
    fp32Vectors && fusedVectors
      ? Math.max(
          ...fp32Vectors.map((rows, i) => rows.reduce((m, v, j) => Math.max(m, Math.abs(v - fusedVectors[i][j])), 0)),
        )
      : null;
  const fusedQ8Cosines =
    fp32Vectors && fusedQ8Vectors
      ? fp32Vectors.flatMap((rows, i) => rowCosines(rows, fusedQ8Vectors[i], config.hiddenSize))
      : [];
  const { tfjsSeconds: seconds, torch, onnx } = main1;
  const figures = (r: Awaited<ReturnType<typeof round4>>, suffix: string) => ({
    [`seconds${suffix}`]: round(r.tfjsSeconds),
    [`onnx_seconds${suffix}`]: r.onnx ? round(r.onnx.seconds) : null,
    [`torch_seconds${suffix}`]: r.torch ? round(r.torch.seconds) : null,
    [`slowdown_vs_torch${suffix}`]: r.torch ? round(r.tfjsSeconds / r.torch.seconds, 2) : null,
    [`onnx_slowdown_vs_torch${suffix}`]: r.torch && r.onnx ? round(r.onnx.seconds / r.torch.seconds, 2) : null,
    [`onnx_speedup_vs_torch${suffix}`]: r.torch && r.onnx ? round(r.torch.seconds / r.onnx.seconds, 2) : null,
    [`onnx_seconds_each_run${suffix}`]: r.onnx ? r.onnx.runs.map((x) => round(x)) : null,
    [`onnx_q8_seconds${suffix}`]: r.q8 ? round(r.q8.seconds) : null,
    [`onnx_q8_slowdown_vs_torch${suffix}`]: r.torch && r.q8 ? round(r.q8.seconds / r.torch.seconds, 2) : null,
    [`onnx_q8_vs_onnx_fp32${suffix}`]: r.onnx && r.q8 ? round(r.q8.seconds / r.onnx.seconds, 2) : null,
    [`onnx_q8_seconds_each_run${suffix}`]: r.q8 ? r.q8.runs.map((x) => round(x)) : null,
    [`torch_seconds_each_run${suffix}`]: r.torch ? r.torch.runs.map((x) => round(x)) : null,
    ...fusedFigures(r, suffix),
  });
  const fusedFigures = (r: Awaited<ReturnType<typeof round4>>, suffix: string) => ({
    [`onnx_fused_seconds${suffix}`]: r.fused ? round(r.fused.seconds) : null,
    [`onnx_fused_seconds_each_run${suffix}`]: r.fused ? r.fused.runs.map((x) => round(x)) : null,
    [`onnx_fused_slowdown_vs_torch${suffix}`]: r.torch && r.fused ? round(r.fused.seconds / r.torch.seconds, 2) : null,
    [`onnx_fused_vs_onnx_fp32${suffix}`]: r.onnx && r.fused ? round(r.fused.seconds / r.onnx.seconds, 2) : null,
    [`onnx_fused_q8_seconds${suffix}`]: r.fusedQ8 ? round(r.fusedQ8.seconds) : null,
    [`onnx_fused_q8_seconds_each_run${suffix}`]: r.fusedQ8 ? r.fusedQ8.runs.map((x) => round(x)) : null,
    [`onnx_fused_q8_slowdown_vs_torch${suffix}`]:
      r.torch && r.fusedQ8 ? round(r.fusedQ8.seconds / r.torch.seconds, 2) : null,
    [`onnx_fused_q8_vs_onnx_q8${suffix}`]: r.q8 && r.fusedQ8 ? round(r.fusedQ8.seconds / r.q8.seconds, 2) : null,
  });
  const result = {
    backend: backend.name,
    backend_notes: backend.notes,
    native_matmul: native.active,
    native_matmul_note: native.reason,
    blas_threads: native.threads ?? null,
    model: "MiniLM-L6-sized BERT (6 layers, hidden 384, 12 heads, intermediate 1536), random weights",
    cpus: availableParallelism(),
    sentences: done,
    tokens,
    batch_size: batchSize,
    threads,
    seconds: round(seconds),
    sentences_per_s: round(done / seconds, 2),
    tensors_alive_max: peakTensors,
    tensor_mb_alive_max: round(peakBytes / 2 ** 20, 1),
    rss_mb_end: round(process.memoryUsage().rss / 2 ** 20, 0),
    torch_version: torch?.version ?? null,
    torch_threads: torch?.threads ?? null,
    torch_seconds: torch ? round(torch.seconds) : null,
    torch_sentences_per_s: torch ? round(done / torch.seconds, 2) : null,
    torch_seconds_each_run: torch ? torch.runs.map((x) => round(x)) : null,
    slowdown_vs_torch: torch ? round(seconds / torch.seconds, 2) : null,
    onnxruntime: ort.available ? ort.version : null,
    onnx_threads: onnx ? threads : null,
    onnx_seconds: onnx ? round(onnx.seconds) : null,
    onnx_sentences_per_s: onnx ? round(done / onnx.seconds, 2) : null,
    onnx_seconds_each_run: onnx ? onnx.runs.map((x) => round(x)) : null,
    onnx_slowdown_vs_torch: torch && onnx ? round(onnx.seconds / torch.seconds, 2) : null,
    onnx_speedup_vs_torch: torch && onnx ? round(torch.seconds / onnx.seconds, 2) : null,
    onnx_vs_tfjs_max_abs_diff: onnxCheck ?? null,
    onnx_q8_seconds: main1.q8 ? round(main1.q8.seconds) : null,
    onnx_q8_sentences_per_s: main1.q8 ? round(done / main1.q8.seconds, 2) : null,
    onnx_q8_seconds_each_run: main1.q8 ? main1.q8.runs.map((x) => round(x)) : null,
    onnx_q8_slowdown_vs_torch: torch && main1.q8 ? round(main1.q8.seconds / torch.seconds, 2) : null,
    onnx_q8_speedup_vs_torch: torch && main1.q8 ? round(torch.seconds / main1.q8.seconds, 2) : null,
    onnx_q8_vs_onnx_fp32: onnx && main1.q8 ? round(main1.q8.seconds / onnx.seconds, 2) : null,
    onnx_q8_cosine_mean: q8Cosines.length ? round(mean(q8Cosines), 6) : null,
    onnx_q8_cosine_min: q8Cosines.length ? round(Math.min(...q8Cosines), 6) : null,
    onnx_fp32_file_mb: onnxBytes ? round(onnxBytes.length / 2 ** 20, 1) : null,
    onnx_q8_file_mb: q8Bytes ? round(q8Bytes.length / 2 ** 20, 1) : null,
    ...fusedFigures(main1, ""),
    onnx_fused_vs_onnx_max_abs_diff: fusedDiff,
    onnx_fused_q8_cosine_mean: fusedQ8Cosines.length ? round(mean(fusedQ8Cosines), 6) : null,
    onnx_fused_q8_cosine_min: fusedQ8Cosines.length ? round(Math.min(...fusedQ8Cosines), 6) : null,
    cpu: cpuInfo(),
    load_before: loadBefore,
    load_after: loadAfter,
    ...(second ? figures(second, "_2t") : {}),
  };
  console.log(`backend: ${result.backend} (${backend.notes.join("; ")})`);
  console.log(`matrix products: ${native.reason}${native.active ? `, ${native.threads} BLAS thread(s)` : ""}`);
  const line = (label: string, r: Awaited<ReturnType<typeof round4>>, n: number) => {
    console.log(
      `${label}, ${n} thread(s): tfjs ${withTfjs ? `${round(r.tfjsSeconds)} s` : "not run"}` +
        (r.onnx ? `, ONNX Runtime ${round(r.onnx.seconds)} s` : "") +
        (r.q8 ? `, ONNX Runtime int8 ${round(r.q8.seconds)} s` : "") +
        (r.fused ? `, fused ${round(r.fused.seconds)} s` : "") +
        (r.fusedQ8 ? `, fused int8 ${round(r.fusedQ8.seconds)} s` : "") +
        (r.torch
          ? `, PyTorch ${r.torch.version} ${round(r.torch.seconds)} s; tfjs ${round(r.tfjsSeconds / r.torch.seconds, 2)}x PyTorch's time` +
            (r.onnx
              ? `, ONNX Runtime ${round(r.onnx.seconds / r.torch.seconds, 2)}x (${round(r.torch.seconds / r.onnx.seconds, 2)}x faster)`
              : "") +
            (r.q8 ? `, int8 ${round(r.q8.seconds / r.torch.seconds, 2)}x` : "") +
            (r.fused ? `, fused ${round(r.fused.seconds / r.torch.seconds, 2)}x` : "") +
            (r.fusedQ8 ? `, fused int8 ${round(r.fusedQ8.seconds / r.torch.seconds, 2)}x` : "")
          : ""),
    );
  };
  console.log(
    `CPU: ${result.cpu.model} (${result.cpu.flags.join(" ") || "no ISA flags read"}); load before ${loadBefore.join(" ")}, after ${loadAfter.join(" ")}`,
  );
  console.log(`${done} sentences (${tokens} tokens, batch ${batchSize})`);
  line("encode", main1, threads);
  if (second) line("encode", second, 2);
  if (q8Cosines.length)
    console.log(
      `int8 vs fp32 cosine over ${q8Cosines.length} sentences: mean ${result.onnx_q8_cosine_mean}, min ${result.onnx_q8_cosine_min}`,
    );
  if (json) console.log(JSON.stringify(result));
}

/** Synthetic texts of 5-40 words from a seed (the offline-bert vocabulary covers them). */
function makeTexts(n: number, seed: number): string[] {
  const words = [
    "policy",
    "leave",
    "expense",
    "report",
    "travel",
    "days",
    "approval",
    "remote",
    "work",
    "contractor",
    "safety",
    "lab",
    "glasses",
    "invoice",
    "receipt",
    "manager",
    "benefits",
    "salary",
    "holiday",
    "training",
    "security",
    "laptop",
    "office",
    "team",
  ];
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 5 + Math.floor(rand() * 36) }, () => words[Math.floor(rand() * words.length)]).join(" "),
  );
}

/** Resident memory while SentenceTransformer.encode embeds `n` texts on ONNX Runtime. */
async function memoryRun(n: number): Promise<void> {
  await initBackend();
  const model = offlineModel("offline-bert");
  const texts = makeTexts(n, 3);
  const mb = (x: number) => round(x / 2 ** 20, 1);
  await model.encode(texts.slice(0, 64), { batchSize, threads }); // session built, warm
  global.gc?.();
  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  const samples: { done: number; rss_mb: number }[] = [];
  const start = performance.now();
  const out = await model.encode(texts, {
    batchSize,
    threads,
    onProgress: (done, total) => {
      const rss = process.memoryUsage().rss;
      rssPeak = Math.max(rssPeak, rss);
      if (done === total || done % Math.max(batchSize, Math.floor(total / 10 / batchSize) * batchSize) === 0)
        samples.push({ done, rss_mb: mb(rss) });
    },
  });
  const seconds = (performance.now() - start) / 1000;
  const result = {
    model: model.name,
    runtime: model.lastEncodeStats?.runtime,
    texts: n,
    dim: out.dim,
    batch_size: batchSize,
    threads,
    seconds: round(seconds),
    texts_per_s: round(n / seconds, 1),
    output_mb: mb(out.data.byteLength),
    rss_mb_start: mb(rssStart),
    rss_mb_peak: mb(rssPeak),
    rss_mb_growth: mb(rssPeak - rssStart),
    rss_samples: samples,
  };
  console.log(
    `${n} texts on ${result.runtime} in ${result.seconds} s; output matrix ${result.output_mb} MB; ` +
      `resident memory ${result.rss_mb_start} MB before, ${result.rss_mb_peak} MB peak (+${result.rss_mb_growth} MB)`,
  );
  model.dispose();
  if (json) console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
