/**
 * The plain TypeScript exact search (./exact-search) as an index: what ./vector-index gives when faiss-node
 * cannot be loaded or `implementation: "typescript"` is asked for. Same ranking as IndexFlatIP (./types' tie
 * rule); an "hnsw" index of this kind searches exactly, and its `notes` say so.
 */
import { exactSearch, type SearchResult } from "./exact-search";
import { MemoryIndex, type ResolvedIndexOptions } from "./memory-index";

export class TypeScriptIndex extends MemoryIndex {
  readonly implementation = "typescript" as const;

  /** Public here: the base class's constructor is protected. */
  constructor(dim: number, options: ResolvedIndexOptions, notes: string[]) {
    super(dim, options, notes);
  }

  protected appendNative(): void {
    // The stored float32 copy is the index.
  }

  protected rebuildNative(): void {
    // Nothing beside the stored vectors.
  }

  protected searchRows(data: Float32Array, nq: number, k: number): SearchResult {
    return exactSearch(this.vectors, this.rows, this.dim, data, nq, k);
  }
}
