// The fused graph (src/model/onnx/fused.ts: com.microsoft EmbedLayerNormalization, Attention, SkipLayerNormalization,
// BiasGelu / FastGelu) gives the plain graph's embeddings within 1e-5 on random BERT and RoBERTa weights (every
// activation, padded rows, an all-zero mask row, RoBERTa's position ids); its int8 form (QAttention) passes the
// quantization check; encode uses it and falls back to the plain graph, with one warning, when ONNX Runtime refuses it.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { initBackend } from "../src/backend";
import { parseTransformerConfig } from "../src/model/config";
import { exportOnnx } from "../src/model/onnx/export";
import {
  FUSED_KEY,
  ONNX_FUSED_FILE,
  ONNX_FUSED_QUANTIZED_FILE,
  buildFusedOnnxModel,
  isFusedGraph,
} from "../src/model/onnx/fused";
import { buildOnnxModel } from "../src/model/onnx/graph";
import { quantizeOnnxModel, quantizeVerified, rowCosines } from "../src/model/onnx/quantize";
import { OnnxEncoder } from "../src/model/onnx/session";
import { poolingConfig } from "../src/model/pooling";
import { loadModel } from "../src/model/sentence-transformer";
import { offlineBertTokenizer } from "../src/model/tokenizer";
import type { TokenizedBatch } from "../src/model/types";
import { TINY_CONFIG, edgeBatch, randomWeights, writeTinyBert } from "./fixtures/model-io/tiny-bert";

before(async () => {
  await initBackend();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function run(bytes: Uint8Array, dim: number, b: TokenizedBatch): Promise<[Float32Array, Float32Array]> {
  const s = await OnnxEncoder.create(bytes, dim, { threads: 1 });
  try {
    return [await s.sentenceEmbeddings(b), await s.lastHiddenState(b)];
  } finally {
    await s.release();
  }
}

const opTypes = (bytes: Uint8Array) => new Set((onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => n.opType));

for (const arch of ["bert", "roberta"] as const) {
  test(`${arch}: the fused graph equals the plain graph within 1e-5 (gelu, gelu_new, relu; mean+cls, Normalize)`, async () => {
    const pad = arch === "roberta" ? 1 : 0;
    for (const act of ["gelu", "gelu_new", "relu"] as const) {
      const raw = {
        ...TINY_CONFIG,
        model_type: arch,
        hidden_act: act,
        pad_token_id: pad,
        type_vocab_size: arch === "roberta" ? 1 : 2,
        layer_norm_eps: arch === "roberta" ? 1e-5 : 1e-12,
      };
      const config = parseTransformerConfig(raw);
      const weights = randomWeights(act.length + 11, raw);
      const pooling = { ...poolingConfig(32, "mean"), pooling_mode_cls_token: true };
      const input = { config, weights, pooling, normalize: true };
      const plain = buildOnnxModel(input);
      const b = edgeBatch(pad);
      if (arch === "roberta") b.tokenTypeIds.fill(0);
      const [wantSentence, wantTokens] = await run(plain, 64, b);
      for (const embedLayerNormalization of [true, false]) {
        const fused = buildFusedOnnxModel(input, { embedLayerNormalization });
        const ops = opTypes(fused);
        for (const op of ["Attention", "SkipLayerNormalization"]) assert.ok(ops.has(op), `${op} in the fused graph`);
        assert.equal(ops.has("EmbedLayerNormalization"), embedLayerNormalization);
        assert.equal(ops.has("BiasGelu"), act === "gelu");
        assert.equal(ops.has("FastGelu"), act === "gelu_new");
        assert.ok(!ops.has("Softmax") && !ops.has("Transpose"), "no plain attention left");
        assert.ok(isFusedGraph(fused) && !isFusedGraph(plain));
        const [sentence, tokens] = await run(fused, 64, b);
        const what = `${act}, embedLayerNormalization ${embedLayerNormalization}`;
        // Rows whose mask is all zero: token states of padded positions are compared too.
        assert.ok(maxAbsDiff(sentence, wantSentence) < 1e-5, `${what}: sentence ${maxAbsDiff(sentence, wantSentence)}`);
        assert.ok(maxAbsDiff(tokens, wantTokens) < 1e-5, `${what}: tokens ${maxAbsDiff(tokens, wantTokens)}`);
      }
    }
  });
}

test("the fused graph records its ops and keeps the plain graph's checksum and spec entries", () => {
  const config = parseTransformerConfig(TINY_CONFIG);
  const input = { config, weights: randomWeights(7), pooling: poolingConfig(32, "mean"), normalize: true };
  const props = (bytes: Uint8Array) =>
    new Map((onnx.ModelProto.decode(bytes).metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  const fused = props(buildFusedOnnxModel(input));
  const plain = props(buildOnnxModel(input));
  for (const [k, v] of plain) assert.equal(fused.get(k), v, k);
  assert.deepEqual(JSON.parse(fused.get(FUSED_KEY) as string).ops, [
    "EmbedLayerNormalization",
    "Attention",
    "SkipLayerNormalization",
    "BiasGelu",
  ]);
});

test("int8 fused: Attention becomes QAttention, the check passes, and it agrees with the plain int8 graph", async () => {
  const config = parseTransformerConfig(TINY_CONFIG);
  const input = { config, weights: randomWeights(7), pooling: poolingConfig(32, "mean"), normalize: true };
  const tok = offlineBertTokenizer(16);
  const fused = buildFusedOnnxModel(input, { embedLayerNormalization: false });
  const q = await quantizeVerified(fused, (t) => tok.encodeBatch(t), 32, "tiny fused");
  assert.ok(q.check.cosineMean >= 0.999 && q.check.cosineMin >= 0.995, JSON.stringify(q.check));
  assert.equal(q.matmuls, 2 * 4, "per layer: QAttention, the output, intermediate and down projections");
  const ops = opTypes(q.bytes);
  assert.ok(ops.has("QAttention") && !ops.has("Attention"));
  assert.ok(q.weightBytesAfter < 0.3 * q.weightBytesBefore, `${q.weightBytesAfter} of ${q.weightBytesBefore}`);
  const plainQ = quantizeOnnxModel(buildOnnxModel(input)).bytes;
  const b = tok.encodeBatch(["How many PTO days do I get after five years?", "wfh", "Café, naïve résumé"]);
  const [a] = await run(q.bytes, 32, b);
  const [p] = await run(plainQ, 32, b);
  const cos = rowCosines(a, p, 32);
  assert.ok(Math.min(...cos) > 0.995, `fused int8 vs plain int8 cosines ${cos}`);
});

test("a fused file ONNX Runtime refuses: encode warns once and runs the plain graph", async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), "fused-refused-")), "model");
  writeTinyBert(dir, { normalize: true });
  await exportOnnx(dir, { fused: true, log: false });
  // An op no ONNX Runtime has stands in for a runtime built without the contrib ops; the metadata stays ours.
  const model = onnx.ModelProto.decode(readFileSync(join(dir, ONNX_FUSED_FILE)));
  const attention = (model.graph?.node ?? []).find((n) => n.opType === "Attention");
  assert.ok(attention);
  attention.opType = "AttentionNotInThisRuntime";
  writeFileSync(join(dir, ONNX_FUSED_FILE), onnx.ModelProto.encode(model).finish());
  const warnings: string[] = [];
  t.mock.method(console, "warn", (msg: string) => warnings.push(msg));
  const m = await loadModel(dir);
  const texts = ["How many PTO days do I get?", "", "Who approves remote work for contractors?"];
  const got = await m.encode(texts);
  assert.equal(m.lastEncodeStats?.runtime, "onnxruntime");
  assert.equal(m.lastEncodeStats?.onnxGraph, join(dir, "onnx", "model.onnx"));
  // A new session (other thread count) does not try the refused graph again.
  await m.encode(texts, { threads: 2 });
  assert.equal(warnings.filter((w) => /refused the fused graph/.test(w)).length, 1, warnings.join("\n"));
  assert.match(warnings.join("\n"), /AttentionNotInThisRuntime/);
  const tf = await m.encode(texts, { runtime: "tfjs" });
  assert.ok(maxAbsDiff(got.data, tf.data) < 1e-4);
  m.dispose();
});

