/**
 * Step 5 of mining: the output rows in sentence-transformers' formats, grouped by query in order of first
 * appearance (Python re-sorts the pairs the same way), with the scores the report summarises.
 *
 *   "triplet"       one row (anchor, positive, negative) per negative found
 *   "n-tuple"       one row (anchor, positive, negative_1..negative_n) per pair, only for pairs that got all n
 *   "labeled-pair"  (anchor, positive, label): each positive with label 1, then each negative of that query once
 *                   with label 0 (the passage sits in the "positive" column, as in Python)
 */
import type { MiningCandidates } from "./candidates";
import type { SelectedNegatives } from "./select";
import type { MinedRow, MiningOutputFormat, ResolvedMiningOptions } from "./types";

export interface FormattedRows {
  rows: MinedRow[];
  columns: string[];
  /** One per (anchor, positive) pair. */
  positiveScores: number[];
  /** One per mined (pair, negative) in the output; differenceScores aligned with it. */
  negativeScores: number[];
  differenceScores: number[];
  /** Rows had every pair got numNegatives negatives. */
  maximumPossible: number;
  pairsWithFewer: number;
}

/** The column names of a format, e.g. ["anchor", "positive", "negative"]. */
export function miningColumns(format: MiningOutputFormat, numNegatives: number): string[] {
  if (format === "triplet") return ["anchor", "positive", "negative"];
  if (format === "n-tuple")
    return ["anchor", "positive", ...Array.from({ length: numNegatives }, (_, i) => `negative_${i + 1}`)];
  return ["anchor", "positive", "label"];
}

/** The mined rows of every query in `format`; positiveScoresOf[q] aligns with candidates.positivesOf[q]. */
export function formatRows(
  candidates: MiningCandidates,
  positiveScoresOf: readonly number[][],
  selected: Pick<SelectedNegatives, "negativesOf" | "negativeScoresOf">,
  numNegatives: number,
  format: MiningOutputFormat,
): FormattedRows {
  const { queries, corpus, positivesOf } = candidates;
  const out: FormattedRows = {
    rows: [],
    columns: miningColumns(format, numNegatives),
    positiveScores: [],
    negativeScores: [],
    differenceScores: [],
    maximumPossible: 0,
    pairsWithFewer: 0,
  };
  for (let q = 0; q < queries.length; q++) {
    const negs = selected.negativesOf[q];
    const full = negs.length === numNegatives;
    positivesOf[q].forEach((pos, k) => {
      const ps = positiveScoresOf[q][k];
      out.positiveScores.push(ps);
      if (!full) out.pairsWithFewer++;
      if (format !== "n-tuple" || full)
        for (const s of selected.negativeScoresOf[q]) {
          out.negativeScores.push(s);
          out.differenceScores.push(ps - s);
        }
      if (format === "triplet") {
        out.maximumPossible += numNegatives;
        for (const n of negs) out.rows.push({ anchor: queries[q], positive: corpus[pos], negative: corpus[n] });
      } else if (format === "n-tuple") {
        out.maximumPossible += 1;
        if (full) {
          const row: MinedRow = { anchor: queries[q], positive: corpus[pos] };
          negs.forEach((n, i) => (row[`negative_${i + 1}`] = corpus[n]));
          out.rows.push(row);
        }
      } else {
        out.maximumPossible += 1;
        out.rows.push({ anchor: queries[q], positive: corpus[pos], label: 1 });
      }
    });
    if (format === "labeled-pair") {
      out.maximumPossible += numNegatives;
      for (const n of negs) out.rows.push({ anchor: queries[q], positive: corpus[n], label: 0 });
    }
  }
  return out;
}

/** Python's warning when rows are missing: how many, and which options to loosen. */
export function shortfallWarning(owner: string, f: FormattedRows, pairs: number, o: ResolvedMiningOptions): string {
  const missing = f.maximumPossible - f.rows.length;
  const solutions = ["rangeMax"];
  if (o.rangeMin > 0) solutions.push("rangeMin");
  for (const name of ["absoluteMargin", "relativeMargin", "maxScore", "minScore", "semiHardMargin"] as const)
    if (o[name] !== undefined) solutions.push(name);
  const list =
    solutions.length > 1 ? `${solutions.slice(0, -1).join(", ")} and ${solutions[solutions.length - 1]}` : solutions[0];
  return (
    `${owner}: could not find enough negatives for ${missing} of ${f.maximumPossible} possible ${o.outputFormat === "triplet" ? "triplets" : "rows"} ` +
    `(${((100 * missing) / f.maximumPossible).toFixed(2)}%; ${f.pairsWithFewer} of ${pairs} pairs got fewer than ${o.numNegatives}). ` +
    `Consider adjusting the ${list} parameter${solutions.length > 1 ? "s" : ""} if you'd like to find more valid negatives.`
  );
}
