/**
 * Measuring a re-ranker, two ways that agree on what a second stage can and cannot do:
 *
 * RerankedRetriever (reranked-retriever.ts): a first stage whose top `topK` hits the PairScorer re-orders; it is
 *   itself a Retriever, so src/eval's InformationRetrievalEvaluator measures it unchanged (the realistic setting).
 *
 * CrossEncoderRerankingEvaluator: sentence-transformers v4's evaluator of that name. Each sample is a query, its
 *   positives and either `documents` (a first stage's ranking) or `negative`s. With documents, `alwaysRerankPositives`
 *   false is the realistic mode: only the documents are re-ranked, so a query whose positives the first stage
 *   missed scores 0; true (Python's default) adds the missing positives to the candidates first. Metrics per query,
 *   then means: MRR@k, NDCG@k (sklearn's ndcg_score) and MAP (sklearn's average_precision_score over the whole
 *   list), and the same for the first stage's order as base_*. As in v4.1's code, the base order's metrics count a
 *   missed positive as ranked below every document, the re-ranked list's count only the positives it holds (the two
 *   differ only for queries with several positives, some missed). `compare` adds bootstrap intervals and the paired difference reranked - base.
 */
import { bootstrapMeans, type Interval } from "../eval/compare";
import { type CorpusInput, documentText, type Retriever, toCorpusEntries } from "../retrieval/types";
import type { BootstrapOptions } from "../eval/compare";
import type { CrossEncoder } from "./cross-encoder";
import type { CrossEncoderEvaluator } from "./train";
import type { PairScorer } from "./types";

export interface RerankingSample {
  query: string;
  positive: string[];
  documents?: string[];
  negative?: string[];
}

export interface RerankingEvaluatorOptions {
  samples: readonly RerankingSample[];
  /** k of MRR@k and NDCG@k (default 10). */
  atK?: number;
  /** Add positives the documents miss before re-ranking (default true, as Python); false: the realistic mode. */
  alwaysRerankPositives?: boolean;
  batchSize?: number;
  /** Prefix of the metric keys ("<name>_ndcg@10"); default none. */
  name?: string;
}

/** One query's metrics, re-ranked and in the first stage's order. */
export interface RerankingQueryResult {
  query: string;
  reranked: Record<string, number>;
  base?: Record<string, number>;
}

export interface RerankingComparison {
  metrics: Record<string, number>;
  perQuery: RerankingQueryResult[];
  /** Bootstrap interval of each re-ranked metric, and of each base metric (base_*). */
  intervals: Record<string, Interval>;
  /** Paired bootstrap interval of reranked - base per metric (with documents only). */
  gains: Record<string, Interval>;
}

/** MRR@k, NDCG@k and AP of a ranking given as relevance flags in ranked order, plus `missed` positives below it. */
export function rankingMetrics(relevant: readonly boolean[], missed: number, k: number): Record<string, number> {
  const flags = [...relevant, ...Array<boolean>(missed).fill(true)];
  const positives = flags.filter(Boolean).length;
  if (positives === 0) return { [`mrr@${k}`]: 0, [`ndcg@${k}`]: 0, map: 0 };
  const first = flags.slice(0, k).indexOf(true);
  let dcg = 0;
  let idcg = 0;
  for (let i = 0; i < Math.min(k, flags.length); i++) {
    if (flags[i]) dcg += 1 / Math.log2(i + 2);
    if (i < positives) idcg += 1 / Math.log2(i + 2);
  }
  let hits = 0;
  let ap = 0;
  flags.forEach((f, i) => {
    if (f) ap += ++hits / (i + 1);
  });
  return { [`mrr@${k}`]: first < 0 ? 0 : 1 / (first + 1), [`ndcg@${k}`]: dcg / idcg, map: ap / positives };
}

export class CrossEncoderRerankingEvaluator implements CrossEncoderEvaluator {
  readonly samples: readonly RerankingSample[];
  readonly atK: number;
  readonly alwaysRerankPositives: boolean;
  readonly name: string;
  private readonly batchSize: number | undefined;

  constructor(options: RerankingEvaluatorOptions) {
    this.samples = options.samples;
    this.atK = options.atK ?? 10;
    this.alwaysRerankPositives = options.alwaysRerankPositives ?? true;
    this.name = options.name ?? "";
    this.batchSize = options.batchSize;
    if (this.samples.length === 0) throw new Error("CrossEncoderRerankingEvaluator: no samples.");
    this.samples.forEach((s, i) => {
      if (typeof s.query !== "string" || !Array.isArray(s.positive))
        throw new Error(`CrossEncoderRerankingEvaluator: sample ${i} needs "query" (string) and "positive" (list).`);
      if ((s.documents === undefined) === (s.negative === undefined))
        throw new Error(`CrossEncoderRerankingEvaluator: sample ${i} needs exactly one of "documents" and "negative".`);
    });
  }

