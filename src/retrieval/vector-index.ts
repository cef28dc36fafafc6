/**
 * A vector index over document embeddings, keyed by document id.
 *
 * - "flat" (default): exact maximum-inner-product search, faiss IndexFlatIP. On L2-normalised
 *   vectors the inner product is the cosine similarity.
 * - "hnsw": approximate search, faiss `Index.fromFactory(d, "HNSW<M>,Flat", METRIC_INNER_PRODUCT)`
 *   (Malkov & Yashunin 2016; faiss defaults efConstruction 40, efSearch 16, settable here through
 *   ./faiss-hnsw). `recallAgainstExact` measures what it loses.
 *
 * faiss-node is loaded lazily (./faiss); without it the plain TypeScript search in ./exact-search
 * gives the same ranking (an "hnsw" index then searches exactly, and `notes` says so).
 * faiss has no add_with_ids here, so ids are kept beside it: row i of the index is ids[i].
 * The float32 vectors are kept too: they serve the fallback, exact recall checks and save().
 *
 * File format (save/load, one file, written atomically): "TSVECIDX" magic, u32 LE header length,
 * JSON header {version, dim, count, kind, hnswM, efConstruction, efSearch, faissBytes, ids}, count*dim float32 LE vectors,
 * then the faiss index buffer (HNSW only, so the graph is restored as built) when faissBytes > 0.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { endianness } from "node:os";
import type { Embeddings } from "../model/types";
import { exactSearch, type SearchResult } from "./exact-search";
import { loadFaiss, type FaissModule } from "./faiss";
import { checkK, checkUniqueIds, type SearchHit } from "./types";
import { writeFileAtomic } from "../files";
import { withHnswParams } from "./faiss-hnsw";

export type IndexKind = "flat" | "hnsw";
export type Implementation = "faiss" | "typescript";

export interface VectorIndexOptions {
  /** "flat" (exact, default) or "hnsw" (approximate). */
  kind?: IndexKind;
  /** HNSW neighbours per node (default 32, the factory string "HNSW32,Flat"). */
  hnswM?: number;
  /** HNSW candidate list while building (faiss default 40). */
  efConstruction?: number;
  /** HNSW candidate list while searching (faiss default 16); setEfSearch changes it later. */
  efSearch?: number;
  /** "auto" (default): faiss-node when it loads, else TypeScript. */
  implementation?: "auto" | Implementation;
}

/** Vectors as an Embeddings matrix or as rows of numbers. */
export type VectorsInput = Embeddings | ArrayLike<number>[];

type FaissIndex = InstanceType<FaissModule["Index"]>;

const MAGIC = "TSVECIDX";
const FORMAT_VERSION = 1;

/** Checks and copies vectors to a packed float32 matrix; errors name the row and the size. */
export function toMatrix(what: string, vectors: VectorsInput, dim: number): { data: Float32Array; count: number } {
  let data: Float32Array;
  let count: number;
  if (Array.isArray(vectors)) {
    count = vectors.length;
    data = new Float32Array(count * dim);
    vectors.forEach((row, i) => {
      if (row.length !== dim)
        throw new Error(`${what}: vector ${i} has dimension ${row.length}, the index has ${dim}.`);
      for (let t = 0; t < dim; t++) data[i * dim + t] = row[t];
    });
  } else {
    const e = vectors as Embeddings;
    if (e.dim !== dim) throw new Error(`${what}: vectors have dimension ${e.dim}, the index has ${dim}.`);
    if (e.data.length !== e.count * e.dim)
      throw new Error(`${what}: data holds ${e.data.length} numbers, expected count*dim = ${e.count}*${e.dim}.`);
    count = e.count;
    data = Float32Array.from(e.data);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]))
      throw new Error(
        `${what}: vector ${Math.floor(i / dim)} has a non-finite value (${data[i]}) at position ${i % dim}.`,
      );
  }
  return { data, count };
}

export class VectorIndex {
  readonly dim: number;
  readonly kind: IndexKind;
  readonly hnswM: number;
  readonly efConstruction: number;
  private efSearchValue: number;
  /** Which code searches: "faiss" or "typescript". */
  readonly implementation: Implementation;
  /** Why this implementation (e.g. faiss-node missing), for display. */
  readonly notes: string[];
  private readonly faiss: FaissModule | undefined;
  private native: FaissIndex | undefined;
  private vectors: Float32Array;
  private count = 0;
  private readonly idList: string[] = [];
  private readonly positions = new Map<string, number>();

