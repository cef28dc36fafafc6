// transformers.js itself loads a folder saved with save(folder, { onnx: true }) and gives our embeddings within 1e-4:
// the embedded offline-bert (mean pooling, normalised) and the PyTorch fixture's RoBERTa (CLS pooling, padded rows,
// so RoBERTa's position ids from padding_idx matter), run with
//   pipeline("feature-extraction", folder, { local_files_only: true, dtype: "fp32" })(texts, { pooling, normalize })
// as a transformers.js user would. The int8 file (save(folder, { onnx: true, quantize: "int8" })) loads with
// dtype "q8" and gives our own quantized encode (loadModel(folder, { dtype: "q8" })); a folder with only vocab.txt
// gets tokenizer.json from exportOnnx, so transformers.js loads it.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../src/backend";
import { exportOnnx } from "../src/model/onnx/export";
import { writeSafetensors } from "../src/model/safetensors";
import { loadModel, offlineModel, type SentenceTransformer } from "../src/model/sentence-transformer";
import type { WeightMap } from "../src/model/types";

type FeatureExtraction = (
  texts: string[],
  options: { pooling: "mean" | "cls"; normalize: boolean },
) => Promise<{ data: Float32Array; dims: number[] }>;
interface TransformersJs {
  env: { allowRemoteModels: boolean; localModelPath: string };
  pipeline(
    task: "feature-extraction",
    model: string,
    options: Record<string, unknown>,
  ): Promise<FeatureExtraction & { dispose(): Promise<void> }>;
}

before(async () => {
  await initBackend();
});

async function transformersJsEmbeddings(
  dir: string,
  texts: string[],
  pooling: "mean" | "cls",
  normalize: boolean,
  dtype: "fp32" | "q8" = "fp32",
): Promise<{ data: Float32Array; dims: number[] }> {
  const tjs = require("@huggingface/transformers") as TransformersJs;
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = "";
  const extractor = await tjs.pipeline("feature-extraction", dir, { local_files_only: true, dtype });
  try {
    const out = await extractor(texts, { pooling, normalize });
    return { data: Float32Array.from(out.data), dims: [...out.dims] };
  } finally {
    await extractor.dispose();
  }
}

async function compare(
  model: SentenceTransformer,
  dir: string,
  texts: string[],
  pooling: "mean" | "cls",
): Promise<void> {
  await model.save(dir, { onnx: true });
  const ours = await model.encode(texts, { runtime: "tfjs" });
  const theirs = await transformersJsEmbeddings(dir, texts, pooling, model.normalize);
  assert.deepEqual(theirs.dims, [texts.length, model.dim]);
  let worst = 0;
  for (let i = 0; i < ours.data.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - theirs.data[i]));
  assert.ok(worst < 1e-4, `transformers.js differs from our tfjs encode by ${worst}`);
  const onnxRows = await model.encode(texts, { runtime: "onnxruntime" });
  for (let i = 0; i < ours.data.length; i++) worst = Math.max(worst, Math.abs(onnxRows.data[i] - theirs.data[i]));
  assert.ok(worst < 1e-4, `transformers.js differs from our ONNX Runtime encode by ${worst}`);
}

test("offline-bert saved with { onnx: true }: transformers.js mean pooling + normalize equals our encode within 1e-4", async () => {
  const m = offlineModel("offline-bert");
  const texts = [
    "How many PTO days do I get?",
    "Expense reports are due within thirty days of travel.",
    "wfh",
    "Café, naïve résumé",
  ];
  await compare(m, join(mkdtempSync(join(tmpdir(), "tjs-bert-")), "model"), texts, "mean");
  m.dispose();
});

