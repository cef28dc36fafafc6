/**
 * Dense retrieval: an Embedder (a SentenceTransformer, or a test double) turns the corpus into
 * vectors held in a VectorStore (./vector-store: in memory by default, or a LanceDB table with
 * `store`); queries are encoded the same way and searched.
 *
 * scoreFunction "cosine" (default, sentence-transformers' cos_sim) L2-normalises query and
 * document vectors before the inner product, v / max(||v||, 1e-12) as torch's F.normalize does,
 * so a zero vector stays zero; "dot" (dot_score) uses them as the model returns them.
 */
import { l2NormalizeRows } from "../math";
import type { Embedder, Embeddings } from "../model/types";
import { VectorIndex, type VectorIndexOptions } from "./vector-index";
import { checkK, documentText, toCorpusEntries, type CorpusInput, type Retriever, type SearchHit } from "./types";
import type { StoreSearchOptions, VectorStore } from "./vector-store";
import { syncCorpus } from "./sync";

export type DenseScoreFunction = "cosine" | "dot";

export interface DenseRetrieverOptions extends VectorIndexOptions {
  scoreFunction?: DenseScoreFunction;
  /** Texts per forward pass when encoding (passed to the embedder). */
  batchSize?: number;
  /** Label for tables (default: the embedder's name). */
  name?: string;
  /** Progress of corpus encoding: (texts done, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Where the vectors go (default: a new in-memory VectorIndex). A store given here (e.g. a LanceDBStore, see
   * ./stores openStore) is brought up to date with the corpus: only new or changed passages are embedded.
   */
  store?: VectorStore;
}

/** A copy of `e` with every row scaled to unit length (src/math l2NormalizeRows; zero rows stay zero). */
export function l2Normalize(e: Embeddings): Embeddings {
  return { count: e.count, dim: e.dim, data: l2NormalizeRows(Float32Array.from(e.data), e.dim) };
}

/** `S`: the store's type; the in-memory VectorIndex unless a `store` was given. */
export class DenseRetriever<S extends VectorStore = VectorIndex> implements Retriever {
  readonly name: string;
  readonly scoreFunction: DenseScoreFunction;
  readonly index: S;
  private readonly embedder: Embedder;
  private readonly batchSize: number | undefined;

  constructor(
    embedder: Embedder,
    index: S,
    options: Pick<DenseRetrieverOptions, "scoreFunction" | "name" | "batchSize"> = {},
  ) {
    this.embedder = embedder;
    this.index = index;
    this.scoreFunction = options.scoreFunction ?? "cosine";
    if (this.scoreFunction !== "cosine" && this.scoreFunction !== "dot")
      throw new Error(`DenseRetriever: scoreFunction "${String(this.scoreFunction)}" must be "cosine" or "dot".`);
    this.name = options.name ?? embedder.name;
    this.batchSize = options.batchSize;
  }

  /**
   * Encodes the corpus ("title\ntext", see documentText) and indexes it; with `options.store`, brings that
   * store up to date instead (./sync: passages whose content hash is stored already are not embedded again).
   */
  static async build(
    embedder: Embedder,
    corpus: CorpusInput,
    options?: DenseRetrieverOptions & { store?: undefined },
  ): Promise<DenseRetriever>;
  static async build<T extends VectorStore>(
    embedder: Embedder,
    corpus: CorpusInput,
    options: DenseRetrieverOptions & { store: T },
  ): Promise<DenseRetriever<T>>;
  static async build(
    embedder: Embedder,
    corpus: CorpusInput,
    options?: DenseRetrieverOptions,
  ): Promise<DenseRetriever<VectorStore>>;
  static async build(
    embedder: Embedder,
    corpus: CorpusInput,
    options: DenseRetrieverOptions = {},
  ): Promise<DenseRetriever<VectorStore>> {
    const docs = toCorpusEntries(corpus, "DenseRetriever.build (corpus)");
    if (docs.length === 0) throw new Error("DenseRetriever.build: the corpus is empty.");
    if (options.store) {
      const normalize = (options.scoreFunction ?? "cosine") === "cosine";
      await syncCorpus(options.store, embedder, docs, { ...options, transform: normalize ? l2Normalize : undefined });
      return new DenseRetriever(embedder, options.store, options);
    }
    const ids = docs.map((d) => d._id);
    const embeddings = await embedder.encode(docs.map(documentText), {
      batchSize: options.batchSize,
      onProgress: options.onProgress,
    });
    return DenseRetriever.fromEmbeddings(embedder, ids, embeddings, options);
  }

  /** Indexes precomputed corpus embeddings (row i belongs to ids[i]). */
  static fromEmbeddings(
    embedder: Embedder,
    ids: string[],
    embeddings: Embeddings,
    options: DenseRetrieverOptions = {},
  ): DenseRetriever {
    if (embeddings.count !== ids.length)
      throw new Error(
        `DenseRetriever: ${embeddings.count} embeddings for ${ids.length} document ids; give one embedding per document.`,
      );
    const vectors = (options.scoreFunction ?? "cosine") === "cosine" ? l2Normalize(embeddings) : embeddings;
    const index = VectorIndex.fromVectors(ids, vectors, options);
    return new DenseRetriever(embedder, index, options);
  }

  get ids(): readonly string[] {
    return this.index.ids;
  }

  /** Top-k of each query; `options.filter` keeps rows whose metadata matches (./vector-store). */
  async retrieve(queries: string[], k: number, options: StoreSearchOptions = {}): Promise<SearchHit[][]> {
    checkK(`${this.name}: retrieve`, k, this.index.size);
    if (queries.length === 0) return [];
    const encoded = await this.embedder.encode(queries, { batchSize: this.batchSize });
    return await this.retrieveByVectors(encoded, k, options);
  }

  /** Searches with query embeddings computed elsewhere (normalised here for "cosine"). */
  retrieveByVectors(queryEmbeddings: Embeddings, k: number, options?: StoreSearchOptions): ReturnType<S["search"]> {
    const q = this.scoreFunction === "cosine" ? l2Normalize(queryEmbeddings) : queryEmbeddings;
    return this.index.search(q, k, options) as ReturnType<S["search"]>;
  }
}
