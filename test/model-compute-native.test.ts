// The BLAS BatchMatMul kernel (src/native/kernels.ts + src/native/matmul.c) against a
// float64 triple loop, on the wasm and cpu backends, for plain, transposed, batched and broadcast
// products. Builds build/native-matmul.node when it is missing (needs cc + libopenblas-dev).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../src/backend";
import { getConfig } from "../src/env";
import { mulberry32 } from "../src/random";
import { gelu, layerNorm } from "../src/model/layers";
import { buildNativeMatMul, nativeMatMulStale } from "../src/native/build";
import { disableNativeMatMul, enableNativeMatMul, nativeMatMulActive, nativeMatMulInfo } from "../src/native/kernels";

let buildError: string | undefined;

before(async () => {
  await initBackend("wasm");
  if (!getConfig().nativeMatMul) buildError = "switched off with COURSE_NATIVE_MATMUL=0";
  else if (nativeMatMulStale()) {
    try {
      buildNativeMatMul();
    } catch (err) {
      buildError = (err as Error).message;
    }
  }
});

after(() => disableNativeMatMul());

/** C = op(A) op(B) for row-major batched arrays, float64, with size-1 batch broadcasting. */
function referenceMatMul(
  a: tf.Tensor,
  b: tf.Tensor,
  transA: boolean,
  transB: boolean,
): { data: Float64Array; shape: number[] } {
  const A = a.dataSync();
  const Bv = b.dataSync();
  const ra = a.rank;
  const rb = b.rank;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  // Outer (batch) dims broadcast numpy-style: right-aligned, size-1 dims repeat.
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const rank = Math.max(outerA.length, outerB.length);
  const padA = Array(rank - outerA.length)
    .fill(1)
    .concat(outerA);
  const padB = Array(rank - outerB.length)
    .fill(1)
    .concat(outerB);
  const outer = padA.map((d, i) => Math.max(d, padB[i]));
  const batch = outer.reduce((x, y) => x * y, 1);
  /** Flat batch index into an operand with dims `dims` for output batch index t. */
  const source = (dims: number[], t: number): number => {
    let idx = 0;
    let rest = t;
    let stride = 1;
    for (let i = rank - 1; i >= 0; i--) {
      const coord = rest % outer[i];
      rest = Math.floor(rest / outer[i]);
      idx += (dims[i] === 1 ? 0 : coord) * stride;
      stride *= dims[i];
    }
    return idx;
  };
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const oa = source(padA, t) * m * k;
    const ob = source(padB, t) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++)
          s += A[oa + (transA ? p * m + i : i * k + p)] * Bv[ob + (transB ? j * k + p : p * n + j)];
        out[t * m * n + i * n + j] = s;
      }
  }
  return { data: out, shape: [...outer, m, n] };
}

const cases: [string, number[], number[], boolean, boolean][] = [
  ["2-D NN", [5, 7], [7, 3], false, false],
  ["2-D NT", [5, 7], [3, 7], false, true],
  ["2-D TN", [7, 5], [7, 3], true, false],
  ["2-D TT", [7, 5], [3, 7], true, true],
  ["3-D batched NT", [4, 6, 8], [4, 9, 8], false, true],
  ["3-D x 2-D broadcast", [3, 6, 8], [8, 2], false, false],
  ["4-D batched", [2, 3, 5, 4], [2, 3, 4, 6], false, false],
  ["empty (left to the original kernel)", [0, 4], [4, 3], false, false],
];

