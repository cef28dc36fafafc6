// int8 dynamic quantization (src/model/onnx/quantize.ts): the DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul
// chain that ONNX Runtime runs equals a plain TypeScript int8 reference of the same math (written from the ONNX
// operator definitions, sharing no code with quantize.ts) within float32 rounding; quantized embeddings of fixed
// models stay within cosine bounds of fp32; exportOnnx / save write onnx/model_quantized.onnx only after the check,
// refuse (writing nothing) when it fails, and loadModel(folder, { dtype: "q8" }) encodes with the file or says how
// to make it.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { initBackend } from "../src/backend";
import { parseTransformerConfig } from "../src/model/config";
import { exportOnnx } from "../src/model/onnx/export";
import { buildOnnxModel } from "../src/model/onnx/graph";
import {
  QUANTIZATION_KEY,
  QUANTIZE_CHECK_TEXTS,
  quantizeOnnxModel,
  quantizeSymmetric,
  quantizeVerified,
  rowCosines,
} from "../src/model/onnx/quantize";
import { loadOnnxRuntime } from "../src/model/onnx/session";
import { poolingConfig } from "../src/model/pooling";
import { writeSafetensors } from "../src/model/safetensors";
import { loadModel, offlineModel } from "../src/model/sentence-transformer";
import { offlineBertTokenizer } from "../src/model/tokenizer";
import { TINY_CONFIG, randomWeights } from "./fixtures/model-io/tiny-bert";

before(async () => {
  await initBackend();
});

/** Seeded uniform numbers in [-1, 1). */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x / 2147483648) * 2 - 1;
  };
}

/** ONNX rounding: to nearest, ties to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The reference: y = (x_q - z_x) . W_q * (s_x * s_W), with DynamicQuantizeLinear's definition
 * s_x = (max(0, max x) - min(0, min x)) / 255, z_x = clamp(round(-min / s_x), 0, 255), x_q = clamp(round(x / s_x) + z_x)
 * in float32 where ONNX Runtime computes in float32, and symmetric per-column weights.
 */
function int8Reference(
  x: Float32Array,
  M: number,
  W: Float32Array,
  K: number,
  N: number,
  qmax: number,
  perColumn: boolean,
): Float32Array {
  const f = Math.fround;
  let lo = 0;
  let hi = 0;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const sx = f(f(hi - lo) / 255);
  const zx = Math.min(255, Math.max(0, roundHalfEven(f(-lo / sx))));
  const xq = Array.from(x, (v) => Math.min(255, Math.max(0, roundHalfEven(f(v / sx)) + zx)));
  const sw: number[] = [];
  for (let n = 0; n < (perColumn ? N : 1); n++) {
    let m = 0;
    for (let k = 0; k < K; k++)
      for (let c = perColumn ? n : 0; c < (perColumn ? n + 1 : N); c++) m = Math.max(m, Math.abs(W[k * N + c]));
    sw.push(f(m / qmax));
  }
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      const s = sw[perColumn ? n : 0];
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const wq = Math.min(qmax, Math.max(-qmax, Math.round(W[k * N + n] / s)));
        acc += (xq[m * K + k] - zx) * wq;
      }
      y[m * N + n] = f(acc * f(sx * s));
    }
  return y;
}

/** A graph with one weight MatMul: y = x . W, x float [2, M/2, K]. */
function oneMatMul(W: Float32Array, K: number, N: number): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const info = (name: string, dims: (number | string)[]): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "one_matmul",
      node: [{ name: "mm", opType: "MatMul", input: ["x", "W"], output: ["y"] }],
      initializer: [{ name: "W", dims: [K, N], dataType: FLOAT, rawData: new Uint8Array(W.buffer.slice(0)) }],
      input: [info("x", [2, "s", K])],
      output: [info("y", [2, "s", N])],
    },
  }).finish();
}

test("quantizeSymmetric: one scale per column, values within +-qmax, each weight within half a step", () => {
  const w = Float32Array.from([0.5, -2, 0, -0.25, 1, 0, 0.125, 0.5, 0]); // [3, 3]; column 2 is all zero
  const { q, scale } = quantizeSymmetric(w, 3, 3, { qmax: 64, perColumn: true });
  assert.deepEqual([...scale], [0.5 / 64, 2 / 64, 1]);
  assert.deepEqual([...q], [64, -64, 0, -32, 32, 0, 16, 16, 0]);
  const one = quantizeSymmetric(w, 3, 3, { qmax: 127, perColumn: false });
  assert.deepEqual([...one.scale], [Math.fround(2 / 127)]);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(one.q[i] * one.scale[0] - w[i]) <= one.scale[0] / 2 + 1e-7);
});

