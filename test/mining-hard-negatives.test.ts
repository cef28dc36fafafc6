// mineHardNegatives on a constructed corpus whose cosine similarities are known exactly (texts are unit vectors at
// chosen angles to the query): each filter keeps exactly the expected candidates; positives (also of repeated
// queries and duplicated passages) are never mined; seeded runs repeat; output formats; the report; bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Embedder, Embeddings } from "../src/model/types";
import { loadFaiss } from "../src/retrieval/faiss";
import {
  describeMining,
  falseNegativesTable,
  mineHardNegatives,
  miningFiltersTable,
  miningPresets,
  miningStatsTable,
  scoreHistogramFigure,
  semiHardNegatives,
  type MineHardNegativesOptions,
} from "../src/mining";

/** cos(query q1, passage) for each passage; q1 = e1, a passage with cosine c is (c, sqrt(1 - c^2), 0, 0). */
const COS: Record<string, number> = { P: 0.8, A: 0.95, B: 0.78, C: 0.72, G: 0.6, D: 0.5, E: 0.2, F: -0.3 };
// By score: A .95, P .80, B .78, C .72, G .60, D .50, E .20, F -.30 (P is q1's positive).

class FakeEmbedder implements Embedder {
  readonly name = "fake (known cosines)";
  calls = 0;
  encode(texts: string[]): Promise<Embeddings> {
    this.calls++;
    const dim = 4;
    const data = new Float32Array(texts.length * dim);
    texts.forEach((t, i) => {
      if (t === "q1") data[i * dim] = 1;
      else if (t === "q2") data[i * dim + 2] = 1;
      else if (t in COS) {
        data[i * dim] = COS[t];
        data[i * dim + 1] = Math.sqrt(1 - COS[t] ** 2);
      } else if (t.startsWith("other"))
        data[i * dim + 3] = 1; // orthogonal to both queries
      else throw new Error(`FakeEmbedder: unknown text ${t}`);
    });
    return Promise.resolve({ count: texts.length, dim, data });
  }
}

const corpus = Object.keys(COS);
const pairs = [{ anchor: "q1", positive: "P" }];

async function negatives(options: MineHardNegativesOptions, p = pairs): Promise<string[]> {
  const { rows } = await mineHardNegatives(p, new FakeEmbedder(), { corpus, onWarning: () => {}, ...options });
  return rows.map((r) => r.negative as string);
}

test("no filter: the top candidates after removing the positive, rangeMax defaulting to rangeMin + numNegatives + 1", async () => {
  const r = await mineHardNegatives(pairs, new FakeEmbedder(), { corpus, numNegatives: 3 });
  assert.deepEqual(
    r.rows.map((x) => x.negative),
    ["A", "B", "C"],
  );
  assert.deepEqual(r.columns, ["anchor", "positive", "negative"]);
  assert.equal(r.report.options.rangeMax, 4);
  assert.equal(r.report.options.searchDepth, 5);
  assert.equal(r.report.removed.positive, 1);
  assert.deepEqual(r.report.rows, 3);
  assert.ok(Math.abs(r.report.positiveScores[0] - 0.8) < 1e-6);
  assert.deepEqual(
    r.report.negativeScores.map((s) => Math.round(s * 100) / 100),
    [0.95, 0.78, 0.72],
  );
});

