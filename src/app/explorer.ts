/**
 * The Explore page's engine: one query against BM25, the base model and every fine-tuned model over the same
 * corpus, side by side. A query that is one of the dataset's questions (same text, ignoring case, spacing and
 * a final "?") gets its relevant passages marked and its rank in every system.
 *
 * Corpus embeddings come from the indexes the course saved (runs/<dataset>/<model>/indexes/, keyed by the data
 * and the model) when one matches, else the corpus is embedded once when the app starts.
 *
 * Examples (questions fine-tuning fixed or broke) are measured here, on the dataset's held-out split (test, else
 * dev), with the same InformationRetrievalEvaluator the notebooks use: a fixed question has its relevant passage
 * first with the fine-tuned model and not with the base one; a broken one the other way round.
 */
import { toIRSplit } from "../data/beir";
import type { CorpusRow, IRSplit } from "../data/types";
import { InformationRetrievalEvaluator } from "../eval/ir-evaluator";
import { loadModel } from "../model/index";
import { BM25Retriever } from "../retrieval/bm25";
import { DenseRetriever } from "../retrieval/dense";
import type { Retriever, SearchHit } from "../retrieval/types";
import type { VectorStore } from "../retrieval/vector-store";
import { VectorIndex } from "../retrieval/vector-index";
import { openStore, parseStoreSpec, storeTableName } from "../retrieval/stores";
import { findSavedIndex, type AppDataset, type ModelEntry } from "./catalog";

export interface ExplorerSystem {
  name: string;
  model: string;
  retriever: Retriever;
  /** "saved index runs/...", "embedded N passages in 3.1 s", "lexical". */
  index: string;
}

export interface KnownQuestion {
  queryId: string;
  split: string;
  text: string;
  relevant: string[];
}

export interface SearchHitView {
  rank: number;
  id: string;
  score: number;
  title: string;
  text: string;
  relevant: boolean;
}

export interface SearchResult {
  query: string;
  k: number;
  offset: number;
  corpusSize: number;
  /** The dataset question this query is, when it is one. */
  known?: KnownQuestion;
  systems: {
    name: string;
    model: string;
    hits: SearchHitView[];
    /** Rank of the first relevant passage (known questions), null when deeper than `depth`. */
    rank?: number | null;
    depth: number;
  }[];
}

export interface ExampleQuestion {
  queryId: string;
  text: string;
  baseRank: number | null;
  tunedRank: number | null;
}

export interface Examples {
  split: string;
  queries: number;
  /** One entry per fine-tuned model. */
  models: { system: string; fixed: ExampleQuestion[]; broke: ExampleQuestion[]; improved: number; worsened: number }[];
}

/** Lower case, single spaces, no final punctuation: how a typed question is matched to the dataset's. */
export function normalizeQuestion(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[?.!\s]+$/, "");
}

/** The deepest rank searched for the relevant passage (and the most a page of results can reach). */
export const RANK_DEPTH = 1000;

export class Explorer {
  readonly dataset: AppDataset;
  readonly systems: ExplorerSystem[];
  private readonly corpus: Map<string, CorpusRow>;
  private readonly known = new Map<string, KnownQuestion>();
  private examples?: Promise<Examples>;

  private constructor(dataset: AppDataset, systems: ExplorerSystem[]) {
    this.dataset = dataset;
    this.systems = systems;
    this.corpus = dataset.beir.corpus;
    for (const [split, rows] of dataset.beir.qrels) {
      for (const q of rows) {
        if (q.score <= 0) continue;
        const text = dataset.beir.queries.get(q.queryId);
        if (text === undefined) continue;
        const key = normalizeQuestion(text);
        let k = this.known.get(key);
        if (!k) this.known.set(key, (k = { queryId: q.queryId, split, text, relevant: [] }));
        if (k.queryId === q.queryId && !k.relevant.includes(q.corpusId)) k.relevant.push(q.corpusId);
      }
    }
  }

