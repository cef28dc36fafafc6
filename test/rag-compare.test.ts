// Base vs fine-tuned contexts and the per-query CSV report, on hand-made sources with known answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IRSplit } from "../src/data";
import {
  atK,
  compareContexts,
  contextsTable,
  describeRagComparison,
  exampleQuestion,
  outcomeTable,
  ragQuestions,
  ragReportTable,
  ragSummaryTable,
  writeRagReport,
  type ContextSource,
  type RagQuestion,
  type RetrievedContext,
} from "../src/rag";
import { firstHitRank, hitRateByK } from "../src/rag/compare";

/** A source that returns fixed ids with fixed scores per question text. */
function fixed(name: string, answers: Record<string, [string, number][]>): ContextSource {
  return {
    name,
    async search(questions: string[], k: number): Promise<RetrievedContext[][]> {
      return questions.map((q) =>
        answers[q].slice(0, k).map(([id, score], i) => ({ id, title: "", text: `text of ${id}`, rank: i + 1, score })),
      );
    },
  };
}

const questions: RagQuestion[] = [
  { id: "q1", question: "pto days?", relevant: ["d1"] },
  { id: "q2", question: "wfh rules?", relevant: ["d2", "d9"] },
  { id: "q3", question: "dental plan?", relevant: ["d3"] },
  { id: "q4", question: "badge lost?", relevant: ["d4"] },
];
const base = fixed("base", {
  "pto days?": [
    ["d1", 0.9],
    ["d5", 0.5],
  ],
  "wfh rules?": [
    ["d5", 0.7],
    ["d6", 0.6],
  ],
  "dental plan?": [
    ["d3", 0.8],
    ["d7", 0.2],
  ],
  "badge lost?": [
    ["d8", 0.3],
    ["d5", 0.25],
  ],
});
const tuned = fixed("fine-tuned", {
  "pto days?": [
    ["d5", 0.81],
    ["d1", 0.8],
  ],
  "wfh rules?": [
    ["d9", 0.77],
    ["d2", 0.66],
  ],
  "dental plan?": [
    ["d7", 0.5],
    ["d6", 0.4],
  ],
  "badge lost?": [
    ["d8", 0.35],
    ["d6", 0.2],
  ],
});

test("firstHitRank", () => {
  const c = (ids: string[]) => ids.map((id, i) => ({ id, title: "", text: "", rank: i + 1, score: 0 }));
  assert.equal(firstHitRank(c(["a", "b", "c"]), ["c", "b"]), 2);
  assert.equal(firstHitRank(c(["a"]), ["z"]), null);
});

test("the per-query report: ids, scores, hit or miss, rank and outcome per question", async () => {
  const cmp = await compareContexts(questions, [base, tuned], 2);
  const df = ragReportTable(cmp);
  assert.deepEqual(df.columns, [
    "query_id",
    "question",
    "relevant_ids",
    "base ids",
    "base scores",
    "base hit@2",
    "base rank",
    "fine-tuned ids",
    "fine-tuned scores",
    "fine-tuned hit@2",
    "fine-tuned rank",
    "outcome",
  ]);
  const rows = df.toRecords() as Record<string, unknown>[];
  assert.deepEqual(rows[1], {
    query_id: "q2",
    question: "wfh rules?",
    relevant_ids: "d2 | d9",
    "base ids": "d5 | d6",
    "base scores": "0.7000 | 0.6000",
    "base hit@2": "miss",
    "base rank": null,
    "fine-tuned ids": "d9 | d2",
    "fine-tuned scores": "0.7700 | 0.6600",
    "fine-tuned hit@2": "hit",
    "fine-tuned rank": 1,
    outcome: "fixed",
  });
  assert.deepEqual(
    rows.map((r) => r.outcome),
    ["both hit", "fixed", "broken", "both miss"],
  );
  assert.deepEqual(
    rows.map((r) => r["fine-tuned rank"]),
    [2, 1, null, null],
  );

  const path = join(mkdtempSync(join(tmpdir(), "rag-report-")), "rag_compare_report.csv");
  writeRagReport(cmp, path);
  const lines = readFileSync(path, "utf8").trim().split("\n");
  assert.equal(lines.length, 5);
  assert.equal(
    lines[0],
    "query_id,question,relevant_ids,base ids,base scores,base hit@2,base rank,fine-tuned ids,fine-tuned scores,fine-tuned hit@2,fine-tuned rank,outcome",
  );
  assert.equal(lines[3], "q3,dental plan?,d3,d3 | d7,0.8000 | 0.2000,hit,1,d7 | d6,0.5000 | 0.4000,miss,,broken");
});

