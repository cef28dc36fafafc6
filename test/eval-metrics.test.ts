import { test } from "node:test";
import assert from "node:assert/strict";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";
import { DEFAULT_CUTOFFS, metricNames } from "../src/eval/metrics";
import type { Retriever, SearchHit } from "../src/retrieval/types";
import type { Embedder, Embeddings } from "../src/model/types";

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);

const corpus = Array.from({ length: 10 }, (_, i) => ({ _id: `d${i + 1}`, text: `document ${i + 1}` }));
const queries = [
  { _id: "q1", text: "two relevant, found at ranks 2 and 5" },
  { _id: "q2", text: "one relevant, found first" },
  { _id: "q3", text: "five relevant, three in the top 5" },
  { _id: "q4", text: "relevant never retrieved" },
  { _id: "q5", text: "no qrels at all" },
  { _id: "q6", text: "only a score-0 qrel" },
];
const qrels = [
  { queryId: "q1", corpusId: "d2", score: 1 },
  { queryId: "q1", corpusId: "d5", score: 1 },
  { queryId: "q2", corpusId: "d7", score: 1 },
  ...["d1", "d2", "d3", "d4", "d9"].map((corpusId) => ({ queryId: "q3", corpusId, score: 2 })),
  { queryId: "q4", corpusId: "d10", score: 1 },
  { queryId: "q6", corpusId: "d1", score: 0 },
];
const rankings: Record<string, string[]> = {
  q1: ["d1", "d2", "d3", "d4", "d5", "d6"],
  q2: ["d7", "d1", "d2", "d3", "d4"],
  q3: ["d3", "d8", "d1", "d9", "d6", "d2"],
  q4: ["d1", "d2", "d3", "d4", "d5"],
};
const cutoffs = { accuracyAtK: [1, 3], precisionRecallAtK: [1, 3, 5], mrrAtK: [3], ndcgAtK: [3, 5], mapAtK: [5] };

/** A retriever that returns fixed rankings (scores descending), whatever the query text. */
function fixedRetriever(byText: Map<string, string[]>): Retriever {
  return {
    name: "fixed",
    scoreFunction: "cosine",
    ids: corpus.map((d) => d._id),
    async retrieve(texts: string[], k: number): Promise<SearchHit[][]> {
      return texts.map((t) =>
        byText
          .get(t)!
          .slice(0, k)
          .map((id, r) => ({ id, score: 1 - r / 10 })),
      );
    },
  };
}

test("every metric on hand-computed rankings (multi-relevant, misses, dropped queries)", async () => {
  const ev = new InformationRetrievalEvaluator({ queries, corpus, relevantDocs: qrels, name: "toy", ...cutoffs });
  assert.deepEqual(ev.droppedQueryIds, ["q5", "q6"]);
  assert.equal(ev.depth, 5);
  const byText = new Map(queries.filter((q) => rankings[q._id]).map((q) => [q.text, rankings[q._id]]));
  const r = await ev.evaluate(fixedRetriever(byText));
  assert.equal(r.droppedQueries, 2);
  assert.equal(r.perQuery.length, 4);
  // Per query, by hand (ranks 1-based; log2(3) = 1.58496, log2(5) = 2.32193, log2(6) = 2.58496):
  // q1 rel {d2,d5} hits at 2,5: acc@1 0, acc@3 1, P@1 0, P@3 1/3, P@5 2/5, R 0, 1/2, 1, MRR@3 1/2,
  //    NDCG@3 = (1/log2 3) / (1 + 1/log2 3) = 0.386853, NDCG@5 = (1/log2 3 + 1/log2 6) / (1 + 1/log2 3) = 0.624051,
  //    MAP@5 = (1/2 + 2/5) / min(5, 2) = 0.45
  // q2 rel {d7} at 1: all 1 except P@3 = 1/3, P@5 = 1/5
  // q3 rel 5 docs, hits at 1,3,4: acc 1,1, P 1, 2/3, 3/5, R 1/5, 2/5, 3/5, MRR 1,
  //    NDCG@3 = (1 + 1/2) / (1 + 1/log2 3 + 1/2) = 0.703918, NDCG@5 = (1 + 1/2 + 1/log2 5) / (IDCG of 5 ones) = 0.654809,
  //    MAP@5 = (1/1 + 2/3 + 3/4) / min(5, 5) = 0.483333
  // q4: all 0
  const q1 = r.perQuery[0].metrics;
  close(q1["ndcg@3"], 0.38685280723454163, "q1 ndcg@3");
  close(q1["ndcg@5"], 0.6240505200038379, "q1 ndcg@5");
  close(q1["map@5"], 0.45, "q1 map@5");
  close(r.perQuery[2].metrics["map@5"], 0.48333333333333334, "q3 map@5");
  assert.deepEqual(
    r.perQuery.map((q) => q.firstRelevantRank),
    [2, 1, 1, null],
  );
  const expected: Record<string, number> = {
    "toy_cosine_accuracy@1": 0.5, // (0 + 1 + 1 + 0) / 4
    "toy_cosine_accuracy@3": 0.75,
    "toy_cosine_precision@1": 0.5,
    "toy_cosine_precision@3": 1 / 3, // (1/3 + 1/3 + 2/3 + 0) / 4
    "toy_cosine_precision@5": 0.3, // (2/5 + 1/5 + 3/5 + 0) / 4
    "toy_cosine_recall@1": 0.3, // (0 + 1 + 1/5 + 0) / 4
    "toy_cosine_recall@3": 0.475,
    "toy_cosine_recall@5": 0.65,
    "toy_cosine_ndcg@3": 0.522692724067169, // (0.386853 + 1 + 0.703918 + 0) / 4
    "toy_cosine_ndcg@5": 0.5697147944392421, // (0.624051 + 1 + 0.654809 + 0) / 4
    "toy_cosine_mrr@3": 0.625, // (1/2 + 1 + 1 + 0) / 4
    "toy_cosine_map@5": 0.4833333333333333, // (0.45 + 1 + 0.483333 + 0) / 4
  };
  assert.deepEqual(Object.keys(r.metrics), Object.keys(expected), "keys and Python's order");
  for (const [key, value] of Object.entries(expected)) close(r.metrics[key], value, key);
  assert.equal(r.primaryMetric, "toy_cosine_ndcg@5");
  close(r.values["mrr@3"], 0.625, "bare key");
});

