/**
 * Exact maximum-inner-product search with faiss IndexFlatIP (on L2-normalised vectors the inner product is the
 * cosine similarity): the default in-memory index when faiss-node loads (./vector-index picks it).
 */
import { faissSearch, toNumberArray, type FaissIndex, type FaissModule } from "./faiss";
import type { SearchResult } from "./exact-search";
import { LITTLE_ENDIAN, MemoryIndex, type ResolvedIndexOptions } from "./memory-index";

export class FaissFlatIndex extends MemoryIndex {
  readonly implementation = "faiss" as const;
  private native: FaissIndex;

  constructor(
    dim: number,
    options: ResolvedIndexOptions,
    notes: string[],
    private readonly faiss: FaissModule,
  ) {
    super(dim, options, notes);
    this.native = new faiss.IndexFlatIP(dim);
  }

  protected appendNative(data: Float32Array, count: number, from: number): void {
    if (LITTLE_ENDIAN && count >= 64) {
      // Rebuilt from bytes (a few memcpy of the whole index) instead of add(number[]), which
      // converts element by element (~0.5 us each); small batches are cheaper through add().
      this.native = this.faiss.IndexFlatIP.fromBuffer(
        flatIndexBytes(this.dim, this.vectors.subarray(0, (from + count) * this.dim)),
      );
    } else {
      this.native.add(toNumberArray(data));
    }
  }

  protected rebuildNative(): void {
    const data = this.storedVectors();
    if (LITTLE_ENDIAN) this.native = this.faiss.IndexFlatIP.fromBuffer(flatIndexBytes(this.dim, data));
    else {
      this.native = new this.faiss.IndexFlatIP(this.dim);
      if (this.rows > 0) this.native.add(toNumberArray(data));
    }
  }

  protected searchRows(data: Float32Array, nq: number, k: number): SearchResult {
    return faissSearch(this.native, this.rows, this.dim, data, nq, k);
  }
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
