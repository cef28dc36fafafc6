import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { backendInfo, initBackend, tf } from "../src/backend";
import { nativeMatMulPath, nativeMatMulStale } from "../src/native/build";

test("the best available backend is chosen and reported", async () => {
  const info = await initBackend();
  assert.ok(["tensorflow", "wasm", "cpu"].includes(info.name));
  assert.equal(tf.getBackend(), info.name);
  assert.equal(backendInfo(), info);
  // On a machine without tfjs-node the notes say why the native backend was skipped.
  if (info.name !== "tensorflow") assert.ok(info.notes.some((n) => n.includes("@tensorflow/tfjs-node")));
  // The chosen backend computes: [[1,2],[3,4]] x [[5],[6]] = [[17],[39]].
  const y = tf.matMul(
    tf.tensor2d([
      [1, 2],
      [3, 4],
    ]),
    tf.tensor2d([[5], [6]]),
  );
  assert.deepEqual(await y.array(), [[17], [39]]);
});

test("a forced backend is used, and forcing one that cannot load is an error", async () => {
  const cpu = await initBackend("cpu");
  assert.equal(cpu.name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  let nativeLoads = true;
  try {
    require("@tensorflow/tfjs-node");
  } catch {
    nativeLoads = false;
  }
  if (!nativeLoads)
    await assert.rejects(initBackend("tensorflow"), /COURSE_BACKEND=tensorflow: that backend could not be loaded/);
});

// Plain scripts in a child process, as a course participant runs them (node --import tsx script.ts).
const root = join(__dirname, "..");
const child = join(__dirname, "fixtures/backend/child.ts");
const noWasm = join(__dirname, "fixtures/backend/no-wasm.cjs");

function runChild(scenario: string, options: { env?: Record<string, string>; preload?: string } = {}) {
  const args = [...(options.preload ? ["--require", options.preload] : []), "--import", "tsx", child, scenario];
  const env = { ...process.env, COURSE_BACKEND: "", ...options.env };
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", timeout: 120_000, env });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    result: last.startsWith("{") ? JSON.parse(last) : undefined,
  };
}

test("two loadModel calls at once (Promise.all) initialise the backend once and stay on wasm", () => {
  const r = runChild("two-loads");
  assert.equal(r.status, 0, r.stderr);
  const best = runChild("backend").result.backend; // what one call picks: wasm, or tensorflow where tfjs-node loads
  assert.notEqual(best, "cpu");
  assert.deepEqual(r.result, { backend: best, info: best, dims: [256, 256, 128, 256, 128] });
});

test("falling back to cpu is never silent; a backend asked for by name that cannot load is an error", () => {
  const fallback = runChild("backend", { preload: noWasm });
  assert.equal(fallback.status, 0, fallback.stderr);
  assert.equal(fallback.result.backend, "cpu");
  assert.match(fallback.stderr, /falling back to the pure-JS "cpu" backend.*tfjs-backend-wasm not usable/s);
  const forced = runChild("backend", { preload: noWasm, env: { COURSE_BACKEND: "wasm" } });
  assert.notEqual(forced.status, 0);
  assert.match(forced.stderr, /COURSE_BACKEND=wasm: that backend could not be loaded/);
  const chosen = runChild("backend", { preload: noWasm, env: { COURSE_BACKEND: "cpu" } });
  assert.equal(chosen.result.backend, "cpu");
  assert.doesNotMatch(chosen.stderr, /falling back/);
});

test("building a model changes no tfjs kernel; choosing the backend turns the native kernels on or off", () => {
  const r = runChild("build-model");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.result.before, { tfjsKernel: true, native: "enableNativeMatMul() not called" });
  assert.deepEqual(r.result.same, [true, true]); // models built before the backend encode as those built after
  if (r.result.backend !== "tensorflow" && existsSync(nativeMatMulPath()) && !nativeMatMulStale()) {
    assert.deepEqual(r.result.after, { active: true, tfjsKernel: false });
    const off = runChild("backend", { env: { COURSE_NATIVE_MATMUL: "0" } });
    assert.equal(off.result.native.active, false);
    assert.match(off.result.native.reason, /COURSE_NATIVE_MATMUL=0/);
  }
});

for (const scenario of ["throw-async", "throw-sync"]) {
  test(`an uncaught error in a plain script (${scenario}) prints its message and a short stack, exit code 1`, () => {
    const r = runChild(scenario);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /Error: boom: (async|uncaught) failure in a user script/);
    assert.match(r.stderr, /child\.ts:\d+/); // the stack points at the script's own .ts lines
    assert.ok(r.stderr.length < 2000, `stderr is ${r.stderr.length} characters:\n${r.stderr.slice(0, 500)}`);
    assert.doesNotMatch(r.stderr, /ExitStatus|WasmBackendModule/);
  });
}
