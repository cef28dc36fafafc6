import { test } from "node:test";
import assert from "node:assert/strict";
import { backendInfo, initBackend, tf } from "../src/backend";

test("the best available backend is chosen and reported", async () => {
  const info = await initBackend();
  assert.ok(["tensorflow", "wasm", "cpu"].includes(info.name));
  assert.equal(tf.getBackend(), info.name);
  assert.equal(backendInfo(), info);
  // On a machine without tfjs-node the notes say why the native backend was skipped.
  if (info.name !== "tensorflow") assert.ok(info.notes.some((n) => n.includes("@tensorflow/tfjs-node")));
  // The chosen backend computes: [[1,2],[3,4]] x [[5],[6]] = [[17],[39]].
  const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
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
  if (!nativeLoads) await assert.rejects(initBackend("tensorflow"), /COURSE_BACKEND=tensorflow: that backend could not be loaded/);
});