test("exportOnnx({ fused: true }) writes the fused files after their checks; loadModel encodes from them", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "fused-")), "model");
  writeTinyBert(dir, { normalize: true });
  const first = await exportOnnx(dir, { fused: true, quantize: "int8", log: false });
  assert.deepEqual(
    first.fused?.map((f) => f.path),
    [join(dir, ONNX_FUSED_FILE), join(dir, ONNX_FUSED_QUANTIZED_FILE)],
  );
  assert.ok((first.fused?.[0].maxAbsDiff ?? 1) < 1e-5, JSON.stringify(first.fused));
  assert.ok((first.fused?.[1].check?.cosineMean ?? 0) >= 0.99);
  assert.ok(isFusedGraph(readFileSync(join(dir, ONNX_FUSED_FILE))));
  assert.deepEqual(
    (await exportOnnx(dir, { fused: true, quantize: "int8", log: false })).fused,
    [],
    "fresh: left alone",
  );

  const texts = ["How many PTO days do I get?", "wfh", ""];
  const fp32 = await loadModel(dir);
  const got = await fp32.encode(texts);
  assert.equal(fp32.lastEncodeStats?.onnxGraph, join(dir, ONNX_FUSED_FILE));
  const tf = await fp32.encode(texts, { runtime: "tfjs" });
  assert.ok(maxAbsDiff(got.data, tf.data) < 1e-4);
  const q8 = await loadModel(dir, { dtype: "q8" });
  const gotQ = await q8.encode(texts);
  assert.equal(q8.lastEncodeStats?.onnxGraph, join(dir, ONNX_FUSED_QUANTIZED_FILE));
  for (const c of rowCosines(gotQ.data, got.data, fp32.dim)) assert.ok(c > 0.99, `cosine ${c}`);
  // After a weight changes in memory, neither file is used: the plain graph is built (or quantized) again.
  for (const m of [fp32, q8]) {
    const v = m.trainableVariables()[3];
    v.assign(v.mul(1.01));
    await m.encode(texts);
    assert.match(m.lastEncodeStats?.onnxGraph ?? "", /^(built|int8, quantized in memory) from the current weights$/);
    m.dispose();
  }
});

test("a fused file of another fused-exporter version is not used, and exportOnnx({ fused: true }) rewrites it", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "fused-version-")), "model");
  writeTinyBert(dir, { normalize: true });
  await exportOnnx(dir, { fused: true, log: false });
  const path = join(dir, ONNX_FUSED_FILE);
  const model = onnx.ModelProto.decode(readFileSync(path));
  for (const p of model.metadataProps ?? []) if (p.key === FUSED_KEY) p.value = JSON.stringify({ version: 0, ops: [] });
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  assert.equal(isFusedGraph(readFileSync(path)), false);
  const m = await loadModel(dir);
  await m.encode(["wfh"]);
  assert.equal(m.lastEncodeStats?.onnxGraph, join(dir, "onnx", "model.onnx"));
  m.dispose();
  const again = await exportOnnx(dir, { fused: true, log: false });
  assert.deepEqual(
    again.fused?.map((f) => f.path),
    [path],
  );
  assert.ok(isFusedGraph(readFileSync(path)));
});
