/**
 * Chooses the TensorFlow.js backend: the native "tensorflow" backend (tfjs-node-gpu, else
 * tfjs-node) when it is installed and loads, else WebAssembly (SIMD; threads are off in Node,
 * tfjs issue #3830), else the pure-JS "cpu" backend. COURSE_BACKEND forces one.
 *
 * Everything that computes with tfjs imports `tf` from here so that the backend is chosen once.
 *
 * The backend owns the native kernels (src/native/kernels.ts: matrix products on the system BLAS, fused
 * GELU / LayerNorm): choosing wasm or cpu turns them on when build/native-matmul.node is built and
 * COURSE_NATIVE_MATMUL is not 0; the tensorflow backend keeps its own kernels. Nothing else (building or
 * loading a model) changes tfjs's global state.
 *
 * initBackend() runs once per process however many callers race it (two loadModel() in a Promise.all
 * share one initialisation; tfjs's own setBackend is not safe to run twice at the same time, and
 * concurrent calls used to leave the process on "cpu"). Landing on "cpu" when a faster backend was
 * wanted is never silent: a warning says why, and a backend asked for by name that cannot load is an
 * error.
 */
import { execFileSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, getConfig } from "./env";
import { enableNativeMatMul } from "./native/kernels";

export { tf };

export interface BackendInfo {
  name: BackendName;
  /** The npm package that provides it. */
  package: string;
  /** Human-readable notes: why a faster backend was not used, SIMD / thread status. */
  notes: string[];
}

let current: BackendInfo | undefined;
/** The initialisation in progress; every call waits for the one before it. */
let queue: Promise<unknown> = Promise.resolve();

function tryNative(notes: string[]): string | undefined {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      require(pkg);
      return pkg;
    } catch (err) {
      const msg = (err as Error).message.split("\n")[0];
      notes.push(`${pkg} not usable: ${msg}`);
    }
  }
  return undefined;
}

/**
 * Emscripten's Node glue (inside tfjs-backend-wasm) installs process handlers for uncaughtException
 * and unhandledRejection that rethrow the error from inside the handler: Node then prints the
 * handler's source line (the whole ~39 KB minified module) before the message and exits with code 7
 * instead of 1. Those handlers serve emscripten's exit(), which tfjs never calls; removing them gives
 * back Node's own report (message, short stack, exit code 1).
 */
