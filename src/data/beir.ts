/**
 * BEIR layout (the one IR tools share) in and out:
 *   <dir>/corpus.jsonl        {"_id", "title", "text", "doc_id"}   doc_id = source document (ours; optional)
 *   <dir>/queries.jsonl       {"_id", "text"}
 *   <dir>/qrels/<split>.tsv   query-id \t corpus-id \t score        (header line, score > 0 = relevant)
 * loadBeir gives a split in the evaluator's form (IRSplit: queries, corpus, relevant) and checks the
 * splits for leaks; trainingPairs turns a split into (anchor, positive) rows; writeBeir / buildBeir
 * write a dataset from chunks and generated questions, split by source document.
 *
 * Bad input policy: malformed lines, non-UTF-8 bytes, missing fields, duplicate ids and qrels naming
 * unknown ids are errors (all of them listed with file and line); an empty passage or query is
 * skipped and counted in the report (with the qrels rows that name it), since it can never be
 * retrieved or asked.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../files";
import { decodeUtf8, readJsonl, stringField, toJsonl, type JsonlOptions } from "./jsonl";
import { assertNoLeak, splitRows, type LeakReport, type SplitOptions } from "./split";
import { DataError, type CorpusRow, type DataIssue, type IRSplit, type PairRow, type SplitName } from "./types";

export interface QrelRow {
  queryId: string;
  corpusId: string;
  score: number;
}

export interface BeirDataset {
  dir: string;
  corpus: Map<string, CorpusRow>;
  /** Every query of queries.jsonl (all splits). */
  queries: Map<string, string>;
  /** qrels per split file found in <dir>/qrels (train, dev, test, or any other name). */
  qrels: Map<string, QrelRow[]>;
  /** Rows skipped (empty passages / queries and the qrels naming them), with file, line and reason. */
  skipped: DataIssue[];
  /** Present when the dataset was checked for leaks (the default). */
  leaks?: LeakReport;
}

export interface LoadBeirOptions extends JsonlOptions {
  /** Run assertNoLeak over the splits found (default true). */
  checkLeaks?: boolean;
}

function loadCorpus(
  path: string,
  options: JsonlOptions,
  skipped: DataIssue[],
  errors: DataIssue[],
  emptyIds: Set<string>,
): Map<string, CorpusRow> {
  const { records, skipped: bad } = readJsonl(path, options);
  skipped.push(...bad);
  const corpus = new Map<string, CorpusRow>();
  const firstLine = new Map<string, number>();
  for (const rec of records) {
    const id = stringField(rec, "_id", path, errors, { coerceNumber: true });
    if (id === undefined) continue;
    const text = stringField(rec, "text", path, errors, { allowEmpty: true });
    const title = rec.value.title === undefined || rec.value.title === null ? "" : rec.value.title;
    if (typeof title !== "string")
      errors.push({ file: path, line: rec.line, reason: 'field "title" must be a string' });
    const docIdRaw = rec.value.doc_id ?? id;
    const docId = typeof docIdRaw === "number" ? String(docIdRaw) : docIdRaw;
    if (typeof docId !== "string" || docId === "")
      errors.push({ file: path, line: rec.line, reason: 'field "doc_id" must be a non-empty string' });
    if (firstLine.has(id) || emptyIds.has(id)) {
      errors.push({
        file: path,
        line: rec.line,
        reason: `duplicate _id "${id}" (first on line ${firstLine.get(id) ?? "?"}); ids must be unique`,
      });
      continue;
    }
    firstLine.set(id, rec.line);
    if (text === undefined || typeof title !== "string" || typeof docId !== "string") continue;
    if (text.trim() === "") {
      skipped.push({ file: path, line: rec.line, reason: `empty document "${id}" skipped` });
      emptyIds.add(id);
      continue;
    }
    corpus.set(id, { _id: id, doc_id: docId, title, text });
  }
  return corpus;
}

