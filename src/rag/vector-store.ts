/**
 * The corpus in LangChain's FaissStore (@langchain/community/vectorstores/faiss, on faiss-node), searched
 * with our model through SentenceTransformerEmbeddings (./embeddings), and the same corpus behind a
 * LangChain retriever built on the project's own index (src/retrieval) for comparison.
 *
 * Scores. FaissStore builds a faiss IndexFlatL2 and returns SQUARED L2 distances (lower = closer), not
 * similarities. Our embeddings are unit vectors, so ||q - d||^2 = 2 - 2 cos(q, d) and
 *   cosine = 1 - distance / 2
 * gives back sentence-transformers' cos_sim; both are kept on every hit so tables can show either. The
 * ranking is the one an exact cosine index gives (up to ties, which faiss orders arbitrarily).
 *
 * Documents are stored as "title\ntext" (src/retrieval's documentText, what the models were trained and
 * evaluated on), with metadata { id, title } so a hit names its corpus id.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Document } from "@langchain/core/documents";
import { BaseRetriever, type BaseRetrieverInput } from "@langchain/core/retrievers";
import { FaissStore } from "@langchain/community/vectorstores/faiss";
import { replaceFolder } from "../files";
import { checkK, documentText, toCorpusEntries, type CorpusInput, type Retriever } from "../retrieval/types";
import type { SentenceTransformerEmbeddings } from "./embeddings";
import type { ContextSource, RetrievedContext } from "./types";

export type { ContextSource, RetrievedContext } from "./types";

/** Squared L2 distance between unit vectors -> cosine similarity. */
export function cosineFromSquaredL2(distance: number): number {
  return 1 - distance / 2;
}

function corpusDocuments(corpus: CorpusInput, who: string): Document[] {
  const rows = toCorpusEntries(corpus, `${who} (corpus)`);
  if (rows.length === 0) throw new Error(`${who}: the corpus is empty; give at least one document.`);
  return rows.map((r) => new Document({ pageContent: documentText(r), metadata: { id: r._id, title: r.title ?? "" } }));
}

function faissMissing(err: unknown): Error {
  const msg = (err as Error).message ?? String(err);
  return new Error(
    `LangChain's FaissStore needs faiss-node, which did not load (${msg.split("\n")[0]}). Run \`npm run setup\` ` +
      "(it builds faiss-node against the system faiss), or use IndexRetriever with the project's index instead.",
  );
}

/** A corpus in LangChain's FaissStore, embedded with one model. */
export class RagVectorStore implements ContextSource {
  readonly name: string;
  readonly store: FaissStore;
  readonly embeddings: SentenceTransformerEmbeddings;

  /** Wraps a FaissStore built with `embeddings` (FaissStore.fromDocuments / load); `name` labels its results. */
  constructor(name: string, store: FaissStore, embeddings: SentenceTransformerEmbeddings) {
    this.name = name;
    this.store = store;
    this.embeddings = embeddings;
  }

  /** Embeds the corpus with `embeddings.embedDocuments` and stores it in a new FaissStore. */
  static async build(
    embeddings: SentenceTransformerEmbeddings,
    corpus: CorpusInput,
    options: { name?: string } = {},
  ): Promise<RagVectorStore> {
    const docs = corpusDocuments(corpus, "RagVectorStore.build");
    let store: FaissStore;
    try {
      store = await FaissStore.fromDocuments(docs, embeddings);
    } catch (err) {
      if (/faiss-node/i.test((err as Error).message ?? "")) throw faissMissing(err);
      throw err;
    }
    return new RagVectorStore(options.name ?? embeddings.name, store, embeddings);
  }

