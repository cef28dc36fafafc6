/**
 * Human review of generated pairs. exportForReview writes a CSV that opens in any spreadsheet:
 *   decision       empty; the reviewer writes accept, reject or fix
 *   edited_anchor  the corrected question, required when decision is fix
 *   anchor, positive, positive_id, doc_id, generator, ...   every column of the rows, unchanged
 * importReview reads it back, validates every line (an unknown decision, a fix without an edit, an
 * edit under accept / reject: errors with line numbers, all listed at once) and splits the rows
 * into accepted (fixes applied, the old question kept in `original_anchor`), rejected and pending
 * (no decision yet).
 *
 * The one reader and writer of the sheet: importReview (notebook 01's helpers, `review import`) and the app's Review
 * page (src/app/review-store.ts) read it with readReviewSheet + readReviewRecord, so both report the same problem for
 * a line, and the app writes decisions back with writeReviewSheet, which keeps every other cell, the delimiter (a
 * spreadsheet's ";") and the BOM as they were read.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { writeFileAtomic } from "../files";
import { type CsvRecord, parseCsv, toCsv } from "./csv";
import { decodeUtf8 } from "./jsonl";
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
  const columns = [...SHEET_COLUMNS];
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

/** The columns every sheet has, first (exportForReview writes them; the rows' own columns follow). */
const SHEET_COLUMNS: readonly string[] = ["decision", "edited_anchor", "anchor", "positive"];

/** A review sheet as read: its header and records, and what writing it back keeps. */
export interface ReviewSheet {
  path: string;
  header: string[];
  records: CsvRecord[];
  /** The header line's delimiter ("," or a spreadsheet's ";"). */
  delimiter: "," | ";";
  /** Whether the file starts with a UTF-8 BOM. */
  bom: boolean;
  /** The file's text as read, BOM included. */
  text: string;
}

/**
 * Reads a review sheet: `text` when given (the file's content, BOM included), else the file (strict UTF-8). Throws a
 * DataError naming line 1 when a column of the sheet is missing (not a review sheet, or its header was edited).
 */
export function readReviewSheet(path: string, text?: string): ReviewSheet {
  let src = text;
  if (src === undefined) {
    if (!existsSync(path)) throw new DataError([{ file: path, reason: "file not found" }]);
    const bytes = readFileSync(path);
    src = (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? "\uFEFF" : "") + decodeUtf8(bytes, path);
  }
  const { header, records, delimiter } = parseCsv(src, path);
  const missing = SHEET_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0)
    throw new DataError([
      {
        file: path,
        line: 1,
        reason: `missing column(s) ${missing.map((c) => `"${c}"`).join(", ")}; export the sheet with exportForReview and keep its header`,
      },
    ]);
  return { path, header, records, delimiter, bom: src.charCodeAt(0) === 0xfeff, text: src };
}

/** One record of a sheet, read as importReview reads it. */
export interface ReviewRecord {
  /** The record's cell in column `name` ("" for a column the sheet or the record lacks). */
  cell(name: string): string;
  /** The decision cell, trimmed and lower-cased: accept, reject, fix, "" (pending) or, with a problem, anything. */
  decision: string;
  /** The edited_anchor cell, trimmed. */
  edited: string;
  /** The pair: anchor, positive and every other non-empty column. */
  row: PairRow;
  /** What importReview reports for the record's line (and the fix), or undefined when the record is valid. */
  problem?: string;
}

/** Reads one record of `sheet`: its cells, decision and pair, and the problem importReview would report. */
export function readReviewRecord(sheet: Pick<ReviewSheet, "header">, rec: CsvRecord): ReviewRecord {
  const { header } = sheet;
  const cell = (name: string) => {
    const i = header.indexOf(name);
    return i >= 0 ? (rec.fields[i] ?? "") : "";
  };
  const decision = cell("decision").trim().toLowerCase();
  const edited = cell("edited_anchor").trim();
  const row: PairRow = { anchor: cell("anchor"), positive: cell("positive") };
  header.forEach((h, i) => {
    if (!SHEET_COLUMNS.includes(h) && !(h in row) && (rec.fields[i] ?? "") !== "") row[h] = rec.fields[i];
  });
  return { cell, decision, edited, row, problem: recordProblem(header, rec, row, decision, edited, cell("decision")) };
}

function recordProblem(
  header: readonly string[],
  rec: CsvRecord,
  row: PairRow,
  decision: string,
  edited: string,
  rawDecision: string,
): string | undefined {
  if (rec.fields.length !== header.length) return `${rec.fields.length} fields, the header has ${header.length}`;
  if (row.anchor.trim() === "" || row.positive.trim() === "")
    return `empty ${row.anchor.trim() === "" ? "anchor" : "positive"}; do not edit these columns, use decision fix + edited_anchor`;
  if (decision === "")
    return edited !== "" ? 'edited_anchor is filled but decision is empty; write "fix" to use the edit' : undefined;
  if (!(DECISIONS as readonly string[]).includes(decision))
    return `unknown decision "${rawDecision}"; use accept, reject or fix (or leave it empty)`;
  if (decision === "fix" && edited === "") return "decision fix needs the corrected question in edited_anchor";
  if (decision !== "fix" && edited !== "")
    return `edited_anchor is filled but decision is ${decision}; write "fix" to use the edit`;
  return undefined;
}

/**
 * Writes `sheet` (its header and records, as changed) back to its path atomically, with the delimiter and BOM it was
 * read with; returns the text written.
 */
export function writeReviewSheet(sheet: ReviewSheet): string {
  // toCsv names cells by column: index keys keep every field, whatever the header's names.
  const keys = sheet.header.map((_, i) => String(i));
  const rows = sheet.records.map((r) => Object.fromEntries(r.fields.map((f, i) => [String(i), f])));
  const body = toCsv(keys, rows, sheet.delimiter);
  const headerLine = toCsv(sheet.header, [], sheet.delimiter);
  const text = (sheet.bom ? "\uFEFF" : "") + headerLine + body.slice(body.indexOf("\r\n") + 2);
  writeFileAtomic(sheet.path, text);
  return text;
}

/** Whether `path` holds a review sheet (the columns exportForReview writes). */
export function isReviewSheet(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  try {
    const { header } = parseCsv(readFileSync(path, "utf8").split(/\r?\n/, 1)[0], path);
    return SHEET_COLUMNS.every((c) => header.includes(c));
  } catch {
    return false;
  }
}

/** Reads a review sheet back; throws a DataError listing every invalid line. */
export function importReview(path: string): ReviewResult {
  const sheet = readReviewSheet(path);
  const issues: DataIssue[] = [];
  const result: ReviewResult = {
    accepted: [],
    rejected: [],
    pending: [],
    counts: { accept: 0, reject: 0, fix: 0, pending: 0 },
  };
  for (const rec of sheet.records) {
    const { decision, edited, row, problem } = readReviewRecord(sheet, rec);
    if (problem) {
      issues.push({ file: path, line: rec.line, reason: problem });
      continue;
    }
    if (decision === "") {
      result.pending.push(row);
      result.counts.pending++;
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

/**
 * Writes a copy of the review sheet at `sheet` to `out` with `decisions` filled in (decision, edited_anchor), so that
 * importReview applies them; the sheet itself is left as it is.
 */
export function writeDecisions(sheet: string, decisions: readonly ExampleDecision[], out: string): void {
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
  writeFileAtomic(out, toCsv(header, filled));
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
