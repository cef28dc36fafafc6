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
  describeNegativesComparison,
  mineWithReport,
  missingNegativesNote,
  negativesComparisonFigure,
  negativesComparisonTable,
  negativesVerdict,
} from "../src/course";
import type { CourseSetting } from "../src/course/data";
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
  const lines = describeNegativesComparison(c);
  assert.equal(lines.length, 2);
  assert.match(lines[1], /^hard: not run\. /);
  assert.ok(logs.some((l) => l.startsWith("hard: not run")));
  // The table, the figure and the verdict show the run that ran and say which did not.
  assert.deepEqual(negativesComparisonTable(c).getColumn("run").toArray(), ["base model", "in-batch"]);
  assert.deepEqual(
    negativesComparisonFigure(c).data.map((t) => (t as { name?: string }).name),
    ["base model", "in-batch"],
  );
  const setting = { label: "A · new questions about your documents" } as CourseSetting;
  const verdict = negativesVerdict([c], [setting], { staticModel: true });
  assert.match(
    verdict,
    /no other kind of negative ran, so nothing is compared with in-batch; not run, because mining found no negative with this model: hard\./,
  );
  assert.doesNotMatch(verdict, /no kind of negative beats/);
});

test("mineWithReport: when every candidate is removed it returns the empty result and its report, which the notes explain", async () => {
  await initBackend();
  const { pairs } = policySlice(16, 10);
  const model = await offlineModel("offline");
  // A margin no cosine can clear, as with a model that scores everything alike.
  const options = { absoluteMargin: 5, numNegatives: 1, onWarning: () => {} };
  await assert.rejects(mineHardNegatives(pairs, model, options), (err: unknown) => {
    assert.ok(err instanceof NoMinedRowsError);
    assert.equal(err.result.rows.length, 0);
    assert.equal(err.result.report.rows, 0);
    return true;
  });
  const r = await mineWithReport(pairs, model, options);
  assert.equal(r.rows.length, 0);
  assert.deepEqual(r.columns, ["anchor", "positive", "negative"]);
  assert.equal(r.report.pairs, 16);
  assert.equal(r.report.pairsWithFewerNegatives, 16);
  assert.ok(r.report.removed.absoluteMargin > 0);
  assert.equal(r.report.positiveScores.length, 16);
  const note = missingNegativesNote(r.report);
  assert.match(note, /^\*\*No pair got a negative\.\*\* /);
  assert.match(note, new RegExp(`16 by positive, ${r.report.removed.absoluteMargin} by absoluteMargin`));
  assert.match(
    note,
    /Either the margins are stricter than this model's scores allow, or the model scores every passage almost alike/,
  );
  assert.match(note, /cosine scores here run from 0\.\d{3} to 0\.\d{3}, median 0\.\d{3}\)/);
  // No negative scores: their statistics are missing values (shown as a dash), not NaN.
  const stats = miningStatsTable(r.report).toRecords();
  assert.equal(stats[0].negative, 0);
  assert.ok(stats.slice(1).every((row) => row.negative === null && row.difference === null));
  assert.ok(stats.every((row) => typeof row.positive === "number" && !Number.isNaN(row.positive)));
  const filters = miningFiltersTable(r.report).toRecords();
  assert.equal(filters.find((f) => f.filter === "absoluteMargin")?.removed, r.report.removed.absoluteMargin);
  // Other errors are not swallowed.
  await assert.rejects(mineWithReport(pairs, model, { numNegatives: 0 }), /numNegatives/);
  model.dispose();
});
