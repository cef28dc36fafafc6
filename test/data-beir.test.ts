import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBeir, loadBeir, loadBeirDataset, trainingPairs, writeBeir } from "../src/data/beir";
import { DataError, type CorpusRow } from "../src/data/types";

const FIXTURE = join(__dirname, "fixtures", "data", "mini-beir");

function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), "beir-"));
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    return err.issues.map((i) => `${i.file.split("/").slice(-2).join("/")}:${i.line ?? "-"}: ${i.reason}`);
  }
  assert.fail("expected a DataError");
}

test("loadBeir gives the evaluator's form of a split; score 0 is not relevant", () => {
  const dev = loadBeir(FIXTURE, "dev");
  assert.deepEqual(
    [...dev.queries],
    [
      ["q3", "do i need 2fa for apps"],
      ["q4", "lost my work laptop what now"],
    ],
  );
  assert.deepEqual(
    [...dev.relevant].map(([q, s]) => [q, [...s]]),
    [
      ["q3", ["it#0"]],
      ["q4", ["it#1"]],
    ],
  );
  assert.equal(dev.corpus.size, 6);
  assert.deepEqual(dev.corpus.get("travel#0"), {
    _id: "travel#0",
    doc_id: "travel",
    title: "Travel > Per diem",
    text: "The per diem for meals is 60 USD a day in the home country.",
  });
  const test6 = loadBeir(FIXTURE, "test").relevant.get("q6");
  assert.deepEqual([...(test6 ?? [])], ["travel#1", "travel#0"]);
});

test("loadBeirDataset checks the shipped splits for leaks and summarises them", () => {
  const ds = loadBeirDataset(FIXTURE);
  assert.deepEqual(ds.leaks?.splits, [
    { split: "dev", queries: 2, passages: 2, documents: 1 },
    { split: "test", queries: 2, passages: 2, documents: 1 },
    { split: "train", queries: 2, passages: 2, documents: 1 },
  ]);
  assert.deepEqual(ds.skipped, []);
});

test("trainingPairs: one (anchor, positive) row per relevant passage, title on its own line", () => {
  const rows = trainingPairs(loadBeir(FIXTURE, "train"));
  assert.deepEqual(rows[1], {
    anchor: "can unused pto roll over",
    positive: "Leave > Carry-over\nUp to 5 unused PTO days carry over into the next calendar year.",
    query_id: "q2",
    positive_id: "leave#1",
    doc_id: "leave",
  });
  assert.equal(
    trainingPairs(loadBeir(FIXTURE, "test"), { withTitle: false })[2].positive,
    "The per diem for meals is 60 USD a day in the home country.",
  );
});

