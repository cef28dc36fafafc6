/**
 * Building the native kernels' addon: src/native/matmul.c -> build/native-matmul.node, a Node-API module
 * that calls the system BLAS (OpenBLAS; Accelerate on macOS). Only the build lives here (compiler, headers,
 * paths, staleness); the tfjs kernels that use the addon are in kernels.ts, and the backend (src/backend.ts)
 * turns them on. `npm run setup` builds it; without it everything works, with slower matrix products.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { getConfig } from "../env";

/** Where buildNativeMatMul() writes the addon: build/native-matmul.node under the repository root. */
export function nativeMatMulPath(): string {
  return join(getConfig().repoRoot, "build", "native-matmul.node");
}

function nativeMatMulSource(): string {
  return join(getConfig().repoRoot, "src", "native", "matmul.c");
}

/** True when build/native-matmul.node is missing or older than src/native/matmul.c. */
export function nativeMatMulStale(): boolean {
  const out = nativeMatMulPath();
  if (!existsSync(out)) return true;
  const source = nativeMatMulSource();
  return existsSync(source) && statSync(source).mtimeMs > statSync(out).mtimeMs;
}

/** A folder holding node_api.h: the node-api-headers package (via cmake-js), else Node's own include/node. */
function nodeApiHeaders(): string {
  try {
    return dirname(require.resolve("node-api-headers/include/node_api.h"));
  } catch {
    const own = join(dirname(dirname(process.execPath)), "include", "node");
    if (existsSync(join(own, "node_api.h"))) return own;
    throw new Error(
      "buildNativeMatMul: node_api.h not found (neither the node-api-headers package nor " +
        `${own}); run npm install (it comes with cmake-js) or install Node's headers.`,
    );
  }
}

/**
 * Compiles src/native/matmul.c into build/native-matmul.node (written to a temp file, then
 * renamed). Needs `cc` and the BLAS headers/library: Debian/Ubuntu `apt-get install build-essential
 * libopenblas-dev`; macOS uses Accelerate. Returns the path; throws with the compiler's message.
 */
export function buildNativeMatMul(options: { cc?: string } = {}): string {
  const out = nativeMatMulPath();
  const source = nativeMatMulSource();
  const headers = nodeApiHeaders();
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const isMac = process.platform === "darwin";
  const args = [
    "-O3",
    "-fno-trapping-math", // lets the compiler vectorize the clamps in erf (results unchanged)
    "-shared",
    "-fPIC",
    "-DNODE_GYP_MODULE_NAME=native_matmul",
    `-I${headers}`,
    source,
    "-o",
    tmp,
    ...(isMac ? ["-undefined", "dynamic_lookup", "-framework", "Accelerate"] : ["-lopenblas", "-lm"]),
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
