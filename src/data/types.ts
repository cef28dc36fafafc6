/**
 * Types at the data boundary, declared once: a problem found in an input file (DataIssue), the error
 * that carries such problems (DataError), a training row with sentence-transformers' column names
 * (PairRow), a passage of a corpus, a chunk cut from a user's document, and the evaluator's form of a
 * retrieval split (queries / corpus / relevant docs, as InformationRetrievalEvaluator takes them).
 */

/** Where and why an input was rejected or a row was skipped. `line` is 1-based. */
export interface DataIssue {
  file: string;
  line?: number;
  reason: string;
}

/** `data/x/queries.jsonl line 17: missing field "text"` */
export function formatIssue(issue: DataIssue): string {
  return issue.line === undefined
    ? `${issue.file}: ${issue.reason}`
    : `${issue.file} line ${issue.line}: ${issue.reason}`;
}

/** A data error that names every problem found (file, line, reason), not only the first one. */
export class DataError extends Error {
  readonly issues: DataIssue[];
  constructor(issues: DataIssue[], limit = 10) {
    const shown = issues.slice(0, limit).map(formatIssue);
    if (issues.length > limit) shown.push(`... and ${issues.length - limit} more`);
    super(shown.join("\n"));
    this.name = "DataError";
    this.issues = issues;
  }
}

/**
 * One training row, columns named as sentence-transformers datasets name them: (anchor, positive),
 * optionally `negative` or `negative_1`..`negative_n`; the optional ids say where a row came from.
 */
export interface PairRow {
  anchor: string;
  positive: string;
  negative?: string;
  /** Query id (BEIR `_id` of queries.jsonl) when the anchor is a stored query. */
  query_id?: string;
  /** Corpus id of the positive passage (a chunk id). */
  positive_id?: string;
  /** Source document of the positive; the unit of leak-free splitting. */
  doc_id?: string;
  /** Who wrote the anchor, e.g. "llm:gpt-4o-mini" or "offline template generator". */
  generator?: string;
  [column: string]: string | number | boolean | null | undefined;
}

/**
 * A passage of a corpus, as BEIR's corpus.jsonl stores it: the one corpus row type from data (chunks,
 * shipped datasets) to retrieval (indexes take these rows) to evaluation. A chunk of a user's document
 * has the stable id `<doc_id>#<index>`.
 */
export interface CorpusRow {
  _id: string;
  /** The source document this passage was cut from (the unit of leak-free splitting). */
  doc_id: string;
  /** Heading path, "Leave policy > Parental leave", or the file name when there is no heading. */
  title: string;
  text: string;
}

export type SplitName = "train" | "dev" | "test";
export const SPLIT_NAMES: readonly SplitName[] = ["train", "dev", "test"];

/**
 * One retrieval split in the evaluator's form: the split's queries, the whole corpus (retrieval runs
 * over all passages, as in BEIR), and for each query the set of relevant corpus ids.
 */
export interface IRSplit {
  split: string;
  queries: Map<string, string>;
  corpus: Map<string, CorpusRow>;
  relevant: Map<string, Set<string>>;
}
