/**
 * The review sheet behind the app's Review page: the CSV that exportForReview writes and importReview reads
 * (src/data/review), with one decision per pair (accept / reject / fix + edited_anchor, or empty = pending). The
 * sheet is read and written with the data area's reader and writer (readReviewSheet, readReviewRecord,
 * writeReviewSheet), so a line's problem here is the error importReview gives for it.
 *
 * Every decision is written at once: the sheet is read again under a lock (`.<name>.lock`, lockTarget), the one
 * row's decision / edited_anchor cells are changed, and the whole sheet is written back atomically
 * (writeReviewSheet). Every other cell and column is written back as it was read, so the file stays what
 * importReview expects and a spreadsheet's extra columns survive.
 *
 * Concurrency: each pair carries a `version`, a hash of its decision cells. A decision names the version the
 * person saw; when the row on disk has another one (another tab, another app, a spreadsheet saved meanwhile), the
 * decision is refused with a ConflictError that carries the row as it is now. Changes to other rows are never
 * lost: the sheet on disk is read before every write, so a file changed underneath is reloaded, not overwritten.
 *
 * Ids: the first 12 hex digits of SHA-256(anchor, positive), with "-2", "-3" for repeats of the same pair, so an
 * id survives reordering the rows and restarting the app.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { lockTarget } from "../files";
import type { CsvRecord } from "../data/csv";
import { filterPairs, type FilterName, type FilterOptions } from "../data/filters";
import {
  DECISIONS,
  type Decision,
  readReviewRecord,
  readReviewSheet,
  type ReviewRecord,
  type ReviewSheet,
  writeReviewSheet,
} from "../data/review";
import { DataError, type PairRow } from "../data/types";

/** What the API takes: the sheet's decisions, with "edit" for fix (the word on the page) and "pending" to clear. */
export type ReviewAction = "accept" | "reject" | "edit" | "fix" | "pending";
const ACTIONS: readonly string[] = ["accept", "reject", "edit", "fix", "pending"];

export interface ReviewFlag {
  /** A filter of src/data/filters (exact_duplicate, too_short, too_long, copies_chunk, near_duplicate). */
  filter: FilterName;
  /** "fails": the filter at its default setting removes the row; "borderline": a stricter setting would. */
  level: "fails" | "borderline";
}

export interface ReviewItem {
  id: string;
  /** 1-based line of the sheet where the row starts. */
  line: number;
  /** Position in the sheet (0-based). */
  index: number;
  anchor: string;
  positive: string;
  /** The passage's title: the sheet's title column, else the corpus passage named by positive_id. */
  title: string;
  /** The positive without its leading title line (positives are embedded as "title\ntext"). */
  passage: string;
  positiveId: string;
  docId: string;
  generator: string;
  /** Other columns of the row (template, rewrites, query_id, ...), for the details line. */
  extra: Record<string, string>;
  decision: Decision | "pending";
  editedAnchor: string;
  /** A problem importReview would report for this row (an unknown decision, fix without an edit), or "". */
  problem: string;
  flags: ReviewFlag[];
  version: string;
}

export interface ReviewCounts {
  total: number;
  accept: number;
  reject: number;
  fix: number;
  pending: number;
  flagged: number;
  invalid: number;
}

export interface ReviewQuery {
  /** "all" (default), "pending", "decided", "flagged", "invalid". */
  status?: string;
  generator?: string;
  /** Case-insensitive text in the question, the edited question, the passage or its title. */
  q?: string;
  offset?: number;
  limit?: number;
}

export interface ReviewPage {
  file: string;
  revision: string;
  counts: ReviewCounts;
  generators: { name: string; count: number }[];
  /** Items matching the query, before paging. */
  matching: number;
  offset: number;
  items: ReviewItem[];
  /** Set when the file changed on disk since the last read (reloaded). */
  reloaded?: boolean;
}

/** 404: no pair with this id in the sheet. */
export class NotFoundError extends Error {
  readonly statusCode = 404;
}

/** 409: the pair was decided elsewhere since the person saw it. */
export class ConflictError extends Error {
  readonly statusCode = 409;
  readonly current: ReviewItem;
  constructor(message: string, current: ReviewItem) {
    super(message);
    this.current = current;
  }
}

/** 400: a decision the sheet cannot hold (unknown word, edit without a question). */
export class BadDecisionError extends Error {
  readonly statusCode = 400;
}

/** 422: the sheet on disk cannot be written back safely (a line with the wrong number of fields). */
export class SheetError extends Error {
  readonly statusCode = 422;
}

/** Columns shown in their own place on the page; the row's other columns go to `extra`. */
const SHOWN = new Set(["anchor", "positive", "title", "positive_id", "doc_id", "generator"]);

const hash = (s: string, n = 12) => createHash("sha256").update(s).digest("hex").slice(0, n);

/** Stricter thresholds than filterPairs' defaults: rows they remove are shown as "borderline". */
const BORDERLINE: FilterOptions = { minWords: 4, maxWords: 30, maxCopiedWords: 5, nearDuplicate: 0.6 };

