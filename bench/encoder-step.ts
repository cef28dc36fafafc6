/**
 * npm run bench -- encoder-step [--json] [--pairs P] [--seq S] [--steps N] [--threads T] [--no-native] [--no-torch]
 *
 * Time of one fine-tuning step's compute on a MiniLM-L6-sized BERT (random weights): forward of P
 * anchors and P positives of S tokens, mean pooling, L2 normalisation, in-batch softmax loss with
 * scale 20 (MultipleNegativesRankingLoss), and gradients for every weight (tf.variableGrads); no
 * optimizer step. Default 16 pairs of 64 tokens, 2 timed steps after a warm-up. The same step in
 * PyTorch (bench/torch_encoder_step.py, same thread count, default 1) gives slowdown_vs_torch.
 * --json prints one JSON object on the last line.
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
import type { TokenizedBatch } from "../src/model/types";

const args = process.argv.slice(2);
const pairs = numberArg(args, "--pairs", 16);
const seq = numberArg(args, "--seq", 64);
const steps = numberArg(args, "--steps", 2);
const threads = numberArg(args, "--threads", 1);
const raw = {
  model_type: "bert",
  vocab_size: 30522,
  hidden_size: 384,
  num_hidden_layers: 6,
  num_attention_heads: 12,
  intermediate_size: 1536,
};

function rows(seed: number): number[][] {
  const rand = mulberry32(seed);
  return Array.from({ length: pairs }, () => [
    101,
    ...Array.from({ length: seq - 2 }, () => 1996 + Math.floor(rand() * 28000)),
    102,
  ]);
}

function batchOf(r: number[][]): TokenizedBatch {
  return {
    inputIds: Int32Array.from(r.flat()),
    attentionMask: new Int32Array(pairs * seq).fill(1),
    tokenTypeIds: new Int32Array(pairs * seq),
    batchSize: pairs,
    seqLen: seq,
    truncated: 0,
  };
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const config = parseTransformerConfig(raw, "bench model");
  const anchors = rows(1);
  const positives = rows(2);
  const encoder = new TransformerEncoder(config, initBertWeights(config, 0));
  if (args.includes("--no-native")) disableNativeMatMul();
  else enableNativeMatMul({ threads });
  const native = nativeMatMulInfo();
  const mask = tf.ones([pairs, seq], "int32") as tf.Tensor2D;
  const pooling = poolingConfig(config.hiddenSize, "mean");
  const embed = (b: TokenizedBatch) => l2Normalize(pool(encoder.forward(b), mask, pooling));
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const scores = tf.mul(tf.matMul(embed(batchOf(anchors)), embed(batchOf(positives)), false, true), 20);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.range(0, pairs, 1, "int32"), pairs), scores) as tf.Scalar;
      }, encoder.trainableVariables());
      value.dataSync();
      for (const g of Object.values(grads)) g.dataSync();
    });
  step(); // warm-up
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - start) / 1000 / steps;
  encoder.dispose();

  let torch: { seconds_per_step: number; torch_version: string; threads: number } | null = null;
  if (!args.includes("--no-torch")) {
    const dir = mkdtempSync(join(tmpdir(), "bench-step-"));
    try {
      const spec = join(dir, "spec.json");
      writeFileSync(
        spec,
        JSON.stringify({
          config: {
            ...raw,
            hidden_act: "gelu",
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
          },
          anchors,
          positives,
          steps,
        }),
      );
      const res = spawnSync("/usr/bin/python3", [join(__dirname, "torch_encoder_step.py"), spec, String(threads)], {
        encoding: "utf8",
      });
      if (res.status === 0) torch = JSON.parse(res.stdout.trim().split("\n").pop()!);
      else console.log(`PyTorch: not measured (${(res.stderr || String(res.error ?? "")).trim().split("\n").pop()})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const result = {
    backend: backend.name,
    native_kernels: native.active,
    blas_threads: native.threads ?? null,
    pairs,
    seq,
    seconds_per_step: Number(seconds.toFixed(3)),
    torch_seconds_per_step: torch ? Number(torch.seconds_per_step.toFixed(3)) : null,
    torch_threads: torch?.threads ?? null,
    slowdown_vs_torch: torch ? Number((seconds / torch.seconds_per_step).toFixed(2)) : null,
  };
  console.log(
    `backend ${backend.name}, ${native.reason}; ${pairs} pairs x ${seq} tokens: ${result.seconds_per_step} s/step`,
  );
  if (torch)
    console.log(
      `PyTorch ${torch.torch_version} (${torch.threads} threads): ${result.torch_seconds_per_step} s/step; slowdown ${result.slowdown_vs_torch}x`,
    );
  if (args.includes("--json")) console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
