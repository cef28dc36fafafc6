// The environment report says which engine encodes: ONNX Runtime with its version and thread count (one per CPU by
// default, COURSE_ONNX_THREADS otherwise), or tfjs with the reason (COURSE_ONNX=0).
import { test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { readConfig } from "../src/env";
import { encodeRuntimeRow } from "../src/course/environment";

test("encode runtime row: ONNX Runtime with threads following the machine, COURSE_ONNX_THREADS, or tfjs when COURSE_ONNX=0", () => {
  const auto = encodeRuntimeRow(readConfig({}));
  assert.equal(auto.component, "encode runtime");
  assert.equal(auto.status, `ONNX Runtime 1.30.0, ${availableParallelism()} thread(s)`);
  assert.match(auto.detail, /training and StaticEmbedding models run on tfjs; threads: one per CPU/);
  assert.equal(encodeRuntimeRow(readConfig({ COURSE_ONNX_THREADS: "3" })).status, "ONNX Runtime 1.30.0, 3 thread(s)");
  const off = encodeRuntimeRow(readConfig({ COURSE_ONNX: "0" }));
  assert.equal(off.status, "tfjs");
  assert.match(off.detail, /COURSE_ONNX=0/);
  assert.throws(
    () => readConfig({ COURSE_ONNX_THREADS: "two" }).onnxThreads,
    /COURSE_ONNX_THREADS=two: expected a positive integer or auto/,
  );
});
