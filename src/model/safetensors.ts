/**
 * safetensors reader and writer (the weight format of Hugging Face models).
 *
 * Layout (https://github.com/huggingface/safetensors, README "Format"):
 *   8 bytes   N, unsigned 64-bit little-endian: the header length
 *   N bytes   JSON header: {"__metadata__": {string: string}?, NAME: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
 *             padded with spaces so that the data starts at a multiple of 8
 *   rest      the tensors' bytes, little-endian, row-major; offsets are relative to the start of this block,
 *             and the tensors tile it exactly (no gaps, no overlap).
 *
 * Reading widens every float dtype (F64, F32, F16, BF16) and the integer dtypes to float32 (HostTensor);
 * old BERT checkpoints carry an I64 buffer `embeddings.position_ids`, so integers are accepted too.
 * Writing produces F32 only, with the header in the same order as the Python reference (`__metadata__`
 * first, then tensors sorted by name; all share one dtype), so our files are byte-identical to Python's
 * for the same tensors. Writes are atomic (temp file in the same folder, then rename).
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../files";
import type { HostTensor, WeightMap } from "./types";

export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The Python reference refuses headers above 100 MB; so do we (a corrupt length would otherwise allocate wildly). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsContents {
  tensors: WeightMap;
  /** The `__metadata__` map (e.g. {"format": "pt"}); empty when absent. */
  metadata: Record<string, string>;
  /** The dtype each tensor had on disk, before widening to float32. */
  dtypes: Map<string, SafetensorsDtype>;
}

/** Thrown for any malformed file; the message starts with the file name. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

/** IEEE 754 half precision bits -> number. */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal (and zero)
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 is the upper half of a float32: shift the bits into place and reinterpret. */
function widenBf16(src: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) outBits[i] = (src[2 * i] | (src[2 * i + 1] << 8)) << 16;
  return out;
}

function widen(dtype: SafetensorsDtype, bytes: Uint8Array, count: number): Float32Array {
  // Copy into a fresh, aligned buffer: the data block need not start at a multiple of the element size.
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const buf = aligned.buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf, 0, count);
    case "F64":
      return Float32Array.from(new Float64Array(buf, 0, count));
    case "F16": {
      const half = new Uint16Array(buf, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = float16ToFloat32(half[i]);
      return out;
    }
    case "BF16":
      return widenBf16(aligned, count);
    case "I64": {
      const v = new BigInt64Array(buf, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(v[i]);
      return out;
    }
    case "I32":
      return Float32Array.from(new Int32Array(buf, 0, count));
    case "I16":
      return Float32Array.from(new Int16Array(buf, 0, count));
    case "I8":
      return Float32Array.from(new Int8Array(buf, 0, count));
    case "U8":
    case "BOOL":
      return Float32Array.from(aligned);
  }
}

function fail(source: string, what: string): never {
  throw new SafetensorsError(
    `${source}: ${what}. The file is not valid safetensors (truncated download or corrupt copy?); delete it and fetch or save it again.`,
  );
}

/** Parses a whole safetensors file held in memory. `source` names the file in error messages. */
export function parseSafetensors(bytes: Uint8Array, source = "<buffer>"): SafetensorsContents {
  if (bytes.length < 8) fail(source, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES))
    fail(source, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLen);
  if (8 + n > bytes.length) fail(source, `header length ${n} runs past the end of the ${bytes.length}-byte file`);
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith("{")) fail(source, "header does not start with '{'");
    header = JSON.parse(text);
  } catch (err) {
    if (err instanceof SafetensorsError) throw err;
    fail(source, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    fail(source, "header is not a JSON object");

  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        fail(source, "__metadata__ is not an object");
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(source, `__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== "object" || info === null) fail(source, `tensor "${name}": entry is not an object`);
    if (typeof info.dtype !== "string" || !(info.dtype in DTYPE_BYTES))
      fail(
        source,
        `tensor "${name}": unsupported dtype ${JSON.stringify(info.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(", ")})`,
      );
    const dtype = info.dtype as SafetensorsDtype;
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(source, `tensor "${name}": shape ${JSON.stringify(info.shape)} is not a list of non-negative integers`);
    const off = info.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      off[0] > off[1]
    )
      fail(source, `tensor "${name}": data_offsets ${JSON.stringify(off)} is not [begin, end] with 0 <= begin <= end`);
    const shape = info.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = off as [number, number];
    if (end - begin !== count * DTYPE_BYTES[dtype])
      fail(
        source,
        `tensor "${name}": ${dtype} shape [${shape}] needs ${count * DTYPE_BYTES[dtype]} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    entries.push({ name, dtype, shape, begin, end });
  }
  // The tensors must tile the data block exactly, as the reference implementation checks.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor)
      fail(
        source,
        `tensor "${e.name}" starts at byte ${e.begin} of the data block, expected ${cursor} (gap or overlap)`,
      );
    cursor = e.end;
  }
  if (cursor !== dataLen)
    fail(
      source,
      cursor > dataLen
        ? `data block is ${dataLen} bytes but the tensors need ${cursor} (file truncated)`
        : `data block is ${dataLen} bytes but the tensors use only ${cursor}`,
    );

  const tensors: WeightMap = new Map();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const e of entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    tensors.set(e.name, {
      shape: e.shape,
      data: widen(e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end), count),
    });
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, metadata, dtypes };
}

/** Reads a .safetensors file; errors name the file and what is wrong with it. */
export function readSafetensors(path: string): SafetensorsContents {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new SafetensorsError(`${path}: cannot read (${(err as Error).message}).`);
  }
  return parseSafetensors(bytes, path);
}

/**
 * Serialises float32 tensors. Header: `__metadata__` (if any) first, then tensors in name order, compact
 * JSON, padded with spaces to a multiple of 8 bytes — the same bytes Python's safetensors writes.
 */
export function serializeSafetensors(tensors: WeightMap, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name) as HostTensor;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new Error(
        `serializeSafetensors: tensor "${name}" has shape [${t.shape}] (${count} values) but ${t.data.length} values.`,
      );
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const t = tensors.get(name) as HostTensor;
    // Float32Array is little-endian on every platform Node supports (x64, arm64).
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Writes tensors as an F32 safetensors file, atomically. Metadata defaults to {"format": "pt"} as transformers writes. */
export function writeSafetensors(
  path: string,
  tensors: WeightMap,
  metadata: Record<string, string> = { format: "pt" },
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
