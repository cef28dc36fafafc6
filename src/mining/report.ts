/**
 * What hard-negative mining did (./hard-negatives): how many candidates each filter removed, how many pairs got
 * fewer negatives than asked, the scores of positives vs mined negatives (sentence-transformers prints the same
 * statistics table), and the suspected false negatives: candidates that score at or above the positive (or within
 * falseNegativeMargin of it), with their texts and what mining did with them. On generated data many of them are
 * passages that answer the query too; mined as negatives they teach the model the wrong thing, which is why
 * margins and rangeMin exist.
 *
 *   miningStatsTable     Metric x (Positive, Negative, Difference): count, mean, median, std, min, 25%, 50%, 75%, max
 *   miningFiltersTable   one row per filter: candidates removed and their share
 *   falseNegativesTable  the suspected false negatives with texts, scores, rank and outcome
 *   scoreHistogramFigure Plotly overlay histogram of positive and negative scores
 *   describeMining       the lines sentence-transformers prints after mining
 */
import pl from "nodejs-polars";
import type { PlotlyFigure } from "../display/display";
import { mean, quantile, sampleStd } from "../math";
import type { MiningFilter, MiningReport, ResolvedMiningOptions } from "./types";

/** count, mean, median, std (sample, n - 1, as torch.std), min, 25%, 50%, 75%, max. */
export function scoreStatistics(values: readonly number[]): Record<string, number> {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  // torch.median returns the lower of the two middle values; the 50% row is the interpolated quantile.
  const median = n ? sorted[Math.floor((n - 1) / 2)] : NaN;
  return {
    count: n,
    mean: mean(values),
    median,
    std: sampleStd(values),
    min: n ? sorted[0] : NaN,
    "25%": quantile(sorted, 0.25),
    "50%": quantile(sorted, 0.5),
    "75%": quantile(sorted, 0.75),
    max: n ? sorted[n - 1] : NaN,
  };
}

/** sentence-transformers' statistics table: Metric, Positive, Negative, Difference. */
export function miningStatsTable(report: MiningReport): pl.DataFrame {
  const pos = scoreStatistics(report.positiveScores);
  const neg = scoreStatistics(report.negativeScores);
  const diff = scoreStatistics(report.differenceScores);
  const metrics = Object.keys(pos);
  // A statistic of no scores (no negative was mined) or a std of one score is not a number: shown as missing.
  const shown = (x: number) => (Number.isNaN(x) ? null : x);
  return pl.DataFrame({
    metric: metrics.map((m) => m[0].toUpperCase() + m.slice(1)),
    positive: metrics.map((m) => shown(pos[m])),
    negative: metrics.map((m) => shown(neg[m])),
    difference: metrics.map((m) => (m === "count" ? null : shown(diff[m]))),
  });
}

const FILTER_OPTION: Record<MiningFilter, keyof ResolvedMiningOptions | undefined> = {
  positive: undefined,
  absoluteMargin: "absoluteMargin",
  relativeMargin: "relativeMargin",
  maxScore: "maxScore",
  minScore: "minScore",
  semiHardMargin: "semiHardMargin",
};

/** The candidates each filter removed, as "16 by positive, 64 by absoluteMargin" (filters that removed none left out; "" when none did). */
export function removedCounts(removed: Record<MiningFilter, number>): string {
  return (Object.entries(removed) as [MiningFilter, number][])
    .filter(([, n]) => n > 0)
    .map(([f, n]) => `${n} by ${f}`)
    .join(", ");
}

/** One row per step that removes candidates: what it is set to, how many it removed, their share of all candidates. */
export function miningFiltersTable(report: MiningReport): pl.DataFrame {
  const steps = (Object.keys(report.removed) as MiningFilter[]).filter(
    (f) => f === "positive" || report.options[FILTER_OPTION[f]!] !== undefined,
  );
  const names = [...steps.map((f) => (f === "positive" ? "the query's positives" : f)), "rangeMin"];
  const settings = [
    ...steps.map((f) => (f === "positive" ? "always" : String(report.options[FILTER_OPTION[f]!]))),
    String(report.options.rangeMin),
  ];
  const counts = [...steps.map((f) => report.removed[f]), report.skippedByRangeMin];
  return pl.DataFrame({
    filter: names,
    setting: settings,
    removed: counts,
    share: counts.map((c) => (report.candidates ? c / report.candidates : 0)),
  });
}

