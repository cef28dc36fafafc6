// compareNegatives on a small slice of the shipped data with the offline model: every run trains the same number of
// steps with the same seed, the mined runs carry their mining summary, comparisons are paired on the same queries,
// a second call with a cache folder reuses the runs (same numbers, no training), and bad conditions are errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadShippedSplit, trainingPairs } from "../src/data";
import { InformationRetrievalEvaluator } from "../src/eval";
import { offlineModel } from "../src/model/sentence-transformer";
import { initBackend } from "../src/backend";
import {
  compareNegatives,
  filterExamplesTable,
  filterSummaryTable,
  negativesComparisonFigure,
  negativesComparisonTable,
  qrelsByText,
} from "../src/course";
import type { CourseData } from "../src/course/data";
import { mineHardNegatives, NoMinedRowsError } from "../src/mining/hard-negatives";
import { miningFiltersTable, miningStatsTable } from "../src/mining";

/** The first `nPairs` policy-handbook training pairs and an evaluator over the first `nQueries` test questions. */
function policySlice(nPairs: number, nQueries: number) {
  const test_ = loadShippedSplit("policy-handbook", "test");
  const queries = new Map([...test_.queries].slice(0, nQueries));
  const evaluator = new InformationRetrievalEvaluator({
    queries,
    corpus: test_.corpus,
    relevantDocs: new Map([...test_.relevant].filter(([q]) => queries.has(q))),
  });
  return { pairs: trainingPairs(loadShippedSplit("policy-handbook", "train")).slice(0, nPairs), evaluator };
}

