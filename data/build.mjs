#!/usr/bin/env node
// data/build.mjs — builds the course's shipped retrieval datasets in the BEIR layout from their
// hand-written sources, and checks them. Plain Node, no dependencies, deterministic.
//
//   node data/build.mjs            rebuild every dataset, then verify what was written
//   node data/build.mjs --check    verify only: the files on disk must equal a fresh build (exit 1 if not)
//
// Source format (data/<name>/source/<doc_id>.md, one file per source document):
//   # Document title
//   ## Section heading            -> one corpus chunk, id "<doc_id>-NN" (NN = 01, 02, ... in file order)
//   prose paragraphs               -> the chunk text (paragraphs joined with "\n")
//   Q: how many pto days after 3 yrs        -> a query whose relevant chunk is this section
//   Q+2,5: ...                              -> also relevant: sections 02 and 05 of the same document
// Lines starting with "Q" are never part of the chunk text. Relevant chunks of a query always belong to
// one document, so a query can be given the split of that document without leaking.
//
// Output (BEIR, as read by BEIR / MTEB / sentence-transformers' InformationRetrievalEvaluator):
//   corpus.jsonl   {"_id", "title", "text", "doc_id"}    title = "<document title> — <section heading>"
//   queries.jsonl  {"_id", "text"}                       ids q0001, q0002, ... in source order
//   qrels/{train,dev,test}.tsv   "query-id\tcorpus-id\tscore" header, score 1
// Split: documents (sorted by id) are shuffled with a seeded Fisher-Yates (mulberry32, SPLIT_SEED) and cut
// 70% / 15% / 15% into train / dev / test; every query goes to the split of its document. The dataset
// card README.md gets its counts rewritten between the "<!-- stats:begin -->" / "<!-- stats:end -->" markers.
// Every file is written atomically (temp file in the same folder, then rename).
//
// Why this does not import src/ (src/random.ts, src/data/split.ts, src/files.ts): the shipped datasets were
// built and published with this split, and must stay byte-identical. Its shuffle is the library's
// `shuffled(ids, mulberry32(SPLIT_SEED))` (same generator, same Fisher-Yates), but its cut is by document
// count (round(70%), round(15%), the rest), whereas the library's splitByDocument seeds through
// rngFor(seed, "splitByDocument") and balances the fractions by rows per document: using it would move
// documents between splits and change every qrels file. Keeping it plain Node (no tsx, no build) also lets
// `node data/build.mjs --check` run before `npm install`.

