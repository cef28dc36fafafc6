/**
 * Approximate inner-product search with faiss HNSW: `Index.fromFactory(d, "HNSW<M>,Flat", METRIC_INNER_PRODUCT)`
 * (Malkov & Yashunin 2016; faiss defaults efConstruction 40, efSearch 16, set through ./faiss-hnsw, since
 * faiss-node has no setter). `recallAgainstExact` measures what it loses against IndexFlatIP over the same
 * vectors. save() stores the graph, so load() restores it as built; a delete rebuilds it.
 */
import { faissSearch, type FaissIndex, type FaissModule, toNumberArray } from "./faiss";
import { FaissFlatIndex } from "./faiss-flat-index";
import { withHnswParams } from "./faiss-hnsw";
import type { SearchResult } from "./exact-search";
import { MemoryIndex, type ResolvedIndexOptions, type VectorsInput } from "./memory-index";

export class FaissHnswIndex extends MemoryIndex {
  readonly implementation = "faiss" as const;
  private native: FaissIndex;

  constructor(
    dim: number,
    options: ResolvedIndexOptions,
    notes: string[],
    private readonly faiss: FaissModule,
  ) {
    super(dim, options, notes);
    this.native = this.emptyGraph();
  }

  /** An index whose graph (and vectors) come from a saved faiss buffer; `ids`/`data` are the same rows. */
  static restore(
    dim: number,
    options: ResolvedIndexOptions,
    notes: string[],
    faiss: FaissModule,
    saved: Buffer,
    ids: string[],
    data: Float32Array,
  ): FaissHnswIndex {
    const index = new FaissHnswIndex(dim, options, notes, faiss);
    index.native = faiss.Index.fromBuffer(saved);
    index.restoring = true;
    try {
      index.add(ids, { count: ids.length, dim, data });
    } finally {
      index.restoring = false;
    }
    if (index.native.ntotal() !== index.rows)
      throw new Error(
        `VectorIndex.load: the faiss index holds ${index.native.ntotal()} vectors but the file lists ${index.rows} ids.`,
      );
    return index;
  }

  private emptyGraph(): FaissIndex {
    const f = this.faiss;
    const empty = f.Index.fromFactory(this.dim, `HNSW${this.hnswM},Flat`, f.MetricType.METRIC_INNER_PRODUCT);
    const params = { efConstruction: this.efConstruction, efSearch: this.efSearchValue };
    return f.Index.fromBuffer(withHnswParams(empty.toBuffer(), params));
  }

  /** Changes efSearch; faiss-node has no setter, so the index goes through its serialisation once. */
  override setEfSearch(efSearch: number): void {
    this.native = this.faiss.Index.fromBuffer(withHnswParams(this.native.toBuffer(), { efSearch }));
    this.efSearchValue = efSearch;
  }

  protected appendNative(data: Float32Array): void {
    this.native.add(toNumberArray(data));
  }

  protected rebuildNative(): void {
    this.native = this.emptyGraph();
    if (this.rows > 0) this.native.add(toNumberArray(this.storedVectors()));
  }

  protected searchRows(data: Float32Array, nq: number, k: number): SearchResult {
    return faissSearch(this.native, this.rows, this.dim, data, nq, k);
  }

  protected override nativeBytes(): Buffer {
    return this.native.toBuffer();
  }

  /** Exact top-k over the same vectors through a faiss IndexFlatIP. */
  override exactSearchPositions(queries: VectorsInput, k: number): SearchResult {
    const flat = new FaissFlatIndex(this.dim, { ...this.settings(), kind: "flat" }, [], this.faiss);
    flat.add(this.ids.slice(), { count: this.rows, dim: this.dim, data: this.storedVectors() });
    return flat.searchPositions(queries, k);
  }

  private settings(): ResolvedIndexOptions {
    return { kind: this.kind, hnswM: this.hnswM, efConstruction: this.efConstruction, efSearch: this.efSearchValue };
  }
}
