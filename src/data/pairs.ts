/**
 * Training rows on disk, JSONL or Parquet, with the column names of sentence-transformers datasets:
 *   (anchor, positive)                          pairs, for MultipleNegativesRankingLoss
 *   (anchor, positive, negative)                triplets
 *   (anchor, positive, negative_1..negative_n)  several hard negatives per anchor
 * plus optional provenance columns (query_id, positive_id, doc_id, generator, ...), which a loss ignores.
 *
 * Parquet goes through nodejs-polars; JSONL is parsed line by line here (polars' JSON reader reports
 * no line numbers) and handed to polars for display (pairsToDataFrame). Bad rows are errors listing
 * file + line (for Parquet, "line" is the 1-based row), or skipped and reported with onInvalid: "skip".
 */
import { existsSync, readFileSync } from "node:fs";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../files";
import { parseJsonl, toJsonl } from "./jsonl";
import { DataError, type DataIssue, type PairRow } from "./types";

/** The negative columns of a header, in order; throws when they are not `negative` or `negative_1..n`. */
export function negativeColumns(columns: readonly string[], file = "columns"): string[] {
  const numbered = columns
    .filter((c) => /^negative_\d+$/.test(c))
    .sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)));
  if (columns.includes("negative") && numbered.length > 0) {
    throw new DataError([
      {
        file,
        reason: `both "negative" and "${numbered[0]}": use "negative" for one negative or negative_1..negative_n for several`,
      },
    ]);
  }
  numbered.forEach((c, i) => {
    if (c !== `negative_${i + 1}`)
      throw new DataError([
        {
          file,
          reason: `column "negative_${i + 1}" is missing before "${c}": number negatives negative_1..negative_n`,
        },
      ]);
  });
  return columns.includes("negative") ? ["negative"] : numbered;
}

/** Checks rows read from `file` (records with their line numbers); returns the valid ones and the issues. */
export function validatePairs(
  records: readonly { line: number; value: Record<string, unknown> }[],
  file: string,
): { rows: PairRow[]; issues: DataIssue[] } {
  const columns = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.value)) columns.add(k);
  const negatives = negativeColumns([...columns], file);
  const rows: PairRow[] = [];
  const issues: DataIssue[] = [];
  for (const rec of records) {
    const problems: string[] = [];
    for (const field of ["anchor", "positive", ...negatives]) {
      const v = rec.value[field];
      if (v === undefined || v === null) problems.push(`missing field "${field}"`);
      else if (typeof v !== "string") problems.push(`field "${field}" must be a string, got ${typeof v}`);
      else if (v.trim() === "") problems.push(`field "${field}" is empty`);
    }
    for (const [k, v] of Object.entries(rec.value)) {
      if (v !== null && typeof v === "object") problems.push(`field "${k}" must be a string, number or boolean`);
    }
    if (problems.length > 0) issues.push({ file, line: rec.line, reason: problems.join("; ") });
    else rows.push(rec.value as PairRow);
  }
  return { rows, issues };
}

export interface ReadPairsResult {
  rows: PairRow[];
  skipped: DataIssue[];
  /** The negative columns found: [], ["negative"] or ["negative_1", ...]. */
  negatives: string[];
}

function isParquet(path: string): boolean {
  return path.toLowerCase().endsWith(".parquet");
}

/** Reads pairs / triplets from .jsonl or .parquet. */
export function readPairs(path: string, options: { onInvalid?: "error" | "skip" } = {}): ReadPairsResult {
  if (!existsSync(path)) throw new DataError([{ file: path, reason: "file not found" }]);
  let records: { line: number; value: Record<string, unknown> }[];
  const skipped: DataIssue[] = [];
  if (isParquet(path)) {
    let df: pl.DataFrame;
    try {
      df = pl.readParquet(readFileSync(path));
    } catch (err) {
      throw new DataError([{ file: path, reason: `not a readable Parquet file (${(err as Error).message})` }]);
    }
    for (const c of ["anchor", "positive"])
      if (!df.columns.includes(c))
        throw new DataError([{ file: path, reason: `missing column "${c}" (columns: ${df.columns.join(", ")})` }]);
    records = df.toRecords().map((value, i) => ({
      line: i + 1,
      value: Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)),
    }));
  } else {
    const parsed = parseJsonl(readFileSync(path), path, { onInvalid: "skip" });
    records = parsed.records;
    skipped.push(...parsed.skipped);
  }
  const { rows, issues } = validatePairs(records, path);
  skipped.push(...issues);
  skipped.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (skipped.length > 0 && (options.onInvalid ?? "error") === "error") throw new DataError(skipped);
  const columns = new Set(rows.flatMap((r) => Object.keys(r)));
  return { rows, skipped, negatives: negativeColumns([...columns], path) };
}

/** All columns of `rows` in first-seen order, anchor / positive / negatives first. */
function columnOrder(rows: readonly PairRow[]): string[] {
  const seen = new Set<string>(["anchor", "positive"]);
  for (const r of rows) for (const k of Object.keys(r)) if (r[k] !== undefined) seen.add(k);
  const all = [...seen];
  const negatives = negativeColumns(all);
  return [
    "anchor",
    "positive",
    ...negatives,
    ...all.filter((c) => c !== "anchor" && c !== "positive" && !negatives.includes(c)),
  ];
}

/** A polars DataFrame of the rows (missing optional values are null), for notebooks and Parquet. */
export function pairsToDataFrame(rows: readonly PairRow[]): pl.DataFrame {
  const columns = columnOrder(rows);
  return pl.DataFrame(
    columns.map((c) => {
      const values = rows.map((r) => r[c] ?? null);
      // Text columns stay text even when empty or all null (polars would infer Float64).
      const text = values.every((v) => v === null || typeof v === "string");
      return text ? pl.Series(c, values, pl.Utf8) : pl.Series(c, values);
    }),
  );
}

/** Writes rows to .jsonl or .parquet atomically; every row must have anchor and positive. */
export function writePairs(path: string, rows: readonly PairRow[]): void {
  const { issues } = validatePairs(
    rows.map((value, i) => ({ line: i + 1, value: value as Record<string, unknown> })),
    "rows",
  );
  if (issues.length > 0)
    throw new DataError(issues.map((i) => ({ ...i, reason: `${i.reason} (not written to ${path})` })));
  if (isParquet(path)) writeFileAtomic(path, pairsToDataFrame(rows).writeParquet());
  else
    writeFileAtomic(
      path,
      toJsonl(
        rows.map((r) =>
          Object.fromEntries(
            columnOrder([r])
              .filter((c) => r[c] !== undefined)
              .map((c) => [c, r[c]]),
          ),
        ),
      ),
    );
}
