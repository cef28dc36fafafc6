/**
 * RerankedRetriever: a first stage (any Retriever: BM25, dense, hybrid) whose top `topK` (default 30, the Hugging
 * Face blog's setting) a pair scorer re-orders; a Retriever itself, so every evaluator, table and app view takes it.
 *
 * It is sentence-transformers' CrossEncoderRerankingEvaluator in its realistic mode (always_rerank_positives=False):
 * only what the first stage retrieved is re-ranked, so a relevant passage the first stage missed stays missed. For
 * each query:
 *
 *   1. the first stage's top max(k, topK) hits (capped at the corpus size);
 *   2. its first topK re-ordered by the scorer's score of (query, passage text), best first; ties keep the first
 *      stage's order (that is, its own tie rule, corpus order on equal first-stage scores);
 *   3. when k > topK, the first stage's hits after rank topK follow in their own order, scored below every
 *      re-ranked hit (score = the lowest re-ranked score - rank below it): only their order means something.
 *
 * The passage text is documentText (title, newline, text), the text the first stage indexed. scoreFunction is
 * "rerank", so metric keys read like "rerank_ndcg@10".
 */
import {
  checkK,
  documentText,
  toCorpusEntries,
  type CorpusInput,
  type Retriever,
  type SearchHit,
} from "../retrieval/types";
import type { PairScorer, PredictOptions, TextPair } from "./types";

export interface RerankedRetrieverOptions extends PredictOptions {
  /** First-stage hits re-ranked per query (default 30). */
  topK?: number;
  /** Label (default "<first stage> + <scorer>@<topK>"). */
  name?: string;
}

export class RerankedRetriever implements Retriever {
  readonly name: string;
  readonly scoreFunction = "rerank";
  readonly ids: readonly string[];
  readonly topK: number;
  private readonly texts = new Map<string, string>();

  constructor(
    readonly firstStage: Retriever,
    readonly scorer: PairScorer,
    corpus: CorpusInput,
    private readonly options: RerankedRetrieverOptions = {},
  ) {
    this.topK = options.topK ?? 30;
    if (!Number.isInteger(this.topK) || this.topK < 1)
      throw new RangeError(`RerankedRetriever: topK ${this.topK} must be a positive integer.`);
    for (const doc of toCorpusEntries(corpus, "RerankedRetriever (corpus)")) this.texts.set(doc._id, documentText(doc));
    this.ids = firstStage.ids;
    const missing = this.ids.find((id) => !this.texts.has(id));
    if (missing !== undefined || this.texts.size !== this.ids.length)
      throw new Error(
        `RerankedRetriever: the corpus given (${this.texts.size} documents) is not the one "${firstStage.name}" indexes ` +
          `(${this.ids.length} documents${missing === undefined ? "" : `, e.g. "${missing}"`}); pass the same corpus.`,
      );
    this.name = options.name ?? `${firstStage.name} + ${scorer.name}@${this.topK}`;
  }

  async retrieve(queries: string[], k: number): Promise<SearchHit[][]> {
    checkK(`${this.name}: retrieve`, k, this.ids.length);
    const depth = Math.min(this.ids.length, Math.max(k, this.topK));
    const first = await this.firstStage.retrieve(queries, depth);
    const heads = first.map((hits) => hits.slice(0, this.topK));
    // One predict() over every query's candidates: the scorer batches them.
    const pairs: TextPair[] = heads.flatMap((hits, q) =>
      hits.map((h) => [queries[q], this.texts.get(h.id) as string] as const),
    );
    const scores = await this.scorer.predict(pairs, {
      batchSize: this.options.batchSize,
      activation: this.options.activation,
    });
    let at = 0;
    return heads.map((head, q) => {
      const reranked = head
        .map((h, rank) => ({ id: h.id, score: scores[at + rank], rank }))
        .sort((a, b) => b.score - a.score || a.rank - b.rank)
        .map(({ id, score }) => ({ id, score }));
      at += head.length;
      const lowest = reranked.length > 0 ? reranked[reranked.length - 1].score : 0;
      const tail = first[q].slice(this.topK).map((h, j) => ({ id: h.id, score: lowest - (j + 1) }));
      return [...reranked, ...tail].slice(0, k);
    });
  }
}
