/**
 * Retrieval: one import for notebooks. Every retriever implements `Retriever.retrieve(queries, k)`
 * (./types) so the evaluator (src/eval) scores dense, lexical and hybrid retrieval the same way.
 *   VectorStore      what every index offers: add with ids and metadata, delete, search (filter), count, persist
 *   VectorIndex      the in-memory store: exact (faiss IndexFlatIP or TypeScript) / HNSW, save/load
 *   openStore        "memory" | "lancedb[:uri]" (parseStoreSpec): a new VectorIndex or a LanceDB table
 *                    (./lancedb-store, persistent) named storeTableName(dataset, model)
 *   syncCorpus       a corpus into a store, embedding only new or changed passages
 *   DenseRetriever   an Embedder + a VectorStore (cosine by default; in memory unless `store` is given)
 *   BM25Retriever    the lexical baseline
 *   HybridRetriever  reciprocal rank fusion of several retrievers
 */
export type { Retriever, SearchHit } from "./types";
export { VectorIndex } from "./vector-index";
export type { MetadataFilter, StoreMetadata, VectorStore } from "./vector-store";
export { openStore, parseStoreSpec, storeTableName } from "./stores";
export { syncCorpus } from "./sync";
export { DenseRetriever } from "./dense";
export { BM25Retriever } from "./bm25";
export { HybridRetriever } from "./hybrid";
