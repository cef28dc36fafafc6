/**
 * Notebook 1's review round trip: a review sheet out (CSV), the participant's reviewed sheet back in, or, until there
 * is one, a reviewer's first decisions (src/data/review: exampleDecisions) written to a copy and read back. The
 * participant's own reviewed.csv is never written.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  exampleDecisions,
  exportForReview,
  importReview,
  writeDecisions,
  type ExampleDecision,
  type ReviewResult,
} from "../data/review";
import type { PairRow } from "../data/types";
import { inputsKey } from "../artefacts";
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
    writeDecisions(sheet, decisions, readFrom);
  }
  const result = importReview(readFrom);
  const kept = options.strict ? result.accepted : [...result.accepted, ...result.pending];
  return { sheet, reviewedPath, readFrom, reviewed, result, rows: kept, decisions };
}
