/**
 * Training rows -> the trainer's form, with the checks that must happen before the first step (a run
 * should never crash halfway through because of row 5,371).
 *
 * Input: an array of rows { anchor, positive, negative? | negative_1..negative_n, ...metadata } or a
 * nodejs-polars DataFrame with those columns (sentence-transformers' column names). Text columns are, in
 * this order, anchor, positive, then negative or negative_1, negative_2, ...; other fields (query_id,
 * doc_id, generator, ...) are ignored. A numeric "label" or "score" column (sentence-transformers' names for the
 * label column) is carried as the float label of each row, for losses on scored pairs (CosineSimilarityLoss,
 * CoSENTLoss). Errors name the row index (0-based, as DataFrame rows) and the field.
 * Duplicate rows, a single example and a batch larger than the data are warnings with counts.
 */
export interface TrainingData {
  /** Text columns: ["anchor", "positive", ...negatives]. */
  columns: string[];
  /** Row-major texts: rows[i][c] is column c of row i. */
  rows: string[][];
  /** The "label" / "score" column, one finite number per row, when the rows have one. */
  labels?: number[];
  /** Which field the labels came from. */
  labelColumn?: "label" | "score";
  warnings: string[];
}

/** sentence-transformers' trainer takes a column named "label" or "score" as the label column. */
const LABEL_COLUMNS = ["label", "score"] as const;

type Row = Record<string, unknown>;

interface FrameLike {
  columns: string[];
  height: number;
  toRecords(): Row[];
}

function isFrame(x: unknown): x is FrameLike {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as FrameLike).toRecords === "function" &&
    Array.isArray((x as FrameLike).columns)
  );
}

/** The text columns of a set of field names: anchor, positive, negative | negative_1..n. */
export function textColumns(fields: Iterable<string>): string[] {
  const set = new Set(fields);
  const cols = ["anchor", "positive"];
  if (set.has("negative")) cols.push("negative");
  const numbered = [...set]
    .map((f) => /^negative_(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const n of numbered) cols.push(`negative_${n}`);
  return cols;
}

/**
 * Checks and converts training rows. `source` names the data in messages (e.g. "trainPairs").
 * Throws one error that lists up to 10 problems (row index + field) and how many more there are.
 */
export function prepareTrainingData(data: unknown, source = "training data"): TrainingData {
  let records: Row[];
  if (isFrame(data)) records = data.toRecords();
  else if (Array.isArray(data)) records = data as Row[];
  else
    throw new TypeError(
      `${source}: expected an array of rows {anchor, positive, negative?} or a nodejs-polars DataFrame, got ${data === null ? "null" : typeof data}.`,
    );
  if (records.length === 0) throw new Error(`${source}: no rows; give at least 2 (anchor, positive) rows.`);
  const fields = new Set<string>();
  records.forEach((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r))
      throw new TypeError(
        `${source} row ${i}: expected an object {anchor, positive, ...}, got ${r === null ? "null" : Array.isArray(r) ? "an array" : typeof r}.`,
      );
    for (const k of Object.keys(r)) if (r[k] !== undefined && r[k] !== null) fields.add(k);
  });
  const columns = textColumns(fields);
  const problems: string[] = [];
  const labelFields = LABEL_COLUMNS.filter((c) => fields.has(c));
  if (labelFields.length > 1)
    throw new Error(
      `${source}: the rows have both a "label" and a "score" column; keep one (the label column of scored pairs).`,
    );
  const labelColumn = labelFields[0];
  const labels =
    labelColumn === undefined
      ? undefined
      : records.map((r, i) => {
          const v = r[labelColumn];
          const y = typeof v === "boolean" ? Number(v) : v;
          if (typeof y !== "number" || !Number.isFinite(y))
            problems.push(
              `${source} row ${i}: field "${labelColumn}" is ${v === undefined || v === null ? "missing" : JSON.stringify(v)}, expected a finite number (other rows have it).`,
            );
          return typeof y === "number" ? y : NaN;
        });
  const rows = records.map((r, i) =>
    columns.map((c) => {
      const v = r[c];
      if (v === undefined || v === null)
        problems.push(
          `${source} row ${i}: missing field "${c}"${c.startsWith("negative") ? " (other rows have it; give every row the same columns)" : ""}.`,
        );
      else if (typeof v !== "string")
        problems.push(`${source} row ${i}: field "${c}" is ${typeof v}, expected a string.`);
      else if (v.trim() === "")
        problems.push(`${source} row ${i}: field "${c}" is empty; remove the row or fill in the text.`);
      return typeof v === "string" ? v : "";
    }),
  );
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    if (problems.length > 10) shown.push(`... and ${problems.length - 10} more problems`);
    throw new Error(shown.join("\n"));
  }
  const warnings: string[] = [];
  const seen = new Map<string, number>();
  let duplicates = 0;
  rows.forEach((r, i) => {
    const key = JSON.stringify(labels ? [...r, labels[i]] : r);
    const n = seen.get(key) ?? 0;
    if (n > 0) duplicates++;
    seen.set(key, n + 1);
  });
  if (duplicates > 0)
    warnings.push(
      `${source}: ${duplicates} of ${rows.length} rows repeat an earlier row (same ${columns.join(", ")}); they are kept (the no-duplicates sampler puts copies in different batches) but add nothing new; remove them with dedupePairs from src/data.`,
    );
  if (rows.length === 1)
    warnings.push(
      `${source}: a single example; in-batch-negative losses (MultipleNegativesRankingLoss) have no negatives for it and learn nothing; give at least 2 rows.`,
    );
  return labels ? { columns, rows, labels, labelColumn, warnings } : { columns, rows, warnings };
}