import { readFileSync, writeFileSync, renameSync, readdirSync, existsSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const DATA_DIR = dirname(fileURLToPath(import.meta.url));
const SPLIT_SEED = 20241124;
const SPLIT_FRACTIONS = { train: 0.7, dev: 0.15 }; // test = the rest
const SPLITS = ["train", "dev", "test"];
const DATASETS = ["policy-handbook", "vet-clinic"];
const MIN_CHUNKS = 300;
const MIN_QUERIES = 900;
const MIN_WORDS = 60;
const MAX_WORDS = 180;
const TRIPLETS = { name: "tutorial-triplets", min: 8, max: 12 };

class DataError extends Error {}
const fail = (where, msg) => {
  throw new DataError(`${where}: ${msg}`);
};

// mulberry32: a tiny, well-known 32-bit PRNG; returns floats in [0, 1).
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function splitDocuments(docIds, seed = SPLIT_SEED) {
  const ids = [...docIds].sort();
  const rand = mulberry32(seed);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const nTrain = Math.round(ids.length * SPLIT_FRACTIONS.train);
  const nDev = Math.round(ids.length * SPLIT_FRACTIONS.dev);
  const splitOf = new Map();
  ids.forEach((id, i) => splitOf.set(id, i < nTrain ? "train" : i < nTrain + nDev ? "dev" : "test"));
  return splitOf;
}

const wordCount = (s) => s.split(/\s+/).filter(Boolean).length;
const normQuery = (s) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();

// Parses one source document into its chunks and queries.
function parseDocument(file, docId) {
  const lines = readFileSync(file, "utf8").split(/\r?\n/);
  let title = null;
  const sections = []; // {heading, paragraphs: string[][], queries: {text, also: number[], line}[]}
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    const where = `${file} line ${idx + 1}`;
    if (line === "") {
      const cur = sections.at(-1);
      if (cur?.paragraphs.at(-1)?.length) cur.paragraphs.push([]);
      return;
    }
    if (line.startsWith("# ")) {
      if (title !== null) fail(where, `second "# " title; a document has one title line`);
      title = line.slice(2).trim();
      return;
    }
    if (line.startsWith("## ")) {
      if (title === null) fail(where, `section before the "# Title" line`);
      sections.push({ heading: line.slice(3).trim(), paragraphs: [[]], queries: [], line: idx + 1 });
      return;
    }
    const cur = sections.at(-1);
    if (!cur) fail(where, `text before the first "## " section heading`);
    const q = /^Q(\+[0-9,]+)?:\s*(.+)$/.exec(line);
    if (q) {
      const also = q[1] ? q[1].slice(1).split(",").filter(Boolean).map(Number) : [];
      cur.queries.push({ text: q[2].trim(), also, line: idx + 1 });
      return;
    }
    if (cur.queries.length) fail(where, `prose after the section's queries; put "Q:" lines at the end of the section`);
    cur.paragraphs.at(-1).push(line);
  });
  if (title === null) fail(file, `missing "# Title" first line`);
  if (sections.length === 0) fail(file, `no "## " sections`);
  const chunks = sections.map((s, i) => {
    const id = `${docId}-${String(i + 1).padStart(2, "0")}`;
    const text = s.paragraphs
      .filter((p) => p.length)
      .map((p) => p.join(" "))
      .join("\n");
    const n = wordCount(text);
    if (n < MIN_WORDS || n > MAX_WORDS)
      fail(
        `${file} line ${s.line}`,
        `section "${s.heading}" has ${n} words; keep sections within ${MIN_WORDS}-${MAX_WORDS} words`,
      );
    return { _id: id, title: `${title} — ${s.heading}`, text, doc_id: docId };
  });
  const queries = [];
  sections.forEach((s, i) => {
    for (const q of s.queries) {
      const rel = new Set([i + 1]);
      for (const n of q.also) {
        if (!Number.isInteger(n) || n < 1 || n > sections.length)
          fail(
            `${file} line ${q.line}`,
            `Q+${q.also.join(",")}: section ${n} does not exist (document has ${sections.length})`,
          );
        rel.add(n);
      }
      queries.push({
        text: q.text,
        relevant: [...rel].sort((a, b) => a - b).map((n) => chunks[n - 1]._id),
        docId,
        where: `${file} line ${q.line}`,
      });
    }
  });
  return { title, chunks, queries };
}

// Builds all output files of one dataset in memory: Map<relative path, content>.
function buildDataset(name) {
  const srcDir = join(DATA_DIR, name, "source");
  if (!existsSync(srcDir)) fail(srcDir, "missing source folder");
  const files = readdirSync(srcDir)
    .filter((f) => f.endsWith(".md"))
    .sort();
  if (files.length === 0) fail(srcDir, "no .md source documents");
  const corpus = [];
  const allQueries = [];
  for (const f of files) {
    const docId = f.replace(/\.md$/, "");
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(docId))
      fail(join(srcDir, f), `file name must be a lowercase doc id like "hr-leave.md"`);
    const doc = parseDocument(join(srcDir, f), docId);
    corpus.push(...doc.chunks);
    allQueries.push(...doc.queries);
  }
  const seen = new Map();
  for (const q of allQueries) {
    const key = normQuery(q.text);
    if (seen.has(key)) fail(q.where, `duplicate query "${q.text}" (first at ${seen.get(key)})`);
    seen.set(key, q.where);
  }
  const splitOf = splitDocuments(files.map((f) => f.replace(/\.md$/, "")));
  const qrels = { train: [], dev: [], test: [] };
  const queries = allQueries.map((q, i) => {
    const id = `q${String(i + 1).padStart(4, "0")}`;
    for (const c of q.relevant) qrels[splitOf.get(q.docId)].push(`${id}\t${c}\t1`);
    return { _id: id, text: q.text };
  });
  const jsonl = (rows) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const out = new Map();
  out.set("corpus.jsonl", jsonl(corpus));
  out.set("queries.jsonl", jsonl(queries));
  for (const s of SPLITS) out.set(`qrels/${s}.tsv`, ["query-id\tcorpus-id\tscore", ...qrels[s]].join("\n") + "\n");
  return out;
}

