/**
 * CSV as RFC 4180 writes it (fields quoted when they hold a comma, quote, line break or edge
 * spaces; quotes doubled; CRLF between records), and a parser that also takes what spreadsheets save:
 * a UTF-8 BOM, LF or CRLF, and ";" as the delimiter when the header line has ";" but no ",".
 * Each parsed record keeps the line it starts on, for error messages.
 */
import { DataError } from "./types";

function quote(field: string, delimiter: string): string {
  return field.includes(delimiter) || /["\r\n]/.test(field) || /^\s|\s$/.test(field)
    ? `"${field.replace(/"/g, '""')}"`
    : field;
}

/** A CSV document: header, then one record per row (missing values as empty fields). */
export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[], delimiter = ","): string {
  const cell = (v: unknown) => quote(v === undefined || v === null ? "" : String(v), delimiter);
  return (
    [columns.map(cell).join(delimiter), ...rows.map((r) => columns.map((c) => cell(r[c])).join(delimiter))].join(
      "\r\n",
    ) + "\r\n"
  );
}

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
}

/**
 * Parses CSV text; an unterminated quoted field is an error naming the line it opened on. `delimiter` is the one
 * the header line uses (write the file back with it).
 */
export function parseCsv(text: string, file: string): { header: string[]; records: CsvRecord[]; delimiter: "," | ";" } {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLine = src.slice(0, src.search(/\r?\n|$/));
  const delimiter = firstLine.includes(";") && !firstLine.includes(",") ? ";" : ",";
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let start = 1;
  let i = 0;
  let quoted = false;
  let quoteLine = 0;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) records.push({ line: start, fields });
    fields = [];
    field = "";
  };
  while (i < src.length) {
    const c = src[i];
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      if (c === "\n") line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      quoteLine = line;
      i++;
      continue;
    }
    if (c === delimiter) {
      fields.push(field);
      field = "";
      i++;
      continue;
    }
    if (c === "\r" && src[i + 1] === "\n") {
      i++;
      continue;
    }
    if (c === "\n") {
      endRecord();
      line++;
      start = line;
      i++;
      continue;
    }
    field += c;
    i++;
  }
  if (quoted) throw new DataError([{ file, line: quoteLine, reason: 'a quoted field is never closed (a missing ")' }]);
  if (field !== "" || fields.length > 0) endRecord();
  if (records.length === 0) throw new DataError([{ file, reason: "empty file: expected a header line" }]);
  const [head, ...rest] = records;
  return { header: head.fields.map((h) => h.trim()), records: rest, delimiter };
}
