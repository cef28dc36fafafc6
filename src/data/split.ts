/**
 * Leak-free splitting: whole source documents go to train, dev or test, never their chunks one by
 * one, because neighbouring chunks of one document share sentences, names and numbers, and a test
 * query whose document was seen in training measures memory, not retrieval. Documents are shuffled
 * with a seed, then each goes to the split furthest below its target share of rows (greedy by
 * deficit), so the row proportions come out close to the fractions asked for (70/15/15 by default;
 * { train: 0.85, dev: 0, test: 0.15 } gives the 85/15 of the policy-documents tutorial).
 *
 * assertNoLeak checks the result, and loadBeir runs it on every dataset it loads.
 */
import { rngFor, shuffled } from "../random";
import { DataError, type DataIssue, type IRSplit, type SplitName, SPLIT_NAMES } from "./types";
import { DEFAULT_SEED } from "../defaults";

export interface SplitFractions {
  train: number;
  dev: number;
  test: number;
}

export interface SplitOptions {
  /** Shares of rows per split; must be >= 0 and sum to 1. Default 0.7 / 0.15 / 0.15. */
  fractions?: SplitFractions;
  /** Default DEFAULT_SEED = 42. */
  seed?: number;
}

export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.7, dev: 0.15, test: 0.15 };

function checkFractions(f: SplitFractions): void {
  const values = SPLIT_NAMES.map((s) => f[s]);
  if (values.some((v) => !Number.isFinite(v) || v < 0))
    throw new RangeError(`split fractions must be numbers >= 0, got ${JSON.stringify(f)}`);
  const sum = values.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6)
    throw new RangeError(`split fractions must sum to 1, got ${sum} from ${JSON.stringify(f)}`);
}

/**
 * Assigns each document to a split. `docIds` holds one entry per row (a document with many rows
 * weighs more), so the fractions are met in rows, not in documents.
 */
export function splitByDocument(docIds: readonly string[], options: SplitOptions = {}): Map<string, SplitName> {
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  checkFractions(fractions);
  const weight = new Map<string, number>();
  for (const d of docIds) weight.set(d, (weight.get(d) ?? 0) + 1);
  // Sort before shuffling so that the input order does not change the outcome.
  const wanted = SPLIT_NAMES.filter((s) => fractions[s] > 0);
  if (weight.size < wanted.length) {
    throw new RangeError(
      `${weight.size} source document(s) cannot fill ${wanted.length} splits (${wanted.join(", ")}) without sharing a document; add documents or set a fraction to 0`,
    );
  }
  const docs = shuffled([...weight.keys()].sort(), rngFor(options.seed ?? DEFAULT_SEED, "splitByDocument"));
  const total = docIds.length;
  const filled: Record<SplitName, number> = { train: 0, dev: 0, test: 0 };
  const out = new Map<string, SplitName>();
  for (const doc of docs) {
    let best: SplitName = "train";
    let bestDeficit = -Infinity;
    for (const s of SPLIT_NAMES) {
      if (fractions[s] === 0) continue;
      const deficit = (fractions[s] * total - filled[s]) / fractions[s];
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = s;
      }
    }
    out.set(doc, best);
    filled[best] += weight.get(doc) ?? 0;
  }
  return out;
}

/** Splits rows by their `doc_id` (rows without one are an error: they cannot be split leak-free). */
export function splitRows<T extends { doc_id?: string | number | boolean | null }>(
  rows: readonly T[],
  options: SplitOptions = {},
): Record<SplitName, T[]> {
  const missing = rows.findIndex((r) => typeof r.doc_id !== "string" || r.doc_id === "");
  if (missing >= 0)
    throw new DataError([
      {
        file: "rows",
        line: missing + 1,
        reason: 'missing "doc_id": every row needs its source document to be split without leaks',
      },
    ]);
  const assignment = splitByDocument(
    rows.map((r) => r.doc_id as string),
    options,
  );
  const out: Record<SplitName, T[]> = { train: [], dev: [], test: [] };
  for (const r of rows) out[assignment.get(r.doc_id as string) as SplitName].push(r);
  return out;
}

export interface LeakReport {
  /** Per split: queries, relevant passages and their source documents. */
  splits: { split: string; queries: number; passages: number; documents: number }[];
}

/** Source documents of the passages a split's queries point to. */
export function documentsOf(split: IRSplit): Set<string> {
  const docs = new Set<string>();
  for (const ids of split.relevant.values()) for (const id of ids) docs.add(split.corpus.get(id)?.doc_id ?? id);
  return docs;
}

