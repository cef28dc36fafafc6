/**
 * Matrix products on the system BLAS for the wasm and cpu backends of TensorFlow.js.
 *
 * Why: an encoder forward pass is ~90% matrix products. tfjs-node (native TensorFlow) cannot be
 * installed everywhere (its install downloads from Google storage; no linux-arm64 build), and
 * without it the wasm backend multiplies with XNNPACK on one thread at ~25 GFLOP/s for plain 2-D
 * products and 2-3 GFLOP/s for transposed or batched ones (bench/NOTES.md). The small Node-API
 * addon src/model/native/matmul.c calls cblas_sgemm (OpenBLAS; Accelerate on macOS) directly on
 * the tensors' memory (the wasm heap, or the cpu backend's Float32Arrays), and this module registers
 * it as the BatchMatMul kernel of those backends (and _FusedMatMul with a bias and no activation,
 * i.e. tf.fused.matMul({a, b, bias})). Every tfjs matMul (forward and gradients, transposed or
 * batched) then runs on BLAS. Results equal the original kernel's to float32 rounding
 * (tested in test/model-compute-native.test.ts).
 *
 * It is optional: buildNativeMatMul() compiles the addon into build/native-matmul.node (needs a C
 * compiler and libopenblas-dev; ~1 s); when that file is absent, or COURSE_NATIVE_MATMUL=0, nothing
 * changes. enableNativeMatMul() is idempotent and cheap; TransformerEncoder calls it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { tf } from "../backend";
import { config } from "../env";

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

/** Where buildNativeMatMul() writes the addon: build/native-matmul.node under the repository root. */
export function nativeMatMulPath(): string {
  return join(config.repoRoot, "build", "native-matmul.node");
}

function nativeMatMulSource(): string {
  return join(config.repoRoot, "src", "model", "native", "matmul.c");
}

/** True when build/native-matmul.node is missing or older than src/model/native/matmul.c. */
export function nativeMatMulStale(): boolean {
  const out = nativeMatMulPath();
  if (!existsSync(out)) return true;
  const source = nativeMatMulSource();
  return existsSync(source) && statSync(source).mtimeMs > statSync(out).mtimeMs;
}

/**
 * Compiles src/model/native/matmul.c into build/native-matmul.node (written to a temp file, then
 * renamed). Needs `cc` and the BLAS headers/library: Debian/Ubuntu `apt-get install build-essential
 * libopenblas-dev`; macOS uses Accelerate. Returns the path; throws with the compiler's message.
 */
export function buildNativeMatMul(options: { cc?: string } = {}): string {
  const out = nativeMatMulPath();
  const source = nativeMatMulSource();
  const headers = dirname(require.resolve("node-api-headers/include/node_api.h"));
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const isMac = process.platform === "darwin";
  const args = [
    "-O2",
    "-shared",
    "-fPIC",
    "-DNODE_GYP_MODULE_NAME=native_matmul",
    `-I${headers}`,
    source,
    "-o",
    tmp,
    ...(isMac ? ["-undefined", "dynamic_lookup", "-framework", "Accelerate"] : ["-lopenblas"]),
  ];
  try {
    execFileSync(options.cc ?? "cc", args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    rmSync(tmp, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `buildNativeMatMul: compiling ${source} failed${stderr ? `:\n${stderr}` : ` (${(err as Error).message})`}\n` +
        "Needs a C compiler and BLAS: apt-get install build-essential libopenblas-dev (Debian/Ubuntu). " +
        "Without it everything still works, with slower matrix products.",
    );
  }
  renameSync(tmp, out);
  return out;
}

function loadAddon(path: string): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
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
  return { batch, m, n, k, strideA: batchA === 1 ? 0 : m * k, strideB: batchB === 1 ? 0 : k * n, outShape: [...outer, m, n] };
}

interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
}

