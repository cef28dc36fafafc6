import { test } from "node:test";
import assert from "node:assert/strict";
import { InformationRetrievalEvaluator, type IRResult } from "../src/eval/ir-evaluator";
import { bootstrapCI, bootstrapMeans, compareSystems, describeComparison } from "../src/eval/compare";
import { mulberry32 } from "../src/random";
import type { SearchHit } from "../src/retrieval/types";

const corpus = ["d1", "d2", "d3", "d4", "d5"].map((id) => ({ _id: id, text: id }));
const cutoffs = { accuracyAtK: [1], precisionRecallAtK: [1], mrrAtK: [10], ndcgAtK: [10], mapAtK: [10] };

/** Results of two systems whose rankings put each query's one relevant document where we say. */
function twoSystems(): { evaluator: InformationRetrievalEvaluator; baseline: IRResult; candidate: IRResult } {
  const evaluator = new InformationRetrievalEvaluator({
    queries: { q1: "one", q2: "two", q3: "three", q4: "four" },
    corpus,
    relevantDocs: { q1: ["d1"], q2: ["d2"], q3: ["d3"], q4: ["d4"] },
    ...cutoffs,
  });
  const rank = (ids: string[]): SearchHit[] => ids.map((id, r) => ({ id, score: 10 - r }));
  // relevant at ranks: baseline 1, 3, not retrieved, 2; candidate 1, 1, 2, 4
  const baseline = evaluator.score("base", "cosine", [
    rank(["d1", "d2", "d3"]),
    rank(["d1", "d3", "d2"]),
    rank(["d1", "d2", "d4", "d5"]),
    rank(["d1", "d4", "d2"]),
  ]);
  const candidate = evaluator.score("tuned", "cosine", [
    rank(["d1", "d2", "d3"]),
    rank(["d2", "d1", "d3"]),
    rank(["d1", "d3", "d2"]),
    rank(["d1", "d2", "d3", "d4"]),
  ]);
  return { evaluator, baseline, candidate };
}

test("bootstrap: degenerate and two-point cases by hand, seeded, errors", () => {
  const constant = bootstrapMeans({ d: [0.25, 0.25, 0.25] }, { resamples: 200 });
  assert.deepEqual(constant.d, { estimate: 0.25, low: 0.25, high: 0.25 });
  // Two queries with values 0 and 1: a resample mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4,
  // so the 2.5% and 97.5% quantiles of 1,000 resamples are 0 and 1.
  const two = bootstrapMeans({ d: [0, 1] }, { resamples: 1000, seed: 3 });
  assert.deepEqual(two.d, { estimate: 0.5, low: 0, high: 1 });
  const a = bootstrapMeans({ d: [0, 1, 0.5, 0.25, 0.9] }, { seed: 11 });
  const b = bootstrapMeans({ d: [0, 1, 0.5, 0.25, 0.9] }, { seed: 11 });
  const c = bootstrapMeans({ d: [0, 1, 0.5, 0.25, 0.9] }, { seed: 12 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.throws(() => bootstrapMeans({ d: [] }), /no queries/);
  assert.throws(() => bootstrapMeans({ d: [1] }, { confidence: 1.5 }), /confidence=1.5/);
  assert.throws(() => bootstrapMeans({ d: [1, 2], e: [1] }), /column "e" has 1 values, expected 2/);
});

test("bootstrap interval width agrees with the normal approximation 1.96 * sd / sqrt(n)", () => {
  // 400 Bernoulli(0.3) outcomes: the standard error of the mean is sqrt(p(1-p)/n) with the sample p.
  const rng = mulberry32(5);
  const values: number[] = Array.from({ length: 400 }, () => (rng() < 0.3 ? 1 : 0));
  const p = values.reduce((s, v) => s + v, 0) / values.length;
  const halfWidth = 1.959964 * Math.sqrt((p * (1 - p)) / values.length);
  const ci = bootstrapMeans({ hit: values }, { resamples: 2000, seed: 9 }).hit;
  assert.equal(ci.estimate, p);
  const width = (ci.high - ci.low) / 2;
  assert.ok(Math.abs(width - halfWidth) / halfWidth < 0.12, `bootstrap half-width ${width} vs normal ${halfWidth}`);
  assert.ok(ci.low < p && p < ci.high);
});

test("paired comparison: rank changes and metric differences by hand", () => {
  const { baseline, candidate } = twoSystems();
  const cmp = compareSystems(baseline, candidate, { perSystem: true });
  // q1 1 -> 1 unchanged, q2 3 -> 1 improved, q3 none -> 2 improved, q4 2 -> 4 worsened
  assert.deepEqual(
    cmp.ranks.map((r) => [r.baselineRank, r.candidateRank, r.change]),
    [
      [1, 1, "unchanged"],
      [3, 1, "improved"],
      [null, 2, "improved"],
      [2, 4, "worsened"],
    ],
  );
  assert.deepEqual([cmp.improved, cmp.worsened, cmp.unchanged], [2, 1, 1]);
  // MRR@10: baseline (1 + 1/3 + 0 + 1/2)/4 = 0.458333, candidate (1 + 1 + 1/2 + 1/4)/4 = 0.6875
  const mrr = cmp.differences.find((d) => d.metric === "mrr@10")!;
  assert.ok(Math.abs(mrr.baseline - 0.4583333333333333) < 1e-12 && Math.abs(mrr.candidate - 0.6875) < 1e-12);
  assert.ok(Math.abs(mrr.estimate - 0.22916666666666666) < 1e-12);
  // Per-query MRR differences are 0, 2/3, 1/2, -1/4: every resample mean lies in [-1/4, 2/3].
  assert.ok(mrr.low >= -0.25 && mrr.high <= 2 / 3 && mrr.low <= mrr.estimate && mrr.estimate <= mrr.high);
  // accuracy@1: baseline 1,0,0,0; candidate 1,1,0,0 -> difference per query 0,1,0,0
  const acc = cmp.differences.find((d) => d.metric === "accuracy@1")!;
  assert.equal(acc.estimate, 0.25);
  assert.equal(acc.low, 0); // a resample without q2 has mean 0; P = (3/4)^4 = 0.32 > 2.5%
  assert.deepEqual(
    cmp.differences.map((d) => d.metric),
    ["accuracy@1", "precision@1", "recall@1", "ndcg@10", "mrr@10", "map@10"],
  );
  assert.deepEqual(cmp.candidateIntervals, bootstrapCI(candidate));
  assert.match(cmp.method, /paired percentile bootstrap over 4 queries: 1000 resamples \(seed 42\), 95% interval/);
  assert.equal(
    describeComparison(cmp, "mrr@10"),
    `tuned vs base on 4 queries: 2 improved, 1 worsened, 1 unchanged (rank of the first relevant document); ` +
      `mrr@10 0.458 -> 0.688 (+0.229, 95% CI ${mrr.low < 0 ? "-" : "+"}${Math.abs(mrr.low).toFixed(3)} to +${mrr.high.toFixed(3)}${mrr.significant ? "" : ", includes 0"}).`,
  );
  assert.throws(() => describeComparison(cmp, "ndcg@5"), /no metric "ndcg@5"/);
});

test("comparison refuses results from different query sets", () => {
  const { baseline } = twoSystems();
  const other = new InformationRetrievalEvaluator({
    queries: { q9: "x" },
    corpus,
    relevantDocs: { q9: ["d1"] },
    ...cutoffs,
  });
  const r = other.score("other", "cosine", [[{ id: "d1", score: 1 }]]);
  assert.throws(() => compareSystems(baseline, r), /"base" has 4 queries, "other" 1/);
});