/**
 * Throws a DataError when two splits share a query id or a source document (no chunk of a test
 * document may be in train); returns a summary otherwise.
 */
export function assertNoLeak(splits: readonly IRSplit[]): LeakReport {
  const issues: DataIssue[] = [];
  const docs = splits.map(documentsOf);
  for (let a = 0; a < splits.length; a++) {
    for (let b = a + 1; b < splits.length; b++) {
      const sharedDocs = [...docs[a]].filter((d) => docs[b].has(d));
      if (sharedDocs.length > 0) {
        issues.push({
          file: `split ${splits[a].split}/${splits[b].split}`,
          reason: `${sharedDocs.length} source document(s) in both splits, e.g. ${sharedDocs.slice(0, 3).join(", ")}; split by document (splitByDocument)`,
        });
      }
      const sharedQueries = [...splits[a].relevant.keys()].filter((q) => splits[b].relevant.has(q));
      if (sharedQueries.length > 0) {
        issues.push({
          file: `split ${splits[a].split}/${splits[b].split}`,
          reason: `${sharedQueries.length} query id(s) in both splits, e.g. ${sharedQueries.slice(0, 3).join(", ")}`,
        });
      }
    }
  }
  if (issues.length > 0) throw new DataError(issues);
  return {
    splits: splits.map((s, i) => {
      const passages = new Set<string>();
      for (const ids of s.relevant.values()) for (const id of ids) passages.add(id);
      return { split: s.split, queries: s.relevant.size, passages: passages.size, documents: docs[i].size };
    }),
  };
}

/**
 * Splitting by question, for the setting "new questions about your documents": every passage may have training
 * questions, and the test questions are other questions. Two questions written for the same passage are often
 * paraphrases of one question ("fsa rollover amount", "fsa carryover limit 640"); training on one and testing on
 * the other measures memory, so paraphrases are grouped first and a group goes to one split whole.
 *
 * Two questions are put in one group when they are identical after normalising (case, punctuation), or when they
 * share a relevant passage and at least `threshold` (default 0.5) of the shorter one's content words (stop words
 * dropped, a plural "s" cut). That is a generous notion of paraphrase: it also groups questions that only share a
 * topic word or two, which makes the test harder, never easier.
 */
const QUESTION_STOPWORDS = new Set(
  (
    "a an the of to for in on at is are am was do does did i my me we our us you your can could how what when " +
    "where who which why with and or if be it its this that from by as about there any get"
  ).split(" "),
);

/** Lower case, letters and digits only, single spaces: the form in which two questions count as identical. */
export function normalizeQuestion(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

function contentWords(text: string): Set<string> {
  return new Set(
    normalizeQuestion(text)
      .split(" ")
      .filter((w) => w !== "" && !QUESTION_STOPWORDS.has(w))
      .map((w) => (w.length > 3 && w.endsWith("s") ? w.slice(0, -1) : w)),
  );
}

/** Share of the shorter question's content words that the other one has too (0 when either has none). */
export function wordOverlap(a: string, b: string): number {
  const A = contentWords(a);
  const B = contentWords(b);
  if (A.size === 0 || B.size === 0) return 0;
  let shared = 0;
  for (const w of A) if (B.has(w)) shared++;
  return shared / Math.min(A.size, B.size);
}

export interface ParaphraseOptions {
  /** Content-word overlap from which two questions of one passage are paraphrases (default 0.5). */
  threshold?: number;
}

/** Query id -> group id (the smallest query id of its group); see the section header. */
export function paraphraseGroups(split: IRSplit, options: ParaphraseOptions = {}): Map<string, string> {
  const threshold = options.threshold ?? 0.5;
  const ids = [...split.relevant.keys()].sort();
  const parent = new Map(ids.map((id) => [id, id]));
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root) as string;
    parent.set(x, root);
    return root;
  };
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra === rb) return;
    // The smaller id is the root, so group ids do not depend on the order of the unions.
    if (ra < rb) parent.set(rb, ra);
    else parent.set(ra, rb);
  };
  const text = (id: string) => split.queries.get(id) ?? "";
  const byText = new Map<string, string>();
  const byPassage = new Map<string, string[]>();
  for (const id of ids) {
    const key = normalizeQuestion(text(id));
    const same = byText.get(key);
    if (same) union(same, id);
    else byText.set(key, id);
    for (const p of split.relevant.get(id) ?? []) {
      const list = byPassage.get(p) ?? [];
      for (const other of list) if (wordOverlap(text(id), text(other)) >= threshold) union(other, id);
      list.push(id);
      byPassage.set(p, list);
    }
  }
  return new Map(ids.map((id) => [id, find(id)]));
}