for (const backendName of ["wasm", "cpu"] as const) {
  test(`BLAS BatchMatMul on ${backendName} equals a float64 triple loop`, async (t) => {
    if (buildError) {
      t.skip(`native matMul could not be built here: ${buildError.split("\n")[0]}`);
      return;
    }
    await tf.setBackend(backendName);
    const info = enableNativeMatMul();
    assert.equal(info.active, true, info.reason);
    assert.ok(nativeMatMulActive());
    const rand = mulberry32(3);
    for (const [label, sa, sb, ta, tb] of cases) {
      const a = tf.tensor(
        Float32Array.from({ length: sa.reduce((x, y) => x * y, 1) }, () => rand() * 2 - 1),
        sa,
      );
      const b = tf.tensor(
        Float32Array.from({ length: sb.reduce((x, y) => x * y, 1) }, () => rand() * 2 - 1),
        sb,
      );
      const ours = tf.matMul(a, b, ta, tb);
      const ref = referenceMatMul(a, b, ta, tb);
      assert.deepEqual(ours.shape, ref.shape, label);
      const got = ours.dataSync();
      let worst = 0;
      for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.data[i]));
      assert.ok(worst < 1e-5, `${label}: max difference ${worst}`);
      tf.dispose([a, b, ours]);
    }
    // tf.fused.matMul with a bias runs in the BLAS kernel; with an activation it is left to tfjs
    // (whose wasm _FusedMatMul is wrong with transposeB = true, tfjs 4.22: so the relu case is NN).
    const a = tf.tensor2d(
      Float32Array.from({ length: 12 }, () => rand() * 2 - 1),
      [3, 4],
    );
    const w = tf.tensor2d(
      Float32Array.from({ length: 20 }, () => rand() * 2 - 1),
      [5, 4],
    );
    const bias = tf.tensor1d([1, -2, 3, -4, 5]);
    const ref = referenceMatMul(a, w, false, true).data.map((v, i) => v + bias.dataSync()[i % 5]);
    for (const activation of ["linear", "relu"] as const) {
      const got = (
        activation === "linear"
          ? tf.fused.matMul({ a, b: w, transposeB: true, bias, activation })
          : tf.fused.matMul({ a, b: tf.transpose(w), bias, activation })
      ).dataSync();
      const expected = activation === "relu" ? ref.map((v) => Math.max(0, v)) : ref;
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
      assert.ok(worst < 1e-5, `fused matMul + bias (${activation}): max difference ${worst}`);
    }
    await tf.setBackend("wasm");
  });
}

test("disableNativeMatMul puts the original kernel back; info reports threads while active", async (t) => {
  if (buildError) {
    t.skip(`native matMul could not be built here: ${buildError.split("\n")[0]}`);
    return;
  }
  enableNativeMatMul();
  assert.ok((nativeMatMulInfo().threads ?? 0) >= 1);
  disableNativeMatMul();
  assert.equal(nativeMatMulActive(), false);
  const c = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
  assert.deepEqual(Array.from(c.dataSync()), [19, 22, 43, 50]);
  enableNativeMatMul();
  assert.equal(nativeMatMulActive(), true);
});

test("fused native GELU and LayerNorm: values and gradients equal the tfjs-ops versions (autodiff)", async (t) => {
  if (buildError) {
    t.skip(`native kernels could not be built here: ${buildError.split("\n")[0]}`);
    return;
  }
  const rand = mulberry32(8);
  const x = tf.tensor2d(
    Float32Array.from({ length: 6 * 10 }, () => rand() * 6 - 3),
    [6, 10],
  );
  const gamma = tf.tensor1d(Float32Array.from({ length: 10 }, () => 0.5 + rand()));
  const beta = tf.tensor1d(Float32Array.from({ length: 10 }, () => rand() - 0.5));
  const R = tf.tensor2d(
    Float32Array.from({ length: 60 }, () => rand() * 2 - 1),
    [6, 10],
  ); // loss = sum(R * f(x))
  const run = () => {
    const geluValue = gelu(x).dataSync().slice();
    const lnValue = layerNorm(x, gamma, beta, 1e-5).dataSync().slice();
    const [gx] = tf.grads((xx: tf.Tensor) => tf.sum(tf.mul(gelu(xx), R)))([x]);
    const lnGrads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(layerNorm(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5), R)),
    )([x, gamma, beta]);
    return [geluValue, lnValue, gx.dataSync().slice(), ...lnGrads.map((g) => g.dataSync().slice())];
  };
  enableNativeMatMul();
  const native = run();
  disableNativeMatMul();
  const ops = run();
  enableNativeMatMul();
  const labels = ["gelu", "layerNorm", "d gelu/dx", "d layerNorm/dx", "d layerNorm/dgamma", "d layerNorm/dbeta"];
  native.forEach((values, i) => {
    let worst = 0;
    for (let j = 0; j < values.length; j++) worst = Math.max(worst, Math.abs(values[j] - ops[i][j]));
    assert.ok(worst < 1e-5, `${labels[i]}: native vs tfjs ops differ by ${worst}`);
  });
  // A hand value: GELU(1) = 0.5 (1 + erf(1/sqrt 2)) = 0.8413447460685429.
  assert.ok(Math.abs(gelu(tf.scalar(1)).dataSync()[0] - 0.8413447460685429) < 1e-6);
});
