/**
 * What the in-memory vector indexes share (./vector-index picks one): the ids beside the vectors (faiss has no
 * add_with_ids here, so row i of the index is ids[i]), a float32 copy of the vectors (it serves the TypeScript
 * search, exact recall checks, metadata filters and save()), per-row metadata, and the one-file format.
 * Each implementation — ./faiss-flat-index, ./faiss-hnsw-index, ./typescript-index — adds only how its rows
 * are searched and how its native structure follows an add or a delete.
 *
 * File format (save/load, one file, written atomically): "TSVECIDX" magic, u32 LE header length,
 * JSON header {version, dim, count, kind, hnswM, efConstruction, efSearch, faissBytes, ids}, count*dim float32 LE
 * vectors, then the faiss index buffer (HNSW only, so the graph is restored as built) when faissBytes > 0.
 * Metadata lives in memory only (a persistent store with metadata is ./lancedb-store).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { endianness } from "node:os";
import type { Embeddings } from "../model/types";
import { exactSearch, type SearchResult } from "./exact-search";
import { writeFileAtomic } from "../files";
import { checkK, checkUniqueIds, type SearchHit } from "./types";
import {
  checkFilter,
  contentHashesOf,
  matchesFilter,
  type StoreMetadata,
  type StoreSearchOptions,
  type VectorStore,
  type VectorsInput,
} from "./vector-store";

export type { VectorsInput } from "./vector-store";

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

export const MAGIC = "TSVECIDX";
export const FORMAT_VERSION = 1;
export const LITTLE_ENDIAN = endianness() === "LE";

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

/** An add's vectors as a float32 matrix, after checking one id and one metadata row per vector, and new ids. */
export function checkedRows(
  who: string,
  ids: readonly string[],
  vectors: VectorsInput,
  dim: number,
  metadata: readonly unknown[] | undefined,
  existing: ReadonlyMap<string, number>,
): { data: Float32Array; count: number } {
  const { data, count } = toMatrix(who, vectors, dim);
  if (ids.length !== count) throw new Error(`${who}: ${ids.length} ids for ${count} vectors; give one id per vector.`);
  if (metadata && metadata.length !== count)
    throw new Error(`${who}: ${metadata.length} metadata rows for ${count} vectors; give one per vector.`);
  checkUniqueIds(who, ids, existing);
  return { data, count };
}

/** Settings every implementation is built with (checked once by ./vector-index). */
export interface ResolvedIndexOptions {
  kind: IndexKind;
  hnswM: number;
  efConstruction: number;
  efSearch: number;
}

export abstract class MemoryIndex implements VectorStore {
  readonly dim: number;
  readonly kind: IndexKind;
  readonly hnswM: number;
  readonly efConstruction: number;
  protected efSearchValue: number;
  /** Which code searches: "faiss" or "typescript". */
  abstract readonly implementation: Implementation;
  /** Why this implementation (e.g. faiss-node missing), for display. */
  readonly notes: string[];
  protected vectors: Float32Array;
  protected rows = 0;
  private idList: string[] = [];
  private positions = new Map<string, number>();
  private metadataList: (StoreMetadata | undefined)[] = [];
  /** Set while load() registers rows that a restored native index already holds. */
  protected restoring = false;

  protected constructor(dim: number, options: ResolvedIndexOptions, notes: string[]) {
    this.dim = dim;
    this.kind = options.kind;
    this.hnswM = options.hnswM;
    this.efConstruction = options.efConstruction;
    this.efSearchValue = options.efSearch;
    this.vectors = new Float32Array(dim * 1024);
    this.notes = notes;
  }

  /** The native structure after `count` new rows were appended to `vectors` at row `from` (none for TypeScript). */
  protected abstract appendNative(data: Float32Array, count: number, from: number): void;
  /** The native structure rebuilt from `vectors` after a delete. */
  protected abstract rebuildNative(): void;
  /** Top-k positions of each query row over all rows (k already checked). */
  protected abstract searchRows(data: Float32Array, nq: number, k: number): SearchResult;
  /** The native index bytes save() stores after the vectors (HNSW's graph), or an empty buffer. */
  protected nativeBytes(): Buffer {
    return Buffer.alloc(0);
  }

