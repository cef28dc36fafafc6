/**
 * Per-query retrieval metrics with the definitions of sentence-transformers'
 * InformationRetrievalEvaluator (sentence_transformers/evaluation/InformationRetrievalEvaluator.py),
 * so that our numbers and Python's are comparable. `ranked` is the retrieved ids, best first;
 * `relevant` the query's relevant ids (never empty: such queries are dropped before).
 * Ranks are 1-based below.
 *
 *   accuracy@k  = 1 if any relevant id is in the top k, else 0               (Hit@k)
 *   precision@k = |relevant in top k| / k         (k, not the list length, even if fewer were retrieved)
 *   recall@k    = |relevant in top k| / |relevant|
 *   mrr@k       = 1 / rank of the first relevant id within the top k, else 0
 *   ndcg@k      = DCG@k / IDCG@k,  DCG@k = sum_{rank<=k} rel(rank) / log2(rank + 1) with binary rel,
 *                 IDCG@k = the DCG of |relevant| ones, i.e. sum_{i=1}^{min(|relevant|, k)} 1 / log2(i + 1)
 *   map@k       = (sum over relevant hits at rank r <= k of (relevant hits up to r) / r) / min(k, |relevant|)
 *
 * The evaluator's reported values are the means of these over the kept queries.
 */

/** Which cut-offs each metric is computed at (InformationRetrievalEvaluator's argument names). */
export interface MetricCutoffs {
  accuracyAtK: number[];
  precisionRecallAtK: number[];
  mrrAtK: number[];
  ndcgAtK: number[];
  mapAtK: number[];
}

/** Python's defaults: accuracy/precision/recall at 1, 3, 5, 10; MRR@10; NDCG@10; MAP@100. */
export const DEFAULT_CUTOFFS: Readonly<MetricCutoffs> = Object.freeze({
  accuracyAtK: [1, 3, 5, 10],
  precisionRecallAtK: [1, 3, 5, 10],
  mrrAtK: [10],
  ndcgAtK: [10],
  mapAtK: [100],
});

/** Metric names in the order Python's evaluator returns them: accuracy, precision, recall, ndcg, mrr, map. */
export function metricNames(c: MetricCutoffs): string[] {
  return [
    ...c.accuracyAtK.map((k) => `accuracy@${k}`),
    ...c.precisionRecallAtK.map((k) => `precision@${k}`),
    ...c.precisionRecallAtK.map((k) => `recall@${k}`),
    ...c.ndcgAtK.map((k) => `ndcg@${k}`),
    ...c.mrrAtK.map((k) => `mrr@${k}`),
    ...c.mapAtK.map((k) => `map@${k}`),
  ];
}

/** The largest cut-off: how deep the evaluator must retrieve. */
export function maxCutoff(c: MetricCutoffs): number {
  const all = [...c.accuracyAtK, ...c.precisionRecallAtK, ...c.mrrAtK, ...c.ndcgAtK, ...c.mapAtK];
  if (all.length === 0) throw new Error("metric cut-offs: give at least one k.");
  for (const k of all)
    if (!Number.isInteger(k) || k < 1) throw new Error(`metric cut-offs: k=${k} must be a positive integer.`);
  return Math.max(...all);
}

function hitsInTop(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  let n = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) if (relevant.has(ranked[i])) n++;
  return n;
}

/** 1-based rank of the first relevant id, or null when none was retrieved. */
export function firstRelevantRank(ranked: readonly string[], relevant: ReadonlySet<string>): number | null {
  const i = ranked.findIndex((id) => relevant.has(id));
  return i < 0 ? null : i + 1;
}

export function accuracyAtK(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  return hitsInTop(ranked, relevant, k) > 0 ? 1 : 0;
}

export function precisionAtK(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  return hitsInTop(ranked, relevant, k) / k;
}

export function recallAtK(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  return hitsInTop(ranked, relevant, k) / relevant.size;
}

export function mrrAtK(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  const r = firstRelevantRank(ranked.slice(0, k), relevant);
  return r === null ? 0 : 1 / r;
}

/** DCG of binary gains: sum over i < min(len, k) of gains[i] / log2(i + 2). */
export function dcgAtK(gains: readonly number[], k: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(gains.length, k); i++) dcg += gains[i] / Math.log2(i + 2);
  return dcg;
}

export function ndcgAtK(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  const gains = ranked.slice(0, k).map((id) => (relevant.has(id) ? 1 : 0));
  const ideal = new Array<number>(relevant.size).fill(1);
  return dcgAtK(gains, k) / dcgAtK(ideal, k);
}

export function averagePrecisionAtK(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  let found = 0;
  let sum = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) {
    if (relevant.has(ranked[i])) {
      found++;
      sum += found / (i + 1);
    }
  }
  return sum / Math.min(k, relevant.size);
}

/** Every metric of one query, keyed "accuracy@1", ..., "map@100" (order of metricNames). */
export function queryMetrics(
  ranked: readonly string[],
  relevant: ReadonlySet<string>,
  c: MetricCutoffs,
): Record<string, number> {
  if (relevant.size === 0) throw new Error("queryMetrics: a query needs at least one relevant document.");
  const out: Record<string, number> = {};
  for (const k of c.accuracyAtK) out[`accuracy@${k}`] = accuracyAtK(ranked, relevant, k);
  for (const k of c.precisionRecallAtK) out[`precision@${k}`] = precisionAtK(ranked, relevant, k);
  for (const k of c.precisionRecallAtK) out[`recall@${k}`] = recallAtK(ranked, relevant, k);
  for (const k of c.ndcgAtK) out[`ndcg@${k}`] = ndcgAtK(ranked, relevant, k);
  for (const k of c.mrrAtK) out[`mrr@${k}`] = mrrAtK(ranked, relevant, k);
  for (const k of c.mapAtK) out[`map@${k}`] = averagePrecisionAtK(ranked, relevant, k);
  return out;
}