// Reads a dataset back from the given files and checks the BEIR invariants; returns its counts.
function verifyDataset(name, files) {
  const where = (f) => `data/${name}/${f}`;
  const parseJsonl = (f) =>
    files
      .get(f)
      .trimEnd()
      .split("\n")
      .map((l, i) => {
        try {
          return JSON.parse(l);
        } catch (e) {
          fail(`${where(f)} line ${i + 1}`, `not JSON (${e.message})`);
        }
      });
  const corpus = parseJsonl("corpus.jsonl");
  const queries = parseJsonl("queries.jsonl");
  const chunkDoc = new Map();
  corpus.forEach((c, i) => {
    for (const k of ["_id", "title", "text", "doc_id"])
      if (typeof c[k] !== "string" || c[k] === "")
        fail(`${where("corpus.jsonl")} line ${i + 1}`, `missing field "${k}"`);
    if (chunkDoc.has(c._id)) fail(`${where("corpus.jsonl")} line ${i + 1}`, `duplicate _id ${c._id}`);
    chunkDoc.set(c._id, c.doc_id);
  });
  const queryIds = new Set();
  queries.forEach((q, i) => {
    for (const k of ["_id", "text"])
      if (typeof q[k] !== "string" || q[k] === "")
        fail(`${where("queries.jsonl")} line ${i + 1}`, `missing field "${k}"`);
    if (queryIds.has(q._id)) fail(`${where("queries.jsonl")} line ${i + 1}`, `duplicate _id ${q._id}`);
    queryIds.add(q._id);
  });
  const docsOf = { train: new Set(), dev: new Set(), test: new Set() };
  const queriesOf = { train: new Set(), dev: new Set(), test: new Set() };
  const pairs = { train: 0, dev: 0, test: 0 };
  for (const s of SPLITS) {
    const f = `qrels/${s}.tsv`;
    const lines = files.get(f).trimEnd().split("\n");
    if (lines[0] !== "query-id\tcorpus-id\tscore")
      fail(`${where(f)} line 1`, `header must be "query-id<TAB>corpus-id<TAB>score"`);
    lines.slice(1).forEach((l, i) => {
      const [qid, cid, score, extra] = l.split("\t");
      const at = `${where(f)} line ${i + 2}`;
      if (extra !== undefined || score !== "1") fail(at, `expected 3 columns with score 1, got "${l}"`);
      if (!queryIds.has(qid)) fail(at, `query-id ${qid} is not in queries.jsonl`);
      if (!chunkDoc.has(cid)) fail(at, `corpus-id ${cid} is not in corpus.jsonl`);
      docsOf[s].add(chunkDoc.get(cid));
      queriesOf[s].add(qid);
      pairs[s]++;
    });
  }
  for (const [a, b] of [
    ["train", "dev"],
    ["train", "test"],
    ["dev", "test"],
  ]) {
    for (const d of docsOf[a])
      if (docsOf[b].has(d)) fail(where("qrels"), `document ${d} has relevant chunks in both ${a} and ${b}`);
    for (const q of queriesOf[a]) if (queriesOf[b].has(q)) fail(where("qrels"), `query ${q} is in both ${a} and ${b}`);
  }
  const judged = SPLITS.reduce((n, s) => n + queriesOf[s].size, 0);
  if (judged !== queries.length)
    fail(where("qrels"), `${queries.length - judged} queries have no relevant chunk in any split`);
  const words = corpus.map((c) => wordCount(c.text)).sort((a, b) => a - b);
  const chunksOf = {};
  for (const s of SPLITS) chunksOf[s] = corpus.filter((c) => docsOf[s].has(c.doc_id)).length;
  return {
    documents: new Set(corpus.map((c) => c.doc_id)).size,
    chunks: corpus.length,
    queries: queries.length,
    words: {
      min: words[0],
      median: words[Math.floor(words.length / 2)],
      max: words.at(-1),
      total: words.reduce((a, b) => a + b, 0),
    },
    multiRelevant: countMulti(files),
    splits: Object.fromEntries(
      SPLITS.map((s) => [
        s,
        { documents: docsOf[s].size, chunks: chunksOf[s], queries: queriesOf[s].size, pairs: pairs[s] },
      ]),
    ),
  };
}