for (const [reduceRange, perChannel] of [
  [true, true],
  [false, true],
  [true, false],
] as const) {
  test(`MatMulInteger on ONNX Runtime equals the TypeScript int8 reference (reduceRange ${reduceRange}, per ${perChannel ? "column" : "tensor"})`, async () => {
    const ort = loadOnnxRuntime();
    assert.ok(ort, "onnxruntime-node must load");
    const [K, N, M] = [48, 40, 14];
    const rand = seeded(11);
    const W = Float32Array.from({ length: K * N }, (_, i) => rand() * (1 + (i % N) / 4)); // columns of different range
    const x = Float32Array.from({ length: M * K }, () => rand() * 3 + 0.5);
    const q = quantizeOnnxModel(oneMatMul(W, K, N), { reduceRange, perChannel });
    assert.equal(q.matmuls, 1);
    const model = onnx.ModelProto.decode(q.bytes);
    assert.deepEqual(
      model.graph?.node?.map((n) => n.opType),
      ["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul"],
    );
    assert.ok(model.metadataProps?.some((p) => p.key === QUANTIZATION_KEY));
    const session = await ort.InferenceSession.create(q.bytes, { intraOpNumThreads: 1 });
    const out = await session.run({ x: new ort.Tensor("float32", x, [2, M / 2, K]) });
    await session.release();
    const got = out.y.data as Float32Array;
    const want = int8Reference(x, M, W, K, N, reduceRange ? 64 : 127, perChannel);
    const top = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    assert.ok(worst <= 1e-5 * top, `ONNX Runtime differs from the int8 reference by ${worst} (largest |y| ${top})`);
    // And the int8 product is close to the float one (the point of it), loosely.
    let err = 0;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let exact = 0;
        for (let k = 0; k < K; k++) exact += x[m * K + k] * W[k * N + n];
        err = Math.max(err, Math.abs(exact - got[m * N + n]));
      }
    assert.ok(err < 0.05 * top, `int8 product off the float product by ${err} (largest |y| ${top})`);
  });
}

test("fixed models: int8 sentence embeddings within the cosine bounds of fp32 (offline-bert and a tiny random BERT)", async () => {
  const bert = offlineModel("offline-bert");
  const a = await quantizeVerified(bert.toOnnx(), (t) => bert.tokenizer.encodeBatch(t), bert.dim, "offline-bert");
  assert.equal(a.check.texts, QUANTIZE_CHECK_TEXTS.length);
  assert.ok(a.check.cosineMean >= 0.9999 && a.check.cosineMin >= 0.9995, JSON.stringify(a.check));
  assert.equal(a.matmuls, 2 * 6);
  assert.ok(a.weightBytesAfter < 0.3 * a.weightBytesBefore, `${a.weightBytesAfter} of ${a.weightBytesBefore} bytes`);
  bert.dispose();
  const config = parseTransformerConfig(TINY_CONFIG);
  const fp32 = buildOnnxModel({
    config,
    weights: randomWeights(3),
    pooling: poolingConfig(32, "cls"),
    normalize: false,
  });
  const tok = offlineBertTokenizer(16);
  const b = await quantizeVerified(fp32, (t) => tok.encodeBatch(t), 32, "tiny");
  assert.ok(b.check.cosineMean >= 0.999 && b.check.cosineMin >= 0.995, JSON.stringify(b.check));
});

test("rowCosines: cosine per row; two zero rows count as equal", () => {
  const c = rowCosines(Float32Array.from([1, 0, 0, 0, 3, 4]), Float32Array.from([2, 0, 0, 0, 4, -3]), 2);
  assert.deepEqual(c, [1, 1, 0]);
});

test("exportOnnx quantize: writes model_quantized.onnx after the check, reuses a fresh one; loadModel dtype q8 encodes with it", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "q8-")), "model");
  const m = offlineModel("offline-bert");
  await m.save(dir, { onnx: true });
  const first = await exportOnnx(dir, { quantize: "int8", log: false });
  assert.equal(first.written, false); // model.onnx was fresh
  assert.equal(first.quantized?.written, true);
  assert.equal(first.quantized?.before, "missing");
  assert.ok((first.quantized?.check?.cosineMean ?? 0) >= 0.99);
  const again = await exportOnnx(dir, { quantize: "int8", log: false });
  assert.equal(again.quantized?.written, false);
  assert.equal(again.quantized?.before, "fresh");

  const texts = ["How many PTO days do I get?", "expense report deadline", "wfh"];
  const q8 = await loadModel(dir, { dtype: "q8" });
  assert.equal(q8.dtype, "q8");
  const got = await q8.encode(texts);
  assert.equal(q8.lastEncodeStats?.dtype, "q8");
  assert.equal(q8.lastEncodeStats?.onnxGraph, join(dir, "onnx", "model_quantized.onnx"));
  assert.match(q8.describe(), /ONNX Runtime \(.*int8 graph, dtype "q8"/);
  const want = await m.encode(texts);
  for (const c of rowCosines(want.data, got.data, m.dim)) assert.ok(c > 0.999, `cosine ${c}`);
  // After a weight changes in memory (training), the int8 graph is made again from the new weights.
  const v = q8.trainableVariables()[3];
  v.assign(v.mul(1.01));
  await q8.encode(texts);
  assert.equal(q8.lastEncodeStats?.onnxGraph, "int8, quantized in memory from the current weights");
  q8.dispose();
  m.dispose();
});

