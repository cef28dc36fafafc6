/**
 * The same LanceDB table as src/retrieval's LanceDBStore, seen through LangChain's `LanceDB` vector store
 * (@langchain/community/vectorstores/lancedb), with the project's SentenceTransformerEmbeddings: a LangChain
 * chain gets the persistent store (re-embedded only where the corpus changed) without a second copy of it.
 *
 * LangChain's own vector search (community 1.1) runs `table.query().nearestTo(vector).limit(k)`: L2 on a table
 * without an index (the same ranking as the store's inner product on its unit vectors), but once the table has
 * its IVF-PQ index it returns the raw PQ order, without the store's nprobes and refine factor. The subclass
 * here keeps LangChain's class (addDocuments, asRetriever, similaritySearch, ...) and searches vectors as the
 * store does, so a LangChain similaritySearch returns the store's top-k. A Document's pageContent is the passage's
 * `text`; its metadata holds `id`, `title` and `score` (the inner product, cosine on unit vectors). Rows written by
 * LangChain's addDocuments carry no content hash: fill the table with DenseRetriever.build({ store }) instead.
 */
import { Document } from "@langchain/core/documents";
import { LanceDB } from "@langchain/community/vectorstores/lancedb";
import type { LanceDBStore } from "../retrieval/lancedb-store";
import type { SentenceTransformerEmbeddings } from "./embeddings";

class StoreBackedLanceDB extends LanceDB {
  constructor(
    private readonly store: LanceDBStore,
    embeddings: SentenceTransformerEmbeddings,
  ) {
    super(embeddings, { table: store.lanceTable, textKey: "text" });
  }

  override async similaritySearchVectorWithScore(query: number[], k: number): Promise<[Document, number][]> {
    const [hits] = await this.store.searchWithText([query], k);
    return hits.map((h) => [
      new Document({ pageContent: h.text, metadata: { id: h.id, title: h.title, score: h.score } }),
      h.score,
    ]);
  }
}

/** LangChain's LanceDB vector store over a LanceDBStore's table, searching with the store's parameters. */
export function lanceDBVectorStore(store: LanceDBStore, embeddings: SentenceTransformerEmbeddings): LanceDB {
  return new StoreBackedLanceDB(store, embeddings);
}
