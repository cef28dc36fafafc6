import { test } from "node:test";
import assert from "node:assert/strict";
import { dedupePairs, filterPairs, filterReportFrame } from "../src/data/filters";
import { jaccard, longestCommonRun, shingles, words } from "../src/data/text";
import type { PairRow } from "../src/data/types";

test("text measures against hand computation", () => {
  assert.deepEqual(words("Don’t forget: PTO/WFH per-diem, 2024!"), [
    "don't",
    "forget",
    "pto",
    "wfh",
    "per-diem",
    "2024",
  ]);
  // 6 bigrams each, 5 shared: 5 / 7.
  const a = shingles(words("how many pto days do i get"));
  const b = shingles(words("how many pto days do i have"));
  assert.equal(jaccard(a, b), 5 / 7);
  assert.equal(longestCommonRun(words("x the per diem is 60 usd y"), words("the daily per diem is 60 usd a day")), 5);
  assert.equal(longestCommonRun([], ["a"]), 0);
});

const chunk = "Meals abroad are covered by a daily per diem of 60 USD for each full travel day.";
const row = (anchor: string, positive_id = "travel#1"): PairRow => ({ anchor, positive: chunk, positive_id });

test("each filter removes what it should and is counted once", () => {
  const rows = [
    row("what is the per diem rate for meals in europe"),
    row("What is the per-diem rate for meals in Europe?"), // not a duplicate: "per-diem" is one word; bigram Jaccard 6/11
    row("What is the per diem rate for meals in Europe?"), // exact duplicate
    row("per diem"), // too short (2 words)
    row(Array.from({ length: 41 }, (_, i) => `w${i}`).join(" ")), // too long
    row("are meals covered by a daily per diem of 60 USD"), // shares 8 consecutive words with the chunk
    row("what is the per diem rate for meals in europe please"), // bigram Jaccard 9/10 with the first: near duplicate
    row("What is the per diem rate for meals in Europe", "other#0"), // exact duplicate of a kept question (any positive)
    row("how much money do i get for food abroad", "other#0"),
  ];
  const { kept, removed, report } = filterPairs(rows);
  assert.deepEqual(
    kept.map((r) => r.anchor),
    [rows[0].anchor, rows[1].anchor, rows[8].anchor],
  );
  assert.deepEqual(report, {
    total: 9,
    kept: 3,
    removed: { exact_duplicate: 2, too_short: 1, too_long: 1, copies_chunk: 1, near_duplicate: 1 },
  });
  assert.deepEqual(
    removed.map((r) => r.filter),
    ["exact_duplicate", "too_short", "too_long", "copies_chunk", "near_duplicate", "exact_duplicate"],
  );
  assert.deepEqual(
    filterReportFrame(report)
      .toRecords()
      .map((r) => `${r.filter}=${JSON.stringify(r.rows)}`),
    ["exact_duplicate=2", "too_short=1", "too_long=1", "copies_chunk=1", "near_duplicate=1", "kept=3"],
  );
});

test("near-duplicate scope and thresholds are options", () => {
  const rows = [
    row("what is the per diem rate for meals in europe"),
    row("what is the per diem rate for meals in europe please", "other#0"),
  ];
  assert.equal(filterPairs(rows).kept.length, 2);
  assert.equal(filterPairs(rows, { nearDuplicateScope: "all" }).report.removed.near_duplicate, 1);
  assert.equal(filterPairs(rows, { nearDuplicateScope: "all", nearDuplicate: 0.95 }).kept.length, 2);
  assert.equal(filterPairs([row("a daily per diem of 60 USD")], { maxCopiedWords: 6 }).report.removed.copies_chunk, 1);
  assert.equal(dedupePairs([row("A b c"), row("a b c!"), row("a b c", "x#1")]).length, 2);
});