test("loadModel dtype q8 without the file, or with a stale one, says how to make it", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "q8-missing-")), "model");
  const m = offlineModel("offline-bert");
  await m.save(dir, { onnx: true });
  await assert.rejects(
    loadModel(dir, { dtype: "q8" }),
    /model_quantized\.onnx does not exist.*npm run cli -- export-onnx .* --quantize int8 \(in code: exportOnnx\(".*", \{ quantize: "int8" \}\)/,
  );
  await exportOnnx(dir, { quantize: "int8", log: false });
  // Other weights in the folder: the int8 file (and model.onnx) are stale.
  const weights = m.encoder?.toWeightMap();
  assert.ok(weights);
  const w = weights.get("encoder.layer.0.output.dense.bias") ?? weights.get("bert.encoder.layer.0.output.dense.bias");
  assert.ok(w);
  w.data[0] += 0.5;
  writeSafetensors(join(dir, "model.safetensors"), weights);
  await assert.rejects(loadModel(dir, { dtype: "q8" }), /other weights.*force: true/);
  await assert.rejects(loadModel(dir, { dtype: "fp16" as "q8" }), /dtype "fp16" must be "fp32" or "q8"/);
  await assert.rejects(loadModel("offline-bert", { dtype: "q8" }), /no folder with onnx\/model_quantized\.onnx/);
  m.dispose();
});

test("exportOnnx quantize refuses, writing nothing, when int8 changes the embeddings too much", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "q8-refuse-")), "model");
  const m = offlineModel("offline-bert");
  const weights = m.encoder?.toWeightMap();
  assert.ok(weights);
  // Layers that outweigh the residual stream, each with one huge weight: with one scale per matrix every other
  // weight rounds to 0.
  for (const [name, t] of weights)
    if (/(dense|query|key|value)\.weight$/.test(name)) {
      for (let i = 0; i < t.data.length; i++) t.data[i] *= 20;
      t.data[5] = 1000;
    }
  await m.save(dir);
  writeSafetensors(join(dir, "model.safetensors"), weights);
  await assert.rejects(
    exportOnnx(dir, { quantize: "int8", quantizeOptions: { perChannel: false }, log: false }),
    /int8 quantization changes the embeddings too much .*nothing was written/,
  );
  assert.equal(existsSync(join(dir, "onnx", "model_quantized.onnx")), false);
  assert.equal(existsSync(join(dir, "onnx", "model.onnx")), false);
  m.dispose();
});

test("the tfjs path says so once, with its measured cost, and encodePath names it", async () => {
  const { encodePath } = await import("../src/cost/measure");
  const before = process.env.COURSE_ONNX; // getConfig() reads it when the field is read
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: unknown) => warnings.push(String(msg));
  const m = offlineModel("offline-bert");
  try {
    process.env.COURSE_ONNX = "0";
    await m.encode(["hello world"]);
    await m.encode(["hello again"]);
    assert.equal(m.lastEncodeStats?.runtime, "tfjs");
    assert.equal(m.lastEncodeStats?.dtype, "fp32");
    const said = warnings.filter((w) => w.includes("encoding on tfjs"));
    assert.equal(said.length, 1, warnings.join("\n"));
    assert.match(said[0], /COURSE_ONNX=0.*slower than ONNX Runtime/);
    assert.match(encodePath(m), /ONNX Runtime not used: COURSE_ONNX=0.*slower/);
    // Asked for explicitly: no warning.
    delete process.env.COURSE_ONNX;
    const quiet = offlineModel("offline-bert");
    await quiet.encode(["hello"], { runtime: "tfjs" });
    assert.equal(warnings.filter((w) => w.includes("encoding on tfjs")).length, 1);
    await quiet.encode(["hello"]);
    assert.match(encodePath(quiet), /ONNX Runtime, fp32/);
    quiet.dispose();
  } finally {
    if (before === undefined) delete process.env.COURSE_ONNX;
    else process.env.COURSE_ONNX = before;
    console.warn = warn;
    m.dispose();
  }
});