function loadQueries(
  path: string,
  options: JsonlOptions,
  skipped: DataIssue[],
  errors: DataIssue[],
  emptyIds: Set<string>,
): Map<string, string> {
  const { records, skipped: bad } = readJsonl(path, options);
  skipped.push(...bad);
  const queries = new Map<string, string>();
  const firstLine = new Map<string, number>();
  for (const rec of records) {
    const id = stringField(rec, "_id", path, errors, { coerceNumber: true });
    if (id === undefined) continue;
    const text = stringField(rec, "text", path, errors, { allowEmpty: true });
    if (firstLine.has(id)) {
      errors.push({
        file: path,
        line: rec.line,
        reason: `duplicate _id "${id}" (first on line ${firstLine.get(id)}); ids must be unique`,
      });
      continue;
    }
    firstLine.set(id, rec.line);
    if (text === undefined) continue;
    if (text.trim() === "") {
      skipped.push({ file: path, line: rec.line, reason: `empty query "${id}" skipped` });
      emptyIds.add(id);
      continue;
    }
    queries.set(id, text);
  }
  return queries;
}

/** Parses a qrels TSV (header optional); unknown ids are errors, ids of skipped empty rows are skipped. */
export function parseQrels(
  text: string,
  file: string,
  known: {
    queries: Map<string, string>;
    corpus: Map<string, CorpusRow>;
    emptyQueries?: Set<string>;
    emptyDocs?: Set<string>;
  },
  skipped: DataIssue[],
  errors: DataIssue[],
): QrelRow[] {
  const rows: QrelRow[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line.trim() === "") continue;
    const cols = line.split("\t");
    if (i === 0 && cols[0].trim().toLowerCase() === "query-id") continue;
    const where = { file, line: i + 1 };
    if (cols.length !== 3) {
      errors.push({
        ...where,
        reason: `expected 3 tab-separated columns (query-id, corpus-id, score), got ${cols.length}`,
      });
      continue;
    }
    const [queryId, corpusId, scoreText] = cols.map((c) => c.trim());
    const score = Number(scoreText);
    if (scoreText === "" || !Number.isFinite(score)) {
      errors.push({ ...where, reason: `score "${scoreText}" is not a number` });
      continue;
    }
    if (known.emptyQueries?.has(queryId) || known.emptyDocs?.has(corpusId)) {
      skipped.push({
        ...where,
        reason: `names an empty ${known.emptyQueries?.has(queryId) ? `query "${queryId}"` : `document "${corpusId}"`} that was skipped`,
      });
      continue;
    }
    let ok = true;
    if (!known.queries.has(queryId)) {
      errors.push({ ...where, reason: `query-id "${queryId}" is not in queries.jsonl` });
      ok = false;
    }
    if (!known.corpus.has(corpusId)) {
      errors.push({ ...where, reason: `corpus-id "${corpusId}" is not in corpus.jsonl` });
      ok = false;
    }
    if (ok) rows.push({ queryId, corpusId, score });
  }
  return rows;
}

/** Loads corpus, queries and every qrels/<split>.tsv of a BEIR folder, validating all of it. */
export function loadBeirDataset(dir: string, options: LoadBeirOptions = {}): BeirDataset {
  const skipped: DataIssue[] = [];
  const errors: DataIssue[] = [];
  const emptyDocs = new Set<string>();
  const emptyQueries = new Set<string>();
  const corpus = loadCorpus(join(dir, "corpus.jsonl"), options, skipped, errors, emptyDocs);
  const queries = loadQueries(join(dir, "queries.jsonl"), options, skipped, errors, emptyQueries);
  const qrelsDir = join(dir, "qrels");
  if (!existsSync(qrelsDir))
    errors.push({
      file: qrelsDir,
      reason: "missing qrels folder (expected qrels/train.tsv, qrels/dev.tsv, qrels/test.tsv)",
    });
  const qrels = new Map<string, QrelRow[]>();
  if (existsSync(qrelsDir)) {
    for (const name of readdirSync(qrelsDir)
      .filter((n) => n.endsWith(".tsv"))
      .sort()) {
      const file = join(qrelsDir, name);
      let text: string;
      try {
        text = decodeUtf8(readFileSync(file), file);
      } catch (err) {
        if (err instanceof DataError) errors.push(...err.issues);
        else throw err;
        continue;
      }
      qrels.set(
        name.slice(0, -4),
        parseQrels(text, file, { queries, corpus, emptyQueries, emptyDocs }, skipped, errors),
      );
    }
  }
  if (errors.length > 0) throw new DataError(errors);
  const dataset: BeirDataset = { dir, corpus, queries, qrels, skipped };
  if (options.checkLeaks ?? true) dataset.leaks = assertNoLeak([...qrels.keys()].map((s) => toIRSplit(dataset, s)));
  return dataset;
}

