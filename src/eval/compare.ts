/**
 * Is the difference real? Confidence intervals for retrieval metrics by the bootstrap over queries
 * (Efron & Tibshirani 1993; for IR: Sakai 2006, Smucker et al. 2007).
 *
 * Every metric the evaluator reports is a mean of per-query values. One resample draws n queries
 * uniformly with replacement from the n evaluated ones (a seeded mulberry32 stream, src/random)
 * and recomputes the mean; B resamples (default 1,000) give its sampling distribution, and the
 * percentile interval is its alpha/2 and 1 - alpha/2 quantiles (linear interpolation between order
 * statistics, numpy's default), alpha = 1 - confidence (default 0.95).
 *
 * Paired comparison: both systems answer the same queries, so each resample takes the same queries
 * for both and the statistic is the mean per-query difference (candidate - baseline). Pairing
 * removes the variation in query difficulty, which dominates: a +5 point NDCG gain on 40 queries is
 * "real" when its interval excludes 0. Queries also count as improved / worsened / unchanged by the
 * rank of their first relevant document (not found ranks below any rank).
 */
import { quantile } from "../math";
import { mulberry32 } from "../random";
import type { IRResult } from "./ir-evaluator";
import { BOOTSTRAP_RESAMPLES, DEFAULT_SEED } from "../defaults";
import { formatSigned } from "../display/format";

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling stream (default DEFAULT_SEED = 42). The same seed gives the same intervals. */
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  confidence?: number;
}

export interface Interval {
  /** The statistic on the actual queries (a mean, or a mean difference). */
  estimate: number;
  low: number;
  high: number;
}

export type RankChange = "improved" | "worsened" | "unchanged";

export interface QueryRankChange {
  queryId: string;
  query: string;
  baselineRank: number | null;
  candidateRank: number | null;
  change: RankChange;
}

export interface MetricDifference extends Interval {
  metric: string;
  baseline: number;
  candidate: number;
  /** True when the interval excludes 0. */
  significant: boolean;
}

export interface SystemComparison {
  baseline: string;
  candidate: string;
  queries: number;
  improved: number;
  worsened: number;
  unchanged: number;
  ranks: QueryRankChange[];
  /** candidate - baseline for every metric, in the evaluator's order. */
  differences: MetricDifference[];
  /** Per-system intervals, when asked for (compareSystems(..., { perSystem: true })). */
  baselineIntervals?: Record<string, Interval>;
  candidateIntervals?: Record<string, Interval>;
  /** One sentence saying how the intervals were computed, for reports. */
  method: string;
}

interface Resolved {
  resamples: number;
  seed: number;
  confidence: number;
}

function resolve(options: BootstrapOptions): Resolved {
  const r = {
    resamples: options.resamples ?? BOOTSTRAP_RESAMPLES,
    seed: options.seed ?? DEFAULT_SEED,
    confidence: options.confidence ?? 0.95,
  };
  if (!Number.isInteger(r.resamples) || r.resamples < 1)
    throw new Error(`bootstrap: resamples=${r.resamples} must be a positive integer.`);
  if (!(r.confidence > 0 && r.confidence < 1))
    throw new Error(`bootstrap: confidence=${r.confidence} must be between 0 and 1.`);
  return r;
}

/**
 * Percentile-bootstrap intervals of the mean of each column of per-query values (`columns[m][i]` =
 * value of metric m for query i). All columns share the same resampled queries.
 */
export function bootstrapMeans(
  columns: Record<string, ArrayLike<number>>,
  options: BootstrapOptions = {},
): Record<string, Interval> {
  const { resamples, seed, confidence } = resolve(options);
  const names = Object.keys(columns);
  const n = names.length > 0 ? columns[names[0]].length : 0;
  if (n === 0) throw new Error("bootstrap: no queries to resample.");
  for (const m of names)
    if (columns[m].length !== n)
      throw new Error(`bootstrap: column "${m}" has ${columns[m].length} values, expected ${n}.`);
  const rng = mulberry32(seed);
  const stats = names.map(() => new Float64Array(resamples));
  const pick = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) pick[i] = Math.floor(rng() * n);
    names.forEach((m, j) => {
      const col = columns[m];
      let s = 0;
      for (let i = 0; i < n; i++) s += col[pick[i]];
      stats[j][b] = s / n;
    });
  }
  const alpha = 1 - confidence;
  const out: Record<string, Interval> = {};
  names.forEach((m, j) => {
    const col = columns[m];
    let s = 0;
    for (let i = 0; i < n; i++) s += col[i];
    const sorted = stats[j].sort();
    out[m] = { estimate: s / n, low: quantile(sorted, alpha / 2), high: quantile(sorted, 1 - alpha / 2) };
  });
  return out;
}

/** Per-query values of every metric of a result, as columns. */
function columnsOf(result: IRResult): Record<string, Float64Array> {
  const cols: Record<string, Float64Array> = {};
  for (const m of result.metricNames) cols[m] = Float64Array.from(result.perQuery, (q) => q.metrics[m]);
  return cols;
}

