/**
 * InformationRetrievalEvaluator: the TypeScript counterpart of sentence-transformers' evaluator of
 * the same name, with its inputs (queries, corpus, relevant docs), defaults, metric definitions
 * (./metrics) and flat metric keys "<name>_<score function>_<metric>@<k>", e.g. "cosine_ndcg@10"
 * or "policy-test_cosine_ndcg@10"; the primary metric is "<score function>_ndcg@<max ndcg k>".
 *
 * As in Python: queries without relevant documents are dropped (we also report how many), the
 * corpus is searched to depth min(max k, corpus size), and metrics are means over the kept queries.
 * Unlike Python, which takes only a model, any Retriever (dense, BM25, hybrid) or an Embedder
 * (indexed here with an exact cosine index) can be evaluated, and per-query results are kept for
 * comparisons (./compare) and reports (./report). Inputs are checked: qrels naming an unknown query
 * or document, duplicate ids and an empty corpus are errors that name the offending id.
 */
import type { Embedder } from "../model/types";
import type { IRSplit } from "../data/types";
import { DenseRetriever, type DenseRetrieverOptions } from "../retrieval/dense";
import {
  checkUniqueIds,
  toCorpusEntries,
  type CorpusEntry,
  type CorpusInput,
  type QueryRow,
  type Retriever,
  type SearchHit,
} from "../retrieval/types";
import {
  DEFAULT_CUTOFFS,
  firstRelevantRank,
  maxCutoff,
  metricNames,
  queryMetrics,
  type MetricCutoffs,
} from "./metrics";

/** Queries as BEIR rows, a Map id -> text (src/data's IRSplit) or a plain object (Python's dict). */
export type QueriesInput = readonly QueryRow[] | ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/** A qrels row; `score` > 0 means relevant (BEIR), a missing score counts as relevant. */
export interface QrelInputRow {
  queryId: string;
  corpusId: string;
  score?: number;
}

/** Relevant documents per query: id -> ids (Map or object, as Python's dict of sets), or qrels rows. */
export type QrelsInput =
  | ReadonlyMap<string, Iterable<string>>
  | Readonly<Record<string, Iterable<string>>>
  | readonly QrelInputRow[];

export interface IREvaluatorOptions extends Partial<MetricCutoffs> {
  queries: QueriesInput;
  corpus: CorpusInput;
  relevantDocs: QrelsInput;
  /** Prefix of the metric keys (Python's `name`), e.g. "policy-test". */
  name?: string;
}

/** One kept query's outcome for one system. */
export interface QueryResult {
  queryId: string;
  query: string;
  relevant: string[];
  /** Retrieved hits, best first, to depth min(max k, corpus size). */
  hits: SearchHit[];
  /** 1-based rank of the first relevant hit, null when none was retrieved. */
  firstRelevantRank: number | null;
  /** This query's value of every metric, keyed "accuracy@1" ... "map@100". */
  metrics: Record<string, number>;
}

export interface IRResult {
  /** The system's label (retriever or embedder name). */
  system: string;
  scoreFunction: string;
  /** Python's flat dict: "<name>_<scoreFunction>_<metric>" -> mean. */
  metrics: Record<string, number>;
  /** The same means keyed by bare metric name ("ndcg@10"), comparable across score functions. */
  values: Record<string, number>;
  /** Bare metric names in Python's order. */
  metricNames: string[];
  /** Key of the primary metric in `metrics` (NDCG at the largest k, as Python). */
  primaryMetric: string;
  perQuery: QueryResult[];
  /** Queries without relevant documents, dropped before evaluating. */
  droppedQueries: number;
  corpusSize: number;
  /** Depth searched: min(max k, corpus size). */
  depth: number;
  /** Wall-clock seconds spent retrieving (encoding queries included for dense systems). */
  retrievalSeconds: number;
}

function isEmbedder(x: Retriever | Embedder): x is Embedder {
  return typeof (x as Embedder).encode === "function" && typeof (x as Retriever).retrieve !== "function";
}

