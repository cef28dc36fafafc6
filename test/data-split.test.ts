import { test } from "node:test";
import assert from "node:assert/strict";
import { assertNoLeak, splitByDocument, splitRows } from "../src/data/split";
import type { CorpusRow, IRSplit } from "../src/data/types";

test("equal-sized documents are split exactly 70/15/15 and deterministically", () => {
  const docs = Array.from({ length: 100 }, (_, i) => `d${i}`);
  const a = splitByDocument(docs, { seed: 7 });
  const counts = { train: 0, dev: 0, test: 0 };
  for (const s of a.values()) counts[s]++;
  assert.deepEqual(counts, { train: 70, dev: 15, test: 15 });
  // The same seed gives the same split whatever the input order; another seed gives another one.
  assert.deepEqual([...splitByDocument([...docs].reverse(), { seed: 7 })].sort(), [...a].sort());
  const b = splitByDocument(docs, { seed: 8 });
  assert.ok(docs.some((d) => a.get(d) !== b.get(d)));
});

test("rows are split by document; the 85/15 split has no dev rows", () => {
  const rows = [];
  for (let d = 0; d < 40; d++) for (let k = 0; k < 1 + (d % 4); k++) rows.push({ id: `${d}.${k}`, doc_id: `doc${d}` });
  const parts = splitRows(rows, { fractions: { train: 0.85, dev: 0, test: 0.15 }, seed: 1 });
  assert.equal(parts.dev.length, 0);
  assert.equal(parts.train.length + parts.test.length, rows.length);
  // Greedy by deficit: the test share is within one document (at most 4 rows) of 15% of 100 rows.
  assert.ok(Math.abs(parts.test.length - 15) <= 4, `test rows ${parts.test.length}`);
  const trainDocs = new Set(parts.train.map((r) => r.doc_id));
  assert.ok(parts.test.every((r) => !trainDocs.has(r.doc_id)));
  assert.throws(() => splitRows([{ doc_id: "a" }, { doc_id: "" }]), /rows line 2: missing "doc_id"/);
  assert.throws(
    () => splitByDocument(["a"], { fractions: { train: 0.8, dev: 0.1, test: 0.2 } }),
    /must sum to 1, got 1.1/,
  );
  assert.throws(
    () => splitByDocument(["a", "a", "b"]),
    /2 source document\(s\) cannot fill 3 splits \(train, dev, test\)/,
  );
  assert.deepEqual(
    [...splitByDocument(["a", "a", "b"], { fractions: { train: 0.5, dev: 0, test: 0.5 } }).values()].sort(),
    ["test", "train"],
  );
});

function split(name: string, relevant: Record<string, string[]>, corpus: Map<string, CorpusRow>): IRSplit {
  return {
    split: name,
    queries: new Map(Object.keys(relevant).map((q) => [q, q])),
    corpus,
    relevant: new Map(Object.entries(relevant).map(([q, ids]) => [q, new Set(ids)])),
  };
}

test("assertNoLeak finds a chunk of a test document in train, and a query in two splits", () => {
  const corpus = new Map<string, CorpusRow>([
    ["a#0", { _id: "a#0", doc_id: "a", title: "", text: "x" }],
    ["a#1", { _id: "a#1", doc_id: "a", title: "", text: "y" }],
    ["b#0", { _id: "b#0", doc_id: "b", title: "", text: "z" }],
  ]);
  const ok = assertNoLeak([split("train", { q1: ["a#0", "a#1"] }, corpus), split("test", { q2: ["b#0"] }, corpus)]);
  assert.deepEqual(ok.splits, [
    { split: "train", queries: 1, passages: 2, documents: 1 },
    { split: "test", queries: 1, passages: 1, documents: 1 },
  ]);
  assert.throws(
    () => assertNoLeak([split("train", { q1: ["a#0"] }, corpus), split("test", { q2: ["a#1"] }, corpus)]),
    /split train\/test: 1 source document\(s\) in both splits, e.g. a/,
  );
  assert.throws(
    () => assertNoLeak([split("train", { q1: ["a#0"] }, corpus), split("dev", { q1: ["b#0"] }, corpus)]),
    /1 query id\(s\) in both splits, e.g. q1/,
  );
});