function countMulti(files) {
  const n = new Map();
  for (const s of SPLITS)
    for (const l of files.get(`qrels/${s}.tsv`).trimEnd().split("\n").slice(1)) {
      const q = l.split("\t")[0];
      n.set(q, (n.get(q) ?? 0) + 1);
    }
  return [...n.values()].filter((v) => v > 1).length;
}

function statsMarkdown(st) {
  const rows = SPLITS.map(
    (s) =>
      `| ${s} | ${st.splits[s].documents} | ${st.splits[s].chunks} | ${st.splits[s].queries} | ${st.splits[s].pairs} |`,
  );
  return [
    `- documents: ${st.documents}; chunks (corpus.jsonl): ${st.chunks}; queries (queries.jsonl): ${st.queries}`,
    `- words per chunk: min ${st.words.min}, median ${st.words.median}, max ${st.words.max}; ${st.words.total} words in all`,
    `- queries with more than one relevant chunk: ${st.multiRelevant}`,
    `- split seed: ${SPLIT_SEED} (mulberry32 shuffle of the sorted document ids, cut 70% / 15% / 15%)`,
    "",
    "| split | documents | chunks | queries | qrels rows |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function withStats(readme, file, stats) {
  const re = /(<!-- stats:begin -->\n)[\s\S]*?(<!-- stats:end -->)/;
  if (!re.test(readme)) fail(file, `missing "<!-- stats:begin -->" / "<!-- stats:end -->" markers`);
  return readme.replace(re, (_, a, b) => a + statsMarkdown(stats) + "\n" + b);
}

function verifyTriplets() {
  const f = join(DATA_DIR, TRIPLETS.name, "triplets.jsonl");
  const lines = readFileSync(f, "utf8").trimEnd().split("\n");
  if (lines.length < TRIPLETS.min || lines.length > TRIPLETS.max)
    fail(f, `${lines.length} triplets, expected ${TRIPLETS.min}-${TRIPLETS.max}`);
  lines.forEach((l, i) => {
    let row;
    try {
      row = JSON.parse(l);
    } catch (e) {
      fail(`${f} line ${i + 1}`, `not JSON (${e.message})`);
    }
    for (const k of ["anchor", "positive", "negative"])
      if (typeof row[k] !== "string" || row[k].trim() === "") fail(`${f} line ${i + 1}`, `missing field "${k}"`);
    if (row.positive === row.negative) fail(`${f} line ${i + 1}`, "positive and negative are identical");
  });
  return lines.length;
}

function writeAtomic(path, content) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${Date.now()}.${process.pid}.tmp`);
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

function main() {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const name of DATASETS) {
    if (!existsSync(join(DATA_DIR, name, "source"))) {
      console.log(`${name}: no source folder yet, skipped`);
      continue;
    }
    const built = buildDataset(name);
    const stats = verifyDataset(name, built);
    const readmePath = join(DATA_DIR, name, "README.md");
    if (existsSync(readmePath)) built.set("README.md", withStats(readFileSync(readmePath, "utf8"), readmePath, stats));
    for (const [rel, content] of built) {
      const path = join(DATA_DIR, name, rel);
      const current = existsSync(path) ? readFileSync(path, "utf8") : null;
      if (current === content) continue;
      if (check) {
        console.error(`data/${name}/${rel}: differs from a fresh build; run "node data/build.mjs"`);
        stale++;
      } else writeAtomic(path, content);
    }
    // The course needs at least MIN_CHUNKS / MIN_QUERIES per dataset; --check fails below that.
    if (stats.chunks < MIN_CHUNKS || stats.queries < MIN_QUERIES) {
      console.error(
        `data/${name}: ${stats.chunks} chunks and ${stats.queries} queries; the minimum is ${MIN_CHUNKS} and ${MIN_QUERIES}`,
      );
      if (check) stale++;
    }
    const s = stats.splits;
    console.log(
      `${name}: ${stats.documents} documents, ${stats.chunks} chunks, ${stats.queries} queries; ` +
        SPLITS.map((k) => `${k} ${s[k].documents} docs / ${s[k].queries} queries`).join(", "),
    );
  }
  if (existsSync(join(DATA_DIR, TRIPLETS.name, "triplets.jsonl")))
    console.log(`${TRIPLETS.name}: ${verifyTriplets()} triplets`);
  if (stale) process.exit(1);
}

try {
  main();
} catch (e) {
  if (e instanceof DataError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
