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
