/**
 * Matrix products on the system BLAS for the wasm and cpu backends of TensorFlow.js.
 *
 * Also two fused element-wise kernels, GELU and LayerNorm (one pass over memory instead of the 5-9
 * separate tfjs ops), and a row gather for embedding lookups, registered as "CourseGelu" /
 * "CourseLayerNorm" / "CourseGatherRows" and called through nativeGelu / nativeLayerNorm /
 * nativeGatherRows by src/model/layers.ts, which supplies their gradients.
 *
 * Why: an encoder forward pass is ~90% matrix products. tfjs-node (native TensorFlow) cannot be
 * installed everywhere (its install downloads from Google storage; no linux-arm64 build), and
 * without it the wasm backend multiplies with XNNPACK on one thread at ~25 GFLOP/s for plain 2-D
 * products and 2-3 GFLOP/s for transposed or batched ones (bench/NOTES.md). The small Node-API
 * addon src/native/matmul.c calls cblas_sgemm (OpenBLAS; Accelerate on macOS) directly on
 * the tensors' memory (the wasm heap, or the cpu backend's Float32Arrays), and this module registers
 * it as the BatchMatMul kernel of those backends (and _FusedMatMul with a bias and no activation,
 * i.e. tf.fused.matMul({a, b, bias})). Every tfjs matMul (forward and gradients, transposed or
 * batched) then runs on BLAS. Results equal the original kernel's to float32 rounding
 * (tested in test/model-compute-native.test.ts).
 *
 * It is optional: buildNativeMatMul() (build.ts) compiles the addon into build/native-matmul.node (needs a
 * C compiler and libopenblas-dev; ~1 s); when that file is absent, or COURSE_NATIVE_MATMUL=0, nothing
 * changes. The backend owns these kernels: initBackend() (src/backend.ts) calls enableNativeMatMul() when it
 * picks wasm or cpu, so building or loading a model changes nothing global. enableNativeMatMul() is
 * idempotent and cheap; disableNativeMatMul() puts tfjs's own kernels back (benchmarks, comparisons).
 */
import { existsSync } from "node:fs";
// The tfjs namespace itself, not ../backend's re-export: backend.ts turns these kernels on, so importing it
// here would be an import cycle.
import * as tf from "@tensorflow/tfjs";
import { getConfig } from "../env";
import { nativeMatMulPath, nativeMatMulStale } from "./build";

interface NativeAddon {
  sgemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
    bias?: Float32Array,
  ): void;
  threads(): number;
  setThreads(n: number): void;
  gelu(x: Float32Array, out: Float32Array): void;
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array, eps: number): void;
  gatherRows(table: Float32Array, ids: Int32Array, out: Float32Array, dim: number): void;
}

export interface NativeMatMulInfo {
  /** True when BatchMatMul of the wasm and cpu backends runs on BLAS. */
  active: boolean;
  /** The addon file looked for. */
  path: string;
  /** Why it is (not) active, in words, for backend reports. */
  reason: string;
  /** BLAS threads (OpenBLAS); undefined when inactive. */
  threads?: number;
}

const BACKENDS = ["wasm", "cpu"] as const;
type PatchedBackend = (typeof BACKENDS)[number];

let addon: NativeAddon | undefined;
let state: NativeMatMulInfo | undefined;
const KERNELS = ["BatchMatMul", "_FusedMatMul"] as const;
const originals = new Map<string, tf.KernelConfig>();

function loadAddon(path: string): NativeAddon {
  return require(path) as NativeAddon;
}

interface MatMulShapes {
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
  outShape: number[];
}

/** Shapes of a BatchMatMul, or undefined for the cases left to the original kernel (mixed broadcasting, empty). */
function matMulShapes(aShape: number[], bShape: number[], transA: boolean, transB: boolean): MatMulShapes | undefined {
  const ra = aShape.length;
  const rb = bShape.length;
  const m = transA ? aShape[ra - 1] : aShape[ra - 2];
  const k = transA ? aShape[ra - 2] : aShape[ra - 1];
  const kB = transB ? bShape[rb - 1] : bShape[rb - 2];
  const n = transB ? bShape[rb - 2] : bShape[rb - 1];
  if (k !== kB) return undefined; // the original kernel throws its own message
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const batchA = outerA.reduce((x, y) => x * y, 1);
  const batchB = outerB.reduce((x, y) => x * y, 1);
  if (m * n * k === 0) return undefined;
  let outer: number[];
  if (batchA === batchB && (outerA.length === outerB.length ? outerA.every((d, i) => d === outerB[i]) : batchA === 1)) {
    outer = outerA.length >= outerB.length ? outerA : outerB;
  } else if (batchB === 1) outer = outerA;
  else if (batchA === 1) outer = outerB;
  else return undefined;
  const batch = Math.max(batchA, batchB);
  return {
    batch,
    m,
    n,
    k,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
    outShape: [...outer, m, n],
  };
}

interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
}

/**
 * The wasm heap offsets of `inputs`. Looking a tensor up can move its data into the heap first (a tensor
 * made on another backend, e.g. a model built before initBackend), which may grow the heap and detach
 * every view taken before: so look the inputs up, then make the output, then take the heap's views.
 */
function wasmOffsets(backend: WasmBackendLike, inputs: tf.TensorInfo[]): number[] {
  return inputs.map((t) => backend.dataIdMap.get(t.dataId).memoryOffset);
}

interface CpuBackendLike {
  data: { get(id: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function kernelFor(name: PatchedBackend, native: NativeAddon, original: tf.KernelConfig): tf.KernelFunc {
  const fallback = original.kernelFunc as (args: KernelArgs) => tf.TensorInfo;
  return ((args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined> & {
      a: tf.TensorInfo;
      b: tf.TensorInfo;
    };
    const transA = Boolean(args.attrs?.transposeA);
    const transB = Boolean(args.attrs?.transposeB);
    const activation = args.attrs?.activation;
    let s = a.dtype === "float32" && b.dtype === "float32" ? matMulShapes(a.shape, b.shape, transA, transB) : undefined;
    // _FusedMatMul: only a bias of shape [n] and no activation are done here.
    if (preluActivationWeights !== undefined || (activation !== undefined && activation !== "linear")) s = undefined;
    if (
      bias !== undefined &&
      (s === undefined || bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== s.n)
    )
      s = undefined;
    if (s === undefined) return fallback(args);
    const sizeA = a.shape.reduce((x, y) => x * y, 1);
    const sizeB = b.shape.reduce((x, y) => x * y, 1);
    const sizeC = s.batch * s.m * s.n;
    if (name === "wasm") {
      const backend = args.backend as WasmBackendLike;
      const [offA, offB, offBias] = wasmOffsets(backend, bias ? [a, b, bias] : [a, b]);
      const out = backend.makeOutput(s.outShape, "float32"); // may grow the heap: take the views after it
      const [offC] = wasmOffsets(backend, [out]);
      const buffer = backend.wasm.HEAPF32.buffer;
      const view = (offset: number, size: number) => new Float32Array(buffer, offset, size);
      const biasView = bias ? view(offBias, s.n) : undefined;
      const [viewA, viewB, viewC] = [view(offA, sizeA), view(offB, sizeB), view(offC, sizeC)];
      native.sgemm(viewA, viewB, viewC, s.batch, s.m, s.n, s.k, transA, transB, s.strideA, s.strideB, biasView);
      return out;
    }
    const backend = args.backend as CpuBackendLike;
    const va = backend.data.get(a.dataId).values;
    const vb = backend.data.get(b.dataId).values;
    const vbias = bias ? backend.data.get(bias.dataId).values : undefined;
    if (!(va instanceof Float32Array) || !(vb instanceof Float32Array) || (bias && !(vbias instanceof Float32Array)))
      return fallback(args);
    const c = new Float32Array(sizeC);
    native.sgemm(
      va,
      vb,
      c,
      s.batch,
      s.m,
      s.n,
      s.k,
      transA,
      transB,
      s.strideA,
      s.strideB,
      vbias as Float32Array | undefined,
    );
    return backend.makeTensorInfo(s.outShape, "float32", c);
  }) as unknown as tf.KernelFunc;
}

const GELU_KERNEL = "CourseGelu";
const LAYER_NORM_KERNEL = "CourseLayerNorm";
let fusedRegistered = false;

function sizeOf(t: tf.TensorInfo): number {
  return t.shape.reduce((x, y) => x * y, 1);
}

/**
 * A kernel over float32 inputs and one output of the first input's shape: `compute` gets the inputs'
 * and the output's Float32Arrays (views into the wasm heap, or the cpu backend's arrays).
 */
function elementwiseKernel(
  kernelName: string,
  backendName: PatchedBackend,
  inputNames: string[],
  compute: (inputs: Float32Array[], out: Float32Array, attrs: tf.NamedAttrMap | undefined) => void,
): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const inputs = inputNames.map((n) => args.inputs[n] as tf.TensorInfo);
    for (const t of inputs)
      if (t.dtype !== "float32") throw new Error(`${kernelName}: float32 inputs only, got ${t.dtype}`);
    const shape = inputs[0].shape;
    const size = sizeOf(inputs[0]);
    if (backendName === "wasm") {
      const backend = args.backend as WasmBackendLike;
      const offsets = wasmOffsets(backend, inputs);
      const out = backend.makeOutput(shape, "float32"); // may grow the heap: take the views after it
      if (size === 0) return out;
      const buffer = backend.wasm.HEAPF32.buffer;
      const views = inputs.map((t, i) => new Float32Array(buffer, offsets[i], sizeOf(t)));
      compute(views, new Float32Array(buffer, wasmOffsets(backend, [out])[0], size), args.attrs);
      return out;
    }
    const backend = args.backend as CpuBackendLike;
    const arrays = inputs.map((t) => backend.data.get(t.dataId).values);
    if (!arrays.every((a): a is Float32Array => a instanceof Float32Array))
      throw new Error(`${kernelName}: unexpected cpu tensor storage`);
    const out = new Float32Array(size);
    if (size > 0) compute(arrays, out, args.attrs);
    return backend.makeTensorInfo(shape, "float32", out);
  };
  return { kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

const GATHER_KERNEL = "CourseGatherRows";

function gatherKernel(backendName: PatchedBackend, native: NativeAddon): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { table, ids } = args.inputs as { table: tf.TensorInfo; ids: tf.TensorInfo };
    if (table.dtype !== "float32" || ids.dtype !== "int32" || table.shape.length !== 2) {
      throw new Error(`${GATHER_KERNEL}: expects a float32 [rows, dim] table and int32 ids`);
    }
    const dim = table.shape[1];
    const n = sizeOf(ids);
    const shape = [n, dim];
    if (backendName === "wasm") {
      const backend = args.backend as WasmBackendLike & { wasm: { HEAP32: Int32Array } };
      const [offTable, offIds] = wasmOffsets(backend, [table, ids]);
      const out = backend.makeOutput(shape, "float32"); // may grow the heap: take the views after it
      if (n * dim === 0) return out;
      const buffer = backend.wasm.HEAPF32.buffer;
      native.gatherRows(
        new Float32Array(buffer, offTable, sizeOf(table)),
        new Int32Array(buffer, offIds, n),
        new Float32Array(buffer, wasmOffsets(backend, [out])[0], n * dim),
        dim,
      );
      return out;
    }
    const backend = args.backend as CpuBackendLike;
    const vt = backend.data.get(table.dataId).values;
    const vi = backend.data.get(ids.dataId).values;
    if (!(vt instanceof Float32Array) || !(vi instanceof Int32Array))
      throw new Error(`${GATHER_KERNEL}: unexpected cpu tensor storage`);
    const out = new Float32Array(n * dim);
    if (n * dim > 0) native.gatherRows(vt, vi, out, dim);
    return backend.makeTensorInfo(shape, "float32", out);
  };
  return { kernelName: GATHER_KERNEL, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

function registerFusedKernels(native: NativeAddon): void {
  if (fusedRegistered) return;
  for (const name of BACKENDS) {
    tf.registerKernel(elementwiseKernel(GELU_KERNEL, name, ["x"], ([x], out) => native.gelu(x, out)));
    tf.registerKernel(
      elementwiseKernel(LAYER_NORM_KERNEL, name, ["x", "gamma", "beta"], ([x, gamma, beta], out, attrs) =>
        native.layerNorm(x, gamma, beta, out, Number(attrs?.eps)),
      ),
    );
    tf.registerKernel(gatherKernel(name, native));
  }
  fusedRegistered = true;
}

/** Exact GELU in one native pass (no gradient of its own: see layers.gelu). Needs nativeMatMulActive(). */
export function nativeGelu<T extends tf.Tensor>(x: T): T {
  if (!nativeMatMulActive()) throw new Error("nativeGelu: the native kernels are not enabled (enableNativeMatMul)");
  return tf.engine().runKernel(GELU_KERNEL, { x }) as T;
}

/** Rows `ids` of a [rows, dim] table (no gradient of its own: see layers.embeddingLookup). */
export function nativeGatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (!nativeMatMulActive())
    throw new Error("nativeGatherRows: the native kernels are not enabled (enableNativeMatMul)");
  return tf.engine().runKernel(GATHER_KERNEL, { table, ids }) as tf.Tensor2D;
}

/** LayerNorm over the last axis in one native pass (no gradient of its own: see layers.layerNorm). */
export function nativeLayerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): T {
  if (!nativeMatMulActive())
    throw new Error("nativeLayerNorm: the native kernels are not enabled (enableNativeMatMul)");
  if (x.shape[x.rank - 1] !== gamma.shape[0] || beta.shape[0] !== gamma.shape[0]) {
    throw new Error(
      `nativeLayerNorm: last axis of x is ${x.shape[x.rank - 1]} but gamma/beta have ${gamma.shape[0]}/${beta.shape[0]} values`,
    );
  }
  return tf.engine().runKernel(LAYER_NORM_KERNEL, { x, gamma, beta }, { eps }) as T;
}

/**
 * Replaces BatchMatMul and _FusedMatMul of each backend whose package is loaded and not yet patched.
 * A backend loaded later (its package registers its kernels when imported) is patched by the next
 * enableNativeMatMul(); until then nativeMatMulActive() is false for it.
 */
function patchBackends(native: NativeAddon): void {
  for (const name of BACKENDS) {
    for (const kernelName of KERNELS) {
      const key = `${kernelName}/${name}`;
      if (originals.has(key)) continue;
      let original: tf.KernelConfig | undefined;
      try {
        original = tf.getKernel(kernelName, name);
      } catch {
        original = undefined;
      }
      if (!original) continue; // backend package not loaded
      originals.set(key, original);
      tf.unregisterKernel(kernelName, name);
      tf.registerKernel({ ...original, kernelFunc: kernelFor(name, native, original) });
    }
  }
}

/**
 * Registers the BLAS BatchMatMul for the wasm and cpu backends when build/native-matmul.node exists
 * (and COURSE_NATIVE_MATMUL is not 0). Idempotent; returns what is in use.
 */
export function enableNativeMatMul(options: { threads?: number } = {}): NativeMatMulInfo {
  const path = nativeMatMulPath();
  if (state?.active && addon) {
    patchBackends(addon); // a backend package loaded since the last call (e.g. wasm after cpu)
    if (options.threads !== undefined) setNativeMatMulThreads(options.threads);
    return nativeMatMulInfo();
  }
  if (!getConfig().nativeMatMul) {
    state = { active: false, path, reason: "native matMul off (COURSE_NATIVE_MATMUL=0)" };
    return state;
  }
  if (!existsSync(path)) {
    state = {
      active: false,
      path,
      reason: `native matMul not built (${path} missing; see buildNativeMatMul / npm run setup)`,
    };
    return state;
  }
  if (nativeMatMulStale()) {
    state = {
      active: false,
      path,
      reason: `native matMul out of date (${path} is older than src/native/matmul.c); rebuild with buildNativeMatMul()`,
    };
    return state;
  }
  try {
    addon ??= loadAddon(path);
  } catch (err) {
    state = { active: false, path, reason: `native matMul not loadable: ${(err as Error).message.split("\n")[0]}` };
    return state;
  }
  patchBackends(addon);
  registerFusedKernels(addon);
  state = { active: true, path, reason: "matMul on native BLAS, fused GELU/LayerNorm (build/native-matmul.node)" };
  if (options.threads !== undefined) setNativeMatMulThreads(options.threads);
  return nativeMatMulInfo();
}

/** Puts the original tfjs BatchMatMul kernels back (for comparisons and tests). */
export function disableNativeMatMul(): void {
  for (const original of originals.values()) {
    tf.unregisterKernel(original.kernelName, original.backendName);
    tf.registerKernel(original);
  }
  originals.clear();
  if (state) state = { active: false, path: state.path, reason: "native matMul disabled by disableNativeMatMul()" };
}

/** Sets the BLAS thread count (OpenBLAS reads OPENBLAS_NUM_THREADS at start; default: all cores). */
export function setNativeMatMulThreads(n: number): void {
  if (!addon)
    throw new Error("setNativeMatMulThreads: the native matMul is not loaded; call enableNativeMatMul() first");
  addon.setThreads(n);
}

/** What enableNativeMatMul() did; undefined fields before it ran. */
export function nativeMatMulInfo(): NativeMatMulInfo {
  const base = state ?? { active: false, path: nativeMatMulPath(), reason: "enableNativeMatMul() not called" };
  return base.active && addon ? { ...base, threads: addon.threads() } : { ...base };
}

/**
 * True when matrix products run on BLAS and the fused kernels exist for the backend in use (wasm or
 * cpu; on the native "tensorflow" backend tfjs's own kernels are used): then transposed operands cost
 * nothing extra and layers.ts may call nativeGelu / nativeLayerNorm / nativeGatherRows.
 */
export function nativeMatMulActive(): boolean {
  if (state?.active !== true) return false;
  const backend = tf.getBackend();
  return KERNELS.every((k) => originals.has(`${k}/${backend}`));
}
