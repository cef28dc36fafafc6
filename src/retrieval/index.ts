/**
 * Retrieval: one import for notebooks. Every retriever implements `Retriever.retrieve(queries, k)`
 * (./types) so the evaluator (src/eval) scores dense, lexical and hybrid retrieval the same way.
 *   VectorIndex      exact (faiss IndexFlatIP or TypeScript) / HNSW vector index with ids, save/load
 *   DenseRetriever   an Embedder + a VectorIndex (cosine by default)
 *   BM25Retriever    the lexical baseline
 *   HybridRetriever  reciprocal rank fusion of several retrievers
 */
export type { CorpusEntry, CorpusInput, QueryRow, Retriever, SearchHit } from "./types";
export { VectorIndex, type VectorIndexOptions } from "./vector-index";
export { DenseRetriever, type DenseRetrieverOptions } from "./dense";
export { BM25Retriever, type BM25Options } from "./bm25";
export { HybridRetriever, type HybridOptions } from "./hybrid";
