/**
 * Types shared by every retriever (dense vector index, BM25, hybrid) and by the evaluator that
 * scores them: one interface, `retrieve(queries, k)`, so that a fine-tuned model, the base model
 * and a lexical baseline are measured by exactly the same code.
 *
 * Ordering rule, used everywhere in src/retrieval: hits are sorted by score, highest first; among
 * exactly equal scores the document that comes earlier in the corpus comes first (and, at the
 * cut-off k, is the one kept). Python's InformationRetrievalEvaluator does not define this order:
 * torch.topk(sorted=False) picks among ties as its kernel happens to, the heap that merges corpus
 * chunks keeps the larger corpus id (tuples (score, id) compare ids on equal scores), and the final
 * stable sort by score keeps the heap's internal order. Without exact ties both give the same
 * ranking; with them, rank-dependent metrics can differ between the two (and between Python runs
 * on different hardware). faiss also orders ties arbitrarily, so its output is re-sorted here.
 */
import type { CorpusRow } from "../data/types";

/** One retrieved document: its corpus id and the retriever's score (higher = more relevant). */
export interface SearchHit {
  id: string;
  score: number;
}

/**
 * A corpus row as retrievers take it: src/data's CorpusRow (`_id`, `doc_id`, `title`, `text`), where a
 * plain BEIR corpus may lack `title` and `doc_id`.
 */
export type CorpusEntry = Pick<CorpusRow, "_id" | "text"> & Partial<Pick<CorpusRow, "title" | "doc_id">>;

/**
 * A corpus in any of the shapes the course uses: rows with `_id` (BEIR), a Map id -> {title, text}
 * (src/data's IRSplit.corpus) or id -> text, or a plain object id -> text (Python's dict form).
 */
export type CorpusInput =
  | readonly CorpusEntry[]
  | ReadonlyMap<string, string | { title?: string; text: string }>
  | Readonly<Record<string, string>>;

/** The corpus as rows in its given order; duplicate ids (possible only in arrays) are an error. */
export function toCorpusEntries(corpus: CorpusInput, what = "corpus"): CorpusEntry[] {
  let rows: CorpusEntry[];
  if (Array.isArray(corpus)) rows = corpus.slice();
  else if (corpus instanceof Map) {
    rows = [...corpus].map(([id, v]) =>
      typeof v === "string" ? { _id: id, text: v } : { _id: id, title: v.title, text: v.text },
    );
  } else rows = Object.entries(corpus as Record<string, string>).map(([id, text]) => ({ _id: id, text }));
  rows.forEach((row, i) => {
    if (typeof row.text !== "string")
      throw new Error(`${what}: document ${i} ("${row._id}") has no text field (got ${typeof row.text}).`);
  });
  checkUniqueIds(
    what,
    rows.map((r) => r._id),
  );
  return rows;
}

/** A query in BEIR layout (queries.jsonl). */
export interface QueryRow {
  _id: string;
  text: string;
}

/** What every retriever offers. */
export interface Retriever {
  /** Label for tables and charts, e.g. "bm25" or "all-MiniLM-L6-v2 (exact)". */
  readonly name: string;
  /** Name of the score, used in metric keys like "cosine_ndcg@10": "cosine", "dot", "bm25", "rrf". */
  readonly scoreFunction: string;
  /** Document ids in corpus order (the tie-break order). */
  readonly ids: readonly string[];
  /** The top-k hits of each query, best first. k must be an integer in 1..ids.length. */
  retrieve(queries: string[], k: number): Promise<SearchHit[][]>;
}

/**
 * The text a retriever sees for a document: "title\ntext" when there is a title, else the text;
 * the same as src/data's passageText, so a model is evaluated on the text it was trained on.
 */
export function documentText(doc: CorpusEntry): string {
  const title = doc.title?.trim();
  return title ? `${doc.title}\n${doc.text}` : doc.text;
}

/** Throws unless k is an integer in 1..size; `who` names the caller in the message. */
export function checkK(who: string, k: number, size: number): void {
  if (size === 0) throw new Error(`${who}: the corpus is empty; add documents before searching.`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`${who}: k=${k} must be a positive integer.`);
  if (k > size) throw new Error(`${who}: k=${k} is larger than the corpus (${size} documents); use k <= ${size}.`);
}

/** Throws on the first repeated id, naming it and both positions. */
export function checkUniqueIds(what: string, ids: readonly string[], existing?: ReadonlyMap<string, number>): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    if (typeof id !== "string" || id.length === 0)
      throw new Error(`${what}: entry ${i} has no id (got ${JSON.stringify(id)}).`);
    const before = seen.get(id) ?? existing?.get(id);
    if (before !== undefined) {
      const where = seen.has(id) ? `entry ${before}` : `the index (position ${before})`;
      throw new Error(`${what}: duplicate id "${id}" at entry ${i}, already in ${where}. Ids must be unique.`);
    }
    seen.set(id, i);
  });
}