/** One split of a loaded dataset in the evaluator's form (score > 0 counts as relevant). */
export function toIRSplit(dataset: BeirDataset, split: string): IRSplit {
  const rows = dataset.qrels.get(split);
  if (rows === undefined)
    throw new DataError([
      {
        file: join(dataset.dir, "qrels", `${split}.tsv`),
        reason: `no such split; found ${[...dataset.qrels.keys()].join(", ") || "none"}`,
      },
    ]);
  const relevant = new Map<string, Set<string>>();
  for (const r of rows) {
    if (r.score <= 0) continue;
    let set = relevant.get(r.queryId);
    if (!set) relevant.set(r.queryId, (set = new Set()));
    set.add(r.corpusId);
  }
  const queries = new Map<string, string>();
  for (const q of relevant.keys()) queries.set(q, dataset.queries.get(q) as string);
  return { split, queries, corpus: dataset.corpus, relevant };
}

/** Loads one split of a BEIR folder (the whole folder is validated and leak-checked). */
export function loadBeir(dir: string, split: SplitName | string, options: LoadBeirOptions = {}): IRSplit {
  return toIRSplit(loadBeirDataset(dir, options), split);
}

/** The text a passage is embedded as: "title\ntext" (the title alone says which section it is). */
export function passageText(doc: Pick<CorpusRow, "title" | "text">, withTitle = true): string {
  return withTitle && doc.title.trim() !== "" ? `${doc.title}\n${doc.text}` : doc.text;
}

/** (anchor, positive) rows from a split: one row per (query, relevant passage). */
export function trainingPairs(split: IRSplit, options: { withTitle?: boolean } = {}): PairRow[] {
  const rows: PairRow[] = [];
  for (const [queryId, ids] of split.relevant) {
    for (const id of ids) {
      const doc = split.corpus.get(id) as CorpusRow;
      rows.push({
        anchor: split.queries.get(queryId) as string,
        positive: passageText(doc, options.withTitle ?? true),
        query_id: queryId,
        positive_id: id,
        doc_id: doc.doc_id,
      });
    }
  }
  return rows;
}

export interface BeirFiles {
  corpus: readonly CorpusRow[];
  queries: readonly { _id: string; text: string }[];
  qrels: Partial<Record<string, readonly QrelRow[]>>;
}

/** Writes a BEIR folder; every file is written atomically. */
export function writeBeir(dir: string, data: BeirFiles): void {
  writeFileAtomic(
    join(dir, "corpus.jsonl"),
    toJsonl(data.corpus.map((c) => ({ _id: c._id, title: c.title, text: c.text, doc_id: c.doc_id }))),
  );
  writeFileAtomic(join(dir, "queries.jsonl"), toJsonl(data.queries.map((q) => ({ _id: q._id, text: q.text }))));
  for (const [split, rows] of Object.entries(data.qrels)) {
    if (!rows) continue;
    const body = rows.map((r) => `${r.queryId}\t${r.corpusId}\t${r.score}\n`).join("");
    writeFileAtomic(join(dir, "qrels", `${split}.tsv`), `query-id\tcorpus-id\tscore\n${body}`);
  }
}

/**
 * A BEIR dataset from chunks and generated (anchor, positive_id) rows: query ids q0, q1, ... in row
 * order, splits by source document (see splitByDocument). Rows naming an unknown chunk are errors.
 */
export function buildBeir(
  chunks: readonly CorpusRow[],
  rows: readonly PairRow[],
  options: SplitOptions = {},
): BeirFiles {
  const byId = new Map(chunks.map((c) => [c._id, c]));
  const errors: DataIssue[] = [];
  const located = rows.map((r, i) => {
    const chunk = typeof r.positive_id === "string" ? byId.get(r.positive_id) : undefined;
    if (!chunk)
      errors.push({ file: "rows", line: i + 1, reason: `positive_id "${String(r.positive_id)}" is not a chunk id` });
    return { row: r, queryId: `q${i}`, doc_id: chunk?.doc_id, corpusId: chunk?._id ?? "" };
  });
  if (errors.length > 0) throw new DataError(errors);
  const parts = splitRows(located, options);
  const qrels: Record<string, QrelRow[]> = {};
  for (const [split, items] of Object.entries(parts))
    qrels[split] = items.map((x) => ({ queryId: x.queryId, corpusId: x.corpusId, score: 1 }));
  return { corpus: chunks, queries: located.map((x) => ({ _id: x.queryId, text: x.row.anchor })), qrels };
}