  private constructor(dim: number, options: VectorIndexOptions, nativeBuffer?: Buffer) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`VectorIndex: dimension ${dim} must be a positive integer.`);
    this.dim = dim;
    this.kind = options.kind ?? "flat";
    if (this.kind !== "flat" && this.kind !== "hnsw")
      throw new Error(`VectorIndex: kind "${String(this.kind)}" must be "flat" or "hnsw".`);
    this.hnswM = options.hnswM ?? 32;
    if (!Number.isInteger(this.hnswM) || this.hnswM < 2)
      throw new Error(`VectorIndex: hnswM=${this.hnswM} must be an integer >= 2.`);
    this.efConstruction = options.efConstruction ?? 40;
    this.efSearchValue = options.efSearch ?? 16;
    this.vectors = new Float32Array(dim * 1024);
    this.notes = [];
    const want = options.implementation ?? "auto";
    if (want !== "typescript") {
      const status = loadFaiss();
      if (!status.module && want === "faiss")
        throw new Error(`VectorIndex: implementation "faiss" requested but ${status.reason}.`);
      this.faiss = status.module;
      this.notes.push(status.reason);
    } else {
      this.notes.push("TypeScript exact search requested");
    }
    this.implementation = this.faiss ? "faiss" : "typescript";
    if (this.faiss) {
      const f = this.faiss;
      if (nativeBuffer) this.native = f.Index.fromBuffer(nativeBuffer);
      else if (this.kind === "flat") this.native = new f.IndexFlatIP(dim);
      else {
        const empty = f.Index.fromFactory(dim, `HNSW${this.hnswM},Flat`, f.MetricType.METRIC_INNER_PRODUCT);
        const params = { efConstruction: this.efConstruction, efSearch: this.efSearchValue };
        this.native = f.Index.fromBuffer(withHnswParams(empty.toBuffer(), params));
      }
    } else if (this.kind === "hnsw") {
      this.notes.push("HNSW needs faiss-node: this index searches exactly instead");
    }
  }

  /** An empty index for vectors of dimension `dim`. */
  static create(dim: number, options: VectorIndexOptions = {}): VectorIndex {
    return new VectorIndex(dim, options);
  }

  /** An index holding `vectors` under `ids` (row i is ids[i]). */
  static fromVectors(ids: string[], vectors: Embeddings, options: VectorIndexOptions = {}): VectorIndex {
    const index = new VectorIndex(vectors.dim, options);
    index.add(ids, vectors);
    return index;
  }

  get size(): number {
    return this.count;
  }

  /** Document ids in insertion order. */
  get ids(): readonly string[] {
    return this.idList;
  }

  /** HNSW candidate list while searching (unused by flat indexes). */
  get efSearch(): number {
    return this.efSearchValue;
  }

  /**
   * Changes HNSW's efSearch: higher recall, slower search. faiss-node has no setter, so the
   * index goes through its serialisation once (./faiss-hnsw).
   */
  setEfSearch(efSearch: number): void {
    if (this.kind !== "hnsw") throw new Error("VectorIndex.setEfSearch: only HNSW indexes have efSearch.");
    if (this.native && this.faiss)
      this.native = this.faiss.Index.fromBuffer(withHnswParams(this.native.toBuffer(), { efSearch }));
    else if (!Number.isInteger(efSearch) || efSearch < 1)
      throw new Error(`HNSW efSearch=${efSearch} must be a positive integer.`);
    this.efSearchValue = efSearch;
  }

  /** One line for display, e.g. "flat, faiss, 10000 x 384". */
  describe(): string {
    const kind = this.kind === "hnsw" ? `HNSW${this.hnswM} (efSearch ${this.efSearchValue})` : "flat (exact)";
    return `${kind}, ${this.implementation}, ${this.count} x ${this.dim}`;
  }

  /** Appends vectors (incremental add). Ids must be new; vectors must have the index's dimension. */
  add(ids: string[], vectors: VectorsInput): void {
    const { data, count } = toMatrix("VectorIndex.add", vectors, this.dim);
    if (ids.length !== count)
      throw new Error(`VectorIndex.add: ${ids.length} ids for ${count} vectors; give one id per vector.`);
    checkUniqueIds("VectorIndex.add", ids, this.positions);
    const needed = (this.count + count) * this.dim;
    if (needed > this.vectors.length) {
      const grown = new Float32Array(Math.max(needed, this.vectors.length * 2));
      grown.set(this.vectors.subarray(0, this.count * this.dim));
      this.vectors = grown;
    }
    this.vectors.set(data, this.count * this.dim);
    if (this.native && count > 0) {
      if (this.kind === "flat" && this.faiss && LITTLE_ENDIAN && count >= 64) {
        // Rebuilt from bytes (a few memcpy of the whole index) instead of add(number[]), which
        // converts element by element (~0.5 us each); small batches are cheaper through add().
        this.native = this.faiss.IndexFlatIP.fromBuffer(
          flatIndexBytes(this.dim, this.vectors.subarray(0, (this.count + count) * this.dim)),
        );
      } else {
        this.native.add(toNumberArray(data));
      }
    }
    ids.forEach((id, i) => {
      this.positions.set(id, this.count + i);
      this.idList.push(id);
    });
    this.count += count;
  }

  /** The stored vector of a document (a copy), or undefined for an unknown id. */
  vector(id: string): Float32Array | undefined {
    const p = this.positions.get(id);
    return p === undefined ? undefined : this.vectors.slice(p * this.dim, (p + 1) * this.dim);
  }

  /** Top-k by inner product for each query row, positions and scores (see ./exact-search). */
  searchPositions(queries: VectorsInput, k: number): SearchResult {
    checkK("VectorIndex.search", k, this.count);
    const { data, count } = toMatrix("VectorIndex.search (queries)", queries, this.dim);
    if (!this.native) return exactSearch(this.vectors, this.count, this.dim, data, count, k);
    return this.nativeSearch(data, count, k);
  }

  /**
   * faiss orders equal scores arbitrarily and, at the cut-off, may keep any of a tied group. So we
   * ask for k+1 and, for a query whose (k+1)-th score still equals its k-th, search again with
   * twice the depth until the tied group ends inside the result; then ./types' rule is applied.
   */
  private nativeSearch(data: Float32Array, nq: number, k: number): SearchResult {
    const native = this.native!;
    const depth = Math.min(this.count, k + 1);
    const raw = native.search(toNumberArray(data), depth);
    const rows: { labels: number[]; distances: number[] }[] = [];
    for (let q = 0; q < nq; q++) {
      let labels = raw.labels.slice(q * depth, (q + 1) * depth);
      let distances = raw.distances.slice(q * depth, (q + 1) * depth);
      let d = depth;
      while (d < this.count && d > k && labels[k - 1] >= 0 && distances[d - 1] === distances[k - 1]) {
        d = Math.min(this.count, 2 * d);
        const again = native.search(toNumberArray(data.subarray(q * this.dim, (q + 1) * this.dim)), d);
        labels = again.labels;
        distances = again.distances;
      }
      rows.push({ labels, distances });
    }
    return reorder(rows, k);
  }

  /** Top-k hits (document ids and scores) for each query row, best first. */
  search(queries: VectorsInput, k: number): SearchHit[][] {
    const r = this.searchPositions(queries, k);
    const out: SearchHit[][] = [];
    for (let q = 0; q < r.indices.length / k; q++) {
      const hits: SearchHit[] = [];
      for (let j = 0; j < k; j++) {
        const p = r.indices[q * k + j];
        if (p >= 0) hits.push({ id: this.idList[p], score: r.scores[q * k + j] });
      }
      out.push(hits);
    }
    return out;
  }

  /** Exact top-k over the stored vectors, whatever the kind (faiss flat when available, else TypeScript). */
  exactSearchPositions(queries: VectorsInput, k: number): SearchResult {
    if (this.kind === "flat" || !this.native) return this.searchPositions(queries, k);
    const flat = new VectorIndex(this.dim, { kind: "flat", implementation: this.implementation });
    flat.add(this.idList.slice(), {
      count: this.count,
      dim: this.dim,
      data: this.vectors.subarray(0, this.count * this.dim),
    });
    return flat.searchPositions(queries, k);
  }

  /**
   * Mean over queries of |approximate top-k ∩ exact top-k| / k: 1 for a flat index, below 1 when
   * HNSW misses true neighbours.
   */
  recallAgainstExact(queries: VectorsInput, k: number): number {
    const approx = this.searchPositions(queries, k);
    const exact = this.exactSearchPositions(queries, k);
    const nq = approx.indices.length / k;
    let total = 0;
    for (let q = 0; q < nq; q++) {
      const truth = new Set(exact.indices.subarray(q * k, (q + 1) * k));
      let found = 0;
      for (let j = 0; j < k; j++) if (truth.has(approx.indices[q * k + j])) found++;
      total += found / k;
    }
    return nq === 0 ? 0 : total / nq;
  }

  /**
   * Writes the index, its ids and vectors to one file, atomically (temp file + rename). An existing file that
   * is not a vector index (no "TSVECIDX" header) is refused unless `overwrite: true`: save never replaces a
   * file this library did not write.
   */
  save(path: string, options: { overwrite?: boolean } = {}): void {
    if (!options.overwrite && existsSync(path) && statSync(path).isFile()) {
      const head = Buffer.alloc(MAGIC.length);
      const fd = openSync(path, "r");
      try {
        readSync(fd, head, 0, MAGIC.length, 0);
      } finally {
        closeSync(fd);
      }
      if (head.toString("ascii") !== MAGIC)
        throw new Error(
          `${path} exists and is not a vector index file (no "${MAGIC}" header); saving would replace it. ` +
            "Choose another path, or pass { overwrite: true } to replace it.",
        );
    }
    const nativeBytes = this.kind === "hnsw" && this.native ? this.native.toBuffer() : Buffer.alloc(0);
    const header = Buffer.from(
      JSON.stringify({
        version: FORMAT_VERSION,
        dim: this.dim,
        count: this.count,
        kind: this.kind,
        hnswM: this.hnswM,
        efConstruction: this.efConstruction,
        efSearch: this.efSearchValue,
        faissBytes: nativeBytes.length,
        ids: this.idList,
      }),
      "utf8",
    );
    const lengthField = Buffer.alloc(4);
    lengthField.writeUInt32LE(header.length, 0);
    let vectors = Buffer.from(this.vectors.buffer, this.vectors.byteOffset, this.count * this.dim * 4);
    if (!LITTLE_ENDIAN) {
      vectors = Buffer.alloc(this.count * this.dim * 4);
      for (let i = 0; i < this.count * this.dim; i++) vectors.writeFloatLE(this.vectors[i], 4 * i);
    }
    writeFileAtomic(path, Buffer.concat([Buffer.from(MAGIC, "ascii"), lengthField, header, vectors, nativeBytes]));
  }

  /** Reads a file written by save(). HNSW graphs are restored as saved when faiss-node loads. */
  static load(path: string, options: Pick<VectorIndexOptions, "implementation"> = {}): VectorIndex {
    const bytes = readFileSync(path);
    if (bytes.length < 12 || bytes.subarray(0, 8).toString("ascii") !== MAGIC)
      throw new Error(
        `${path}: not a vector index file (missing "${MAGIC}" header); write it with VectorIndex.save().`,
      );
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
    if (h.faissBytes > 0 && options.implementation !== "typescript" && loadFaiss().module) {
      const index = new VectorIndex(h.dim, opts, Buffer.from(bytes.subarray(start + vectorBytes)));
      index.registerWithoutNative(h.ids, data);
      return index;
    }
    const index = new VectorIndex(h.dim, opts);
    index.add(h.ids, { count: h.count, dim: h.dim, data });
    return index;
  }

  /** load(): the native index already holds the vectors; record ids and the float copy only. */
  private registerWithoutNative(ids: string[], data: Float32Array): void {
    const native = this.native;
    this.native = undefined;
    this.add(ids, { count: ids.length, dim: this.dim, data });
    this.native = native;
    if (native && native.ntotal() !== this.count)
      throw new Error(
        `VectorIndex.load: the faiss index holds ${native.ntotal()} vectors but the file lists ${this.count} ids.`,
      );
  }
}

