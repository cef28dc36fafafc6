import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";
import { compareSystems, describeComparison } from "../src/eval/compare";
import { comparisonTable, metricsTable, perQueryReport, writeReport } from "../src/eval/report";
import { differenceFigure, metricBars, metricBarsFigure } from "../src/eval/charts";

// Three queries over four documents; "lexical" and "dense" put the relevant documents where noted.
const ev = new InformationRetrievalEvaluator({
  queries: [
    { _id: "a", text: "alpha?" },
    { _id: "b", text: "beta?" },
    { _id: "c", text: "gamma?" },
  ],
  corpus: ["w", "x", "y", "z"].map((id) => ({ _id: id, text: id })),
  relevantDocs: { a: ["w"], b: ["x", "y"], c: ["z"] },
  accuracyAtK: [1],
  precisionRecallAtK: [2],
  mrrAtK: [4],
  ndcgAtK: [4],
  mapAtK: [4],
});
const hits = (ids: string) => [...ids].map((id, r) => ({ id, score: 1 - r / 4 }));
const lexical = ev.score("lexical", "bm25", [hits("wxyz"), hits("wzxy"), hits("wxy")]); // ranks 1, 3, none
const dense = ev.score("dense", "cosine", [hits("xwyz"), hits("xywz"), hits("zwxy")]); // ranks 2, 1, 1

test("metricsTable: systems side by side, with bootstrap columns on request", () => {
  const df = metricsTable([lexical, dense]);
  assert.deepEqual(df.columns, ["metric", "lexical", "dense"]);
  assert.deepEqual(df.getColumn("metric").toArray(), [
    "accuracy@1",
    "precision@2",
    "recall@2",
    "ndcg@4",
    "mrr@4",
    "map@4",
  ]);
  // MRR@4: lexical (1 + 1/3 + 0)/3 = 4/9; dense (1/2 + 1 + 1)/3 = 5/6
  const mrr = df.filter(pl.col("metric").eq(pl.lit("mrr@4")));
  assert.ok(Math.abs((mrr.getColumn("lexical").toArray()[0] as number) - 4 / 9) < 1e-12);
  assert.ok(Math.abs((mrr.getColumn("dense").toArray()[0] as number) - 5 / 6) < 1e-12);
  const withCI = metricsTable([lexical, dense], { ci: { resamples: 300 } });
  assert.deepEqual(withCI.columns, [
    "metric",
    "lexical",
    "lexical low",
    "lexical high",
    "dense",
    "dense low",
    "dense high",
  ]);
  const rows = withCI.toRecords() as Record<string, number>[];
  for (const r of rows) assert.ok(r["dense low"] <= r.dense && r.dense <= r["dense high"], JSON.stringify(r));
  assert.throws(() => metricsTable([lexical, lexical]), /both named "lexical"/);
  assert.throws(() => metricsTable([lexical], { metrics: ["ndcg@10"] }), /"lexical" has no metric "ndcg@10"/);
});

test("comparisonTable: differences with intervals", () => {
  const df = comparisonTable(compareSystems(lexical, dense, { resamples: 500 }));
  assert.deepEqual(df.columns, [
    "metric",
    "lexical",
    "dense",
    "difference",
    "difference low",
    "difference high",
    "significant",
  ]);
  const mrr = (df.toRecords() as Record<string, number | boolean | string>[]).find((r) => r.metric === "mrr@4")!;
  assert.ok(Math.abs((mrr.difference as number) - (5 / 6 - 4 / 9)) < 1e-12);
});

test("perQueryReport: texts, relevant ids, top-k ids, ranks, change; CSV and Parquet exports", () => {
  const df = perQueryReport([lexical, dense], { topK: 2 });
  assert.deepEqual(df.columns, [
    "query_id",
    "query",
    "relevant_ids",
    "lexical top-2",
    "lexical rank",
    "dense top-2",
    "dense rank",
    "change",
  ]);
  const dir = mkdtempSync(join(tmpdir(), "ir-report-"));
  writeReport(df, join(dir, "per-query.csv"));
  assert.equal(
    readFileSync(join(dir, "per-query.csv"), "utf8"),
    [
      "query_id,query,relevant_ids,lexical top-2,lexical rank,dense top-2,dense rank,change",
      "a,alpha?,w,w | x,1,x | w,2,worsened",
      "b,beta?,x | y,w | z,3,x | y,1,improved",
      "c,gamma?,z,w | x,,z | w,1,improved",
      "",
    ].join("\n"),
  );
  writeReport(df, join(dir, "per-query.parquet"));
  const back = pl.readParquet(join(dir, "per-query.parquet"));
  assert.deepEqual(back.toRecords(), df.toRecords());
  assert.deepEqual(readdirSync(dir).sort(), ["per-query.csv", "per-query.parquet"], "no temporary files left");
  assert.throws(() => writeReport(df, join(dir, "x.xlsx")), /unknown extension ".xlsx"; use .csv or .parquet/);
  // all-null rank column still typed as integers
  const none = ev.score("none", "dot", [hits("xyz"), hits("wz"), hits("wxy")]);
  assert.equal(String(perQueryReport([none]).getColumn("none rank").dtype), "DataType(Int32)");
});

