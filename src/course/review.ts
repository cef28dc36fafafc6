/**
 * Notebook 1's review round trip: a review sheet out (CSV), the participant's reviewed sheet back in, or, until there
 * is one, a reviewer's first decisions (exampleDecisions) written to a copy and read back, so the round trip applies
 * real decisions. The participant's own reviewed.csv is never written.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../files";
import { parseCsv, toCsv } from "../data/csv";
import { exportForReview, importReview, type ReviewResult } from "../data/review";
import type { PairRow } from "../data/types";
import { inputsKey } from "./artefacts";
import type { Course } from "./setup";

export interface ReviewRoundTrip {
  /** The sheet written for review. */
  sheet: string;
  /** Where a reviewed sheet is read from (the participant saves it there). */
  reviewedPath: string;
  /** True when a reviewed sheet was found and read. */
  reviewed: boolean;
  result: ReviewResult;
  /** Rows that go on: accepted and fixed, plus pending ones unless `strict`. */
  rows: PairRow[];
  /** The sheet whose decisions were applied: reviewedPath, the example copy, or the exported sheet itself. */
  readFrom: string;
  /** The example decisions applied when the participant has not reviewed yet (reviewRoundTrip's `example`). */
  decisions?: ExampleDecision[];
}

/**
 * Writes runs/<dataset>/review/sheet-<key>.csv and reads back runs/<dataset>/review/reviewed.csv when the
 * participant saved one (decision column: accept / reject / fix with edited_anchor). Without a reviewed
 * sheet the exported one is read back: every row pending, all kept (`readFrom` says which sheet was read). Reviewed rows
 * that are not among the current rows (the data changed since) are reported, not used.
 */
export function reviewRoundTrip(
  course: Course,
  rows: readonly PairRow[],
  options: { strict?: boolean; example?: boolean } = {},
): ReviewRoundTrip {
  const dir = join(course.datasetDir, "review");
  const sheet = join(dir, `sheet-${inputsKey(rows.map((r) => [r.anchor, r.positive_id]))}.csv`);
  if (!existsSync(sheet)) exportForReview(rows, sheet);
  const reviewedPath = join(dir, "reviewed.csv");
  const reviewed = existsSync(reviewedPath);
  let decisions: ExampleDecision[] | undefined;
  let readFrom = reviewed ? reviewedPath : sheet;
  if (!reviewed && options.example) {
    // No participant review yet: fill a copy of the sheet with a reviewer's first decisions (never reviewed.csv,
    // which is the participant's) and read that back, so that the round trip applies real decisions.
    decisions = exampleDecisions(rows);
    readFrom = join(dir, "reviewed-example.csv");
    const { header, records } = parseCsv(readFileSync(sheet, "utf8"), sheet);
    const byRow = new Map(decisions.map((d) => [d.row, d]));
    const filled = records.map((rec, i) => {
      const cells: Record<string, string> = {};
      header.forEach((h, j) => (cells[h] = rec.fields[j]));
      const d = byRow.get(i);
      if (d) {
        cells.decision = d.decision;
        cells.edited_anchor = d.edited ?? "";
      }
      return cells;
    });
    writeFileAtomic(readFrom, toCsv(header, filled));
  }
  const result = importReview(readFrom);
  const kept = options.strict ? result.accepted : [...result.accepted, ...result.pending];
  return { sheet, reviewedPath, readFrom, reviewed, result, rows: kept, decisions };
}

export interface ExampleDecision {
  /** Index of the row in the sheet (0 = first data row). */
  row: number;
  decision: "reject" | "fix";
  anchor: string;
  edited?: string;
  reason: string;
}

const lettersOf = (w: string) => [...w].sort().join("");

/**
 * A reviewer's first decisions, by rules a person applies when reading a sheet:
 * - fix a typing slip: a question word found in no passage word but whose letters, swapped once, spell a word of
 *   its own passage ("qaulifies" -> "qualifies");
 * - reject an ambiguous question: the same question (normalised) generated for two different passages, so one
 *   question has two "right" answers; failing that, the shortest question, which says least.
 * At most one of each; rows the rules do not find are left alone.
 */
export function exampleDecisions(rows: readonly PairRow[]): ExampleDecision[] {
  const out: ExampleDecision[] = [];
  for (const [i, r] of rows.entries()) {
    // Typed arrays: "match(...) ?? []" is a union whose find() older TypeScript (tslab's) types as never.
    const passageWords = new Set<string>(r.positive.toLowerCase().match(/[a-z]+/g) ?? []);
    const anchorWords: string[] = r.anchor.match(/[A-Za-z]{5,}/g) ?? [];
    const typo = anchorWords.find((w) => !passageWords.has(w.toLowerCase()));
    if (!typo) continue;
    const lower: string = typo.toLowerCase();
    const fixed = [...passageWords].find(
      (p) =>
        p.length === lower.length &&
        p !== lower &&
        lettersOf(p) === lettersOf(lower) &&
        [...p].filter((c, k) => c !== lower[k]).length === 2,
    );
    if (!fixed) continue;
    out.push({
      row: i,
      decision: "fix",
      anchor: r.anchor,
      edited: r.anchor.replace(typo, fixed),
      reason: `typing slip "${typo}" -> "${fixed}"`,
    });
    break;
  }
  const seen = new Map<string, number>();
  let reject: ExampleDecision | undefined;
  for (const [i, r] of rows.entries()) {
    const key = r.anchor
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, " ")
      .trim();
    const j = seen.get(key);
    if (j !== undefined && rows[j].positive_id !== r.positive_id && !out.some((d) => d.row === i)) {
      reject = {
        row: i,
        decision: "reject",
        anchor: r.anchor,
        reason: `the same question was generated for another passage (${String(rows[j].positive_id)})`,
      };
      break;
    }
    if (j === undefined) seen.set(key, i);
  }
  if (!reject) {
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const shortest = rows
      .map((r, i) => ({ r, i }))
      .filter(({ i }) => !out.some((d) => d.row === i))
      .sort((a, b) => words(a.r.anchor) - words(b.r.anchor) || a.i - b.i)[0];
    if (shortest)
      reject = {
        row: shortest.i,
        decision: "reject",
        anchor: shortest.r.anchor,
        reason: `the shortest question (${words(shortest.r.anchor)} words): too vague to tell which passage it wants`,
      };
  }
  if (reject) out.push(reject);
  return out;
}