export class ReviewStore {
  readonly path: string;
  private sheet!: ReviewSheet;
  private items: ReviewItem[] = [];
  private byId = new Map<string, ReviewItem>();
  private flags = new Map<string, ReviewFlag[]>();
  private flagsKey = "";
  private mtimeMs = -1;
  private size = -1;

  private readonly titles: (positiveId: string) => string | undefined;

  /** `titles` finds a passage's title by its corpus id when the sheet has no title column. */
  constructor(path: string, options: { titles?: (positiveId: string) => string | undefined } = {}) {
    this.path = path;
    this.titles = options.titles ?? (() => undefined);
    this.reload();
  }

  /** Reads the sheet again when it changed on disk (size, mtime or content); true when it did. */
  refresh(): boolean {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(this.path);
    } catch {
      throw new SheetError(
        `${this.path}: the review sheet is gone (moved or deleted while the app ran). Restore it, or restart the app.`,
      );
    }
    if (st.mtimeMs === this.mtimeMs && st.size === this.size) return false;
    const text = readFileSync(this.path, "utf8");
    if (text === this.sheet.text) {
      this.mtimeMs = st.mtimeMs;
      this.size = st.size;
      return false;
    }
    this.reload(text);
    return true;
  }

  private reload(text?: string): void {
    const st = statSync(this.path);
    const src = text ?? readFileSync(this.path, "utf8");
    try {
      this.sheet = readReviewSheet(this.path, src);
    } catch (err) {
      // Not a review sheet (a column missing), or CSV that does not parse: the page cannot show it (422).
      if (err instanceof DataError)
        throw new SheetError(
          `${err.message} (in the app: export a sheet with \`ts-embed review export\`, or give a pairs file with --pairs).`,
        );
      throw err;
    }
    const records = this.sheet.records;
    this.mtimeMs = st.mtimeMs;
    this.size = st.size;
    this.items = [];
    this.byId = new Map();
    const seen = new Map<string, number>();
    records.forEach((rec, index) => {
      const read = readReviewRecord(this.sheet, rec);
      const base = hash(`${read.cell("anchor")}\0${read.cell("positive")}`);
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const id = n === 1 ? base : `${base}-${n}`;
      const item = this.toItem(id, index, rec, read);
      this.items.push(item);
      this.byId.set(id, item);
    });
    // Flags depend only on the questions and passages: recomputed when those change, not on every decision.
    const key = hash(this.items.map((i) => `${i.anchor}\0${i.positiveId || i.positive}`).join("\n"), 16);
    if (key !== this.flagsKey) {
      this.flags = computeFlags(this.items);
      this.flagsKey = key;
    }
    for (const item of this.items) item.flags = this.flags.get(item.id) ?? [];
  }

  private toItem(id: string, index: number, rec: CsvRecord, read: ReviewRecord): ReviewItem {
    const { cell, decision, row } = read;
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(row)) if (!SHOWN.has(k)) extra[k] = String(v);
    const positive = cell("positive");
    const title = cell("title") || this.titles(cell("positive_id")) || "";
    return {
      id,
      line: rec.line,
      index,
      anchor: cell("anchor"),
      positive,
      title,
      passage: title && positive.startsWith(`${title}\n`) ? positive.slice(title.length + 1) : positive,
      positiveId: cell("positive_id"),
      docId: cell("doc_id"),
      generator: cell("generator"),
      extra,
      decision: (DECISIONS as readonly string[]).includes(decision) ? (decision as Decision) : "pending",
      editedAnchor: cell("edited_anchor"),
      problem: read.problem ?? "",
      flags: [],
      version: hash(`${cell("decision")}\0${cell("edited_anchor")}`, 10),
    };
  }

  /** The sheet's revision: a hash of its text (changes with every write, by anyone). */
  get revision(): string {
    return hash(this.sheet.text, 16);
  }

  counts(): ReviewCounts {
    const c: ReviewCounts = {
      total: this.items.length,
      accept: 0,
      reject: 0,
      fix: 0,
      pending: 0,
      flagged: 0,
      invalid: 0,
    };
    for (const i of this.items) {
      if (i.problem) c.invalid++;
      else c[i.decision]++;
      if (i.flags.length > 0) c.flagged++;
    }
    return c;
  }

  get(id: string): ReviewItem {
    this.refresh();
    const item = this.byId.get(id);
    if (!item) throw new NotFoundError(`no pair with id "${id}" in ${this.path}`);
    return item;
  }

  list(query: ReviewQuery = {}): ReviewPage {
    const reloaded = this.refresh();
    const status = query.status ?? "all";
    const needle = (query.q ?? "").trim().toLowerCase();
    const matches = this.items.filter((i) => {
      if (status === "pending" && (i.decision !== "pending" || i.problem)) return false;
      if (status === "decided" && (i.decision === "pending" || i.problem)) return false;
      if (status === "flagged" && i.flags.length === 0) return false;
      if (status === "invalid" && !i.problem) return false;
      if (query.generator && i.generator !== query.generator) return false;
      if (needle) {
        const hay = `${i.anchor}\n${i.editedAnchor}\n${i.positive}\n${i.title}`.toLowerCase();
        if (!hay.includes(needle)) return false;
      }
      return true;
    });
    const offset = Math.max(0, query.offset ?? 0);
    const limit = Math.max(1, Math.min(query.limit ?? 500, 2000));
    const generators = new Map<string, number>();
    for (const i of this.items) generators.set(i.generator, (generators.get(i.generator) ?? 0) + 1);
    return {
      file: this.path,
      revision: this.revision,
      counts: this.counts(),
      generators: [...generators].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count),
      matching: matches.length,
      offset,
      items: matches.slice(offset, offset + limit),
      ...(reloaded ? { reloaded } : {}),
    };
  }

  /**
   * Records a decision for one pair and writes the sheet. `version` is the item's version the person saw;
   * omitted, the decision applies to whatever is on disk (scripts). "edit" / "fix" need `anchor`, the new question.
   */
  decide(id: string, body: { decision: string; anchor?: string; version?: string }): ReviewItem {
    const action = String(body.decision ?? "").toLowerCase();
    if (!ACTIONS.includes(action))
      throw new BadDecisionError(
        `decision "${String(body.decision)}": use accept, reject, edit (with "anchor": the corrected question) or pending.`,
      );
    const edit = action === "edit" || action === "fix";
    const anchor = typeof body.anchor === "string" ? body.anchor.replace(/\s+/g, " ").trim() : "";
    if (edit && anchor === "")
      throw new BadDecisionError('decision "edit" needs "anchor": the corrected question (not empty).');
    if (!edit && body.anchor !== undefined && body.anchor !== null && anchor !== "")
      throw new BadDecisionError(`"anchor" goes with decision "edit" only, not "${action}".`);
    const release = lockTarget(this.path, "a review decision");
    try {
      this.refresh();
      const item = this.byId.get(id);
      if (!item) throw new NotFoundError(`no pair with id "${id}" in ${this.path}`);
      if (body.version !== undefined && body.version !== item.version)
        throw new ConflictError(
          `This pair was changed elsewhere (another tab, or the file was edited) since you saw it: it is now ` +
            `${describe(item)}. Your "${action}" was not saved; the page shows the current decision, decide again if you still want to.`,
          item,
        );
      const bad = this.sheet.records.find((r) => r.fields.length !== this.sheet.header.length);
      if (bad)
        throw new SheetError(
          `${this.path} line ${bad.line}: ${bad.fields.length} fields, the header has ${this.sheet.header.length}; ` +
            "writing the sheet back could shift its columns. Fix that line in a text editor, then decide again.",
        );
      const row = this.sheet.records[item.index];
      const decisionCol = this.sheet.header.indexOf("decision");
      const editedCol = this.sheet.header.indexOf("edited_anchor");
      row.fields[decisionCol] = action === "pending" ? "" : edit ? "fix" : action;
      row.fields[editedCol] = edit ? anchor : "";
      const text = writeReviewSheet(this.sheet);
      // Only this row changed: update it in place (parsing the whole sheet again costs ~0.5 s for 900 rows).
      const st = statSync(this.path);
      this.sheet.text = text;
      this.mtimeMs = st.mtimeMs;
      this.size = st.size;
      const updated = { ...this.toItem(id, item.index, row, readReviewRecord(this.sheet, row)), flags: item.flags };
      this.items[item.index] = updated;
      this.byId.set(id, updated);
      return updated;
    } finally {
      release();
    }
  }
}

function describe(item: ReviewItem): string {
  if (item.decision === "pending") return "pending";
  if (item.decision === "fix") return `edited to "${item.editedAnchor}"`;
  return item.decision === "accept" ? "accepted" : "rejected";
}

/** The quality filters of src/data/filters run over the sheet's rows: at their defaults (fails) and stricter (borderline). */
function computeFlags(items: readonly ReviewItem[]): Map<string, ReviewFlag[]> {
  const rows: PairRow[] = items.map((i) => ({
    anchor: i.anchor,
    positive: i.positive,
    positive_id: i.positiveId || i.id,
  }));
  const rowToId = new Map<PairRow, string>(rows.map((r, k) => [r, items[k].id]));
  const out = new Map<string, ReviewFlag[]>();
  const add = (row: PairRow, flag: ReviewFlag) => {
    const id = rowToId.get(row) as string;
    const list = out.get(id) ?? [];
    if (!list.some((f) => f.filter === flag.filter)) list.push(flag);
    out.set(id, list);
  };
  for (const r of filterPairs(rows).removed) add(r.row, { filter: r.filter, level: "fails" });
  for (const r of filterPairs(rows, BORDERLINE).removed) add(r.row, { filter: r.filter, level: "borderline" });
  return out;
}
