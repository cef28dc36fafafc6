/**
 * HNSW search/build parameters for faiss-node, which has no setter for them: they are patched in
 * the index's own serialisation (toBuffer -> patch -> fromBuffer).
 *
 * Layout of an IndexHNSWFlat (faiss/impl/index_write.cpp, write_index + write_HNSW, little-endian):
 *   "IHNf", index header: d int32, ntotal int64, 2 x int64 unused, is_trained uint8, metric_type
 *   int32 (+ metric_arg float32 when metric_type > 1), then five size-prefixed (uint64 count)
 *   vectors: assign_probas (float64), cum_nneighbor_per_level (int32), levels (int32), offsets
 *   (uint64), neighbors (int32); then entry_point, max_level, efConstruction, efSearch, upper_beam
 *   (int32 each), then the storage index ("IxFI" flat vectors).
 * efConstruction (faiss default 40) is the candidate list while building the graph, efSearch
 * (default 16) while searching: larger = higher recall, slower (Malkov & Yashunin 2016).
 * Every size is checked, so a buffer of another layout is rejected rather than corrupted.
 */

export interface HnswParams {
  efConstruction: number;
  efSearch: number;
}

/** Byte offset of efConstruction in an IndexHNSWFlat buffer (efSearch follows at +4). */
function efOffset(buf: Buffer): number {
  const fail = (why: string): never => {
    throw new Error(`faiss HNSW buffer: ${why}; expected an IndexHNSWFlat written by faiss 1.7 (faiss-node toBuffer).`);
  };
  if (buf.length < 45 || buf.toString("latin1", 0, 4) !== "IHNf")
    fail(`starts with "${buf.toString("latin1", 0, 4)}", not "IHNf"`);
  let o = 4 + 4 + 8 + 16 + 1;
  const metric = buf.readInt32LE(o);
  o += 4 + (metric > 1 ? 4 : 0);
  for (const size of [8, 4, 4, 8, 4]) {
    if (o + 8 > buf.length) fail("truncated graph vectors");
    const n = Number(buf.readBigUInt64LE(o));
    o += 8 + n * size;
  }
  if (o + 24 > buf.length || buf.toString("latin1", o + 20, o + 24) !== "IxFI") fail("no flat storage after the graph");
  return o + 8;
}

export function readHnswParams(buf: Buffer): HnswParams {
  const o = efOffset(buf);
  return { efConstruction: buf.readInt32LE(o), efSearch: buf.readInt32LE(o + 4) };
}

/** A copy of the buffer with the given parameters changed. */
export function withHnswParams(buf: Buffer, params: Partial<HnswParams>): Buffer {
  const o = efOffset(buf);
  const out = Buffer.from(buf);
  for (const [name, value, at] of [
    ["efConstruction", params.efConstruction, o],
    ["efSearch", params.efSearch, o + 4],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) throw new Error(`HNSW ${name}=${value} must be a positive integer.`);
    out.writeInt32LE(value, at);
  }
  return out;
}