function queryRows(queries: QueriesInput): QueryRow[] {
  let rows: QueryRow[];
  if (Array.isArray(queries)) rows = queries.slice();
  else if (queries instanceof Map) rows = [...queries].map(([_id, text]) => ({ _id, text }));
  else rows = Object.entries(queries as Record<string, string>).map(([_id, text]) => ({ _id, text }));
  checkUniqueIds(
    "queries",
    rows.map((q) => q._id),
  );
  rows.forEach((q, i) => {
    if (typeof q.text !== "string") throw new Error(`queries: query ${i} ("${q._id}") has no text.`);
  });
  return rows;
}

/** Relevant ids per query, and the (query, corpus id) pairs of rows with score <= 0 (checked, not used). */
function relevantSets(qrels: QrelsInput): { relevant: Map<string, Set<string>>; notRelevant: [string, string][] } {
  const out = new Map<string, Set<string>>();
  const notRelevant: [string, string][] = [];
  const add = (q: string, d: string) => {
    let s = out.get(q);
    if (!s) out.set(q, (s = new Set()));
    s.add(d);
  };
  if (Array.isArray(qrels)) {
    (qrels as readonly QrelInputRow[]).forEach((row, i) => {
      if (typeof row.queryId !== "string" || typeof row.corpusId !== "string")
        throw new Error(
          `relevant docs: row ${i} needs string fields queryId and corpusId (got ${JSON.stringify(row)}).`,
        );
      if (row.score === undefined || row.score > 0) add(row.queryId, row.corpusId);
      else {
        if (!out.has(row.queryId)) out.set(row.queryId, new Set());
        notRelevant.push([row.queryId, row.corpusId]);
      }
    });
  } else {
    const entries = qrels instanceof Map ? [...qrels] : Object.entries(qrels as Record<string, Iterable<string>>);
    for (const [q, docs] of entries) {
      if (typeof docs === "string" || typeof (docs as Iterable<string>)?.[Symbol.iterator] !== "function")
        throw new Error(
          `relevant docs: query "${q}" must map to a list or set of corpus ids (got ${JSON.stringify(docs)}).`,
        );
      out.set(q, new Set());
      for (const d of docs) add(q, d);
    }
  }
  return { relevant: out, notRelevant };
}

export class InformationRetrievalEvaluator {
  readonly name: string;
  readonly cutoffs: MetricCutoffs;
  /** Kept queries (those with relevant documents), in input order. */
  readonly queries: QueryRow[];
  readonly corpus: CorpusEntry[];
  readonly relevantDocs: ReadonlyMap<string, ReadonlySet<string>>;
  /** Ids of the queries dropped for having no relevant document. */
  readonly droppedQueryIds: string[];
  private readonly corpusIds: Set<string>;

  constructor(options: IREvaluatorOptions) {
    this.name = options.name ?? "";
    this.cutoffs = {
      accuracyAtK: options.accuracyAtK ?? DEFAULT_CUTOFFS.accuracyAtK,
      precisionRecallAtK: options.precisionRecallAtK ?? DEFAULT_CUTOFFS.precisionRecallAtK,
      mrrAtK: options.mrrAtK ?? DEFAULT_CUTOFFS.mrrAtK,
      ndcgAtK: options.ndcgAtK ?? DEFAULT_CUTOFFS.ndcgAtK,
      mapAtK: options.mapAtK ?? DEFAULT_CUTOFFS.mapAtK,
    };
    maxCutoff(this.cutoffs);
    this.corpus = toCorpusEntries(options.corpus);
    if (this.corpus.length === 0)
      throw new Error("InformationRetrievalEvaluator: the corpus is empty; give at least one document.");
    this.corpusIds = new Set(this.corpus.map((d) => d._id));
    const all = queryRows(options.queries);
    const queryIds = new Set(all.map((q) => q._id));
    const { relevant, notRelevant } = relevantSets(options.relevantDocs);
    const pairs = [...relevant].flatMap(([q, docs]) => [...docs].map((d): [string, string] => [q, d]));
    for (const q of relevant.keys())
      if (!queryIds.has(q))
        throw new Error(
          `relevant docs: query id "${q}" is not among the ${queryIds.size} queries; fix the qrels or add the query.`,
        );
    for (const [q, d] of [...pairs, ...notRelevant])
      if (!this.corpusIds.has(d))
        throw new Error(
          `relevant docs: query "${q}" names corpus id "${d}", which is not in the corpus (${this.corpus.length} documents).`,
        );
    this.queries = all.filter((q) => (relevant.get(q._id)?.size ?? 0) > 0);
    this.droppedQueryIds = all.filter((q) => (relevant.get(q._id)?.size ?? 0) === 0).map((q) => q._id);
    if (this.queries.length === 0)
      throw new Error(`InformationRetrievalEvaluator: none of the ${all.length} queries has a relevant document.`);
    this.relevantDocs = relevant;
  }