  /** Loads the models and their corpus indexes; `log` hears what was reused or embedded. */
  static async open(
    dataset: AppDataset,
    models: { base: ModelEntry; tuned: ModelEntry[] },
    log: (line: string) => void = () => {},
    options: { store?: string } = {},
  ): Promise<Explorer> {
    const spec = parseStoreSpec(options.store ?? "memory", "app --store");
    const entries = [...dataset.beir.corpus].map(([_id, d]) => ({ _id, title: d.title, text: d.text }));
    if (entries.length === 0) throw new Error(`${dataset.dir}: the corpus is empty.`);
    const systems: ExplorerSystem[] = [
      { name: "BM25", model: "-", retriever: new BM25Retriever(entries, { name: "BM25" }), index: "lexical" },
    ];
    for (const entry of [models.base, ...models.tuned]) {
      const model = await loadModel(entry.spec);
      const saved = findSavedIndex(entry, dataset.key);
      let retriever: DenseRetriever<VectorStore>;
      let index: string;
      const t0 = performance.now();
      if (spec.kind === "lancedb") {
        // A persistent table per (dataset, model): a restart embeds only passages that changed.
        const table = storeTableName(dataset.name, `${entry.system}-${entry.modelKey.slice(0, 12)}`);
        const store = await openStore(spec, { table, dim: model.dim, modelKey: entry.modelKey, model: entry.model });
        retriever = await DenseRetriever.build(model, entries, { store });
        index = store.describe();
      } else if (saved) {
        retriever = new DenseRetriever(model, VectorIndex.load(saved));
        index = `saved index ${saved}`;
      } else {
        retriever = await DenseRetriever.build(model, entries);
        index = `embedded ${entries.length} passages in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      }
      log(`${entry.system} (${entry.model}): ${index}`);
      systems.push({ name: entry.system, model: entry.model, retriever, index });
    }
    return new Explorer(dataset, systems);
  }

  /** The dataset question with this text, if it is one. */
  knownQuestion(text: string): KnownQuestion | undefined {
    return this.known.get(normalizeQuestion(text));
  }

  get corpusSize(): number {
    return this.corpus.size;
  }

  /** Hits offset+1 .. offset+k of every system, and each system's rank of the relevant passage for a known question. */
  async search(query: string, k = 10, offset = 0): Promise<SearchResult> {
    const known = this.knownQuestion(query);
    const size = this.corpus.size;
    const depth = Math.min(size, Math.max(RANK_DEPTH, offset + k));
    const want = Math.min(size, offset + k);
    const relevant = new Set(known?.relevant ?? []);
    const systems = await Promise.all(
      this.systems.map(async (s) => {
        const [hits] = await s.retriever.retrieve([query], known ? depth : want);
        const view = (h: SearchHit, i: number): SearchHitView => {
          const d = this.corpus.get(h.id);
          return {
            rank: offset + i + 1,
            id: h.id,
            score: h.score,
            title: d?.title ?? "",
            text: d?.text ?? "",
            relevant: relevant.has(h.id),
          };
        };
        const page = hits.slice(offset, offset + k).map((h, i) => view(h, i));
        const at = known ? hits.findIndex((h) => relevant.has(h.id)) : -1;
        return {
          name: s.name,
          model: s.model,
          hits: page,
          ...(known ? { rank: at < 0 ? null : at + 1 } : {}),
          depth: known ? depth : want,
        };
      }),
    );
    return { query, k, offset, corpusSize: size, ...(known ? { known } : {}), systems };
  }

  /** A passage by id, with whether it exists. */
  passage(id: string): CorpusRow | undefined {
    return this.corpus.get(id);
  }

  /** Questions each fine-tuned model fixed and broke on the held-out split (measured once, then cached). */
  fixedAndBroken(count = 8): Promise<Examples> {
    this.examples ??= this.measureExamples(count);
    return this.examples;
  }

  private async measureExamples(count: number): Promise<Examples> {
    const splitName = ["test", "dev"].find((s) => this.dataset.beir.qrels.has(s));
    const dense = this.systems.slice(1);
    if (!splitName || dense.length < 2) return { split: splitName ?? "", queries: 0, models: [] };
    const split: IRSplit = toIRSplit(this.dataset.beir, splitName);
    const evaluator = InformationRetrievalEvaluator.fromSplit(split, { name: `${this.dataset.name}-${splitName}` });
    const ranks = new Map<string, Map<string, number | null>>();
    for (const s of dense) {
      const r = await evaluator.evaluate(s.retriever);
      ranks.set(s.name, new Map(r.perQuery.map((q) => [q.queryId, q.firstRelevantRank])));
    }
    const base = ranks.get(dense[0].name) as Map<string, number | null>;
    const far = (r: number | null) => r ?? Number.POSITIVE_INFINITY;
    const models = dense.slice(1).map((s) => {
      const tuned = ranks.get(s.name) as Map<string, number | null>;
      const rows = [...base].map(([queryId, baseRank]) => ({
        queryId,
        text: split.queries.get(queryId) as string,
        baseRank,
        tunedRank: tuned.get(queryId) ?? null,
      }));
      const fixed = rows
        .filter((q) => q.tunedRank === 1 && q.baseRank !== 1)
        .sort((a, b) => far(b.baseRank) - far(a.baseRank) || a.queryId.localeCompare(b.queryId));
      const broke = rows
        .filter((q) => q.baseRank === 1 && q.tunedRank !== 1)
        .sort((a, b) => far(b.tunedRank) - far(a.tunedRank) || a.queryId.localeCompare(b.queryId));
      return {
        system: s.name,
        fixed: fixed.slice(0, count),
        broke: broke.slice(0, count),
        improved: rows.filter((q) => far(q.tunedRank) < far(q.baseRank)).length,
        worsened: rows.filter((q) => far(q.tunedRank) > far(q.baseRank)).length,
      };
    });
    return { split: splitName, queries: split.queries.size, models };
  }
}