test("defaults: Python's cut-offs and key names; depth clamps to a small corpus; precision still divides by k", () => {
  assert.deepEqual(metricNames(DEFAULT_CUTOFFS), [
    "accuracy@1",
    "accuracy@3",
    "accuracy@5",
    "accuracy@10",
    "precision@1",
    "precision@3",
    "precision@5",
    "precision@10",
    "recall@1",
    "recall@3",
    "recall@5",
    "recall@10",
    "ndcg@10",
    "mrr@10",
    "map@100",
  ]);
  const ev = new InformationRetrievalEvaluator({
    queries: { a: "query a" },
    corpus: { x: "doc x", y: "doc y", z: "doc z" },
    relevantDocs: { a: new Set(["y", "z"]) },
  });
  assert.equal(ev.depth, 3);
  const r = ev.score("given", "cosine", [
    [
      { id: "y", score: 3 },
      { id: "x", score: 2 },
      { id: "z", score: 1 },
    ],
  ]);
  assert.equal(r.primaryMetric, "cosine_ndcg@10");
  assert.equal(r.metrics["cosine_precision@10"], 0.2); // 2 hits / 10, though only 3 documents exist
  assert.equal(r.metrics["cosine_recall@10"], 1);
  close(r.metrics["cosine_map@100"], (1 / 1 + 2 / 3) / 2, "map@100 divides by min(100, 2)");
  close(r.metrics["cosine_ndcg@10"], (1 + 1 / 2) / (1 + 1 / Math.log2(3)), "ndcg@10"); // hits at ranks 1 and 3
});

/** Test double: counts of the letters a, b, c. */
const letters: Embedder = {
  name: "letters",
  async encode(texts: string[]): Promise<Embeddings> {
    const data = new Float32Array(texts.length * 3);
    texts.forEach((t, i) => [...t].forEach((ch) => "abc".includes(ch) && (data[i * 3 + "abc".indexOf(ch)] += 1)));
    return { count: texts.length, dim: 3, data };
  },
};

test("ties: equal scores rank in corpus order, so a relevant document tied behind another ranks 2nd", async () => {
  // "ab" and "ba" have the same vector; query "a" scores both 1/sqrt(2), "c" scores 0.
  const ev = new InformationRetrievalEvaluator({
    queries: [{ _id: "q", text: "a" }],
    corpus: [
      { _id: "first", text: "ab" },
      { _id: "second", text: "ba" },
      { _id: "other", text: "c" },
    ],
    relevantDocs: { q: ["second"] },
    mrrAtK: [10],
    ndcgAtK: [10],
    accuracyAtK: [1, 2],
    precisionRecallAtK: [1],
    mapAtK: [10],
  });
  const r = await ev.evaluate(letters);
  assert.deepEqual(
    r.perQuery[0].hits.map((h) => h.id),
    ["first", "second", "other"],
  );
  assert.equal(r.metrics["cosine_accuracy@1"], 0);
  assert.equal(r.metrics["cosine_accuracy@2"], 1);
  assert.equal(r.metrics["cosine_mrr@10"], 0.5);
  close(r.metrics["cosine_ndcg@10"], 0.6309297535714575, "1 / log2(3)");
  assert.equal(r.metrics["cosine_map@10"], 0.5);
});