test("each filter keeps exactly the expected candidates", async () => {
  // absoluteMargin 0.05 drops s + 0.05 > 0.8 (A, B); rangeMax becomes 0 + 30 + 1, clamped to the 8 passages.
  assert.deepEqual(await negatives({ absoluteMargin: 0.05 }), ["C", "G", "D"]);
  // absoluteMargin 0: never above the positive (drops A only).
  assert.deepEqual(await negatives({ absoluteMargin: 0 }), ["B", "C", "G"]);
  // relativeMargin 0.3 drops s > 0.8 * 0.7 = 0.56: A, B, C, G.
  assert.deepEqual(await negatives({ relativeMargin: 0.3 }), ["D", "E", "F"]);
  // maxScore 0.9 drops A; minScore 0.55 drops D, E, F.
  assert.deepEqual(await negatives({ maxScore: 0.9 }), ["B", "C", "G"]);
  assert.deepEqual(await negatives({ minScore: 0.55, numNegatives: 4 }), ["A", "B", "C", "G"]);
  // rangeMin 2: the two most similar survivors (A, B) are skipped.
  const ranged = await mineHardNegatives(pairs, new FakeEmbedder(), { corpus, rangeMin: 2 });
  assert.deepEqual(
    ranged.rows.map((x) => x.negative),
    ["C", "G", "D"],
  );
  assert.equal(ranged.report.skippedByRangeMin, 2);
  // rangeMax 3 with rangeMin 1 leaves ranks 1..2 of the survivors: B, C.
  assert.deepEqual(await negatives({ rangeMin: 1, rangeMax: 3, numNegatives: 2 }), ["B", "C"]);
  // Ranks are counted after the filters: rangeMin 1 after absoluteMargin 0.05 skips C.
  assert.deepEqual(await negatives({ absoluteMargin: 0.05, rangeMin: 1, numNegatives: 2 }), ["G", "D"]);
  // semi-hard: in [0.8 - 0.1, 0.8]: B and C only; asking for 3 gives 2 and a warning with counts.
  const warnings: string[] = [];
  const semi = await mineHardNegatives(pairs, new FakeEmbedder(), {
    corpus,
    ...semiHardNegatives(0.1),
    numNegatives: 3,
    onWarning: (m) => warnings.push(m),
  });
  assert.deepEqual(
    semi.rows.map((x) => x.negative),
    ["B", "C"],
  );
  assert.equal(semi.report.removed.absoluteMargin, 1);
  assert.equal(semi.report.removed.semiHardMargin, 4);
  assert.equal(semi.report.pairsWithFewerNegatives, 1);
  assert.match(
    warnings.join("\n"),
    /could not find enough negatives for 1 of 3 possible triplets \(33\.33%; 1 of 1 pairs got fewer than 3\)\. Consider adjusting the rangeMax, absoluteMargin and semiHardMargin parameters/,
  );
  // NV-Retriever preset: at most 95% of 0.8 = 0.76: A and B are dropped.
  assert.deepEqual(await negatives({ ...miningPresets.hard, numNegatives: 2 }), ["C", "G"]);
});

test("random sampling: seeded, reproducible, never a positive, sorted by score; the random preset spans the corpus", async () => {
  const a = await negatives({ ...miningPresets.random, numNegatives: 3, seed: 7 });
  const b = await negatives({ ...miningPresets.random, numNegatives: 3, seed: 7 });
  assert.deepEqual(a, b);
  const seen = new Set<string>();
  for (let seed = 0; seed < 40; seed++) {
    const n = await negatives({ ...miningPresets.random, numNegatives: 3, seed });
    assert.equal(new Set(n).size, 3);
    assert.ok(!n.includes("P"), "the positive is never a negative");
    const scores = n.map((t) => COS[t]);
    assert.deepEqual(
      scores,
      [...scores].sort((x, y) => y - x),
      "sampled negatives are sorted by score",
    );
    n.forEach((t) => seen.add(t));
  }
  assert.deepEqual([...seen].sort(), ["A", "B", "C", "D", "E", "F", "G"], "every non-positive passage can be drawn");
  // random within the default range (rangeMax 4: A, B, C after removing P) draws 2 of those 3.
  const top3 = await negatives({ samplingStrategy: "random", numNegatives: 2, seed: 3 });
  assert.ok(top3.every((t) => ["A", "B", "C"].includes(t)));
});

