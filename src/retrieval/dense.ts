/**
 * Dense retrieval: an Embedder (a SentenceTransformer, or a test double) turns the corpus into
 * vectors held in a VectorIndex; queries are encoded the same way and searched.
 *
 * scoreFunction "cosine" (default, sentence-transformers' cos_sim) L2-normalises query and
 * document vectors before the inner product, v / max(||v||, 1e-12) as torch's F.normalize does,
 * so a zero vector stays zero; "dot" (dot_score) uses them as the model returns them.
 */
import { l2NormalizeRows } from "../math";
import type { Embedder, Embeddings } from "../model/types";
import { VectorIndex, type VectorIndexOptions } from "./vector-index";
import { checkK, documentText, toCorpusEntries, type CorpusInput, type Retriever, type SearchHit } from "./types";

export type DenseScoreFunction = "cosine" | "dot";

export interface DenseRetrieverOptions extends VectorIndexOptions {
  scoreFunction?: DenseScoreFunction;
  /** Texts per forward pass when encoding (passed to the embedder). */
  batchSize?: number;
  /** Label for tables (default: the embedder's name). */
  name?: string;
  /** Progress of corpus encoding: (texts done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** A copy of `e` with every row scaled to unit length (src/math l2NormalizeRows; zero rows stay zero). */
export function l2Normalize(e: Embeddings): Embeddings {
  return { count: e.count, dim: e.dim, data: l2NormalizeRows(Float32Array.from(e.data), e.dim) };
}

export class DenseRetriever implements Retriever {
  readonly name: string;
  readonly scoreFunction: DenseScoreFunction;
  readonly index: VectorIndex;
  private readonly embedder: Embedder;
  private readonly batchSize: number | undefined;

  constructor(
    embedder: Embedder,
    index: VectorIndex,
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

  /** Encodes the corpus ("title\ntext", see documentText) and indexes it. */
  static async build(
    embedder: Embedder,
    corpus: CorpusInput,
    options: DenseRetrieverOptions = {},
  ): Promise<DenseRetriever> {
    const docs = toCorpusEntries(corpus, "DenseRetriever.build (corpus)");
    if (docs.length === 0) throw new Error("DenseRetriever.build: the corpus is empty.");
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

  async retrieve(queries: string[], k: number): Promise<SearchHit[][]> {
    checkK(`${this.name}: retrieve`, k, this.index.size);
    if (queries.length === 0) return [];
    const encoded = await this.embedder.encode(queries, { batchSize: this.batchSize });
    return this.retrieveByVectors(encoded, k);
  }

  /** Searches with query embeddings computed elsewhere (normalised here for "cosine"). */
  retrieveByVectors(queryEmbeddings: Embeddings, k: number): SearchHit[][] {
    const q = this.scoreFunction === "cosine" ? l2Normalize(queryEmbeddings) : queryEmbeddings;
    return this.index.search(q, k);
  }
}
