/**
 * Chunking a folder of the user's own documents (.md, .markdown, .txt; PDF text extracted to .txt)
 * into passages for the corpus.
 *
 * - Markdown headings (ATX "## x" and setext "x\n==="; not inside ``` fences) cut the text into
 *   sections, and a chunk never spans two sections: its title is the heading path,
 *   "Travel policy > Per diem", or the file name when the text has no heading.
 * - A section is cut into windows of at most `size` units with `overlap` units shared by neighbours.
 *   The unit is a whitespace-separated word, or tokens: with `countTokens`, a word costs
 *   countTokens(word) (exact for WordPiece / BPE tokenizers that split on whitespace first). A single
 *   word longer than `size` still makes a chunk of its own.
 * - Ids are stable: the document id is the file's path relative to the folder ("hr/leave.md"), and
 *   chunk k of it is "hr/leave.md#k", so re-chunking unchanged files gives the same ids.
 * - Empty documents and files that are not UTF-8 are reported (file, line, reason), not chunked.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { decodeUtf8 } from "./jsonl";
import { DataError, type CorpusRow, type DataIssue } from "./types";

export interface ChunkOptions {
  /** "words" (default) or "tokens" (needs countTokens). */
  unit?: "words" | "tokens";
  /** Most units per chunk. Default 200 words (the policy tutorial used 500-word chunks; a 256-token model sees ~190 words). */
  size?: number;
  /** Units shared by neighbouring chunks. Default 40; must be < size. */
  overlap?: number;
  /** Token count of a text, e.g. (t) => tokenizer.encode(t, { add_special_tokens: false }).length. */
  countTokens?: (text: string) => number;
  /** File extensions read (lower case). Default .md, .markdown, .txt. */
  extensions?: string[];
}

export interface Section {
  /** Heading path, outermost first. */
  path: string[];
  body: string;
}

