/**
 * Retrieval: one import for notebooks. Every retriever implements `Retriever.retrieve(queries, k)`
 * (./types) so the evaluator (src/eval) scores dense, lexical and hybrid retrieval the same way.
 *   VectorIndex      exact (faiss IndexFlatIP or TypeScript) / HNSW vector index with ids, save/load
 *   DenseRetriever   an Embedder + a VectorIndex (cosine by default)
 *   BM25Retriever    the lexical baseline
 *   HybridRetriever  reciprocal rank fusion of several retrievers
 */
export type { Retriever, SearchHit } from "./types";
export { VectorIndex } from "./vector-index";
export { DenseRetriever } from "./dense";
export { BM25Retriever } from "./bm25";
export { HybridRetriever } from "./hybrid";