interface CpuBackendLike {
  data: { get(id: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function kernelFor(name: PatchedBackend, native: NativeAddon, original: tf.KernelConfig): tf.KernelFunc {
  const fallback = original.kernelFunc as (args: KernelArgs) => tf.TensorInfo;
  return ((args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined> & { a: tf.TensorInfo; b: tf.TensorInfo };
    const transA = Boolean(args.attrs?.transposeA);
    const transB = Boolean(args.attrs?.transposeB);
    const activation = args.attrs?.activation;
    let s = a.dtype === "float32" && b.dtype === "float32" ? matMulShapes(a.shape, b.shape, transA, transB) : undefined;
    // _FusedMatMul: only a bias of shape [n] and no activation are done here.
    if (preluActivationWeights !== undefined || (activation !== undefined && activation !== "linear")) s = undefined;
    if (bias !== undefined && (s === undefined || bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== s.n)) s = undefined;
    if (s === undefined) return fallback(args);
    const sizeA = a.shape.reduce((x, y) => x * y, 1);
    const sizeB = b.shape.reduce((x, y) => x * y, 1);
    const sizeC = s.batch * s.m * s.n;
    if (name === "wasm") {
      const backend = args.backend as WasmBackendLike;
      const out = backend.makeOutput(s.outShape, "float32"); // may grow the heap: take the view after it
      const heap = backend.wasm.HEAPF32;
      const view = (id: object, size: number) => new Float32Array(heap.buffer, backend.dataIdMap.get(id).memoryOffset, size);
      const biasView = bias ? view(bias.dataId, s.n) : undefined;
      native.sgemm(view(a.dataId, sizeA), view(b.dataId, sizeB), view(out.dataId, sizeC), s.batch, s.m, s.n, s.k, transA, transB, s.strideA, s.strideB, biasView);
      return out;
    }
    const backend = args.backend as CpuBackendLike;
    const va = backend.data.get(a.dataId).values;
    const vb = backend.data.get(b.dataId).values;
    const vbias = bias ? backend.data.get(bias.dataId).values : undefined;
    if (!(va instanceof Float32Array) || !(vb instanceof Float32Array) || (bias && !(vbias instanceof Float32Array))) return fallback(args);
    const c = new Float32Array(sizeC);
    native.sgemm(va, vb, c, s.batch, s.m, s.n, s.k, transA, transB, s.strideA, s.strideB, vbias as Float32Array | undefined);
    return backend.makeTensorInfo(s.outShape, "float32", c);
  }) as unknown as tf.KernelFunc;
}

/**
 * Registers the BLAS BatchMatMul for the wasm and cpu backends when build/native-matmul.node exists
 * (and COURSE_NATIVE_MATMUL is not 0). Idempotent; returns what is in use.
 */
export function enableNativeMatMul(options: { threads?: number } = {}): NativeMatMulInfo {
  const path = nativeMatMulPath();
  if (state?.active) {
    if (options.threads !== undefined) setNativeMatMulThreads(options.threads);
    return nativeMatMulInfo();
  }
  if (!config.nativeMatMul) {
    state = { active: false, path, reason: "native matMul off (COURSE_NATIVE_MATMUL=0)" };
    return state;
  }
  if (!existsSync(path)) {
    state = { active: false, path, reason: `native matMul not built (${path} missing; see buildNativeMatMul / npm run setup)` };
    return state;
  }
  if (nativeMatMulStale()) {
    state = { active: false, path, reason: `native matMul out of date (${path} is older than src/model/native/matmul.c); rebuild with buildNativeMatMul()` };
    return state;
  }
  try {
    addon ??= loadAddon(path);
  } catch (err) {
    state = { active: false, path, reason: `native matMul not loadable: ${(err as Error).message.split("\n")[0]}` };
    return state;
  }
  for (const name of BACKENDS) {
    for (const kernelName of KERNELS) {
      let original: tf.KernelConfig | undefined;
      try {
        original = tf.getKernel(kernelName, name);
      } catch {
        original = undefined;
      }
      if (!original) continue; // backend package not loaded
      originals.set(`${kernelName}/${name}`, original);
      tf.unregisterKernel(kernelName, name);
      tf.registerKernel({ ...original, kernelFunc: kernelFor(name, addon, original) });
    }
  }
  state = { active: true, path, reason: "matMul on native BLAS (build/native-matmul.node)" };
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
  if (!addon) throw new Error("setNativeMatMulThreads: the native matMul is not loaded; call enableNativeMatMul() first");
  addon.setThreads(n);
}

/** What enableNativeMatMul() did; undefined fields before it ran. */
export function nativeMatMulInfo(): NativeMatMulInfo {
  const base = state ?? { active: false, path: nativeMatMulPath(), reason: "enableNativeMatMul() not called" };
  return base.active && addon ? { ...base, threads: addon.threads() } : { ...base };
}

/** True when matrix products run on BLAS: then transposed operands cost nothing extra. */
export function nativeMatMulActive(): boolean {
  return state?.active === true;
}
