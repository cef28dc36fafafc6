// RerankedRetriever over a stand-in first stage and a stand-in pair scorer (both exact, so every rank is known):
// the top k re-ordered by the scorer, the tail after k kept in first-stage order below them, ties in first-stage
// order, a positive the first stage missed stays missed (CrossEncoderRerankingEvaluator's realistic mode), one
// predict() call for all queries, and the evaluator scoring it like any retriever.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";
import type { Retriever, SearchHit } from "../src/retrieval/types";
import { RerankedRetriever } from "../src/rerank/reranked-retriever";
import type { PairScorer, PredictOptions, RankedPassage, TextPair } from "../src/rerank/types";

const CORPUS = [
  { _id: "d0", title: "Leave", text: "vacation days accrue monthly" },
  { _id: "d1", text: "the cafeteria opens at eight" },
  { _id: "d2", text: "vacation carry-over is capped" },
  { _id: "d3", text: "laptops must be encrypted" },
  { _id: "d4", text: "vacation requests need approval" },
  { _id: "d5", text: "parking permits renew yearly" },
];

/** Retrieves a fixed order per query (its ids, best first). */
class FixedRetriever implements Retriever {
  readonly name = "fixed";
  readonly scoreFunction = "fixed";
  readonly ids = CORPUS.map((d) => d._id);
  constructor(private readonly order: Record<string, string[]>) {}
  async retrieve(queries: string[], k: number): Promise<SearchHit[][]> {
    return queries.map((q) => this.order[q].slice(0, k).map((id, i) => ({ id, score: 100 - i })));
  }
}

/** Scores a pair by how many of the query's words the passage has. */
class WordScorer implements PairScorer {
  readonly name = "words";
  readonly maxLength = 64;
  calls: TextPair[][] = [];
  async predict(pairs: readonly TextPair[], _o?: PredictOptions): Promise<number[]> {
    this.calls.push([...pairs]);
    return pairs.map(([q, p]) => q.split(" ").filter((w) => p.includes(w)).length);
  }
  async rank(): Promise<RankedPassage[]> {
    throw new Error("not used");
  }
  tokenCounts(pairs: readonly TextPair[]): number[] {
    return pairs.map(([q, p]) => q.split(" ").length + p.split(" ").length + 3);
  }
}

test("the first stage's top k is re-ordered by the scorer; the rest follows in first-stage order", async () => {
  const first = new FixedRetriever({ "vacation approval": ["d1", "d3", "d0", "d4", "d5", "d2"] });
  const scorer = new WordScorer();
  const r = new RerankedRetriever(first, scorer, CORPUS, { topK: 4 });
  assert.equal(r.name, "fixed + words@4");
  const [hits] = await r.retrieve(["vacation approval"], 6);
  // d4 has both words, d0 one (its title is in the text it is scored on), d1 / d3 none: tie -> first-stage order.
  assert.deepEqual(
    hits.map((h) => h.id),
    ["d4", "d0", "d1", "d3", "d5", "d2"],
  );
  assert.deepEqual(
    hits.map((h) => h.score),
    [2, 1, 0, 0, -1, -2],
  );
  assert.deepEqual(scorer.calls[0][2], ["vacation approval", "Leave\nvacation days accrue monthly"]);
  // d2 ("vacation") is outside the top 4: it stays below every re-ranked hit, as the first stage left it.
  const [short] = await r.retrieve(["vacation approval"], 2);
  assert.deepEqual(
    short.map((h) => h.id),
    ["d4", "d0"],
  );
});

test("realistic mode: a relevant passage the first stage missed stays missed; all queries in one predict()", async () => {
  const first = new FixedRetriever({
    "vacation approval": ["d1", "d3", "d5", "d0", "d2", "d4"],
    "laptops encrypted": ["d0", "d3", "d1", "d2", "d4", "d5"],
  });
  const scorer = new WordScorer();
  const r = new RerankedRetriever(first, scorer, CORPUS, { topK: 3 });
  const evaluator = new InformationRetrievalEvaluator({
    queries: [
      { _id: "q1", text: "vacation approval" },
      { _id: "q2", text: "laptops encrypted" },
    ],
    corpus: CORPUS,
    relevantDocs: { q1: ["d4"], q2: ["d3"] },
    mrrAtK: [3],
    ndcgAtK: [3],
    accuracyAtK: [1, 3],
    precisionRecallAtK: [3],
    mapAtK: [6],
  });
  const res = await evaluator.evaluate(r);
  assert.equal(scorer.calls.length, 1, "one predict() for every query's candidates");
  assert.equal(scorer.calls[0].length, 6);
  const byQuery = new Map(res.perQuery.map((p) => [p.queryId, p]));
  // q1's positive d4 is first-stage rank 6, outside the re-ranked top 3: it stays at rank 6.
  assert.equal(byQuery.get("q1")?.firstRelevantRank, 6);
  assert.equal(byQuery.get("q1")?.metrics["accuracy@3"], 0);
  // q2's positive d3 is first-stage rank 2 and becomes rank 1.
  assert.equal(byQuery.get("q2")?.firstRelevantRank, 1);
  assert.equal(res.values["mrr@3"], 0.5);
  assert.equal(res.scoreFunction, "rerank");
});

test("a corpus other than the first stage's, or a bad topK, is refused", () => {
  const first = new FixedRetriever({});
  assert.throws(() => new RerankedRetriever(first, new WordScorer(), CORPUS.slice(1)), /not the one "fixed" indexes/);
  assert.throws(() => new RerankedRetriever(first, new WordScorer(), CORPUS, { topK: 0 }), /topK 0/);
});
