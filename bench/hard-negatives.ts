/**
 * npm run bench -- hard-negatives [--json] [--steps 30] [--lr <rate>] [--queries 10000] [--passages 10000]
 *                                  [--skip-comparison] [--skip-speed]
 *
 * 1. The comparison of notebook 4 on the shipped policy-handbook data with the default model (loadModel(), i.e.
 *    COURSE_MODEL or the embedded offline default): in-batch only vs random vs mined hard vs semi-hard negatives,
 *    MultipleNegativesRankingLoss, same seed and steps; NDCG@10 on the held-out test split with 95% bootstrap CIs,
 *    the paired difference from in-batch, and the mining time of each mined run.
 * 2. Mining speed: --queries (anchor, positive) pairs against a corpus of --passages passages, mineHardNegatives
 *    (default options: 3 negatives, "top") end to end, against the floor it cannot beat: encoding the same queries
 *    and passages plus one exact search of all queries (VectorIndex, faiss when it loads) to the same depth.
 *    The target is a ratio <= 2. The texts are built from the policy-handbook corpus: passage i joins three of its
 *    sentences drawn with a seeded generator (no two passages from the same three), query i is a 6-12-word span of passage i. Peak RSS is the
 *    process's maximum resident set (for the 100,000-passage check run with --passages 100000).
 * The last line with --json is one JSON object.
 */
import { performance } from "node:perf_hooks";
import { loadShippedSplit, trainingPairs } from "../src/data";
import { InformationRetrievalEvaluator } from "../src/eval";
import { loadModel } from "../src/model";
import { rngFor } from "../src/random";
import { VectorIndex } from "../src/retrieval/vector-index";
import { compareNegatives, negativesComparisonTable } from "../src/course";
import { mineHardNegatives } from "../src/mining";
import { numberArg } from "./lib/cli";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const steps = numberArg(argv, "--steps", 30);
const lrIndex = argv.indexOf("--lr");
const learningRate = lrIndex >= 0 ? Number(argv[lrIndex + 1]) : undefined; // default: defaultLearningRate(model)
const nQueries = numberArg(argv, "--queries", 10000);
const nPassages = numberArg(argv, "--passages", 10000);
const say = (s: string) => console.log(s);

async function comparison(): Promise<Record<string, unknown>> {
  const train = loadShippedSplit("policy-handbook", "train");
  const test = loadShippedSplit("policy-handbook", "test");
  const t0 = performance.now();
  const c = await compareNegatives({
    pairs: trainingPairs(train),
    evaluator: InformationRetrievalEvaluator.fromSplit(test, { name: "policy-test" }),
    steps,
    learningRate,
    // as bench/HARD-NEGATIVES.md measured it: each mined run trains on the pairs it found a negative for
    samePairs: false,
    onWarning: () => {},
    onLog: say,
  });
  const seconds = (performance.now() - t0) / 1000;
  say(negativesComparisonTable(c).toString());
  const ndcg = (r: { values: Record<string, number> }) => r.values["ndcg@10"];
  const conditions: Record<string, unknown> = {
    base: { ndcg_at_10: ndcg(c.base) },
  };
  for (const r of c.runs) {
    const base = r.vsBase.differences.find((d) => d.metric === "ndcg@10")!;
    const inBatch = r.vsInBatch?.differences.find((d) => d.metric === "ndcg@10");
    conditions[r.condition] = {
      ndcg_at_10: ndcg(r.result),
      rows: r.rows,
      train_seconds: r.trainSeconds,
      mining_seconds: r.mining?.seconds ?? null,
      vs_base: {
        diff: base.estimate,
        ci95: [base.low, base.high],
        improved: r.vsBase.improved,
        worsened: r.vsBase.worsened,
      },
      vs_in_batch: inBatch
        ? {
            diff: inBatch.estimate,
            ci95: [inBatch.low, inBatch.high],
            improved: r.vsInBatch!.improved,
            worsened: r.vsInBatch!.worsened,
          }
        : null,
    };
  }
  return { model: c.model, test_queries: c.base.perQuery.length, settings: c.settings, seconds, conditions };
}