test("fromSplit takes src/data's IRSplit (Maps); titled passages are embedded as title, newline, text", async () => {
  const seen: string[] = [];
  const recorder: Embedder = {
    name: "recorder",
    async encode(texts: string[]): Promise<Embeddings> {
      seen.push(...texts);
      return letters.encode(texts);
    },
  };
  const ev = InformationRetrievalEvaluator.fromSplit(
    {
      split: "test",
      queries: new Map([
        ["q1", "a"],
        ["q2", "c"],
      ]),
      corpus: new Map([
        ["p1", { _id: "p1", doc_id: "h1", title: "Leave", text: "bb" }],
        ["p2", { _id: "p2", doc_id: "h1", title: "", text: "a c" }],
      ]),
      relevant: new Map([
        ["q1", new Set(["p2"])],
        ["q2", new Set<string>()],
      ]),
    },
    { name: "policy-test", accuracyAtK: [1], precisionRecallAtK: [1], mrrAtK: [2], ndcgAtK: [2], mapAtK: [2] },
  );
  const r = await ev.evaluate(recorder);
  assert.deepEqual(seen.slice(0, 2), ["Leave\nbb", "a c"], "corpus texts as src/data's passageText writes them");
  assert.equal(r.droppedQueries, 1);
  assert.equal(r.metrics["policy-test_cosine_accuracy@1"], 1); // "a" = (1,0,0): p2 (1,0,1) scores 0.707, p1 (0,2,0) scores 0
});

test("bad input: unknown ids, duplicates, empty corpus, no relevant queries, foreign retriever", async () => {
  const base = { queries: { q1: "x" }, corpus: { d1: "a", d2: "b" } };
  assert.throws(
    () => new InformationRetrievalEvaluator({ ...base, relevantDocs: { q9: ["d1"] } }),
    /query id "q9" is not among the 1 queries/,
  );
  assert.throws(
    () => new InformationRetrievalEvaluator({ ...base, relevantDocs: { q1: ["d7"] } }),
    /query "q1" names corpus id "d7", which is not in the corpus/,
  );
  assert.throws(
    () =>
      new InformationRetrievalEvaluator({
        ...base,
        relevantDocs: [
          { queryId: "q1", corpusId: "d1", score: 1 },
          { queryId: "q1", corpusId: "d8", score: 0 },
        ],
      }),
    /query "q1" names corpus id "d8"/,
  );
  assert.throws(
    () => new InformationRetrievalEvaluator({ ...base, relevantDocs: [{ queryId: "q2", corpusId: "d1", score: 0 }] }),
    /query id "q2" is not among/,
  );
  assert.throws(
    () =>
      new InformationRetrievalEvaluator({
        ...base,
        queries: [
          { _id: "q1", text: "x" },
          { _id: "q1", text: "y" },
        ],
        relevantDocs: { q1: ["d1"] },
      }),
    /queries: duplicate id "q1" at entry 1/,
  );
  assert.throws(
    () =>
      new InformationRetrievalEvaluator({
        ...base,
        corpus: [
          { _id: "d1", text: "a" },
          { _id: "d1", text: "b" },
        ],
        relevantDocs: { q1: ["d1"] },
      }),
    /corpus: duplicate id "d1" at entry 1/,
  );
  assert.throws(() => new InformationRetrievalEvaluator({ ...base, corpus: {}, relevantDocs: {} }), /corpus is empty/);
  assert.throws(
    () => new InformationRetrievalEvaluator({ ...base, relevantDocs: { q1: [] } }),
    /none of the 1 queries has a relevant document/,
  );
  assert.throws(
    () => new InformationRetrievalEvaluator({ ...base, relevantDocs: { q1: "d1" as unknown as string[] } }),
    /must map to a list or set/,
  );
  assert.throws(
    () => new InformationRetrievalEvaluator({ ...base, relevantDocs: { q1: ["d1"] }, mapAtK: [0] }),
    /k=0 must be a positive integer/,
  );
  const ev = new InformationRetrievalEvaluator({ ...base, relevantDocs: { q1: ["d1"] } });
  const foreign: Retriever = {
    name: "foreign",
    scoreFunction: "dot",
    ids: ["d1"],
    retrieve: async () => [[{ id: "d1", score: 1 }]],
  };
  await assert.rejects(ev.evaluate(foreign), /foreign indexes 1 documents but the evaluator's corpus has 2/);
  assert.throws(
    () => ev.score("s", "dot", [[{ id: "zz", score: 1 }]]),
    /query "q1" retrieved "zz", which is not in the evaluator's corpus/,
  );
});
