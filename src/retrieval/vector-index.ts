/**
 * A vector index over document embeddings, keyed by document id, in memory: the default `VectorStore`
 * (./vector-store). `VectorIndex.create / fromVectors / load` pick one implementation, each in its own file:
 *
 * - ./faiss-flat-index  "flat" (default): exact maximum-inner-product search, faiss IndexFlatIP. On
 *   L2-normalised vectors the inner product is the cosine similarity.
 * - ./faiss-hnsw-index  "hnsw": approximate search, faiss HNSW<M>,Flat (efConstruction 40, efSearch 16 by
 *   default, settable through ./faiss-hnsw). `recallAgainstExact` measures what it loses.
 * - ./typescript-index  faiss-node is loaded lazily (./faiss); without it the plain TypeScript search in
 *   ./exact-search gives the same ranking (an "hnsw" index then searches exactly, and `notes` says so).
 *
 * What they share — ids beside the vectors, the float32 copy, metadata, save() and its one-file format — is
 * ./memory-index. A persistent store is ./lancedb-store.
 */
import { readFileSync } from "node:fs";
import type { Embeddings } from "../model/types";
import { loadFaiss } from "./faiss";
import { FaissFlatIndex } from "./faiss-flat-index";
import { FaissHnswIndex } from "./faiss-hnsw-index";
import {
  FORMAT_VERSION,
  type IndexKind,
  LITTLE_ENDIAN,
  MAGIC,
  type MemoryIndex,
  type ResolvedIndexOptions,
  type VectorIndexOptions,
} from "./memory-index";
import { TypeScriptIndex } from "./typescript-index";

export type { Implementation, IndexKind, VectorIndexOptions, VectorsInput } from "./memory-index";
export { toMatrix } from "./memory-index";
export { flatIndexBytes } from "./faiss-flat-index";

/** An in-memory index: faiss flat, faiss HNSW or TypeScript (see the header). */
export type VectorIndex = MemoryIndex;

function resolveOptions(dim: number, options: VectorIndexOptions): ResolvedIndexOptions {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`VectorIndex: dimension ${dim} must be a positive integer.`);
  const kind = options.kind ?? "flat";
  if (kind !== "flat" && kind !== "hnsw")
    throw new Error(`VectorIndex: kind "${String(kind)}" must be "flat" or "hnsw".`);
  const hnswM = options.hnswM ?? 32;
  if (!Number.isInteger(hnswM) || hnswM < 2) throw new Error(`VectorIndex: hnswM=${hnswM} must be an integer >= 2.`);
  return { kind, hnswM, efConstruction: options.efConstruction ?? 40, efSearch: options.efSearch ?? 16 };
}

/** faiss-node (or why not) for the implementation asked; the notes say which and why. */
function chooseFaiss(want: VectorIndexOptions["implementation"]): {
  faiss: ReturnType<typeof loadFaiss>["module"];
  notes: string[];
} {
  if (want === "typescript") return { faiss: undefined, notes: ["TypeScript exact search requested"] };
  const status = loadFaiss();
  if (!status.module && want === "faiss")
    throw new Error(`VectorIndex: implementation "faiss" requested but ${status.reason}.`);
  return { faiss: status.module, notes: [status.reason] };
}

function create(dim: number, options: VectorIndexOptions = {}): VectorIndex {
  const resolved = resolveOptions(dim, options);
  const { faiss, notes } = chooseFaiss(options.implementation ?? "auto");
  if (faiss && resolved.kind === "flat") return new FaissFlatIndex(dim, resolved, notes, faiss);
  if (faiss) return new FaissHnswIndex(dim, resolved, notes, faiss);
  if (resolved.kind === "hnsw") notes.push("HNSW needs faiss-node: this index searches exactly instead");
  return new TypeScriptIndex(dim, resolved, notes);
}

/** Reads a file written by save(). HNSW graphs are restored as saved when faiss-node loads. */
function load(path: string, options: Pick<VectorIndexOptions, "implementation"> = {}): VectorIndex {
  const bytes = readFileSync(path);
  if (bytes.length < 12 || bytes.subarray(0, 8).toString("ascii") !== MAGIC)
    throw new Error(`${path}: not a vector index file (missing "${MAGIC}" header); write it with VectorIndex.save().`);
  const headerLength = bytes.readUInt32LE(8);
  const h = JSON.parse(bytes.subarray(12, 12 + headerLength).toString("utf8")) as {
    version: number;
    dim: number;
    count: number;
    kind: IndexKind;
    hnswM: number;
    efConstruction: number;
    efSearch: number;
    faissBytes: number;
    ids: string[];
  };
  if (h.version !== FORMAT_VERSION)
    throw new Error(`${path}: index format version ${h.version}, this code reads ${FORMAT_VERSION}.`);
  const start = 12 + headerLength;
  const vectorBytes = h.count * h.dim * 4;
  if (bytes.length !== start + vectorBytes + h.faissBytes || h.ids.length !== h.count)
    throw new Error(
      `${path}: truncated or corrupt (size ${bytes.length}, header says ${h.count} x ${h.dim} vectors and ${h.faissBytes} faiss bytes).`,
    );
  const data = new Float32Array(h.count * h.dim);
  if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes.subarray(start, start + vectorBytes));
  else for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(start + 4 * i);
  const opts: VectorIndexOptions = {
    kind: h.kind,
    hnswM: h.hnswM,
    efConstruction: h.efConstruction,
    efSearch: h.efSearch,
    implementation: options.implementation,
  };
  if (h.faissBytes > 0 && options.implementation !== "typescript") {
    const { faiss, notes } = chooseFaiss(options.implementation ?? "auto");
    if (faiss) {
      const saved = Buffer.from(bytes.subarray(start + vectorBytes));
      return FaissHnswIndex.restore(h.dim, resolveOptions(h.dim, opts), notes, faiss, saved, h.ids, data);
    }
  }
  const index = create(h.dim, opts);
  index.add(h.ids, { count: h.count, dim: h.dim, data });
  return index;
}

/** Builds in-memory indexes: `VectorIndex.create(dim, options)`, `.fromVectors(ids, vectors)`, `.load(path)`. */
export const VectorIndex = {
  /** An empty index for vectors of dimension `dim`. */
  create,
  /** An index holding `vectors` under `ids` (row i is ids[i]). */
  fromVectors(ids: string[], vectors: Embeddings, options: VectorIndexOptions = {}): VectorIndex {
    const index = create(vectors.dim, options);
    index.add(ids, vectors);
    return index;
  },
  load,
};
