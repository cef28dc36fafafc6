/**
 * Text and JSONL reading and writing for datasets: strict UTF-8 decoding (TextDecoder with fatal: true,
 * reporting the line of the first bad byte), and a JSONL reader that validates every line and reports
 * file + line + reason instead of stopping at the first bad line. Writes go through src/files.ts
 * (atomic: a crash never leaves a half-written dataset).
 */
import { existsSync, readFileSync, statSync, truncateSync } from "node:fs";
import { appendDurable, writeFileAtomic } from "../files";
import { DataError, type DataIssue } from "./types";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Byte offset of the first invalid UTF-8 sequence in `bytes` (the length when all is valid). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/** Decodes UTF-8 (a leading BOM is dropped) or throws a DataError naming the line of the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    const text = strictUtf8.decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    throw new DataError([
      {
        file,
        line,
        reason: `not valid UTF-8 (byte 0x${(bytes[at] ?? 0).toString(16)} at offset ${at}); re-save the file as UTF-8`,
      },
    ]);
  }
}

/** Reads a whole text file as strict UTF-8. */
export function readTextFile(path: string): string {
  if (!existsSync(path)) throw new DataError([{ file: path, reason: "file not found" }]);
  return decodeUtf8(readFileSync(path), path);
}

export interface JsonlRecord {
  /** 1-based line number in the file. */
  line: number;
  value: Record<string, unknown>;
}

export interface JsonlOptions {
  /** "error" (default): throw one DataError listing every bad line. "skip": return them in `skipped`. */
  onInvalid?: "error" | "skip";
  /**
   * Treat an unparseable last line without a final newline as an interrupted append and skip it
   * (reported in `skipped`) even when onInvalid is "error". Used when resuming generation.
   */
  tolerateTruncatedTail?: boolean;
}

export interface JsonlResult {
  records: JsonlRecord[];
  skipped: DataIssue[];
  /** True when the file ended in a partial line that was skipped. */
  truncatedTail: boolean;
}

/** Parses JSONL bytes line by line: blank lines are ignored; each other line must be one JSON object. */
export function parseJsonl(bytes: Uint8Array, file: string, options: JsonlOptions = {}): JsonlResult {
  const records: JsonlRecord[] = [];
  const issues: DataIssue[] = [];
  let truncatedTail = false;
  let start = 0;
  let line = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  while (start < bytes.length) {
    line++;
    let end = bytes.indexOf(0x0a, start);
    const terminated = end !== -1;
    if (!terminated) end = bytes.length;
    let stop = end;
    if (stop > start && bytes[stop - 1] === 0x0d) stop--;
    const raw = bytes.subarray(start, stop);
    start = end + 1;
    let text: string;
    try {
      text = strictUtf8.decode(raw);
    } catch {
      issues.push({
        file,
        line,
        reason: `not valid UTF-8 (byte offset ${firstInvalidUtf8(raw)} in the line); re-save the file as UTF-8`,
      });
      continue;
    }
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (!terminated && options.tolerateTruncatedTail) {
        truncatedTail = true;
        continue;
      }
      issues.push({ file, line, reason: `malformed JSON (${(err as Error).message})` });
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      issues.push({ file, line, reason: "expected a JSON object per line" });
      continue;
    }
    records.push({ line, value: value as Record<string, unknown> });
  }
  if (issues.length > 0 && (options.onInvalid ?? "error") === "error") throw new DataError(issues);
  if (truncatedTail) issues.push({ file, line, reason: "incomplete last line (an interrupted write); skipped" });
  return { records, skipped: issues, truncatedTail };
}

/** Reads and validates a JSONL file (see parseJsonl). */
export function readJsonl(path: string, options: JsonlOptions = {}): JsonlResult {
  if (!existsSync(path)) throw new DataError([{ file: path, reason: "file not found" }]);
  return parseJsonl(readFileSync(path), path, options);
}

/** One object per line, UTF-8, "\n" after every line. */
export function toJsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r) + "\n").join("");
}

/** Writes rows as JSONL atomically. */
export function writeJsonl(path: string, rows: readonly object[]): void {
  writeFileAtomic(path, toJsonl(rows));
}

/** Appends rows as JSONL in one write, flushed before returning. */
export function appendJsonl(path: string, rows: readonly object[]): void {
  if (rows.length > 0) appendDurable(path, toJsonl(rows));
}

/**
 * Makes a JSONL file safe to append to after a crash: a last line without "\n" is cut off when it
 * is not valid JSON (it was an interrupted write), or terminated with "\n" when it is.
 */
export function repairJsonlTail(path: string): "ok" | "terminated" | "truncated" {
  if (!existsSync(path) || statSync(path).size === 0) return "ok";
  const bytes = readFileSync(path);
  if (bytes[bytes.length - 1] === 0x0a) return "ok";
  const lastNl = bytes.lastIndexOf(0x0a);
  const tail = bytes.subarray(lastNl + 1);
  try {
    JSON.parse(strictUtf8.decode(tail));
    appendDurable(path, "\n");
    return "terminated";
  } catch {
    truncateSync(path, lastNl + 1);
    return "truncated";
  }
}

/** A required string field of a JSONL record, or an issue naming the field. */
export function stringField(
  rec: JsonlRecord,
  field: string,
  file: string,
  issues: DataIssue[],
  options: { allowEmpty?: boolean; coerceNumber?: boolean } = {},
): string | undefined {
  let v = rec.value[field];
  if (options.coerceNumber && typeof v === "number") v = String(v);
  if (v === undefined || v === null) {
    issues.push({ file, line: rec.line, reason: `missing field "${field}"` });
    return undefined;
  }
  if (typeof v !== "string") {
    issues.push({ file, line: rec.line, reason: `field "${field}" must be a string, got ${typeof v}` });
    return undefined;
  }
  if (!options.allowEmpty && v.trim() === "") {
    issues.push({ file, line: rec.line, reason: `field "${field}" is empty` });
    return undefined;
  }
  return v;
}
