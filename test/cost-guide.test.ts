// The decision guide: one row per test set for each interval rule, each row's direction from its rule exactly as
// stated, and a verdict sentence that counts the rows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decisionGuide, decisionTable } from "../src/cost";

const above = { estimate: 0.05, low: 0.02, high: 0.08 };
const base = {
  metricName: "NDCG@10",
  testSets: [{ name: "test split (171)", baseMetric: 0.6, gain: above, tunedVsBm25: above, hybridVsBm25: above }],
  trainingPairs: 1200,
  queriesPerMonth: 2e6,
  breakEvenQueriesPerMonth: 1e6,
  breakEvenMonths: 3,
};

test("a real gain with headroom, data and volume: every row points to fine-tuning", () => {
  const g = decisionGuide(base);
  assert.deepEqual(
    g.rows.map((r) => r.pointsTo),
    Array(7).fill("fine-tune"),
  );
  assert.equal(g.rows[1].question, "Is the gain real? (test split (171))");
  assert.equal(g.rows[1].thisRun, "+0.050 [+0.020, +0.080]");
  assert.equal(g.verdict, "7 of 7 rows point to fine-tuning, 0 against it, 0 to neither.");
  const df = decisionTable(g.rows);
  assert.deepEqual(df.columns, ["question", "rule of thumb", "this run", "points to"]);
  assert.equal(df.height, 7);
});

test("an interval that contains 0 points to neither, on every test set separately (+0.022 [−0.056, +0.100])", () => {
  const g = decisionGuide({
    ...base,
    testSets: [
      {
        name: "test split (171)",
        baseMetric: 0.56,
        gain: { estimate: 0.034, low: 0.014, high: 0.057 },
        tunedVsBm25: { estimate: -0.13, low: -0.18, high: -0.08 },
        hybridVsBm25: { estimate: -0.01, low: -0.03, high: 0.01 },
      },
      {
        name: "independent queries (85)",
        baseMetric: 0.9,
        gain: { estimate: 0.2, low: 0.15, high: 0.25 },
        tunedVsBm25: { estimate: 0.022, low: -0.056, high: 0.1 },
        hybridVsBm25: { estimate: 0.06, low: 0.02, high: 0.1 },
      },
    ],
    trainingPairs: 200,
    queriesPerMonth: 1000,
    breakEvenMonths: null,
  });
  const by = Object.fromEntries(g.rows.map((r) => [r.question, [r.thisRun, r.pointsTo]]));
  assert.deepEqual(by["Does it beat keyword search? (independent queries (85))"], [
    "+0.022 [-0.056, +0.100]",
    "neutral",
  ]);
  assert.deepEqual(by["Does it beat keyword search? (test split (171))"][1], "do not fine-tune (yet)");
  assert.deepEqual(by["Does the hybrid beat keyword search? (test split (171))"][1], "neutral");
  assert.deepEqual(by["Does the hybrid beat keyword search? (independent queries (85))"][1], "fine-tune");
  assert.equal(g.rows[0].pointsTo, "neutral", "one base below 0.70 and one above 0.85: neither");
  assert.equal(g.rows[0].thisRun, "test split (171): base 0.560; independent queries (85): base 0.900");
  assert.equal(g.rows.length, 1 + 3 * 2 + 3);
  assert.equal(g.verdict, "3 of 10 rows point to fine-tuning, 2 against it, 5 to neither.");
  assert.equal(by["How fast does it pay back?"][0], "never at this volume");
});

test("a gain below zero points against; no payback is neutral; no test set is an error", () => {
  const worse = { estimate: -0.04, low: -0.07, high: -0.01 };
  const g = decisionGuide({
    ...base,
    testSets: [{ name: "t", baseMetric: 0.9, gain: worse }],
    breakEvenMonths: 30,
    queriesPerMonth: 5e5,
  });
  assert.deepEqual(
    g.rows.map((r) => r.pointsTo),
    ["do not fine-tune (yet)", "do not fine-tune (yet)", "fine-tune", "neutral", "neutral"],
  );
  assert.throws(() => decisionGuide({ ...base, testSets: [] }), /at least one test set/);
});
