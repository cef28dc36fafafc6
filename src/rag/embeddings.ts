/**
 * Our SentenceTransformer as a LangChain.js `Embeddings`: the interface every LangChain vector store
 * (FaissStore, MemoryVectorStore, Chroma, pgvector, ...) calls, `embedDocuments(texts)` for the corpus and
 * `embedQuery(text)` for a question. Plugging a fine-tuned model into an existing LangChain RAG app is
 * then one line: `new SentenceTransformerEmbeddings({ model })` where OpenAIEmbeddings was.
 *
 * Prompts, as Python's SentenceTransformer.encode_query / encode_document (sentence-transformers 5):
 * when the model's config_sentence_transformers.json names prompts, a query gets prompts["query"] and a
 * document the first of prompts["document"], ["passage"], ["corpus"] prepended to its text (bge, e5 and
 * nomic models ship such prompts; the offline default and MiniLM have none, so texts go in unchanged).
 * Explicit `queryPrompt` / `documentPrompt` options win ("" turns a prompt off).
 *
 * Vectors are L2-normalised by default (`normalize: true`), whatever the model's own modules say, so that
 * a vector store using L2 distance (LangChain's FaissStore builds an IndexFlatL2) ranks exactly as cosine
 * similarity does: for unit vectors ||q - d||^2 = 2 - 2 cos(q, d).
 */
import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings";
import type { SentenceTransformer } from "../model/sentence-transformer";
import type { Embeddings as Matrix } from "../model/types";

export interface SentenceTransformerEmbeddingsOptions extends EmbeddingsParams {
  model: SentenceTransformer;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** L2-normalise every vector (default true: FaissStore's L2 distance then ranks as cosine). */
  normalize?: boolean;
  /** Prepended to queries; default: the model's prompts["query"] or none. */
  queryPrompt?: string;
  /** Prepended to documents; default: the model's prompts["document" | "passage" | "corpus"] or none. */
  documentPrompt?: string;
}

/** The prompts Python's encode_query / encode_document would use for this model ("" when none). */
export function modelPrompts(prompts: Readonly<Record<string, string>>): { query: string; document: string } {
  const document = ["document", "passage", "corpus"].map((n) => prompts[n]).find((p) => typeof p === "string");
  return { query: prompts.query ?? "", document: document ?? "" };
}

/** Rows of an embedding matrix as plain arrays (what LangChain's interface returns). */
export function matrixRows(m: Matrix): number[][] {
  const rows: number[][] = new Array(m.count);
  for (let i = 0; i < m.count; i++) rows[i] = Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim));
  return rows;
}

export class SentenceTransformerEmbeddings extends Embeddings {
  readonly model: SentenceTransformer;
  readonly batchSize: number;
  readonly normalize: boolean;
  readonly queryPrompt: string;
  readonly documentPrompt: string;

  constructor(options: SentenceTransformerEmbeddingsOptions) {
    const { model, batchSize, normalize, queryPrompt, documentPrompt, ...params } = options;
    super(params);
    if (!model || typeof model.encode !== "function")
      throw new TypeError(
        "SentenceTransformerEmbeddings: options.model must be a SentenceTransformer (from loadModel).",
      );
    this.model = model;
    this.batchSize = batchSize ?? 32;
    this.normalize = normalize ?? true;
    const fromModel = modelPrompts(model.prompts ?? {});
    this.queryPrompt = queryPrompt ?? fromModel.query;
    this.documentPrompt = documentPrompt ?? fromModel.document;
    if ((this.queryPrompt || this.documentPrompt) && model.pooling?.include_prompt === false)
      throw new Error(
        `SentenceTransformerEmbeddings: ${model.name} pools without its prompt tokens (1_Pooling/config.json ` +
          `include_prompt false), which this encoder does not implement; pass queryPrompt: "" and documentPrompt: "".`,
      );
  }

  /** The label tables use: the model's name, plus the prompts when there are any. */
  get name(): string {
    return this.model.name;
  }

  /** Vectors of the documents, in order (the document prompt prepended). */
  async embedDocuments(documents: string[]): Promise<number[][]> {
    if (documents.length === 0) return [];
    const texts = documents.map((d) => this.documentPrompt + d);
    return matrixRows(await this.model.encode(texts, { batchSize: this.batchSize, normalize: this.normalize }));
  }

  /** The vector of one query (the query prompt prepended). */
  async embedQuery(query: string): Promise<number[]> {
    const m = await this.model.encode([this.queryPrompt + query], { batchSize: 1, normalize: this.normalize });
    return Array.from(m.data);
  }

  /** Many queries in batches (LangChain has no batch query call; evaluation loops use this). */
  async embedQueries(queries: string[]): Promise<number[][]> {
    if (queries.length === 0) return [];
    const texts = queries.map((q) => this.queryPrompt + q);
    return matrixRows(await this.model.encode(texts, { batchSize: this.batchSize, normalize: this.normalize }));
  }
}