function syntheticTexts(): { pairs: { anchor: string; positive: string }[]; passages: string[] } {
  const split = loadShippedSplit("policy-handbook", "train");
  const sentences = [...split.corpus.values()]
    .flatMap((d) => d.text.split(/(?<=[.!?])\s+/))
    .filter((s) => s.split(" ").length >= 6);
  const rng = rngFor(42, "bench-hard-negatives");
  const seen = new Set<string>();
  const passages: string[] = [];
  while (passages.length < nPassages) {
    // Three distinct sentences, a set never used before (a reordering of the same sentences would embed identically).
    const picks = [0, 1, 2].map(() => Math.floor(rng() * sentences.length));
    const key = [...picks].sort((a, b) => a - b).join(",");
    if (new Set(picks).size < 3 || seen.has(key)) continue;
    seen.add(key);
    passages.push(picks.map((i) => sentences[i]).join(" "));
  }
  const pairs = Array.from({ length: nQueries }, (_, i) => {
    const positive = passages[i % nPassages];
    const words = positive.split(" ");
    const len = 6 + Math.floor(rng() * 7);
    const start = Math.floor(rng() * Math.max(1, words.length - len));
    return { anchor: `${words.slice(start, start + len).join(" ")} ${i}`, positive };
  });
  return { pairs, passages };
}

async function speed(): Promise<Record<string, unknown>> {
  const model = await loadModel();
  const { pairs, passages } = syntheticTexts();
  await model.encode(passages.slice(0, 64)); // warm-up (kernels, native BLAS)
  // The floor: encode both, one exact search to the depth mining uses (rangeMax 4 + 1 positive).
  const t0 = performance.now();
  const corpusEmb = await model.encode(passages, { batchSize: 32, normalize: true });
  const queryEmb = await model.encode(
    pairs.map((p) => p.anchor),
    { batchSize: 32, normalize: true },
  );
  const t1 = performance.now();
  const index = VectorIndex.fromVectors(
    passages.map((_, i) => String(i)),
    corpusEmb,
  );
  index.searchPositions(queryEmb, 5);
  const t2 = performance.now();
  const mined = await mineHardNegatives(pairs, model, { corpus: passages, numNegatives: 3, onWarning: () => {} });
  const t3 = performance.now();
  const floor = (t2 - t0) / 1000;
  const mining = (t3 - t2) / 1000;
  say(
    `mining ${nQueries} queries x ${passages.length} passages (${index.describe()}): ${mining.toFixed(2)} s ` +
      `(encode ${mined.report.seconds.encode.toFixed(2)} s, index + search ${mined.report.seconds.search.toFixed(2)} s); ` +
      `encode + one search: ${floor.toFixed(2)} s (encode ${((t1 - t0) / 1000).toFixed(2)} s, search ${((t2 - t1) / 1000).toFixed(2)} s); ratio ${(mining / floor).toFixed(2)} (target <= 2)`,
  );
  return {
    queries: nQueries,
    passages: passages.length,
    index: index.describe(),
    mining_seconds: mining,
    encode_plus_search_seconds: floor,
    encode_seconds: (t1 - t0) / 1000,
    search_seconds: (t2 - t1) / 1000,
    ratio: mining / floor,
    rows: mined.report.rows,
  };
}

(async () => {
  const out: Record<string, unknown> = { benchmark: "hard-negatives" };
  if (!argv.includes("--skip-comparison")) out.comparison = await comparison();
  if (!argv.includes("--skip-speed")) out.speed = await speed();
  out.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024); // the process's peak resident set (kB -> MiB)
  out.note = "timings on a shared 2-core machine are noisy";
  if (json) console.log(JSON.stringify(out));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