  /** Reads a store written by save(); `embeddings` must be the model that built it. */
  static async load(
    directory: string,
    embeddings: SentenceTransformerEmbeddings,
    options: { name?: string } = {},
  ): Promise<RagVectorStore> {
    for (const f of ["faiss.index", "docstore.json"])
      if (!existsSync(join(directory, f)))
        throw new Error(`RagVectorStore.load: ${join(directory, f)} is missing; build the store again and save() it.`);
    const store = await FaissStore.load(directory, embeddings);
    const dim = store.index.getDimension();
    const probe = await embeddings.embedQuery("dimension check");
    if (probe.length !== dim)
      throw new Error(
        `RagVectorStore.load: ${directory} holds ${dim}-d vectors but ${embeddings.name} gives ${probe.length}-d; rebuild it with this model.`,
      );
    return new RagVectorStore(options.name ?? embeddings.name, store, embeddings);
  }

  /** Documents stored. */
  get size(): number {
    return this.store.index.ntotal();
  }

  /** Writes faiss.index + docstore.json (FaissStore's layout) into `directory`, replacing it as a whole. */
  async save(directory: string): Promise<void> {
    mkdirSync(dirname(directory), { recursive: true });
    const tmp = join(dirname(directory), `.${basename(directory)}.tmp-${process.pid}-${Date.now().toString(36)}`);
    try {
      await this.store.save(tmp);
      replaceFolder(tmp, directory);
    } finally {
      if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Top-k contexts of each question: queries embedded in batches, then FaissStore's vector search. */
  async search(questions: string[], k: number): Promise<RetrievedContext[][]> {
    checkK(`${this.name}: search`, k, this.size);
    const vectors = await this.embeddings.embedQueries(questions);
    const out: RetrievedContext[][] = [];
    for (const v of vectors) {
      const hits = await this.store.similaritySearchVectorWithScore(v, k);
      out.push(
        hits.map(([doc, distance], i) => ({
          id: String(doc.metadata.id),
          title: String(doc.metadata.title ?? ""),
          text: doc.pageContent,
          rank: i + 1,
          score: cosineFromSquaredL2(distance),
          distance,
        })),
      );
    }
    return out;
  }

  /** LangChain's own retriever over this store (what a LangChain chain would use). */
  asRetriever(k = 4): BaseRetriever {
    return this.store.asRetriever(k);
  }
}

export interface IndexRetrieverInput extends BaseRetrieverInput {
  /** A project retriever (DenseRetriever, BM25Retriever, HybridRetriever) built over `corpus`. */
  retriever: Retriever;
  corpus: CorpusInput;
  /** Documents per question (default 4, LangChain's default). */
  k?: number;
}

/**
 * A LangChain retriever over the project's index (src/retrieval): any chain that takes a retriever can
 * use the course's exact faiss index, BM25 or the hybrid. Documents carry metadata { id, title, score, rank }.
 */
export class IndexRetriever extends BaseRetriever implements ContextSource {
  lc_namespace = ["ts_embedding_finetune", "rag"];
  override name = "index retriever";
  readonly retriever: Retriever;
  readonly k: number;
  private readonly docs: Map<string, { title: string; text: string }>;

  constructor(fields: IndexRetrieverInput) {
    super(fields);
    this.retriever = fields.retriever;
    this.name = fields.retriever.name;
    this.k = fields.k ?? 4;
    this.docs = new Map(
      toCorpusEntries(fields.corpus, "IndexRetriever (corpus)").map((r) => [
        r._id,
        { title: r.title ?? "", text: documentText(r) },
      ]),
    );
    for (const id of this.retriever.ids)
      if (!this.docs.has(id))
        throw new Error(
          `IndexRetriever: the retriever indexes "${id}", which is not in the corpus given; build both from the same corpus.`,
        );
  }

  async search(questions: string[], k: number): Promise<RetrievedContext[][]> {
    const hits = await this.retriever.retrieve(questions, k);
    return hits.map((row) =>
      row.map((h, i) => {
        const doc = this.docs.get(h.id) as { title: string; text: string };
        return { id: h.id, title: doc.title, text: doc.text, rank: i + 1, score: h.score };
      }),
    );
  }

  override async _getRelevantDocuments(query: string): Promise<Document[]> {
    const [hits] = await this.search([query], this.k);
    return hits.map(
      (h) =>
        new Document({ pageContent: h.text, metadata: { id: h.id, title: h.title, score: h.score, rank: h.rank } }),
    );
  }
}
