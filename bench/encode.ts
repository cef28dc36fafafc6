/**
 * npm run bench -- encode [--json] [--sentences N] [--batch-size B] [--threads T] [--no-torch] [--no-native]
 *
 * Encoding speed of a MiniLM-L6-sized BERT (6 layers, hidden 384, 12 heads, intermediate 1536,
 * vocab 30522; random weights) on N sentences (default 2,000) of 20-60 tokens: token ids drawn
 * from a seed, sorted by length and batched as sentence-transformers' encode does, forward + mean
 * pooling + L2 normalisation + reading the vectors back to JS. The same batches then go through the
 * same model in PyTorch (bench/torch_encode.py with Debian's /usr/bin/python3) when torch is
 * installed. --json prints one JSON object on the last line:
 *   { backend, sentences, seconds, sentences_per_s, torch_sentences_per_s, slowdown_vs_torch, ... }
 * slowdown_vs_torch = our time / PyTorch's time; null when PyTorch is not installed.
 * Matrix products run on BLAS when build/native-matmul.node is built (src/native/kernels.ts);
 * --no-native measures tfjs's own kernels. --threads T sets both BLAS's and PyTorch's thread count
 * (default 1; both reported in the output).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend, tf } from "../src/backend";
import { numberArg } from "./lib/cli";
import { mulberry32 } from "../src/random";
import { parseTransformerConfig } from "../src/model/config";
import { TransformerEncoder } from "../src/model/encoder";
import { disableNativeMatMul, enableNativeMatMul, nativeMatMulInfo } from "../src/native/kernels";
import { initBertWeights } from "../src/model/embedded";
import { l2Normalize, pool, poolingConfig } from "../src/model/pooling";
import type { TokenizedBatch, TransformerConfig } from "../src/model/types";

const args = process.argv.slice(2);
const json = args.includes("--json");
const sentences = numberArg(args, "--sentences", 2000);
const batchSize = numberArg(args, "--batch-size", 32);
// One thread each by default: PyTorch's own default on the project machine, and the comparison that
// stays stable when the machine is shared (OpenMP/OpenBLAS threads collapse under contention).
const threads = numberArg(args, "--threads", 1);

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

function torchBench(batches: number[][][], torchThreads: number | undefined): { seconds: number; version: string; threads: number } | null {
  const dir = mkdtempSync(join(tmpdir(), "bench-encode-"));
  try {
    const spec = join(dir, "spec.json");
    writeFileSync(spec, JSON.stringify({ config: raw, batches }));
    const res = spawnSync("/usr/bin/python3", [join(__dirname, "torch_encode.py"), spec, String(torchThreads ?? 0)], { encoding: "utf8" });
    if (res.status !== 0) {
      const why = (res.stderr || String(res.error ?? "")).trim().split("\n").pop();
      console.log(`PyTorch: not measured (${why}); install with apt-get install -y python3-torch`);
      return null;
    }
    const out = JSON.parse(res.stdout.trim().split("\n").pop()!) as { sentences: number; seconds: number; torch_version: string; threads: number };
    return { seconds: out.seconds, version: out.torch_version, threads: out.threads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
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
  const torchThreads = threads;
  // The machine may be shared: PyTorch runs once before ours and once after, and its time is the mean.
  const torchBefore = args.includes("--no-torch") ? null : torchBench(batches, torchThreads);
  const pooling = poolingConfig(config.hiddenSize, "mean");
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
  encodeBatch(batches[batches.length - 1]); // warm-up (kernel set-up), not timed
  const start = performance.now();
  let done = 0;
  let peakTensors = 0;
  let peakBytes = 0;
  for (const b of batches) {
    done += encodeBatch(b).length / config.hiddenSize;
    peakTensors = Math.max(peakTensors, tf.memory().numTensors);
    peakBytes = Math.max(peakBytes, tf.memory().numBytes);
  }
  const seconds = (performance.now() - start) / 1000;
  encoder.dispose();

  const torchAfter = torchBefore ? torchBench(batches, torchThreads) : null;
  const torch =
    torchBefore && torchAfter
      ? { ...torchBefore, seconds: (torchBefore.seconds + torchAfter.seconds) / 2 }
      : null;
  const result = {
    backend: backend.name,
    backend_notes: backend.notes,
    native_matmul: native.active,
    native_matmul_note: native.reason,
    blas_threads: native.threads ?? null,
    model: "MiniLM-L6-sized BERT (6 layers, hidden 384, 12 heads, intermediate 1536), random weights",
    sentences: done,
    tokens,
    batch_size: batchSize,
    seconds: Number(seconds.toFixed(3)),
    sentences_per_s: Number((done / seconds).toFixed(2)),
    tensors_alive_max: peakTensors,
    tensor_mb_alive_max: Number((peakBytes / 2 ** 20).toFixed(1)),
    rss_mb_end: Number((process.memoryUsage().rss / 2 ** 20).toFixed(0)),
    torch_version: torch?.version ?? null,
    torch_threads: torch?.threads ?? null,
    torch_seconds: torch ? Number(torch.seconds.toFixed(3)) : null,
    torch_sentences_per_s: torch ? Number((done / torch.seconds).toFixed(2)) : null,
    torch_seconds_each_run: torch ? [torchBefore!.seconds, torchAfter!.seconds].map((x) => Number(x.toFixed(3))) : null,
    slowdown_vs_torch: torch ? Number((seconds / torch.seconds).toFixed(2)) : null,
  };
  console.log(`backend: ${result.backend} (${backend.notes.join("; ")})`);
  console.log(`matrix products: ${native.reason}${native.active ? `, ${native.threads} BLAS thread(s)` : ""}`);
  console.log(`${done} sentences (${tokens} tokens, batch ${batchSize}) in ${result.seconds} s: ${result.sentences_per_s} sentences/s`);
  if (torch) {
    console.log(`PyTorch ${torch.version} (${torch.threads} threads): ${result.torch_sentences_per_s} sentences/s; slowdown ${result.slowdown_vs_torch}x`);
  }
  if (json) console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