const LITTLE_ENDIAN = endianness() === "LE";

/**
 * faiss-node takes vectors only as number[]; a preallocated array filled in a loop is several
 * times faster to build than Array.from(Float32Array).
 */
function toNumberArray(data: Float32Array): number[] {
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i];
  return out;
}

/**
 * An IndexFlatIP in faiss's own serialisation (faiss/impl/index_write.cpp, little-endian):
 * "IxFI", d (int32), ntotal (int64), two unused int64 (1 << 20), is_trained (uint8 1),
 * metric_type (int32, 0 = inner product), then the vectors as a size-prefixed (uint64) float32 array.
 */
export function flatIndexBytes(dim: number, vectors: Float32Array): Buffer {
  const count = vectors.length / dim;
  const header = Buffer.alloc(45);
  header.write("IxFI", 0, "ascii");
  header.writeInt32LE(dim, 4);
  header.writeBigInt64LE(BigInt(count), 8);
  header.writeBigInt64LE(1n << 20n, 16);
  header.writeBigInt64LE(1n << 20n, 24);
  header.writeUInt8(1, 32);
  header.writeInt32LE(0, 33);
  header.writeBigUInt64LE(BigInt(vectors.length), 37);
  return Buffer.concat([header, Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength)]);
}

/** Applies the tie rule (./types) to faiss's rows and keeps the first k of each. */
function reorder(rows: { labels: number[]; distances: number[] }[], k: number): SearchResult {
  const indices = new Int32Array(rows.length * k).fill(-1);
  const scores = new Float32Array(rows.length * k);
  rows.forEach(({ labels, distances }, q) => {
    const order = labels.map((_, j) => j).filter((j) => labels[j] >= 0);
    order.sort((a, b) => distances[b] - distances[a] || labels[a] - labels[b]);
    order.slice(0, k).forEach((j, r) => {
      indices[q * k + r] = labels[j];
      scores[q * k + r] = distances[j];
    });
  });
  return { indices, scores, k };
}