export interface ChunkReport {
  files: number;
  documents: number;
  chunks: number;
  /** Documents with no text (file, reason). */
  emptyDocuments: DataIssue[];
  /** Files not chunked because they could not be read as UTF-8. */
  unreadable: DataIssue[];
  /** Files skipped for their extension. */
  ignored: string[];
}

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(```|~~~)/;

/** Splits markdown into sections by heading; text before the first heading has an empty path. */
export function markdownSections(markdown: string): Section[] {
  let text = markdown;
  const front = /^---\n[\s\S]*?\n---[ \t]*(\n|$)/.exec(text);
  if (front) text = text.slice(front[0].length);
  const lines = text.split("\n");
  const sections: Section[] = [];
  const stack: { level: number; title: string }[] = [];
  let body: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    const joined = body.join("\n");
    if (joined.trim() !== "") sections.push({ path: stack.map((h) => h.title), body: joined });
    body = [];
  };
  const open = (level: number, title: string) => {
    flush();
    while (stack.length > 0 && stack[stack.length - 1].level >= level) stack.pop();
    stack.push({ level, title: title.trim() });
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const f = FENCE.exec(line);
    if (f && (fence === null || f[1] === fence)) {
      fence = fence === null ? f[1] : null;
      body.push(line);
      continue;
    }
    if (fence !== null) {
      body.push(line);
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      open(atx[1].length, atx[2] ?? "");
      continue;
    }
    // Setext: a text line underlined with === (level 1) or --- (level 2), directly after text.
    const next = lines[i + 1];
    if (
      next !== undefined &&
      line.trim() !== "" &&
      /^ {0,3}(=+|-+)[ \t]*$/.test(next) &&
      (body.length === 0 || body[body.length - 1].trim() === "")
    ) {
      open(next.trim()[0] === "=" ? 1 : 2, line);
      i++;
      continue;
    }
    body.push(line);
  }
  flush();
  return sections;
}

/** Word windows [start, end) over costs, each at most `size` (one oversize word alone), `overlap` shared. */
export function windows(costs: readonly number[], size: number, overlap: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  while (start < costs.length) {
    let end = start;
    let total = 0;
    while (end < costs.length && (end === start || total + costs[end] <= size)) total += costs[end++];
    out.push([start, end]);
    if (end >= costs.length) break;
    // Share at most `overlap`, and leave room for the first new word so that every window adds text.
    const budget = Math.min(overlap, size - costs[end]);
    let next = end;
    let shared = 0;
    while (next - 1 > start && shared + costs[next - 1] <= budget) shared += costs[--next];
    start = next;
  }
  return out;
}

function checkOptions(options: ChunkOptions): { size: number; overlap: number; cost: (word: string) => number } {
  const unit = options.unit ?? "words";
  const size = options.size ?? 200;
  const overlap = options.overlap ?? Math.min(40, Math.floor(size / 5));
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= size)
    throw new RangeError(`chunk overlap must be an integer in [0, size), got ${overlap} with size ${size}`);
  if (unit === "tokens") {
    const count = options.countTokens;
    if (!count)
      throw new Error('chunk unit "tokens" needs options.countTokens, e.g. (t) => tokenizer.encode(t).length');
    return { size, overlap, cost: (w) => Math.max(1, count(w)) };
  }
  return { size, overlap, cost: () => 1 };
}

/** Chunks one document's text; markdown headings make sections, plain text is one section. */
export function chunkDocument(
  docId: string,
  text: string,
  options: ChunkOptions & { markdown?: boolean; fallbackTitle?: string } = {},
): CorpusRow[] {
  const { size, overlap, cost } = checkOptions(options);
  const normalized = text.replace(/\r\n?/g, "\n").replace(/\f/g, "\n");
  const sections = (options.markdown ?? true) ? markdownSections(normalized) : [{ path: [], body: normalized }];
  const chunks: CorpusRow[] = [];
  for (const section of sections) {
    const words = [...section.body.matchAll(/\S+/g)];
    if (words.length === 0) continue;
    const title = section.path.filter((p) => p !== "").join(" > ") || (options.fallbackTitle ?? docId);
    for (const [a, b] of windows(
      words.map((w) => cost(w[0])),
      size,
      overlap,
    )) {
      const from = words[a].index as number;
      const last = words[b - 1];
      chunks.push({
        _id: `${docId}#${chunks.length}`,
        doc_id: docId,
        title,
        text: section.body.slice(from, (last.index as number) + last[0].length),
      });
    }
  }
  return chunks;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** Chunks every document of a folder (recursively, in sorted path order). */
export function chunkFolder(dir: string, options: ChunkOptions = {}): { chunks: CorpusRow[]; report: ChunkReport } {
  checkOptions(options);
  let files: string[];
  try {
    files = listFiles(dir);
  } catch (err) {
    throw new DataError([{ file: dir, reason: `cannot list the folder (${(err as Error).message})` }]);
  }
  const extensions = (options.extensions ?? [".md", ".markdown", ".txt"]).map((e) => e.toLowerCase());
  const report: ChunkReport = {
    files: files.length,
    documents: 0,
    chunks: 0,
    emptyDocuments: [],
    unreadable: [],
    ignored: [],
  };
  const chunks: CorpusRow[] = [];
  for (const file of files) {
    const ext = extname(file).toLowerCase();
    if (!extensions.includes(ext)) {
      report.ignored.push(file);
      continue;
    }
    let text: string;
    try {
      text = decodeUtf8(readFileSync(file), file);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      report.unreadable.push(...err.issues);
      continue;
    }
    const docId = relative(dir, file).split(sep).join("/");
    const base = docId.split("/").pop() as string;
    const docChunks = chunkDocument(docId, text, {
      ...options,
      markdown: ext !== ".txt",
      fallbackTitle: base.slice(0, base.length - ext.length),
    });
    if (docChunks.length === 0) {
      report.emptyDocuments.push({ file, reason: "empty document (no text outside headings); skipped" });
      continue;
    }
    report.documents++;
    chunks.push(...docChunks);
  }
  report.chunks = chunks.length;
  return { chunks, report };
}