  get size(): number {
    return this.rows;
  }

  /** VectorStore.count: rows held (the same as size; a memory index has no other writer). */
  count(): number {
    return this.rows;
  }

  /** Document ids in insertion order. */
  get ids(): readonly string[] {
    return this.idList;
  }

  /** HNSW candidate list while searching (unused by flat indexes). */
  get efSearch(): number {
    return this.efSearchValue;
  }

  /** Changes HNSW's efSearch: higher recall, slower search. */
  setEfSearch(efSearch: number): void {
    if (this.kind !== "hnsw") throw new Error("VectorIndex.setEfSearch: only HNSW indexes have efSearch.");
    if (!Number.isInteger(efSearch) || efSearch < 1)
      throw new Error(`HNSW efSearch=${efSearch} must be a positive integer.`);
    this.efSearchValue = efSearch;
  }

  /** One line for display, e.g. "flat (exact), faiss, 10000 x 384". */
  describe(): string {
    const kind = this.kind === "hnsw" ? `HNSW${this.hnswM} (efSearch ${this.efSearchValue})` : "flat (exact)";
    return `${kind}, ${this.implementation}, ${this.rows} x ${this.dim}`;
  }

  /**
   * Appends vectors (incremental add), with optional metadata per row (filterable in search, see ./vector-store).
   * Ids must be new; vectors must have the index's dimension.
   */
  add(ids: string[], vectors: VectorsInput, metadata?: readonly (StoreMetadata | undefined)[]): void {
    const { data, count } = checkedRows("VectorIndex.add", ids, vectors, this.dim, metadata, this.positions);
    const needed = (this.rows + count) * this.dim;
    if (needed > this.vectors.length) {
      const grown = new Float32Array(Math.max(needed, this.vectors.length * 2));
      grown.set(this.vectors.subarray(0, this.rows * this.dim));
      this.vectors = grown;
    }
    this.vectors.set(data, this.rows * this.dim);
    if (count > 0 && !this.restoring) this.appendNative(data, count, this.rows);
    ids.forEach((id, i) => {
      this.positions.set(id, this.rows + i);
      this.idList.push(id);
      this.metadataList.push(metadata?.[i]);
    });
    this.rows += count;
  }

  /** Removes documents by id (unknown ids are ignored); the others keep their order. Returns how many went. */
  delete(ids: readonly string[]): number {
    const gone = new Set(ids.filter((id) => this.positions.has(id)));
    if (gone.size === 0) return 0;
    const keep: number[] = [];
    for (let p = 0; p < this.rows; p++) if (!gone.has(this.idList[p])) keep.push(p);
    const vectors = new Float32Array(Math.max(keep.length, 1024) * this.dim);
    keep.forEach((p, i) => vectors.set(this.vectors.subarray(p * this.dim, (p + 1) * this.dim), i * this.dim));
    this.vectors = vectors;
    this.idList = keep.map((p) => this.idList[p]);
    this.metadataList = keep.map((p) => this.metadataList[p]);
    this.positions = new Map(this.idList.map((id, i) => [id, i]));
    this.rows = keep.length;
    this.rebuildNative();
    return gone.size;
  }

  /** The metadata a row was added with, or undefined. */
  metadata(id: string): StoreMetadata | undefined {
    const p = this.positions.get(id);
    return p === undefined ? undefined : this.metadataList[p];
  }

  /** id -> metadata.hash for rows added with one (what syncCorpus compares to skip re-embedding). */
  contentHashes(): Map<string, string> {
    return contentHashesOf(this.idList, this.metadataList);
  }

