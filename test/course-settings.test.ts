import { test } from "node:test";
import assert from "node:assert/strict";
import { mostChanged } from "../src/course/evaluation";
import { queryTraits, textAbbreviations } from "../src/course/failures";
import { exampleDecisions } from "../src/course/review";
import { seedRoiTable, settingVerdicts } from "../src/course/verdict";
import type { ResultsFile } from "../src/course/results";
import type { IRResult } from "../src/eval/ir-evaluator";

test("abbreviations count in lower case too: dcfsa, w4, i9, 401k", () => {
  const ab = textAbbreviations("The dependent care FSA (DCFSA), forms W-4 and I-9, the 401(k) plan. We Also");
  for (const a of ["dcfsa", "fsa", "w4", "i9", "401k"]) assert.ok(ab.has(a), a);
  assert.ok(!ab.has("we") && !ab.has("also"));
  const has = (q: string) => queryTraits(q, "", new Set(), ab).includes("abbreviation");
  for (const q of ["dcfsa limit", "w4", "i9 documents", "401k match", "how many ptos left"]) assert.ok(has(q), q);
  assert.ok(!has("how much maternity leave"));
});

function result(ranks: (number | null)[]): IRResult {
  return {
    system: "x",
    values: {},
    perQuery: ranks.map((r, i) => ({ queryId: `q${i}`, firstRelevantRank: r })),
  } as unknown as IRResult;
}

test("mostChanged lists top-hit flips first: became right, then became wrong", () => {
  //            q0: 5->1 flip up, q1: 1->3 flip down, q2: 9->2 (deep move), q3: 2->1 flip up, q4 unchanged
  const base = result([5, 1, 9, 2, 4]);
  const tuned = result([1, 3, 2, 1, 4]);
  assert.deepEqual(mostChanged(base, tuned, 3), ["q0", "q3", "q1"]);
  // Fewer flips than asked: the largest other moves fill the list.
  assert.deepEqual(mostChanged(base, tuned, 4), ["q0", "q3", "q1", "q2"]);
});

test("the seed tutorial's ROI holds only under its assumptions", () => {
  const rows = seedRoiTable({
    tokensPerQuery: 10,
    apiPricePerMillionTokens: 0.02,
    queriesPerMonth: 1_000_000,
    hardwareCostPerMonth: 30,
    oneTimeCost: 0.5,
  }).toRecords();
  assert.equal(rows[0]["tokens per query"], 1000);
  assert.equal(rows[0]["API USD/month"], "20.00");
  assert.equal(rows[0]["ROI (saved / one-time)"], "23.0x");
  assert.equal(rows[1]["API USD/month"], "0.20");
  assert.ok(Number(rows[2]["saved in year 1, USD"]) < 0);
});

test("a reviewer's first decisions: fix a swapped-letter typo from the passage, reject an ambiguous question", () => {
  const rows = [
    { anchor: "who qaulifies for the bonus", positive: "Employees who qualifies for the bonus...", positive_id: "p1" },
    { anchor: "parking rules", positive: "Park in lot B.", positive_id: "p2" },
    { anchor: "Parking rules?", positive: "Visitors park in lot A.", positive_id: "p3" },
  ];
  const d = exampleDecisions(rows);
  assert.deepEqual(
    d.map((x) => [x.row, x.decision, x.edited ?? ""]),
    [
      [0, "fix", "who qualifies for the bonus"],
      [2, "reject", ""],
    ],
  );
});

test("settingVerdicts recommends BM25 when it wins and the fine-tuned model when it wins, saying whether beyond noise", () => {
  const iv = (estimate: number, low: number, high: number) => ({ estimate, low, high });
  const res = (split: string, system: string, v: number) => ({
    dataset: "d",
    split,
    system,
    model: system === "BM25" ? "-" : "m",
    queries: 50,
    metrics: { "ndcg@10": iv(v, v - 0.05, v + 0.05) },
    updated: "",
  });
  const cmp = (split: string, baseline: string, candidate: string, d: [number, number, number]) => ({
    dataset: "d",
    split,
    baseline,
    candidate,
    model: "m",
    queries: 50,
    improved: 1,
    worsened: 1,
    unchanged: 48,
    differences: { "ndcg@10": iv(...d) },
    method: "",
    updated: "",
  });
  const file: ResultsFile = {
    version: 1,
    timings: [],
    results: [
      ...[
        ["BM25", 0.72],
        ["base", 0.56],
        ["fine-tuned", 0.6],
        ["hybrid (fine-tuned)", 0.69],
      ].map(([s, v]) => res("questions-test", s as string, v as number)),
      ...[
        ["BM25", 0.67],
        ["base", 0.49],
        ["fine-tuned", 0.75],
        ["hybrid (fine-tuned)", 0.74],
      ].map(([s, v]) => res("questions-independent", s as string, v as number)),
    ],
    comparisons: [
      cmp("questions-test", "base", "fine-tuned", [0.04, 0.01, 0.06]),
      cmp("questions-test", "BM25", "fine-tuned", [-0.12, -0.17, -0.07]),
      cmp("questions-test", "BM25", "hybrid (fine-tuned)", [-0.03, -0.06, -0.001]),
      cmp("questions-independent", "base", "fine-tuned", [0.26, 0.2, 0.33]),
      cmp("questions-independent", "BM25", "fine-tuned", [0.08, 0.01, 0.15]),
      cmp("questions-independent", "BM25", "hybrid (fine-tuned)", [0.07, 0.02, 0.12]),
    ],
  };
  const [t, ind] = settingVerdicts(file, "d", "m");
  assert.equal(t.use, "BM25");
  assert.equal(t.sure, true);
  assert.equal(ind.use, "fine-tuned");
  assert.equal(ind.sure, true);
});
