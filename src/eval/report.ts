/**
 * Evaluation results as nodejs-polars DataFrames (rendered as tables in notebooks by
 * src/course's showTable) and their export:
 *
 * - metricsTable: one row per metric, the systems side by side, optionally with bootstrap
 *   intervals (./compare) in "<system> low" / "<system> high" columns;
 * - comparisonTable: a paired comparison, one row per metric: baseline, candidate, difference and
 *   its interval, and whether the interval excludes 0;
 * - perQueryReport: one row per query: its text, relevant ids, each system's top-k ids and the
 *   rank of its first relevant document (null = not retrieved), and the rank change;
 * - writeReport: CSV or Parquet by file extension, written atomically (temp file + rename).
 * List-valued cells are joined with " | " so that CSV and Parquet hold the same table.
 */
import { extname } from "node:path";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../files";
import { bootstrapCI, rankChange, type BootstrapOptions, type SystemComparison } from "./compare";
import type { IRResult } from "./ir-evaluator";

const SEP = " | ";

function checkSystems(results: IRResult[], who: string): void {
  if (results.length === 0) throw new Error(`${who}: give at least one result.`);
  const seen = new Set<string>();
  for (const r of results) {
    if (seen.has(r.system))
      throw new Error(
        `${who}: two results are both named "${r.system}" (a result takes its model's or retriever's name), so their ` +
          `columns would collide. Name them when evaluating: evaluator.evaluate(model, { name: "${r.system} fine-tuned" }).`,
      );
    seen.add(r.system);
  }
}

/** Metrics of several systems side by side; `ci` adds bootstrap interval columns. */
export function metricsTable(
  results: IRResult[],
  options: { ci?: boolean | BootstrapOptions; metrics?: string[] } = {},
): pl.DataFrame {
  checkSystems(results, "metricsTable");
  const metrics = options.metrics ?? results[0].metricNames;
  for (const r of results)
    for (const m of metrics)
      if (!(m in r.values))
        throw new Error(`metricsTable: "${r.system}" has no metric "${m}" (it has ${r.metricNames.join(", ")}).`);
  const columns: Record<string, (string | number)[]> = { metric: metrics };
  for (const r of results) {
    columns[r.system] = metrics.map((m) => r.values[m]);
    if (options.ci) {
      const ci = bootstrapCI(r, options.ci === true ? {} : options.ci);
      columns[`${r.system} low`] = metrics.map((m) => ci[m].low);
      columns[`${r.system} high`] = metrics.map((m) => ci[m].high);
    }
  }
  return pl.DataFrame(columns);
}

/** A paired comparison as a table (see compareSystems). */
export function comparisonTable(comparison: SystemComparison): pl.DataFrame {
  const d = comparison.differences;
  return pl.DataFrame({
    metric: d.map((x) => x.metric),
    [comparison.baseline]: d.map((x) => x.baseline),
    [comparison.candidate]: d.map((x) => x.candidate),
    difference: d.map((x) => x.estimate),
    "difference low": d.map((x) => x.low),
    "difference high": d.map((x) => x.high),
    significant: d.map((x) => x.significant),
  });
}

/**
 * One row per query for every system (same evaluator): query id and text, relevant ids, each
 * system's top-`topK` ids and first-relevant rank; with two systems also the rank change.
 */
export function perQueryReport(results: IRResult[], options: { topK?: number } = {}): pl.DataFrame {
  checkSystems(results, "perQueryReport");
  const topK = options.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`perQueryReport: topK=${topK} must be a positive integer.`);
  const first = results[0];
  for (const r of results.slice(1)) {
    if (
      r.perQuery.length !== first.perQuery.length ||
      r.perQuery.some((q, i) => q.queryId !== first.perQuery[i].queryId)
    )
      throw new Error(
        `perQueryReport: "${r.system}" was evaluated on other queries than "${first.system}"; use the same evaluator.`,
      );
  }
  const columns: Record<string, (string | number | null)[]> = {
    query_id: first.perQuery.map((q) => q.queryId),
    query: first.perQuery.map((q) => q.query),
    relevant_ids: first.perQuery.map((q) => q.relevant.join(SEP)),
  };
  for (const r of results) {
    columns[`${r.system} top-${topK}`] = r.perQuery.map((q) =>
      q.hits
        .slice(0, topK)
        .map((h) => h.id)
        .join(SEP),
    );
    columns[`${r.system} rank`] = r.perQuery.map((q) => q.firstRelevantRank);
  }
  if (results.length === 2) {
    columns.change = first.perQuery.map((q, i) =>
      rankChange(q.firstRelevantRank, results[1].perQuery[i].firstRelevantRank),
    );
  }
  // An all-null rank column would get dtype null; give rank columns an explicit numeric type.
  const df = pl.DataFrame(columns);
  return df.withColumns(...results.map((r) => pl.col(`${r.system} rank`).cast(pl.Int32)));
}

/** Writes a table to .csv or .parquet (by extension) atomically. */
export function writeReport(df: pl.DataFrame, path: string): void {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") writeFileAtomic(path, df.writeCSV());
  else if (ext === ".parquet") writeFileAtomic(path, df.writeParquet());
  else throw new Error(`writeReport: ${path}: unknown extension "${ext}"; use .csv or .parquet.`);
}