/** Bootstrap interval of every metric of one system (keys: bare metric names, "ndcg@10"). */
export function bootstrapCI(result: IRResult, options: BootstrapOptions = {}): Record<string, Interval> {
  return bootstrapMeans(columnsOf(result), options);
}

/** How a query moved from rank a to rank b of its first relevant document (null = not retrieved). */
export function rankChange(a: number | null, b: number | null): RankChange {
  const ra = a ?? Infinity;
  const rb = b ?? Infinity;
  return rb < ra ? "improved" : rb > ra ? "worsened" : "unchanged";
}

/** Paired comparison of two systems evaluated by the same evaluator (same queries, same order). */
export function compareSystems(
  baseline: IRResult,
  candidate: IRResult,
  options: BootstrapOptions & { perSystem?: boolean } = {},
): SystemComparison {
  const n = baseline.perQuery.length;
  if (candidate.perQuery.length !== n)
    throw new Error(
      `compareSystems: "${baseline.system}" has ${n} queries, "${candidate.system}" ${candidate.perQuery.length}; evaluate both with the same evaluator.`,
    );
  baseline.perQuery.forEach((q, i) => {
    if (candidate.perQuery[i].queryId !== q.queryId)
      throw new Error(
        `compareSystems: query ${i} is "${q.queryId}" for "${baseline.system}" but "${candidate.perQuery[i].queryId}" for "${candidate.system}"; evaluate both with the same evaluator.`,
      );
  });
  const metrics = baseline.metricNames.filter((m) => candidate.metricNames.includes(m));
  if (metrics.length === 0) throw new Error("compareSystems: the two results share no metric; use the same cut-offs.");
  const diffs: Record<string, Float64Array> = {};
  for (const m of metrics)
    diffs[m] = Float64Array.from(baseline.perQuery, (q, i) => candidate.perQuery[i].metrics[m] - q.metrics[m]);
  const intervals = bootstrapMeans(diffs, options);
  const ranks = baseline.perQuery.map((q, i) => ({
    queryId: q.queryId,
    query: q.query,
    baselineRank: q.firstRelevantRank,
    candidateRank: candidate.perQuery[i].firstRelevantRank,
    change: rankChange(q.firstRelevantRank, candidate.perQuery[i].firstRelevantRank),
  }));
  const count = (c: RankChange) => ranks.filter((r) => r.change === c).length;
  const { resamples, seed, confidence } = resolve(options);
  // Two results of one name (the same model evaluated before and after a change) still get two labels.
  const same = baseline.system === candidate.system;
  const baselineLabel = same ? `${baseline.system} (baseline)` : baseline.system;
  const candidateLabel = same ? `${candidate.system} (candidate)` : candidate.system;
  const out: SystemComparison = {
    baseline: baselineLabel,
    candidate: candidateLabel,
    queries: n,
    improved: count("improved"),
    worsened: count("worsened"),
    unchanged: count("unchanged"),
    ranks,
    differences: metrics.map((m) => ({
      metric: m,
      baseline: baseline.values[m],
      candidate: candidate.values[m],
      ...intervals[m],
      significant: intervals[m].low > 0 || intervals[m].high < 0,
    })),
    method:
      `paired percentile bootstrap over ${n} queries: ${resamples} resamples (seed ${seed}), ` +
      `${Math.round(confidence * 1000) / 10}% interval of the mean per-query difference (${candidateLabel} - ${baselineLabel})`,
  };
  if (options.perSystem) {
    out.baselineIntervals = bootstrapCI(baseline, options);
    out.candidateIntervals = bootstrapCI(candidate, options);
  }
  return out;
}

/**
 * One sentence for a notebook: "tuned vs base on 59 queries: 23 improved, 5 worsened, 31 unchanged
 * (rank of the first relevant document); ndcg@10 0.612 -> 0.701 (+0.089, 95% CI +0.041 to +0.137)."
 */
export function describeComparison(c: SystemComparison, metric = "ndcg@10"): string {
  const d = c.differences.find((x) => x.metric === metric);
  if (!d)
    throw new Error(
      `describeComparison: no metric "${metric}" (have ${c.differences.map((x) => x.metric).join(", ")}).`,
    );
  const level = c.method.match(/(\d+(?:\.\d+)?)% interval/)?.[1] ?? "95";
  return (
    `${c.candidate} vs ${c.baseline} on ${c.queries} queries: ${c.improved} improved, ${c.worsened} worsened, ` +
    `${c.unchanged} unchanged (rank of the first relevant document); ${metric} ${d.baseline.toFixed(3)} -> ${d.candidate.toFixed(3)} ` +
    `(${formatSigned(d.estimate, 3)}, ${level}% CI ${formatSigned(d.low, 3)} to ${formatSigned(d.high, 3)}${d.significant ? "" : ", includes 0"}).`
  );
}