test("compareNegatives: same steps and seed per run, paired comparisons, cached runs reused", async () => {
  await initBackend();
  const { pairs, evaluator } = policySlice(32, 40);
  const dir = mkdtempSync(join(tmpdir(), "negatives-"));
  try {
    const opts = {
      model: async () => offlineModel("offline"),
      pairs,
      evaluator,
      conditions: ["in-batch", "labeled-pairs"] as const,
      steps: 1,
      batchSize: 8,
      cacheDir: dir,
      onLog: () => {},
      onWarning: () => {},
    };
    const first = await compareNegatives({ ...opts, conditions: [...opts.conditions] });
    assert.deepEqual(
      first.runs.map((r) => [r.condition, r.steps, r.cached]),
      [
        ["in-batch", 1, false],
        ["labeled-pairs", 1, false],
      ],
    );
    assert.deepEqual(
      first.runs.map((r) => r.loss),
      ["MultipleNegativesRankingLoss", "CoSENTLoss"],
    );
    assert.equal(first.settings.learningRate, 1e-3, "static model: the static learning rate");
    assert.equal(first.runs[0].rows, 32);
    // labelled pairs: each pair's positive (label 1) plus the negatives found (label 0).
    assert.ok(
      first.runs[1].mining &&
        first.runs[1].mining.rows === first.runs[1].rows &&
        first.runs[1].rows > 32 &&
        first.runs[1].miningReport,
    );
    assert.equal(first.runs[0].vsInBatch, undefined);
    assert.equal(first.runs[1].vsInBatch?.queries, evaluator.queries.length);
    assert.equal(first.runs[1].vsBase.baseline, "base model");
    assert.equal(readdirSync(dir).length, 2);
    const again = await compareNegatives({ ...opts, conditions: [...opts.conditions] });
    assert.ok(again.runs.every((r) => r.cached));
    assert.deepEqual(
      again.runs.map((r) => r.result.values["ndcg@10"]),
      first.runs.map((r) => r.result.values["ndcg@10"]),
    );
    const table = negativesComparisonTable(again);
    assert.deepEqual(table.getColumn("run").toArray(), ["base model", "in-batch", "labeled-pairs"]);
    assert.equal(negativesComparisonFigure(again).data.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(
    compareNegatives({ pairs, evaluator, conditions: ["hardest" as "hard"] }),
    /unknown condition "hardest"/,
  );
});

test("compareNegatives: a condition whose mining leaves no row is reported as not run, the others still run", async () => {
  await initBackend();
  const { pairs, evaluator } = policySlice(16, 10);
  const logs: string[] = [];
  const c = await compareNegatives({
    model: async () => offlineModel("offline"),
    pairs,
    evaluator,
    conditions: ["in-batch", "hard"],
    // A margin no cosine can clear removes every candidate, as a model that scores everything alike does.
    mining: { hard: { absoluteMargin: 5 } },
    steps: 1,
    batchSize: 8,
    onLog: (l) => logs.push(l),
    onWarning: () => {},
  });
  assert.deepEqual(
    c.runs.map((r) => r.condition),
    ["in-batch"],
  );
  assert.equal(c.skipped.length, 1);
  assert.equal(c.skipped[0].condition, "hard");
  assert.match(c.skipped[0].reason, /every candidate was removed \(16 by positive, \d+ by absoluteMargin\)/);
  assert.match(c.skipped[0].reason, /loosen absoluteMargin/);
  assert.ok(logs.some((l) => l.startsWith("hard: not run")));
  // The table shows the run that ran and a row saying which did not; the figure the run that ran.
  const table = negativesComparisonTable(c);
  assert.deepEqual(table.getColumn("run").toArray(), ["base model", "in-batch", "hard"]);
  assert.deepEqual(table.getColumn("verdict").toArray().slice(2), ["not run: mining found no negative"]);
  assert.deepEqual(
    negativesComparisonFigure(c).data.map((t) => (t as { name?: string }).name),
    ["base model", "in-batch"],
  );
});

test("samePairs: every run trains on the pairs every mined run found a negative for; the verdict reads the interval", async () => {
  await initBackend();
  const { pairs, evaluator } = policySlice(48, 10);
  const opts = {
    model: async () => offlineModel("offline"),
    pairs,
    evaluator,
    conditions: ["in-batch", "hard-no-margin", "hard"] as ("in-batch" | "hard-no-margin" | "hard")[],
    // only the top candidate may become the negative, so the margin leaves some pairs without one
    mining: { hard: { relativeMargin: 0.05, rangeMax: 1 } },
    steps: 1,
    batchSize: 8,
    onLog: () => {},
    onWarning: () => {},
  };
  const same = await compareNegatives(opts);
  const model = await offlineModel("offline");
  const hard = await mineHardNegatives(pairs, model, {
    relativeMargin: 0.05,
    rangeMax: 1,
    numNegatives: 1,
    onWarning: () => {},
  });
  model.dispose();
  assert.ok(hard.rows.length < 48, "the margin leaves some pairs without a negative");
  // No margin finds a negative for every pair, so the pairs in common are the hard run's.
  assert.deepEqual(
    same.runs.map((r) => r.rows),
    [hard.rows.length, hard.rows.length, hard.rows.length],
  );
  const table = negativesComparisonTable(same).toRecords();
  assert.deepEqual(
    table.map((r) => r["training rows"]),
    ["", ...same.runs.map((r) => String(r.rows))],
  );
  for (const [i, run] of same.runs.entries()) {
    const s = run.vsInBatch ?? run.vsBase;
    const d = s.differences.find((x) => x.metric === "ndcg@10");
    const want = d && d.low > 0 ? "above" : d && d.high < 0 ? "below" : "level with";
    assert.equal(table[i + 1].verdict, `${want} ${s.baseline}`);
  }
});

test("filter tables: what each mining removed, judged against the qrels, five examples each", async () => {
  await initBackend();
  const { pairs } = policySlice(40, 10);
  const model = await offlineModel("offline");
  const all = { numNegatives: 1, falseNegativeMargin: 0.1, maxFalseNegatives: 1e6, onWarning: () => {} };
  const plain = await mineHardNegatives(pairs, model, all);
  const relative = await mineHardNegatives(pairs, model, { ...all, relativeMargin: 0.05 });
  model.dispose();
  const mined = [
    { ...plain, name: "no margin", model: "base" },
    { ...relative, name: "relative margin 0.05", model: "base" },
  ];
  // qrels: the pairs, plus one removed candidate the "dataset" calls relevant to its question.
  const flagged = relative.report.falseNegatives.find((f) => f.outcome === "relativeMargin");
  assert.ok(flagged, "the margin removed a candidate");
  const data = { dataset: { queries: new Map(), corpus: new Map(), qrels: new Map() } } as unknown as CourseData;
  const qrels = qrelsByText(data, [...pairs, { anchor: flagged.query, positive: flagged.candidate }]);
  const summary = filterSummaryTable(mined, qrels).toRecords();
  assert.equal(summary[0]["removed by the margin"], 0);
  assert.equal(summary[0]["pairs with a negative"], "40 of 40");
  assert.equal(summary[1]["removed by the margin"], relative.report.removed.relativeMargin);
  assert.equal(summary[1]["of them possible false negatives (qrels)"], 1);
  assert.equal(summary[1]["of them true negatives (qrels)"], relative.report.removed.relativeMargin - 1);
  assert.equal(
    summary[0]["mined negatives scoring >= the positive"],
    plain.report.differenceScores.filter((d) => d <= 0).length,
  );
  // Only the flagged (question, candidate) is relevant beyond the positives: a false negative kept if no margin mined it.
  const keptFlagged = plain.rows.filter((r) => r.anchor === flagged.query && r.negative === flagged.candidate).length;
  assert.equal(summary[0]["mined negatives the qrels call relevant"], keptFlagged);
  const examples = filterExamplesTable(mined, qrels, { perMining: 5 }).toRecords();
  assert.deepEqual(
    examples.map((r) => r.mining),
    [...Array(5).fill("no margin"), ...Array(5).fill("relative margin 0.05")],
  );
  const removed = examples.filter((r) => r.mining === "relative margin 0.05");
  assert.ok(removed.every((r) => r["mining did"] === "removed by relativeMargin"));
  assert.ok(
    removed.every((r) => ["true negative removed", "possible false negative"].includes(String(r["qrels say"]))),
  );
  const gaps = removed.map((r) => Number(r["candidate cosine"]) - Number(r["positive cosine"]));
  assert.deepEqual(
    gaps,
    [...gaps].sort((a, b) => b - a),
    "closest to the positive first",
  );
  assert.ok(examples.slice(0, 5).every((r) => r["mining did"] === "kept as the negative"));
  // A report that does not list every removed candidate is an error, not a silent undercount.
  const short = await mineHardNegatives(pairs, await offlineModel("offline"), {
    ...all,
    relativeMargin: 0.05,
    maxFalseNegatives: 1,
  });
  assert.throws(
    () => filterSummaryTable([{ ...short, name: "cut", model: "base" }], qrels),
    /"cut" removed \d+ candidates but lists \d+; mine with a larger falseNegativeMargin/,
  );
});

test("NoMinedRowsError: when every candidate is removed the error carries the empty result and its report", async () => {
  await initBackend();
  const { pairs } = policySlice(16, 10);
  const model = await offlineModel("offline");
  // A margin no cosine can clear, as with a model that scores everything alike.
  const options = { absoluteMargin: 5, numNegatives: 1, onWarning: () => {} };
  const r = await mineHardNegatives(pairs, model, options).catch((err: unknown) => {
    assert.ok(err instanceof NoMinedRowsError);
    return err.result;
  });
  assert.equal(r.rows.length, 0);
  assert.deepEqual(r.columns, ["anchor", "positive", "negative"]);
  assert.equal(r.report.pairs, 16);
  assert.equal(r.report.pairsWithFewerNegatives, 16);
  assert.ok(r.report.removed.absoluteMargin > 0);
  assert.equal(r.report.positiveScores.length, 16);
  // No negative scores: their statistics are missing values (shown as a dash), not NaN.
  const stats = miningStatsTable(r.report).toRecords();
  assert.equal(stats[0].negative, 0);
  assert.ok(stats.slice(1).every((row) => row.negative === null && row.difference === null));
  assert.ok(stats.every((row) => typeof row.positive === "number" && !Number.isNaN(row.positive)));
  const filters = miningFiltersTable(r.report).toRecords();
  assert.equal(filters.find((f) => f.filter === "absoluteMargin")?.removed, r.report.removed.absoluteMargin);
  model.dispose();
});