test("repeated queries: every positive of the query is excluded, the margin uses the lowest positive score, rows per pair", async () => {
  const dup = [
    { anchor: "q1", positive: "P" },
    { anchor: "q2", positive: "other1" },
    { anchor: "q1", positive: "B" },
  ];
  // The given corpus lists P twice: deduplicated, it is still q1's positive.
  const r = await mineHardNegatives(dup, new FakeEmbedder(), {
    corpus: [...corpus, "P", "other1", "other2"],
    numNegatives: 2,
    outputFormat: "n-tuple",
  });
  const q1 = r.rows.filter((x) => x.anchor === "q1");
  assert.deepEqual(
    q1.map((x) => x.positive),
    ["P", "B"],
    "grouped by query, positives in order",
  );
  for (const row of q1) assert.deepEqual([row.negative_1, row.negative_2], ["A", "C"]);
  assert.deepEqual(r.columns, ["anchor", "positive", "negative_1", "negative_2"]);
  assert.equal(r.report.uniqueQueries, 2);
  assert.equal(r.report.maxPositivesPerQuery, 2);
  assert.equal(r.report.corpusDuplicatesRemoved, 1);
  // absoluteMargin 0 against min(0.8, 0.78) = 0.78 removes A only (B is a positive).
  const m = await mineHardNegatives(dup.slice(0, 1).concat(dup.slice(2)), new FakeEmbedder(), {
    corpus,
    absoluteMargin: 0,
    numNegatives: 2,
  });
  assert.deepEqual(
    m.rows.map((x) => `${x.positive}:${x.negative}`),
    ["P:C", "P:G", "B:C", "B:G"],
  );
  assert.equal(m.report.removed.positive, 2);
  assert.equal(m.report.removed.absoluteMargin, 1);
});

test("output formats: labeled-pair gives each positive label 1, then the query's negatives label 0", async () => {
  const r = await mineHardNegatives(pairs, new FakeEmbedder(), {
    corpus,
    numNegatives: 2,
    outputFormat: "labeled-pair",
  });
  assert.deepEqual(r.rows, [
    { anchor: "q1", positive: "P", label: 1 },
    { anchor: "q1", positive: "A", label: 0 },
    { anchor: "q1", positive: "B", label: 0 },
  ]);
  assert.deepEqual(r.columns, ["anchor", "positive", "label"]);
  // n-tuple keeps only pairs that got all their negatives: the semi-hard band holds 2 (B, C).
  const semi = { corpus, ...semiHardNegatives(0.1), outputFormat: "n-tuple" as const, onWarning: () => {} };
  const two = await mineHardNegatives(pairs, new FakeEmbedder(), { ...semi, numNegatives: 2 });
  assert.deepEqual(two.rows, [{ anchor: "q1", positive: "P", negative_1: "B", negative_2: "C" }]);
  await assert.rejects(
    mineHardNegatives(pairs, new FakeEmbedder(), { ...semi, numNegatives: 3 }),
    /no rows could be generated/,
  );
});

test("the report: false negatives with texts and outcomes, filter counts, statistics, histogram", async () => {
  const plain = await mineHardNegatives(pairs, new FakeEmbedder(), { corpus, numNegatives: 3 });
  assert.equal(plain.report.falseNegativeCount, 1);
  assert.deepEqual(
    { ...plain.report.falseNegatives[0], positiveScore: 0, candidateScore: 0 },
    { query: "q1", positive: "P", positiveScore: 0, candidate: "A", candidateScore: 0, rank: 1, outcome: "negative" },
  );
  const margin = await mineHardNegatives(pairs, new FakeEmbedder(), {
    corpus,
    numNegatives: 3,
    relativeMargin: 0.05,
    falseNegativeMargin: 0.05,
  });
  assert.deepEqual(
    margin.report.falseNegatives.map((f) => `${f.candidate}:${f.outcome}`),
    ["A:relativeMargin", "B:relativeMargin"],
  );
  assert.equal(margin.report.outcomes.negative, 3);
  assert.equal(margin.report.outcomes.positive, 1);
  assert.equal(margin.report.outcomes.relativeMargin, 2);
  const filters = miningFiltersTable(margin.report).toRecords();
  assert.deepEqual(
    filters.map((f) => [f.filter, f.removed]),
    [
      ["the query's positives", 1],
      ["relativeMargin", 2],
      ["rangeMin", 0],
    ],
  );
  const stats = miningStatsTable(margin.report).toRecords();
  assert.equal(stats[0].metric, "Count");
  assert.equal(stats[0].negative, 3);
  assert.ok(Math.abs((stats[1].negative as number) - (0.72 + 0.6 + 0.5) / 3) < 1e-6, `mean ${stats[1].negative}`);
  assert.ok(Math.abs((stats[1].difference as number) - (0.8 - (0.72 + 0.6 + 0.5) / 3)) < 1e-6);
  assert.equal(falseNegativesTable(margin.report).height, 2);
  assert.equal(scoreHistogramFigure(margin.report).data.length, 2);
  assert.match(
    describeMining(margin.report).join("\n"),
    /Skipped 2 potential negatives \(.*\) due to the relativeMargin of 0.05/,
  );
});

