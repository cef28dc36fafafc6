/**
 * npm run bench -- cached-mnrl-memory [--json] [--pairs N] [--seq S] [--mini-batch M] [--no-native]
 *
 * Memory check (not a speed benchmark): ONE CachedMultipleNegativesRankingLoss gradient computation (GradCache:
 * embed without a tape, loss gradient w.r.t. the embeddings, then forward + backward mini-batch by mini-batch)
 * for N (query, document) pairs (default 64) at sequence length S (default 128) with a MiniLM-L6-sized BERT
 * (6 layers, hidden 384, 12 heads, intermediate 1536, bert-base-uncased vocabulary; seeded random weights) on the
 * backend initBackend() picks (wasm here). No optimizer step: that is the trainer's (bench/train.ts).
 * The texts are seeded random words, long enough that every one is truncated to S tokens.
 *
 * Reported: the wasm heap size afterwards (WebAssembly memory only grows, so this is the peak the step needed;
 * wasm32 caps it at 4 GiB), the largest tf.memory() seen after each mini-batch, and the process's peak RSS
 * (process.resourceUsage().maxRSS). --json prints one JSON object on the last line.
 */
import { parseArgs } from "node:util";
import { initBackend, tf } from "../src/backend";
import { disableNativeMatMul, nativeMatMulInfo } from "../src/native/kernels";
import { CachedMultipleNegativesRankingLoss, type TrainingBatch } from "../src/train/losses";
import { seededWordTexts } from "../test/fixtures/shaped-model";
import { randomBert } from "../test/fixtures/train-losses/tiny-bert";

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    pairs: { type: "string", default: "64" },
    seq: { type: "string", default: "128" },
    "mini-batch": { type: "string", default: "16" },
    "no-native": { type: "boolean", default: false },
  },
});
function positive(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} expects a positive integer, got ${text}`);
  return v;
}
const json = flags.json;
const pairs = positive("pairs", flags.pairs);
const seq = positive("seq", flags.seq);
const miniBatch = positive("mini-batch", flags["mini-batch"]);

const MiB = 1024 * 1024;

/** Bytes of the wasm backend's WebAssembly memory, or undefined on another backend. */
function wasmHeapBytes(): number | undefined {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const model = randomBert({
    hiddenSize: 384,
    numHiddenLayers: 6,
    numAttentionHeads: 12,
    intermediateSize: 1536,
    maxSeqLength: seq,
    seed: 42,
    initializerRange: 0.02,
  });
  if (flags["no-native"]) disableNativeMatMul();
  const native = nativeMatMulInfo();
  const batch: TrainingBatch = {
    columns: ["anchor", "positive"],
    texts: [seededWordTexts(pairs, seq, 1), seededWordTexts(pairs, seq, 2)],
    size: pairs,
  };
  const tokenized = model.tokenize(batch.texts[0].slice(0, 1));
  const seqLen = tokenized.kind === "transformer" ? tokenized.batch.seqLen : 0;
  const heapBefore = wasmHeapBytes();
  let peakTensorBytes = tf.memory().numBytes;
  let peakTensors = tf.memory().numTensors;
  const loss = new CachedMultipleNegativesRankingLoss({
    miniBatchSize: miniBatch,
    onMiniBatch: (done, total) => {
      const m = tf.memory();
      peakTensorBytes = Math.max(peakTensorBytes, m.numBytes);
      peakTensors = Math.max(peakTensors, m.numTensors);
      if (!json)
        process.stdout.write(
          `\r  mini-batch ${done}/${total}, wasm heap ${((wasmHeapBytes() ?? 0) / MiB).toFixed(0)} MiB   `,
        );
    },
  });
  const variables = model.trainableVariables();
  const started = performance.now();
  const result = loss.lossAndGrads(model, batch, variables);
  const seconds = (performance.now() - started) / 1000;
  const gradNorm = Math.sqrt(
    [...result.grads.values()].reduce((s, g) => s + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]), 0),
  );
  const after = tf.memory();
  peakTensorBytes = Math.max(peakTensorBytes, after.numBytes);
  for (const g of result.grads.values()) g.dispose();
  const heapAfter = wasmHeapBytes();
  const usage = process.memoryUsage();
  const report = {
    backend: backend.name,
    native_matmul: native.active,
    native_matmul_note: native.reason,
    pairs,
    seq_len: seqLen,
    mini_batch_size: miniBatch,
    parameters: variables.reduce((s, v) => s + v.size, 0),
    loss: Number(result.loss.toFixed(6)),
    grad_norm: Number(gradNorm.toFixed(6)),
    seconds: Number(seconds.toFixed(2)),
    wasm_heap_mb_before: heapBefore === undefined ? null : Math.round(heapBefore / MiB),
    peak_heap_mb: heapAfter === undefined ? null : Math.round(heapAfter / MiB),
    peak_tf_tensor_mb: Math.round(peakTensorBytes / MiB),
    peak_tf_tensors: peakTensors,
    max_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / MiB),
    rss_mb_after: Math.round(usage.rss / MiB),
  };
  if (!json) process.stdout.write("\n");
  console.log(
    `CachedMultipleNegativesRankingLoss, ${pairs} pairs at seq ${seqLen}, mini-batch ${miniBatch}, MiniLM-L6-sized random BERT ` +
      `(${report.parameters.toLocaleString("en-US")} parameters), backend ${backend.name} (${native.reason}):`,
  );
  console.log(
    `  loss ${report.loss}, gradient norm ${report.grad_norm}, ${report.seconds} s for one loss+gradient computation`,
  );
  console.log(
    `  wasm heap ${report.wasm_heap_mb_before} MiB before, ${report.peak_heap_mb} MiB after (peak; wasm32 limit 4096 MiB)`,
  );
  console.log(
    `  tf.memory() peak seen between mini-batches: ${report.peak_tf_tensor_mb} MiB in ${report.peak_tf_tensors} tensors`,
  );
  console.log(`  process peak RSS ${report.max_rss_mb} MiB, RSS now ${report.rss_mb_after} MiB`);
  if (json) console.log(JSON.stringify(report));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