function removeEmscriptenHandlers(before: Map<ProcessEvent, Set<unknown>>): void {
  for (const event of PROCESS_EVENTS) {
    for (const listener of listenersOf(event)) {
      if (before.get(event)?.has(listener)) continue;
      const source = Function.prototype.toString.call(listener);
      if (/ExitStatus|throw reason/.test(source))
        process.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
}

const PROCESS_EVENTS = ["uncaughtException", "unhandledRejection"] as const;
type ProcessEvent = (typeof PROCESS_EVENTS)[number];

function listenersOf(event: ProcessEvent): unknown[] {
  return event === "uncaughtException" ? process.listeners(event) : process.listeners(event);
}

function processHandlers(): Map<ProcessEvent, Set<unknown>> {
  return new Map(PROCESS_EVENTS.map((e) => [e, new Set(listenersOf(e))]));
}

async function tryWasm(notes: string[]): Promise<boolean> {
  const before = processHandlers();
  try {
    require("@tensorflow/tfjs-backend-wasm");
    if (!(await tf.setBackend("wasm"))) return false;
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    notes.push(`wasm SIMD: ${simd ? "on" : "off"}; threads: off (tfjs disables them in Node)`);
    return true;
  } catch (err) {
    notes.push(`@tensorflow/tfjs-backend-wasm not usable: ${(err as Error).message.split("\n")[0]}`);
    return false;
  } finally {
    removeEmscriptenHandlers(before);
  }
}

async function chooseBackend(prefer: BackendName | undefined): Promise<BackendInfo> {
  const notes: string[] = [];
  const order: BackendName[] = prefer ? [prefer] : ["tensorflow", "wasm", "cpu"];
  for (const name of order) {
    let pkg: string | undefined;
    if (name === "tensorflow") {
      const native = tryNative(notes);
      if (native && (await tf.setBackend("tensorflow"))) pkg = native;
    } else if (name === "wasm") {
      if (await tryWasm(notes)) pkg = "@tensorflow/tfjs-backend-wasm";
    } else if (await tf.setBackend("cpu")) {
      notes.push("pure-JS cpu backend: correct but slow; install @tensorflow/tfjs-node for speed");
      if (prefer === undefined)
        console.warn(
          `tfjs backend: falling back to the pure-JS "cpu" backend, many times slower than wasm or tensorflow ` +
            `(${notes.join("; ")}). Run \`npm run setup\`, or set COURSE_BACKEND=cpu to choose it knowingly.`,
        );
      pkg = "@tensorflow/tfjs";
    }
    if (pkg === undefined) continue;
    // The native kernels of wasm / cpu (nativeMatMulInfo() says whether they are on, and why not).
    if (name !== "tensorflow") enableNativeMatMul();
    current = { name, package: pkg, notes };
    return current;
  }
  throw new Error(
    `COURSE_BACKEND=${prefer}: that backend could not be loaded (${notes.join("; ") || "setBackend failed"}). ` +
      "Unset COURSE_BACKEND to use the best available one.",
  );
}

/**
 * Initialises the backend once and returns what is in use. `prefer` (or COURSE_BACKEND) forces a
 * backend; forcing one that cannot load is an error rather than a silent fallback. Safe to call any
 * number of times, also concurrently: calls are served one after the other, and once a backend is
 * chosen a call that does not ask for another one returns it at once.
 */
export function initBackend(prefer: BackendName | undefined = getConfig().backend): Promise<BackendInfo> {
  const settled = () => current !== undefined && (prefer === undefined || prefer === current.name);
  if (settled()) return Promise.resolve(current as BackendInfo);
  const next = queue.then(() => (settled() ? (current as BackendInfo) : chooseBackend(prefer)));
  queue = next.catch(() => undefined);
  return next;
}

/** The backend in use, or undefined before initBackend(). */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** True when tfjs computes on a GPU: the tensorflow backend from @tensorflow/tfjs-node-gpu. */
export function runsOnGpu(backend: BackendInfo | undefined = current): boolean {
  return backend?.name === "tensorflow" && backend.package === "@tensorflow/tfjs-node-gpu";
}

/** Memory of the accelerator the tensorflow backend computes on, as the device reports it. */
export interface DeviceMemory {
  totalBytes: number;
  freeBytes: number;
  /** Where the numbers come from, in words ("nvidia-smi: NVIDIA H200, 143771 MiB total"). */
  source: string;
}

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits` (one line per GPU,
 * MiB). tfjs-node-gpu computes on the first visible GPU (CUDA_VISIBLE_DEVICES decides which), so the first line counts.
 */
export function parseNvidiaSmi(text: string): DeviceMemory | undefined {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== "");
  if (!line) return undefined;
  const parts = line.split(",").map((p) => p.trim());
  const [total, free] = parts.slice(-2).map(Number);
  if (parts.length < 3 || !(total > 0) || !(free >= 0)) return undefined;
  const MiB = 1024 * 1024;
  const name = parts.slice(0, -2).join(",");
  return {
    totalBytes: total * MiB,
    freeBytes: free * MiB,
    source: `nvidia-smi: ${name}, ${free} of ${total} MiB free`,
  };
}

/** Runs nvidia-smi's memory query; throws when it is missing or fails. */
function queryNvidiaSmi(): string {
  return execFileSync("nvidia-smi", ["--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"], {
    encoding: "utf8",
    timeout: 10_000,
    stdio: ["ignore", "pipe", "ignore"],
  });
}

/**
 * The GPU's memory when the backend in use is tfjs-node-gpu (undefined on the CPU, or when the device cannot be
 * asked: tfjs reports no device memory for the tensorflow backend, so nvidia-smi is asked). `query` is for tests.
 */
export function deviceMemory(
  backend: BackendInfo | undefined = current,
  query: () => string = queryNvidiaSmi,
): DeviceMemory | undefined {
  if (!runsOnGpu(backend)) return undefined;
  try {
    return parseNvidiaSmi(query());
  } catch {
    return undefined;
  }
}