test("every bad line is reported with file and line, not only the first", () => {
  const dir = copyFixture();
  writeFileSync(
    join(dir, "queries.jsonl"),
    [
      '{"_id": "q1", "text": "ok"}',
      '{"_id": "q2", "text": "broken"',
      '{"_id": "q3"}',
      '{"_id": "q1", "text": "again"}',
      '["not", "an object"]',
    ].join("\n") + "\n",
  );
  const issues = issuesOf(() => loadBeirDataset(dir)).map((i) => i.replace(/^[^/]+\//, ""));
  assert.equal(issues.length, 2);
  assert.match(issues[0], /^queries\.jsonl:2: malformed JSON \(/);
  assert.equal(issues[1], "queries.jsonl:5: expected a JSON object per line");
});

test("missing fields, duplicate ids and unknown qrels ids are all listed", () => {
  const dir = copyFixture();
  const base = dir.split("/").pop();
  writeFileSync(
    join(dir, "queries.jsonl"),
    ['{"_id": "q1", "text": "ok"}', '{"_id": "q2"}', '{"_id": "q1", "text": "again"}', '{"_id": 7, "text": 5}'].join(
      "\n",
    ),
  );
  writeFileSync(
    join(dir, "qrels", "train.tsv"),
    "query-id\tcorpus-id\tscore\nq1\tleave#0\t1\nq1\tnope#3\t1\nq9\tleave#1\tx\nq1\tleave#1\n",
  );
  writeFileSync(join(dir, "qrels", "dev.tsv"), "query-id\tcorpus-id\tscore\n");
  writeFileSync(join(dir, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\n");
  assert.deepEqual(
    issuesOf(() => loadBeirDataset(dir)),
    [
      `${base}/queries.jsonl:2: missing field "text"`,
      `${base}/queries.jsonl:3: duplicate _id "q1" (first on line 1); ids must be unique`,
      `${base}/queries.jsonl:4: field "text" must be a string, got number`,
      `qrels/train.tsv:3: corpus-id "nope#3" is not in corpus.jsonl`,
      `qrels/train.tsv:4: score "x" is not a number`,
      `qrels/train.tsv:5: expected 3 tab-separated columns (query-id, corpus-id, score), got 2`,
    ],
  );
});

test("non-UTF-8 bytes are reported with their line", () => {
  const dir = copyFixture();
  const good = readFileSync(join(dir, "corpus.jsonl"));
  const lines = good.toString("utf8").split("\n");
  const bad = Buffer.concat([
    Buffer.from(lines.slice(0, 3).join("\n") + "\n"),
    Buffer.from('{"_id": "x", "text": "caf'),
    Buffer.from([0xe9]),
    Buffer.from('", "doc_id": "x"}\n'),
  ]);
  writeFileSync(join(dir, "corpus.jsonl"), bad);
  const issues = issuesOf(() => loadBeirDataset(dir));
  assert.equal(issues.length, 1);
  assert.match(issues[0], /corpus\.jsonl:4: not valid UTF-8 \(byte offset 25 in the line\)/);
});

test("an empty document is skipped and counted, with the qrels rows naming it", () => {
  const dir = copyFixture();
  const text = readFileSync(join(dir, "corpus.jsonl"), "utf8").replace(
    "Report a lost laptop to the service desk within 24 hours.",
    "  ",
  );
  writeFileSync(join(dir, "corpus.jsonl"), text);
  const ds = loadBeirDataset(dir);
  assert.equal(ds.corpus.size, 5);
  assert.deepEqual(
    ds.skipped.map((i) => `${i.file.split("/").pop()}:${i.line}: ${i.reason}`),
    ['corpus.jsonl:4: empty document "it#1" skipped', 'dev.tsv:3: names an empty document "it#1" that was skipped'],
  );
  assert.deepEqual([...loadBeir(dir, "dev").relevant.keys()], ["q3"]);
});

test("a document in two splits is a leak", () => {
  const dir = copyFixture();
  writeFileSync(join(dir, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\nq5\ttravel#0\t1\nq6\tleave#0\t1\n");
  assert.deepEqual(
    issuesOf(() => loadBeirDataset(dir)),
    ["split test/train:-: 1 source document(s) in both splits, e.g. leave; split by document (splitByDocument)"],
  );
  assert.equal(loadBeirDataset(dir, { checkLeaks: false }).qrels.get("test")?.length, 2);
});

test("buildBeir + writeBeir round-trip through loadBeir without leaks", () => {
  const chunks: CorpusRow[] = [];
  const rows = [];
  for (let d = 0; d < 20; d++) {
    for (let c = 0; c < 3; c++) {
      chunks.push({
        _id: `doc${d}#${c}`,
        doc_id: `doc${d}`,
        title: `Doc ${d}`,
        text: `text of chunk ${c} of document ${d}`,
      });
      rows.push({ anchor: `question about ${d}/${c}`, positive: "", positive_id: `doc${d}#${c}`, doc_id: `doc${d}` });
    }
  }
  const files = buildBeir(chunks, rows, { seed: 3 });
  assert.deepEqual(Object.fromEntries(Object.entries(files.qrels).map(([k, v]) => [k, v?.length])), {
    train: 42,
    dev: 9,
    test: 9,
  });
  const dir = mkdtempSync(join(tmpdir(), "beir-out-"));
  writeBeir(dir, files);
  const ds = loadBeirDataset(dir);
  assert.equal(ds.corpus.size, 60);
  assert.equal(ds.queries.get("q7"), "question about 2/1");
  const test7 = loadBeir(dir, "test");
  for (const [q, ids] of test7.relevant)
    assert.equal(test7.queries.get(q), `question about ${[...ids][0].replace("doc", "").replace("#", "/")}`);
  assert.throws(
    () => buildBeir(chunks, [{ anchor: "a", positive: "", positive_id: "nope" }]),
    /rows line 1: positive_id "nope" is not a chunk id/,
  );
});