test("figures: grouped bars with asymmetric whiskers, and paired differences", () => {
  const fig = metricBarsFigure(
    [
      {
        name: "A",
        values: { "ndcg@10": 0.5, "mrr@10": 0.4 },
        intervals: {
          "ndcg@10": { estimate: 0.5, low: 0.4, high: 0.65 },
          "mrr@10": { estimate: 0.4, low: 0.3, high: 0.45 },
        },
      },
      { name: "B", values: { "ndcg@10": 0.7, "mrr@10": 0.6 } },
    ],
    ["ndcg@10", "mrr@10"],
  );
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0].x, ["ndcg@10", "mrr@10"]);
  assert.deepEqual(fig.data[0].y, [0.5, 0.4]);
  const err = fig.data[0].error_y as { array: number[]; arrayminus: number[] };
  assert.deepEqual(
    err.array.map((v) => +v.toFixed(12)),
    [0.15, 0.05],
  );
  assert.deepEqual(
    err.arrayminus.map((v) => +v.toFixed(12)),
    [0.1, 0.1],
  );
  assert.equal(fig.data[1].error_y, undefined);
  assert.equal(fig.layout?.barmode, "group");
  assert.throws(() => metricBarsFigure([{ name: "A", values: {} }], ["ndcg@10"]), /"A" has no value for "ndcg@10"/);
  const bars = metricBars([lexical, dense], { metrics: ["mrr@4"], ci: { resamples: 200 } });
  assert.deepEqual(
    bars.data.map((d) => d.name),
    ["lexical", "dense"],
  );
  assert.ok(Math.abs((bars.data[1].y as number[])[0] - 5 / 6) < 1e-12);
  const diff = differenceFigure(compareSystems(lexical, dense, { resamples: 200 }), { metrics: ["mrr@4"] });
  assert.ok(Math.abs((diff.data[0].y as number[])[0] - (5 / 6 - 4 / 9)) < 1e-12);
  assert.ok(JSON.stringify(diff)); // plain data, serialisable for Plotly.newPlot
});

test("one model evaluated before and after (the README flow): comparisons label both sides; tables say how to name", async () => {
  // The README evaluates the same model object twice (before and after train), so both results carry one name.
  const retriever = {
    name: "offline (embedded offline default)",
    scoreFunction: "cosine",
    ids: ["w", "x", "y", "z"],
    retrieve: async (queries: string[]) => queries.map((_, i) => hits(["wxyz", "wzxy", "wxy"][i])),
  };
  const base = await ev.evaluate(retriever);
  const tuned = ev.score(base.system, "cosine", [hits("xwyz"), hits("xywz"), hits("zwxy")]);
  const cmp = compareSystems(base, tuned, { resamples: 200 });
  const df = comparisonTable(cmp);
  assert.deepEqual(df.columns, [
    "metric",
    "offline (embedded offline default) (baseline)",
    "offline (embedded offline default) (candidate)",
    "difference",
    "difference low",
    "difference high",
    "significant",
  ]);
  const mrr = df.filter(pl.col("metric").eq(pl.lit("mrr@4"))).toRecords()[0] as Record<string, number>;
  assert.ok(Math.abs(mrr["offline (embedded offline default) (baseline)"] - 4 / 9) < 1e-12);
  assert.ok(Math.abs(mrr["offline (embedded offline default) (candidate)"] - 5 / 6) < 1e-12);
  assert.match(
    describeComparison(cmp, "mrr@4"),
    /^offline \(embedded offline default\) \(candidate\) vs offline \(embedded offline default\) \(baseline\) on 3 queries/,
  );
  for (const f of [() => metricsTable([base, tuned]), () => perQueryReport([base, tuned])])
    assert.throws(f, /both named "offline \(embedded offline default\)".*evaluator\.evaluate\(model, \{ name: /);
  // The way out the message gives works, for a retriever as for a model.
  const named = await ev.evaluate(retriever, { name: "before training" });
  assert.equal(named.system, "before training");
  assert.deepEqual(metricsTable([named, tuned]).columns, [
    "metric",
    "before training",
    "offline (embedded offline default)",
  ]);
});