/** The suspected false negatives with texts (passages cut to `maxChars`), highest candidate score first. */
export function falseNegativesTable(
  report: MiningReport,
  options: { limit?: number; maxChars?: number } = {},
): pl.DataFrame {
  const limit = options.limit ?? 20;
  const cut = (s: string) => (s.length > (options.maxChars ?? 160) ? `${s.slice(0, options.maxChars ?? 160)}...` : s);
  const rows = [...report.falseNegatives]
    .sort((a, b) => b.candidateScore - b.positiveScore - (a.candidateScore - a.positiveScore))
    .slice(0, limit);
  return pl.DataFrame({
    query: rows.map((r) => r.query),
    positive: rows.map((r) => cut(r.positive)),
    "positive score": rows.map((r) => r.positiveScore),
    candidate: rows.map((r) => cut(r.candidate)),
    "candidate score": rows.map((r) => r.candidateScore),
    rank: rows.map((r) => r.rank),
    outcome: rows.map((r) => r.outcome),
  });
}

/** Overlaid histograms of positive and mined-negative scores (cosine). */
export function scoreHistogramFigure(
  report: MiningReport,
  options: { title?: string; bins?: number } = {},
): PlotlyFigure {
  const size = 2 / (options.bins ?? 80);
  const trace = (name: string, x: number[], color: string) => ({
    type: "histogram",
    name: `${name} (${x.length})`,
    x,
    opacity: 0.6,
    marker: { color },
    xbins: { size },
    histnorm: "probability",
  });
  return {
    data: [
      trace("positives", report.positiveScores, "#2e7d32"),
      trace("mined negatives", report.negativeScores, "#c62828"),
    ],
    layout: {
      title: { text: options.title ?? `Scores of positives vs mined negatives (${report.model})` },
      barmode: "overlay",
      xaxis: { title: { text: "cosine similarity to the query" } },
      yaxis: { title: { text: "share of pairs" } },
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/** The summary lines sentence-transformers prints after mining (skipped counts, missing negatives). */
export function describeMining(report: MiningReport): string[] {
  const o = report.options;
  const pct = (x: number, of: number) => `${((100 * x) / Math.max(1, of)).toFixed(2)}%`;
  const lines = [
    `Mined ${report.rows} ${o.outputFormat} rows from ${report.pairs} pairs (${report.uniqueQueries} unique queries) over ${report.corpusSize} passages ` +
      `with ${report.model}; ranks [${o.rangeMin}, ${o.rangeMax}), ${o.searchDepth} candidates searched per query (${report.index}); ` +
      `${report.seconds.total.toFixed(1)} s (encoding ${report.seconds.encode.toFixed(1)} s, search ${report.seconds.search.toFixed(1)} s).`,
  ];
  for (const f of ["absoluteMargin", "relativeMargin", "maxScore", "minScore", "semiHardMargin"] as const)
    if (report.removed[f] > 0)
      lines.push(
        `Skipped ${report.removed[f]} potential negatives (${pct(report.removed[f], report.candidates)}) due to the ${f} of ${o[f]}.`,
      );
  if (report.skippedByRangeMin > 0)
    lines.push(`Skipped ${report.skippedByRangeMin} potential negatives ranked below rangeMin ${o.rangeMin}.`);
  if (report.missingRows > 0)
    lines.push(
      `Could not find enough negatives for ${report.missingRows} samples (${pct(report.missingRows, report.maximumPossibleRows)}); ${report.pairsWithFewerNegatives} pairs got fewer than ${o.numNegatives}.`,
    );
  const mined = report.falseNegatives.filter((f) => f.outcome === "negative").length;
  lines.push(
    `${report.falseNegativeCount} candidates scored ${report.falseNegativeMargin > 0 ? `within ${report.falseNegativeMargin} of` : "at or above"} their query's positive ` +
      `(suspected false negatives); of the ${report.falseNegatives.length} listed, ${mined} were mined as negatives.`,
  );
  return lines;
}