test("the fixture RoBERTa with CLS pooling: transformers.js equals our encode within 1e-4 on padded rows", async () => {
  const fx = (
    JSON.parse(readFileSync(join(__dirname, "fixtures", "model-compute", "bert-tiny-torch.json"), "utf8")) as Record<
      string,
      {
        config: Record<string, unknown>;
        weights: Record<string, { shape: number[]; float32_base64: string }>;
      }
    >
  ).roberta;
  const src = join(mkdtempSync(join(tmpdir(), "tjs-roberta-")), "source");
  mkdirSync(join(src, "1_Pooling"), { recursive: true });
  writeFileSync(join(src, "config.json"), JSON.stringify(fx.config));
  const weights: WeightMap = new Map();
  for (const [name, w] of Object.entries(fx.weights)) {
    const bytes = Buffer.from(w.float32_base64, "base64");
    weights.set(name, {
      shape: w.shape,
      data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
    });
  }
  writeSafetensors(join(src, "model.safetensors"), weights);
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    writeFileSync(join(src, f), readFileSync(join(__dirname, "fixtures", "model-io", "roberta-tiny", f)));
  writeFileSync(join(src, "sentence_bert_config.json"), JSON.stringify({ max_seq_length: 16, do_lower_case: false }));
  writeFileSync(
    join(src, "modules.json"),
    JSON.stringify([
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
    ]),
  );
  writeFileSync(
    join(src, "1_Pooling", "config.json"),
    JSON.stringify({
      word_embedding_dimension: fx.config.hidden_size,
      pooling_mode_cls_token: true,
      pooling_mode_mean_tokens: false,
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
    }),
  );
  const m = await loadModel(src);
  await compare(m, join(src, "..", "saved"), ["hello world!", "hello", "world hello world", "hell"], "cls");
  m.dispose();
});

test('int8: transformers.js pipeline(..., { dtype: "q8" }) loads onnx/model_quantized.onnx and equals our q8 encode', async () => {
  const m = offlineModel("offline-bert");
  const dir = join(mkdtempSync(join(tmpdir(), "tjs-q8-")), "model");
  await m.save(dir, { onnx: true, quantize: "int8" });
  const texts = ["How many PTO days do I get?", "Expense reports are due within thirty days.", "wfh", "Café, naïve"];
  const q8 = await loadModel(dir, { dtype: "q8" });
  const ours = await q8.encode(texts);
  assert.equal(q8.lastEncodeStats?.dtype, "q8");
  const theirs = await transformersJsEmbeddings(dir, texts, "mean", true, "q8");
  assert.deepEqual(theirs.dims, [texts.length, m.dim]);
  let worst = 0;
  for (let i = 0; i < ours.data.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - theirs.data[i]));
  assert.ok(worst < 1e-4, `transformers.js q8 differs from our q8 encode by ${worst}`);
  // And it is the int8 file, not the fp32 one: the fp32 vectors differ by more than float rounding.
  const fp32 = await m.encode(texts);
  let gap = 0;
  for (let i = 0; i < fp32.data.length; i++) gap = Math.max(gap, Math.abs(fp32.data[i] - theirs.data[i]));
  assert.ok(gap > 1e-4 && gap < 0.05, `q8 vs fp32 gap ${gap}`);
  q8.dispose();
  m.dispose();
});

test("a folder with only vocab.txt: exportOnnx writes tokenizer.json and transformers.js loads the folder", async () => {
  const m = offlineModel("offline-bert");
  const dir = join(mkdtempSync(join(tmpdir(), "tjs-vocab-")), "model");
  await m.save(dir);
  rmSync(join(dir, "tokenizer.json"));
  rmSync(join(dir, "special_tokens_map.json"));
  assert.ok(existsSync(join(dir, "vocab.txt")));
  const result = await exportOnnx(dir, { quantize: "int8", log: false });
  assert.equal(result.tokenizerJsonWritten, true);
  assert.ok(existsSync(join(dir, "tokenizer.json")));
  const texts = ["How many PTO days do I get?", "unaffordable résumé"];
  const ours = await m.encode(texts, { runtime: "tfjs" });
  const theirs = await transformersJsEmbeddings(dir, texts, "mean", true);
  let worst = 0;
  for (let i = 0; i < ours.data.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - theirs.data[i]));
  assert.ok(worst < 1e-4, `transformers.js (tokenizer.json from vocab.txt) differs from our encode by ${worst}`);
  assert.equal((await exportOnnx(dir, { log: false })).tokenizerJsonWritten, false);
  m.dispose();
});
