// safetensors reader/writer against the format's public test vectors and hand-computed dtype bits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  float16ToFloat32,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "../src/model/safetensors";
import type { WeightMap } from "../src/model/types";

const bytes = (s: string) => Uint8Array.from(Buffer.from(s, "latin1"));
const zeros16 = "\x00".repeat(16);

// huggingface/safetensors, bindings/python/tests/test_pt_comparison.py, test_in_memory: a float32 zeros((2,2))
// saved by Python is exactly these bytes (header padded with 4 spaces to 64 = '@').
const PY_F32_ZEROS = `@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}    ${zeros16}`;
// huggingface/safetensors, bindings/python/tests/test_simple.py, test_deserialization (older, unpadded header):
const PY_I32_ZEROS = `<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}${zeros16}`;
// Same file, test_serialization after data[1, 1] = 1:
const PY_I32_ONE = `<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}${"\x00".repeat(12)}\x01\x00\x00\x00`;
// Same vector with metadata (quoted in elixir-nx/safetensors test/safetensors_test.exs from test_simple.py):
const PY_I32_META = `f\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       ${zeros16}`;

test("writer output equals Python safetensors byte for byte (F32 zeros 2x2)", () => {
  const w: WeightMap = new Map([["test", { shape: [2, 2], data: new Float32Array(4) }]]);
  assert.deepEqual(Buffer.from(serializeSafetensors(w)), Buffer.from(bytes(PY_F32_ZEROS)));
});

test("reader parses the public vectors", () => {
  const a = parseSafetensors(bytes(PY_F32_ZEROS));
  assert.deepEqual([...a.tensors.keys()], ["test"]);
  assert.deepEqual(a.tensors.get("test")?.shape, [2, 2]);
  assert.deepEqual([...(a.tensors.get("test")?.data ?? [])], [0, 0, 0, 0]);
  assert.equal(a.dtypes.get("test"), "F32");

  assert.deepEqual([...(parseSafetensors(bytes(PY_I32_ZEROS)).tensors.get("test")?.data ?? [])], [0, 0, 0, 0]);
  assert.deepEqual([...(parseSafetensors(bytes(PY_I32_ONE)).tensors.get("test")?.data ?? [])], [0, 0, 0, 1]);
  const m = parseSafetensors(bytes(PY_I32_META));
  assert.deepEqual(m.metadata, { framework: "pt" });
  assert.deepEqual([...m.tensors.keys()], ["test1"]);
});

test("fp16 and bf16 are widened exactly (hand-computed bit patterns)", () => {
  // IEEE half: 0x3C00 = 1, 0xC000 = -2, 0x7BFF = 65504 (max), 0x0001 = 2^-24 (smallest subnormal), 0x7C00 = +inf.
  assert.equal(float16ToFloat32(0x3c00), 1);
  assert.equal(float16ToFloat32(0xc000), -2);
  assert.equal(float16ToFloat32(0x7bff), 65504);
  assert.equal(float16ToFloat32(0x0001), 2 ** -24);
  assert.equal(float16ToFloat32(0x7c00), Infinity);
  assert.ok(Number.isNaN(float16ToFloat32(0x7e00)));
  const f16 = [0x3c00, 0xc000, 0x3555]; // 0x3555 = 1 + 341/1024 times 2^-2 = 0.333251953125
  const bf16 = [0x3f80, 0x4049, 0xc2f7]; // float32 0x3F800000 = 1, 0x40490000 = 3.140625, 0xC2F70000 = -123.5
  const header = JSON.stringify({
    __metadata__: { format: "pt" },
    h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
    b: { dtype: "BF16", shape: [3], data_offsets: [6, 12] },
  });
  const hb = Buffer.from(header);
  const buf = Buffer.alloc(8 + hb.length + 12);
  buf.writeBigUInt64LE(BigInt(hb.length), 0);
  hb.copy(buf, 8);
  [...f16, ...bf16].forEach((v, i) => buf.writeUInt16LE(v, 8 + hb.length + 2 * i));
  const r = parseSafetensors(buf);
  assert.deepEqual([...(r.tensors.get("h")?.data ?? [])], [1, -2, 0.333251953125]);
  assert.deepEqual([...(r.tensors.get("b")?.data ?? [])], [1, 3.140625, -123.5]);
  assert.equal(r.dtypes.get("b"), "BF16");
});

test("round trip through a file is exact and the write is atomic (no temp file left)", () => {
  const dir = mkdtempSync(join(tmpdir(), "st-"));
  const w: WeightMap = new Map([
    ["z.weight", { shape: [2, 3], data: Float32Array.from([1.5, -2.25, 3e-8, 1e30, -0, 7]) }],
    ["a.bias", { shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) }],
    ["scalar", { shape: [], data: Float32Array.from([42]) }],
  ]);
  const path = join(dir, "model.safetensors");
  writeSafetensors(path, w);
  assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
  const r = readSafetensors(path);
  assert.deepEqual(r.metadata, { format: "pt" });
  for (const [name, t] of w) {
    assert.deepEqual(r.tensors.get(name)?.shape, t.shape);
    assert.deepEqual(Buffer.from(r.tensors.get(name)!.data.buffer), Buffer.from(t.data.buffer), name);
  }
  // Header order: __metadata__, then names sorted, offsets contiguous.
  const raw = readFileSync(path);
  const n = Number(raw.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  assert.match(
    raw.subarray(8, 8 + n).toString(),
    /^\{"__metadata__":\{"format":"pt"\},"a\.bias":\{"dtype":"F32","shape":\[3\],"data_offsets":\[0,12\]\},"scalar"/,
  );
});

test("corrupt and truncated files give errors that name the file and the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "st-bad-"));
  const good = Buffer.from(bytes(PY_F32_ZEROS));
  const cases: [string, Buffer, RegExp][] = [
    ["short.safetensors", good.subarray(0, 5), /shorter than the 8-byte header length/],
    [
      "truncated.safetensors",
      good.subarray(0, good.length - 4),
      /data block is 12 bytes but the tensors need 16 \(file truncated\)/,
    ],
    ["cut-header.safetensors", good.subarray(0, 40), /header length 64 runs past the end/],
    ["huge-header.safetensors", Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), good.subarray(8)]), /exceeds/],
    ["not-json.safetensors", Buffer.from(good).fill(0x41, 9, 12), /not valid UTF-8 JSON|does not start/],
    ["extra.safetensors", Buffer.concat([good, Buffer.alloc(4)]), /use only 16/],
  ];
  const badDtype = Buffer.from(PY_F32_ZEROS.replace('"F32"', '"F99"'), "latin1");
  cases.push(["dtype.safetensors", badDtype, /unsupported dtype "F99"/]);
  const badSize = Buffer.from(PY_F32_ZEROS.replace("[2,2]", "[2,3]"), "latin1");
  cases.push(["size.safetensors", badSize, /needs 24 bytes but data_offsets \[0, 16\] span 16/]);
  for (const [name, data, re] of cases) {
    const p = join(dir, name);
    writeFileSync(p, data);
    assert.throws(
      () => readSafetensors(p),
      (err: Error) => {
        assert.ok(err.message.startsWith(p), `${name}: message should start with the path: ${err.message}`);
        assert.match(err.message, re, name);
        return true;
      },
    );
  }
  assert.throws(() => readSafetensors(join(dir, "missing.safetensors")), /missing\.safetensors: cannot read/);
});