  /** The stored vector of a document (a copy), or undefined for an unknown id. */
  vector(id: string): Float32Array | undefined {
    const p = this.positions.get(id);
    return p === undefined ? undefined : this.vectors.slice(p * this.dim, (p + 1) * this.dim);
  }

  /** The stored vectors, rows 0..size (a view, not a copy). */
  protected storedVectors(): Float32Array {
    return this.vectors.subarray(0, this.rows * this.dim);
  }

  /** Top-k by inner product for each query row, positions and scores (see ./exact-search). */
  searchPositions(queries: VectorsInput, k: number): SearchResult {
    checkK("VectorIndex.search", k, this.rows);
    const { data, count } = toMatrix("VectorIndex.search (queries)", queries, this.dim);
    return this.searchRows(data, count, k);
  }

  /**
   * Top-k hits (document ids and scores) for each query row, best first. With `filter`, only rows whose metadata
   * matches are searched, exactly (whatever the kind), and a query may get fewer than k hits.
   */
  search(queries: VectorsInput, k: number, options: StoreSearchOptions = {}): SearchHit[][] {
    if (options.filter) return this.filteredSearch(queries, k, options.filter);
    return hitsOf(this.searchPositions(queries, k), (p) => this.idList[p]);
  }

  private filteredSearch(
    queries: VectorsInput,
    k: number,
    filter: StoreSearchOptions["filter"] & object,
  ): SearchHit[][] {
    checkFilter("VectorIndex.search", filter);
    checkK("VectorIndex.search", k, this.rows);
    const { data, count } = toMatrix("VectorIndex.search (queries)", queries, this.dim);
    const allowed: number[] = [];
    for (let p = 0; p < this.rows; p++) if (matchesFilter(this.metadataList[p], filter)) allowed.push(p);
    if (allowed.length === 0) return Array.from({ length: count }, () => []);
    const subset = new Float32Array(allowed.length * this.dim);
    allowed.forEach((p, i) => subset.set(this.vectors.subarray(p * this.dim, (p + 1) * this.dim), i * this.dim));
    const depth = Math.min(k, allowed.length);
    const r = exactSearch(subset, allowed.length, this.dim, data, count, depth);
    return hitsOf(r, (i) => this.idList[allowed[i]]);
  }

  /** Exact top-k over the stored vectors, whatever the kind (faiss flat when available, else TypeScript). */
  exactSearchPositions(queries: VectorsInput, k: number): SearchResult {
    return this.searchPositions(queries, k);
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

  /** VectorStore.persist: save() to `path` (a memory index has no place of its own). */
  persist(path?: string): void {
    if (!path)
      throw new Error("VectorIndex.persist: an in-memory index needs a file path; use persist(path) or save(path).");
    this.save(path, { overwrite: false });
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
    const nativeBytes = this.nativeBytes();
    const header = Buffer.from(
      JSON.stringify({
        version: FORMAT_VERSION,
        dim: this.dim,
        count: this.rows,
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
    let vectors = Buffer.from(this.vectors.buffer, this.vectors.byteOffset, this.rows * this.dim * 4);
    if (!LITTLE_ENDIAN) {
      vectors = Buffer.alloc(this.rows * this.dim * 4);
      for (let i = 0; i < this.rows * this.dim; i++) vectors.writeFloatLE(this.vectors[i], 4 * i);
    }
    writeFileAtomic(path, Buffer.concat([Buffer.from(MAGIC, "ascii"), lengthField, header, vectors, nativeBytes]));
  }
}

/** Positions -> hits, dropping the -1 a short result is padded with. */
function hitsOf(r: SearchResult, idOf: (position: number) => string): SearchHit[][] {
  const out: SearchHit[][] = [];
  for (let q = 0; q < r.indices.length / r.k; q++) {
    const hits: SearchHit[] = [];
    for (let j = 0; j < r.k; j++) {
      const p = r.indices[q * r.k + j];
      if (p >= 0) hits.push({ id: idOf(p), score: r.scores[q * r.k + j] });
    }
    out.push(hits);
  }
  return out;
}
