/**
 * Human review of generated pairs. exportForReview writes a CSV that opens in any spreadsheet:
 *   decision       empty; the reviewer writes accept, reject or fix
 *   edited_anchor  the corrected question, required when decision is fix
 *   anchor, positive, positive_id, doc_id, generator, ...   every column of the rows, unchanged
 * importReview reads it back, validates every line (an unknown decision, a fix without an edit, an
 * edit under accept / reject: errors with line numbers, all listed at once) and splits the rows
 * into accepted (fixes applied, the old question kept in `original_anchor`), rejected and pending
 * (no decision yet).
 */
import { existsSync, statSync } from "node:fs";
import { writeFileAtomic } from "../files";
import { readTextFile } from "./jsonl";
import { parseCsv, toCsv } from "./csv";
import { DataError, type DataIssue, type PairRow } from "./types";

export const DECISIONS = ["accept", "reject", "fix"] as const;
export type Decision = (typeof DECISIONS)[number];

/**
 * Writes the review sheet atomically; returns its columns. A sheet at `path` that already holds decisions (a
 * reviewer's work), or a file that is not a review sheet, is refused unless `overwrite: true`.
 */
export function exportForReview(
  rows: readonly PairRow[],
  path: string,
  options: { overwrite?: boolean } = {},
): string[] {
  if (!options.overwrite && existsSync(path) && statSync(path).isFile()) {
    let decided: number;
    try {
      const r = importReview(path);
      decided = r.counts.accept + r.counts.reject + r.counts.fix;
    } catch {
      decided = -1;
    }
    if (decided !== 0)
      throw new Error(
        `${path} already ${decided > 0 ? `holds ${decided} review decisions` : "exists and is not a review sheet"}, ` +
          "which exporting would overwrite. Import it first (importReview), choose another path, or pass " +
          "{ overwrite: true }.",
      );
  }
  const columns = ["decision", "edited_anchor", "anchor", "positive"];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k) && r[k] !== undefined) columns.push(k);
  writeFileAtomic(
    path,
    toCsv(
      columns,
      rows.map((r) => ({ ...r, decision: "", edited_anchor: "" })),
    ),
  );
  return columns;
}

export interface ReviewResult {
  accepted: PairRow[];
  rejected: PairRow[];
  pending: PairRow[];
  counts: Record<Decision | "pending", number>;
}

/** Reads a review sheet back; throws a DataError listing every invalid line. */
export function importReview(path: string): ReviewResult {
  const { header, records } = parseCsv(readTextFile(path), path);
  const missing = ["decision", "edited_anchor", "anchor", "positive"].filter((c) => !header.includes(c));
  if (missing.length > 0)
    throw new DataError([
      {
        file: path,
        line: 1,
        reason: `missing column(s) ${missing.map((c) => `"${c}"`).join(", ")}; export the sheet with exportForReview and keep its header`,
      },
    ]);
  const issues: DataIssue[] = [];
  const result: ReviewResult = {
    accepted: [],
    rejected: [],
    pending: [],
    counts: { accept: 0, reject: 0, fix: 0, pending: 0 },
  };
  for (const rec of records) {
    if (rec.fields.length !== header.length) {
      issues.push({
        file: path,
        line: rec.line,
        reason: `${rec.fields.length} fields, the header has ${header.length}`,
      });
      continue;
    }
    const cells: Record<string, string> = {};
    header.forEach((h, i) => (cells[h] = rec.fields[i]));
    const decision = cells.decision.trim().toLowerCase();
    const edited = cells.edited_anchor.trim();
    const row: PairRow = { anchor: cells.anchor, positive: cells.positive };
    for (const h of header)
      if (!["decision", "edited_anchor", "anchor", "positive"].includes(h) && cells[h] !== "") row[h] = cells[h];
    if (row.anchor.trim() === "" || row.positive.trim() === "") {
      issues.push({
        file: path,
        line: rec.line,
        reason: `empty ${row.anchor.trim() === "" ? "anchor" : "positive"}; do not edit these columns, use decision fix + edited_anchor`,
      });
      continue;
    }
    if (decision === "") {
      if (edited !== "")
        issues.push({
          file: path,
          line: rec.line,
          reason: 'edited_anchor is filled but decision is empty; write "fix" to use the edit',
        });
      else {
        result.pending.push(row);
        result.counts.pending++;
      }
      continue;
    }
    if (!(DECISIONS as readonly string[]).includes(decision)) {
      issues.push({
        file: path,
        line: rec.line,
        reason: `unknown decision "${cells.decision}"; use accept, reject or fix (or leave it empty)`,
      });
      continue;
    }
    if (decision === "fix" && edited === "") {
      issues.push({ file: path, line: rec.line, reason: "decision fix needs the corrected question in edited_anchor" });
      continue;
    }
    if (decision !== "fix" && edited !== "") {
      issues.push({
        file: path,
        line: rec.line,
        reason: `edited_anchor is filled but decision is ${decision}; write "fix" to use the edit`,
      });
      continue;
    }
    result.counts[decision as Decision]++;
    if (decision === "reject") result.rejected.push(row);
    else if (decision === "accept") result.accepted.push({ ...row, review: "accept" });
    else result.accepted.push({ ...row, anchor: edited, original_anchor: row.anchor, review: "fix" });
  }
  if (issues.length > 0) throw new DataError(issues, 50);
  return result;
}