export interface QuestionSplit {
  train: IRSplit;
  dev: IRSplit;
  test: IRSplit;
  /** Paraphrase groups found (query id -> group id). */
  groups: Map<string, string>;
  /** Queries left out of every split because they are identical to an excluded text (e.g. an independent query). */
  excluded: string[];
}

/**
 * Splits a set of questions by paraphrase group (whole groups go to train, dev or test; row shares as close to
 * `fractions` as the groups allow, 70/15/15 by default). Questions identical (normalizeQuestion) to one of
 * `excludeTexts` go nowhere: pass the texts of a test set kept apart (the independent queries) so that training
 * never sees them word for word.
 */
export function splitByQuestion(
  all: IRSplit,
  options: SplitOptions & ParaphraseOptions & { excludeTexts?: Iterable<string> } = {},
): QuestionSplit {
  const groups = paraphraseGroups(all, options);
  const banned = new Set([...(options.excludeTexts ?? [])].map(normalizeQuestion));
  const excluded = [...groups.keys()].filter((id) => banned.has(normalizeQuestion(all.queries.get(id) ?? "")));
  const kept = [...groups.keys()].filter((id) => !excluded.includes(id));
  // splitByDocument assigns whole "documents" by row weight; a paraphrase group plays the document here.
  const assignment = splitByDocument(
    kept.map((id) => groups.get(id) as string),
    options,
  );
  const part = (name: SplitName): IRSplit => {
    const ids = kept.filter((id) => assignment.get(groups.get(id) as string) === name);
    return {
      split: name,
      corpus: all.corpus,
      queries: new Map(ids.map((id) => [id, all.queries.get(id) as string])),
      relevant: new Map(ids.map((id) => [id, all.relevant.get(id) as Set<string>])),
    };
  };
  return { train: part("train"), dev: part("dev"), test: part("test"), groups, excluded };
}

export interface QuestionLeakRow {
  /** The test set checked against the training questions. */
  split: string;
  queries: number;
  /** Query ids also among the training questions (must be 0). */
  sharedIds: number;
  /** Questions identical to a training question after normalizeQuestion (must be 0). */
  identical: number;
  /** Questions that paraphraseGroups would group with a training question of the same passage (must be 0 for a split made by splitByQuestion). */
  paraphrases: number;
  /** Share of the questions whose relevant passage has training questions: 1 in "new questions", 0 in "documents added later". */
  passagesWithTrainingQuestions: number;
  /** Median over the questions of the highest word overlap with any training question of the same passage. */
  medianOverlap: number;
  /** Ids of the questions counted in `paraphrases`, to evaluate them apart from the rest. */
  paraphraseIds: string[];
}

/** Checks test sets against training questions: the leak check of a split by question, shown, not assumed. */
export function questionLeakReport(
  train: { queries: ReadonlyMap<string, string>; relevant: ReadonlyMap<string, ReadonlySet<string>> },
  tests: readonly IRSplit[],
  options: ParaphraseOptions = {},
): QuestionLeakRow[] {
  const threshold = options.threshold ?? 0.5;
  const trainTexts = new Set([...train.queries.values()].map(normalizeQuestion));
  const byPassage = new Map<string, string[]>();
  for (const [id, ps] of train.relevant)
    for (const p of ps) byPassage.set(p, [...(byPassage.get(p) ?? []), train.queries.get(id) ?? ""]);
  return tests.map((t) => {
    let sharedIds = 0;
    let identical = 0;
    let paraphrases = 0;
    let covered = 0;
    const best: number[] = [];
    const paraphraseIds: string[] = [];
    for (const [id, text] of t.queries) {
      if (train.relevant.has(id)) sharedIds++;
      if (trainTexts.has(normalizeQuestion(text))) identical++;
      const others = [...(t.relevant.get(id) ?? [])].flatMap((p) => byPassage.get(p) ?? []);
      if (others.length > 0) covered++;
      const top = Math.max(0, ...others.map((o) => wordOverlap(text, o)));
      best.push(top);
      if (top >= threshold) {
        paraphrases++;
        paraphraseIds.push(id);
      }
    }
    best.sort((a, b) => a - b);
    return {
      split: t.split,
      queries: t.queries.size,
      sharedIds,
      identical,
      paraphrases,
      passagesWithTrainingQuestions: t.queries.size === 0 ? 0 : covered / t.queries.size,
      medianOverlap: best.length === 0 ? 0 : best[Math.floor((best.length - 1) / 2)],
      paraphraseIds,
    };
  });
}
