/**
 * Chooses the TensorFlow.js backend: the native "tensorflow" backend (tfjs-node-gpu, else
 * tfjs-node) when it is installed and loads, else WebAssembly (SIMD; threads are off in Node,
 * tfjs issue #3830), else the pure-JS "cpu" backend. COURSE_BACKEND forces one.
 *
 * Everything that computes with tfjs imports `tf` from here so that the backend is chosen once.
 */
import * as tf from "@tensorflow/tfjs";
import { config, type BackendName } from "./env";

export { tf };

export interface BackendInfo {
  name: BackendName;
  /** The npm package that provides it. */
  package: string;
  /** Human-readable notes: why a faster backend was not used, SIMD / thread status. */
  notes: string[];
}

let current: BackendInfo | undefined;

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
 * Initialises the backend once and returns what is in use. `prefer` (or COURSE_BACKEND) forces a
 * backend; forcing one that cannot load is an error rather than a silent fallback.
 */
export async function initBackend(prefer: BackendName | undefined = config.backend): Promise<BackendInfo> {
  if (current && (prefer === undefined || prefer === current.name)) return current;
  const notes: string[] = [];
  const order: BackendName[] = prefer ? [prefer] : ["tensorflow", "wasm", "cpu"];
  for (const name of order) {
    if (name === "tensorflow") {
      const pkg = tryNative(notes);
      if (pkg && (await tf.setBackend("tensorflow"))) {
        current = { name, package: pkg, notes };
        return current;
      }
    } else if (name === "wasm") {
      try {
        require("@tensorflow/tfjs-backend-wasm");
        if (await tf.setBackend("wasm")) {
          const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
          notes.push(`wasm SIMD: ${simd ? "on" : "off"}; threads: off (tfjs disables them in Node)`);
          current = { name, package: "@tensorflow/tfjs-backend-wasm", notes };
          return current;
        }
      } catch (err) {
        notes.push(`@tensorflow/tfjs-backend-wasm not usable: ${(err as Error).message.split("\n")[0]}`);
      }
    } else if (await tf.setBackend("cpu")) {
      notes.push("pure-JS cpu backend: correct but slow; install @tensorflow/tfjs-node for speed");
      current = { name, package: "@tensorflow/tfjs", notes };
      return current;
    }
  }
  throw new Error(
    `COURSE_BACKEND=${prefer}: that backend could not be loaded (${notes.join("; ") || "setBackend failed"}). ` +
      "Unset COURSE_BACKEND to use the best available one.",
  );
}

/** The backend in use, or undefined before initBackend(). */
export function backendInfo(): BackendInfo | undefined {
  return current;
}