test("summary, outcome counts and one question side by side", async () => {
  const cmp = await compareContexts(questions, [base, tuned], 2);
  assert.deepEqual(ragSummaryTable(cmp).toRecords(), [
    { system: "base", questions: 4, "hits@2": 2, "hit rate@2": 0.5 },
    { system: "fine-tuned", questions: 4, "hits@2": 2, "hit rate@2": 0.5 },
  ]);
  assert.deepEqual(outcomeTable(cmp).toRecords(), [
    { "fine-tuned vs base": "fixed", questions: 1 },
    { "fine-tuned vs base": "broken", questions: 1 },
    { "fine-tuned vs base": "both hit", questions: 1 },
    { "fine-tuned vs base": "both miss", questions: 1 },
  ]);
  const side = contextsTable(cmp, 0).toRecords();
  assert.deepEqual(side[0], {
    rank: 1,
    "base: id": "d1 ✓",
    "base: cosine": 0.9,
    "base: passage": "text of d1",
    "fine-tuned: id": "d5",
    "fine-tuned: cosine": 0.81,
    "fine-tuned: passage": "text of d5",
  });
  assert.throws(() => contextsTable(cmp, 9), /out of range/);
  await assert.rejects(compareContexts(questions, [base, fixed("base", {})], 2), /both named "base"/);
  const one = await compareContexts(questions, [base], 1);
  assert.equal(ragReportTable(one).columns.includes("outcome"), false);
  assert.throws(() => outcomeTable(one), /exactly two systems/);
});

test("ragQuestions: seeded sample of a split's questions with their relevant ids", () => {
  const split: IRSplit = {
    split: "test",
    queries: new Map([
      ["a", "qa"],
      ["b", "qb"],
      ["c", "qc"],
      ["d", "qd"],
    ]),
    corpus: new Map(),
    relevant: new Map([
      ["a", new Set(["x"])],
      ["b", new Set(["y", "z"])],
      ["c", new Set(["x"])],
      ["d", new Set<string>()],
    ]),
  };
  const all = ragQuestions(split);
  assert.deepEqual(
    all.map((q) => q.id),
    ["a", "b", "c"],
  );
  assert.deepEqual(all[1], { id: "b", question: "qb", relevant: ["y", "z"] });
  const two = ragQuestions(split, { count: 2, seed: 7 });
  assert.equal(two.length, 2);
  assert.deepEqual(ragQuestions(split, { count: 2, seed: 7 }), two);
});

test("hit rate by k, atK, the example question and the sentence describing the comparison", async () => {
  const cmp = await compareContexts(questions, [base, tuned], 2);
  assert.deepEqual(hitRateByK(cmp), { k: [1, 2], rates: { base: [0.5, 0.5], "fine-tuned": [0.25, 0.5] } });
  const one = atK(cmp, 1);
  assert.equal(one.k, 1);
  assert.deepEqual(
    one.contexts[1].map((r) => r.map((c) => c.id)),
    [["d5"], ["d9"], ["d7"], ["d8"]],
  );
  assert.throws(() => atK(cmp, 3), /k=3 must be an integer in 1\.\.2/);
  assert.equal(exampleQuestion(cmp, "fixed"), 1);
  assert.equal(exampleQuestion(cmp, "broken"), 2);
  assert.equal(
    describeRagComparison(cmp),
    "With k = 2 passages, a passage that answers the question reached the prompt for: base 2 (50.0%), fine-tuned 2 (50.0%) of 4 questions. " +
      "Against base, fine-tuned fixed 1 misses and broke 1 hits: no net change.",
  );
  assert.match(
    describeRagComparison(one),
    /base 2 \(50\.0%\), fine-tuned 1 \(25\.0%\).*fixed 1 misses and broke 2 hits: a net loss/,
  );
});