test("faiss and the TypeScript fallback mine the same negatives", {
  skip: loadFaiss().module ? false : "faiss-node not loadable",
}, async () => {
  const opts = { numNegatives: 3, relativeMargin: 0.05 };
  assert.deepEqual(
    await negatives({ ...opts, implementation: "faiss" }),
    await negatives({ ...opts, implementation: "typescript" }),
  );
});

test("bad input: clear errors, or a warning with counts where mining can go on", async () => {
  const e = new FakeEmbedder();
  const warnings: string[] = [];
  const r = await mineHardNegatives(
    [
      { anchor: "q1", positive: "P" },
      { anchor: "q2", positive: "other1" },
    ],
    e,
    { corpus: ["A", "B", "C", "D"], numNegatives: 1, onWarning: (m) => warnings.push(m) },
  );
  assert.match(
    warnings[0],
    /2 of 2 pairs have a positive that is not in the given corpus \(2 distinct texts\); they were added/,
  );
  assert.equal(r.report.positivesAddedToCorpus, 2);
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, numNegatives: 8 }),
    /numNegatives 8 is larger than the candidates a query can have: the corpus holds 8 distinct passages.*at most 7/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, rangeMin: 3, rangeMax: 3 }),
    /rank range \[rangeMin 3, rangeMax 3\) is empty/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, rangeMin: 5, rangeMax: 2 }),
    /is reversed; rangeMax must be larger than rangeMin/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, rangeMin: 6, numNegatives: 3, rangeMax: 50 }),
    /rank range \[6, 8\) holds 2 ranks \(rangeMax clamped to the 8 corpus passages\), fewer than numNegatives 3/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, relativeMargin: 1 }),
    /relativeMargin is 1; it must be in \[0, 1\)/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, absoluteMargin: -0.1 }),
    /absoluteMargin is -0.1; it must be a finite number >= 0/,
  );
  await assert.rejects(mineHardNegatives(pairs, e, { corpus, absoluteMargin: Number.NaN }), /absoluteMargin is NaN/);
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, minScore: 0.9, maxScore: 0.5 }),
    /minScore 0.9 is above maxScore 0.5/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, numNegatives: 0 }),
    /numNegatives is 0; it must be an integer >= 1/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, samplingStrategy: "hardest" as "top" }),
    /samplingStrategy "hardest"/,
  );
  await assert.rejects(
    mineHardNegatives(pairs, e, { corpus, outputFormat: "labeled-list" as "triplet" }),
    /outputFormat "labeled-list"/,
  );
  await assert.rejects(mineHardNegatives([], e, { corpus }), /no rows/);
  await assert.rejects(mineHardNegatives([{ anchor: "q1" }], e, { corpus }), /row 0: missing field "positive"/);
  await assert.rejects(mineHardNegatives(pairs, e, { corpus, minScore: 0.99 }), /no rows could be generated/);
});