  /**
   * Samples from a first stage: for each query with relevant documents, its positives' texts and the texts of the
   * retriever's top `topK` (default 30) as `documents`.
   */
  static async fromRetriever(
    retriever: Retriever,
    split: {
      queries: ReadonlyMap<string, string>;
      corpus: CorpusInput;
      relevant: ReadonlyMap<string, Iterable<string>>;
    },
    options: Omit<RerankingEvaluatorOptions, "samples"> & { topK?: number } = {},
  ): Promise<CrossEncoderRerankingEvaluator> {
    const texts = new Map(toCorpusEntries(split.corpus).map((d) => [d._id, documentText(d)]));
    const ids = [...split.queries.keys()].filter((q) => [...(split.relevant.get(q) ?? [])].length > 0);
    const topK = Math.min(options.topK ?? 30, retriever.ids.length);
    const hits = await retriever.retrieve(
      ids.map((q) => split.queries.get(q) as string),
      topK,
    );
    const samples = ids.map((q, i) => ({
      query: split.queries.get(q) as string,
      positive: [...(split.relevant.get(q) ?? [])].map((id) => texts.get(id) as string),
      documents: hits[i].map((h) => texts.get(h.id) as string),
    }));
    return new CrossEncoderRerankingEvaluator({ alwaysRerankPositives: false, ...options, samples });
  }

  /** Flat means: map, mrr@k, ndcg@k (and base_* with documents), prefixed by `name_` when named. */
  async evaluate(model: CrossEncoder | PairScorer): Promise<Record<string, number>> {
    return (await this.run(model)).metrics;
  }

  /** Metrics, per-query values, bootstrap intervals and the paired gain over the first stage's order. */
  async compare(model: PairScorer, bootstrap: BootstrapOptions = {}): Promise<RerankingComparison> {
    const { metrics, perQuery } = await this.run(model);
    const names = Object.keys(perQuery[0].reranked);
    const columns: Record<string, number[]> = {};
    for (const m of names) columns[m] = perQuery.map((q) => q.reranked[m]);
    const withBase = perQuery.every((q) => q.base);
    if (withBase) for (const m of names) columns[`base_${m}`] = perQuery.map((q) => q.base?.[m] as number);
    const gains = withBase
      ? bootstrapMeans(
          Object.fromEntries(names.map((m) => [m, perQuery.map((q) => q.reranked[m] - (q.base?.[m] as number))])),
          bootstrap,
        )
      : {};
    return { metrics, perQuery, intervals: bootstrapMeans(columns, bootstrap), gains };
  }

  private async run(model: PairScorer): Promise<{ metrics: Record<string, number>; perQuery: RerankingQueryResult[] }> {
    const perQuery: RerankingQueryResult[] = [];
    for (const s of this.samples) {
      const positives = new Set(s.positive);
      let docs: string[];
      let base: Record<string, number> | undefined;
      if (s.documents) {
        const flags = s.documents.map((d) => positives.has(d));
        const found = new Set(s.documents.filter((d) => positives.has(d)));
        const missed = [...positives].filter((p) => !found.has(p));
        base = rankingMetrics(flags, found.size > 0 ? missed.length : 0, this.atK);
        docs = this.alwaysRerankPositives
          ? [...positives, ...s.documents.filter((d) => !positives.has(d))]
          : s.documents;
      } else docs = [...s.positive, ...(s.negative ?? [])];
      let reranked: Record<string, number>;
      if (!docs.some((d) => positives.has(d))) reranked = rankingMetrics([], 0, this.atK);
      else {
        // As Python: the re-ranked list's metrics count the positives in it (its ideal ranking holds those).
        const ranked = await model.rank(s.query, docs, { batchSize: this.batchSize });
        reranked = rankingMetrics(
          ranked.map((r) => positives.has(docs[r.corpusId])),
          0,
          this.atK,
        );
      }
      perQuery.push({ query: s.query, reranked, ...(base ? { base } : {}) });
    }
    const prefix = this.name ? `${this.name}_` : "";
    const metrics: Record<string, number> = {};
    const mean = (f: (q: RerankingQueryResult) => number) => perQuery.reduce((a, q) => a + f(q), 0) / perQuery.length;
    for (const m of ["map", `mrr@${this.atK}`, `ndcg@${this.atK}`]) {
      metrics[prefix + m] = mean((q) => q.reranked[m]);
      if (perQuery.every((q) => q.base)) metrics[`${prefix}base_${m}`] = mean((q) => q.base?.[m] as number);
    }
    return { metrics, perQuery };
  }
}
