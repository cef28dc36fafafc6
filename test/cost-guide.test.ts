// The decision guide: each question's direction from the numbers, and the verdict.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decisionGuide, decisionTable } from "../src/cost";

const base = {
  metricName: "NDCG@10",
  baseMetric: 0.6,
  gain: { estimate: 0.05, low: 0.02, high: 0.08 },
  trainingPairs: 1200,
  queriesPerMonth: 2e6,
  breakEvenQueriesPerMonth: 1e6,
  breakEvenMonths: 3,
};

test("a real gain with headroom, data and volume: every question points to fine-tuning", () => {
  const g = decisionGuide(base);
  assert.deepEqual(
    g.rows.map((r) => r.pointsTo),
    ["fine-tune", "fine-tune", "fine-tune", "fine-tune", "fine-tune"],
  );
  assert.match(g.verdict, /^Fine-tuning helps here: NDCG@10 \+0\.050.*pays back within a year/);
  assert.equal(g.rows[1].thisRun, "+0.050 [+0.020, +0.080]");
  const df = decisionTable(g.rows);
  assert.deepEqual(df.columns, ["question", "rule of thumb", "this run", "points to"]);
  assert.equal(df.height, 5);
});

test("an interval that contains 0, a strong base, little data, low volume", () => {
  const g = decisionGuide({
    ...base,
    baseMetric: 0.9,
    gain: { estimate: 0.01, low: -0.01, high: 0.03 },
    trainingPairs: 200,
    queriesPerMonth: 1000,
    breakEvenMonths: null,
  });
  assert.deepEqual(
    g.rows.map((r) => r.pointsTo),
    ["do not fine-tune (yet)", "neutral", "do not fine-tune (yet)", "neutral", "neutral"],
  );
  assert.match(g.verdict, /not demonstrated \(\+0\.010, interval \[-0\.010, \+0\.030\] contains 0\)/);
  assert.equal(g.rows[4].thisRun, "never at this volume");
});

test("a gain below zero says keep the base model; a real gain without payback says so", () => {
  assert.match(
    decisionGuide({ ...base, gain: { estimate: -0.04, low: -0.07, high: -0.01 } }).verdict,
    /worse.*keep the base model/,
  );
  const slow = decisionGuide({ ...base, breakEvenMonths: 30, queriesPerMonth: 5e5 });
  assert.deepEqual(
    slow.rows.slice(3).map((r) => r.pointsTo),
    ["neutral", "neutral"],
  );
  assert.match(slow.verdict, /does not pay back within a year/);
});
