/**
 * CrossEncoderReranker: a pair scorer (a cross-encoder, src/rerank) as LangChain.js' BaseDocumentCompressor, so that
 * `new ContextualCompressionRetriever({ baseCompressor: reranker, baseRetriever })` (package @langchain/classic,
 * retrievers/contextual_compression) re-ranks whatever a LangChain retriever returns: the second stage of a
 * two-stage RAG retriever. The name and the default top_n = 3 are those of Python LangChain's CrossEncoderReranker.
 *
 * compressDocuments(documents, query) scores every (query, pageContent) pair with the scorer, keeps the best topN
 * (ties: the earlier document) and returns them best first, each a new Document with its metadata plus
 * `relevance_score` (the scorer's score: CrossEncoder.predict's sigmoid by default), the key LangChain's Cohere
 * and Jina rerankers use.
 */
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { PairScorer, PredictOptions } from "../rerank/types";

export interface CrossEncoderRerankerOptions extends PredictOptions {
  /** Documents kept (default 3, as Python LangChain's CrossEncoderReranker). */
  topN?: number;
}

export class CrossEncoderReranker extends BaseDocumentCompressor {
  readonly topN: number;

  constructor(
    readonly scorer: PairScorer,
    private readonly options: CrossEncoderRerankerOptions = {},
  ) {
    super();
    this.topN = options.topN ?? 3;
    if (!Number.isInteger(this.topN) || this.topN < 1)
      throw new RangeError(`CrossEncoderReranker: topN ${this.topN} must be a positive integer.`);
  }

  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    if (documents.length === 0) return [];
    const ranked = await this.scorer.rank(
      query,
      documents.map((d) => d.pageContent),
      { topK: this.topN, batchSize: this.options.batchSize, activation: this.options.activation },
    );
    return ranked.map((r) => {
      const d = documents[r.corpusId];
      return new Document({
        pageContent: d.pageContent,
        id: d.id,
        metadata: { ...d.metadata, relevance_score: r.score },
      });
    });
  }
}
