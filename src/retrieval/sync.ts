/**
 * Brings a VectorStore up to date with a corpus without embedding what it already holds: each passage's content
 * hash (SHA-256 of the text the model sees, documentText) is stored in its row's metadata; a passage whose id and
 * hash are stored is kept, a new or changed one is embedded, and ids no longer in the corpus are deleted.
 * Changed passages are embedded and written `chunkSize` at a time, so a run stopped part-way keeps every chunk
 * it wrote, and the next run embeds only the rest.
 *
 * Row metadata: { title, text, hash } plus doc_id when the corpus has one (see ./vector-store).
 */
import { createHash } from "node:crypto";
import type { Embedder, Embeddings } from "../model/types";
import { documentText, type CorpusEntry } from "./types";
import type { StoreMetadata, VectorStore } from "./vector-store";

export interface SyncOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Applied to each chunk's embeddings before they are stored (DenseRetriever: L2 normalisation for cosine). */
  transform?: (e: Embeddings) => Embeddings;
  /** Passages embedded and written per store write (default 1024). */
  chunkSize?: number;
}

export interface SyncReport {
  /** Passages embedded now (new or changed). */
  embedded: number;
  /** Ids removed: gone from the corpus, or changed (then written again). */
  deleted: number;
  /** Passages whose stored vector was kept. */
  kept: number;
}

/** 16 hex digits of the SHA-256 of the text a passage is embedded from. */
export function contentHash(doc: CorpusEntry): string {
  return createHash("sha256").update(documentText(doc)).digest("hex").slice(0, 16);
}

/** The corpus into the store, embedding only new and changed passages (see the header). */
export async function syncCorpus(
  store: VectorStore,
  embedder: Embedder,
  docs: readonly CorpusEntry[],
  options: SyncOptions = {},
): Promise<SyncReport> {
  const have = await store.contentHashes();
  const hashes = docs.map(contentHash);
  const wanted = new Map(docs.map((d, i) => [d._id, hashes[i]]));
  const changed = docs.map((_, i) => i).filter((i) => have.get(docs[i]._id) !== hashes[i]);
  const changedIds = new Set(changed.map((i) => docs[i]._id));
  const toDelete = store.ids.filter((id) => !wanted.has(id) || changedIds.has(id));
  const deleted = toDelete.length > 0 ? await store.delete(toDelete) : 0;
  const chunkSize = options.chunkSize ?? 1024;
  for (let c0 = 0; c0 < changed.length; c0 += chunkSize) {
    const chunk = changed.slice(c0, c0 + chunkSize).map((i) => docs[i]);
    const encoded = await embedder.encode(chunk.map(documentText), {
      batchSize: options.batchSize,
      onProgress: options.onProgress && ((done) => options.onProgress?.(c0 + done, changed.length)),
    });
    const vectors = options.transform ? options.transform(encoded) : encoded;
    const metadata = chunk.map((d, j): StoreMetadata => {
      const row: Record<string, string> = { title: d.title ?? "", text: d.text, hash: hashes[changed[c0 + j]] };
      if (d.doc_id !== undefined) row.doc_id = d.doc_id;
      return row;
    });
    await store.add(
      chunk.map((d) => d._id),
      vectors,
      metadata,
    );
  }
  return { embedded: changed.length, deleted, kept: docs.length - changed.length };
}