  /** An evaluator for one split loaded by src/data (loadBeir). */
  static fromSplit(
    split: IRSplit,
    options: Partial<MetricCutoffs> & { name?: string } = {},
  ): InformationRetrievalEvaluator {
    return new InformationRetrievalEvaluator({
      ...options,
      queries: split.queries,
      corpus: split.corpus,
      relevantDocs: split.relevant,
    });
  }

  /** How deep each query is searched: min(max k, corpus size), as Python. */
  get depth(): number {
    return Math.min(maxCutoff(this.cutoffs), this.corpus.length);
  }

  /**
   * Evaluates a retriever over this corpus, or an embedder (indexed here: exact cosine unless
   * `dense` says otherwise). `{ name }` labels the result (default: the model's or retriever's name).
   */
  async evaluate(system: Retriever | Embedder, dense: DenseRetrieverOptions = {}): Promise<IRResult> {
    const retriever = isEmbedder(system) ? await DenseRetriever.build(system, this.corpus, dense) : system;
    if (retriever.ids.length !== this.corpus.length)
      throw new Error(
        `${retriever.name} indexes ${retriever.ids.length} documents but the evaluator's corpus has ${this.corpus.length}; build it from the same corpus.`,
      );
    const t0 = performance.now();
    const rankings = await retriever.retrieve(
      this.queries.map((q) => q.text),
      this.depth,
    );
    const seconds = (performance.now() - t0) / 1000;
    // `name` labels the result for any system (a retriever too), so that two runs of one model can be told apart.
    return this.score(dense.name ?? retriever.name, retriever.scoreFunction, rankings, seconds);
  }

  /**
   * Scores rankings computed elsewhere (one list of hits per kept query, in `queries` order, best
   * first), e.g. to check numbers against another implementation.
   */
  score(system: string, scoreFunction: string, rankings: SearchHit[][], retrievalSeconds = 0): IRResult {
    if (rankings.length !== this.queries.length)
      throw new Error(
        `${system}: ${rankings.length} rankings for ${this.queries.length} queries; give one per kept query.`,
      );
    const names = metricNames(this.cutoffs);
    const perQuery: QueryResult[] = this.queries.map((q, i) => {
      const hits = rankings[i].slice(0, this.depth);
      const ranked = hits.map((h) => h.id);
      for (const id of ranked)
        if (!this.corpusIds.has(id))
          throw new Error(`${system}: query "${q._id}" retrieved "${id}", which is not in the evaluator's corpus.`);
      const relevant = this.relevantDocs.get(q._id)!;
      return {
        queryId: q._id,
        query: q.text,
        relevant: [...relevant],
        hits,
        firstRelevantRank: firstRelevantRank(ranked, relevant),
        metrics: queryMetrics(ranked, relevant, this.cutoffs),
      };
    });
    const values: Record<string, number> = {};
    const metrics: Record<string, number> = {};
    const prefix = this.name ? `${this.name}_` : "";
    for (const m of names) {
      values[m] = perQuery.reduce((s, r) => s + r.metrics[m], 0) / perQuery.length;
      metrics[`${prefix}${scoreFunction}_${m}`] = values[m];
    }
    return {
      system,
      scoreFunction,
      metrics,
      values,
      metricNames: names,
      primaryMetric:
        this.cutoffs.ndcgAtK.length > 0
          ? `${prefix}${scoreFunction}_ndcg@${Math.max(...this.cutoffs.ndcgAtK)}`
          : `${prefix}${scoreFunction}_${names[0]}`,
      perQuery,
      droppedQueries: this.droppedQueryIds.length,
      corpusSize: this.corpus.length,
      depth: this.depth,
      retrievalSeconds,
    };
  }
}
