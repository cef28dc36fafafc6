/**
 * Quality filters for generated (anchor, positive) rows, each counted, applied in this order (a row
 * is counted under the first filter that removes it):
 *   exact_duplicate  the same question (after lower-casing, dropping punctuation) was already kept
 *   too_short        fewer than minWords words (default 3)
 *   too_long         more than maxWords words (default 40)
 *   copies_chunk     the question shares a run of >= maxCopiedWords consecutive words (default 7) with
 *                    its positive: it was copied, and would teach lexical matching, not retrieval
 *   near_duplicate   word-bigram Jaccard >= nearDuplicate (default 0.8) with a question already kept
 *                    for the same positive (or for any positive with scope "all")
 */
import pl from "nodejs-polars";
import { jaccard, longestCommonRun, normalizeText, shingles, words } from "./text";
import type { PairRow } from "./types";

export const FILTER_NAMES = ["exact_duplicate", "too_short", "too_long", "copies_chunk", "near_duplicate"] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

export interface FilterOptions {
  minWords?: number;
  maxWords?: number;
  maxCopiedWords?: number;
  nearDuplicate?: number;
  /** Compare for near duplicates within one positive ("chunk", default) or across all rows ("all", O(n²)). */
  nearDuplicateScope?: "chunk" | "all";
}

export interface FilterReport {
  total: number;
  kept: number;
  removed: Record<FilterName, number>;
}

export interface FilterResult {
  kept: PairRow[];
  removed: { row: PairRow; filter: FilterName }[];
  report: FilterReport;
}

/** Applies the filters; rows keep their order. */
export function filterPairs(rows: readonly PairRow[], options: FilterOptions = {}): FilterResult {
  const minWords = options.minWords ?? 3;
  const maxWords = options.maxWords ?? 40;
  const maxCopied = options.maxCopiedWords ?? 7;
  const threshold = options.nearDuplicate ?? 0.8;
  const scopeAll = options.nearDuplicateScope === "all";
  const seen = new Set<string>();
  const keptShingles = new Map<string, Set<string>[]>();
  const kept: PairRow[] = [];
  const removed: { row: PairRow; filter: FilterName }[] = [];
  const counts = Object.fromEntries(FILTER_NAMES.map((f) => [f, 0])) as Record<FilterName, number>;
  for (const row of rows) {
    const qWords = words(row.anchor);
    const norm = qWords.join(" ");
    const group = scopeAll ? "" : String(row.positive_id ?? row.positive);
    const sh = shingles(qWords, 2);
    let filter: FilterName | undefined;
    if (seen.has(norm)) filter = "exact_duplicate";
    else if (qWords.length < minWords) filter = "too_short";
    else if (qWords.length > maxWords) filter = "too_long";
    else if (longestCommonRun(qWords, words(row.positive)) >= maxCopied) filter = "copies_chunk";
    else if ((keptShingles.get(group) ?? []).some((other) => jaccard(sh, other) >= threshold))
      filter = "near_duplicate";
    if (filter) {
      counts[filter]++;
      removed.push({ row, filter });
      continue;
    }
    seen.add(norm);
    let list = keptShingles.get(group);
    if (!list) keptShingles.set(group, (list = []));
    list.push(sh);
    kept.push(row);
  }
  return { kept, removed, report: { total: rows.length, kept: kept.length, removed: counts } };
}

/** The report as a table: one row per filter with the count it removed, then "kept". */
export function filterReportFrame(report: FilterReport): pl.DataFrame {
  return pl.DataFrame([
    pl.Series("filter", [...FILTER_NAMES, "kept"], pl.Utf8),
    pl.Series("rows", [...FILTER_NAMES.map((f) => report.removed[f]), report.kept], pl.Int64),
  ]);
}

/** Exact duplicates only (same normalized anchor and same positive); for merging generated files. */
export function dedupePairs(rows: readonly PairRow[]): PairRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = `${normalizeText(r.anchor)}\u0000${r.positive_id ?? r.positive}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
