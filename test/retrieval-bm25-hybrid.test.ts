import { test } from "node:test";
import assert from "node:assert/strict";
import { BM25Retriever, tokenize } from "../src/retrieval/bm25";
import { HybridRetriever } from "../src/retrieval/hybrid";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";
import type { Retriever, SearchHit } from "../src/retrieval/types";

const close = (a: number, e: number, what: string) => assert.ok(Math.abs(a - e) < 1e-6, `${what}: ${a} != ${e}`);

const corpus = [
  { _id: "d1", text: "Cat sat mat" },
  { _id: "d2", text: "cat, CAT dog" },
  { _id: "d3", text: "dog barks" },
  { _id: "d4", text: "The bird" },
];

test("tokenize: lower case, letter/digit runs, stop words out", () => {
  assert.deepEqual(tokenize("The PTO policy, v2.1: it's 10 days!"), ["pto", "policy", "v2", "1", "s", "10", "days"]);
  assert.deepEqual(tokenize("Ärger über Öl"), ["ärger", "über", "öl"]);
});

test("BM25 scores equal a hand computation (k1 = 1.2, b = 0.75, Lucene idf)", async () => {
  const bm25 = new BM25Retriever(corpus);
  // N = 4; lengths 3, 3, 2, 1 ("the" is a stop word); avgdl = 9/4 = 2.25.
  assert.equal(bm25.avgdl, 2.25);
  // "cat": df 2, idf = ln(1 + 2.5/2.5) = ln 2.
  //   d1 tf 1, |d| 3: 1*2.2 / (1 + 1.2*(0.25 + 0.75*3/2.25)) = 2.2/2.5 = 0.88        -> 0.88 ln 2 = 0.609970
  //   d2 tf 2, |d| 3: 2*2.2 / (2 + 1.5) = 1.257143                                     -> 0.871385
  const [cat] = await bm25.retrieve(["cat"], 4);
  assert.deepEqual(
    cat.map((h) => h.id),
    ["d2", "d1", "d3", "d4"],
  ); // zero scores keep corpus order
  close(cat[0].score, 0.871385, "d2");
  close(cat[1].score, 0.60997, "d1");
  assert.equal(cat[2].score, 0);
  // "dog bird": idf(dog) = ln 2, idf(bird) = ln(1 + 3.5/1.5) = 1.203973.
  //   d3 dog tf 1, |d| 2: 2.2 / (1 + 1.2*(0.25 + 0.75*2/2.25)) = 2.2/2.1 = 1.047619 -> 1.047619 ln 2 = 0.726154
  //   d4 bird tf 1, |d| 1: 2.2 / (1 + 1.2*(0.25 + 0.75/2.25)) = 2.2/1.7 -> 1.294118 * 1.203973 = 1.558083
  const [dogBird] = await bm25.retrieve(["dog bird"], 3);
  assert.deepEqual(
    dogBird.map((h) => h.id),
    ["d4", "d3", "d2"],
  );
  close(dogBird[0].score, 1.558083, "d4");
  close(dogBird[1].score, 0.726154, "d3");
  close(dogBird[2].score, 0.60997, "d2");
  await assert.rejects(bm25.retrieve(["cat"], 5), /k=5 is larger than the corpus \(4 documents\)/);
  assert.throws(() => new BM25Retriever([]), /corpus is empty/);
  assert.throws(
    () =>
      new BM25Retriever([
        { _id: "a", text: "x" },
        { _id: "a", text: "y" },
      ]),
    /duplicate id "a"/,
  );
});

function fixed(name: string, order: string[]): Retriever {
  return {
    name,
    scoreFunction: "fixed",
    ids: ["d1", "d2", "d3", "d4"],
    async retrieve(queries: string[], k: number): Promise<SearchHit[][]> {
      return queries.map(() => order.slice(0, k).map((id, r) => ({ id, score: -r })));
    },
  };
}

test("reciprocal rank fusion equals a hand computation, ties in corpus order", async () => {
  // d1: 1/61 + 1/62 = 0.032522, d3: 1/63 + 1/61 = 0.032266, d2: 1/62 + 1/64 = 0.031754, d4: 1/64 + 1/63 = 0.031498
  const rrf = new HybridRetriever([fixed("A", ["d1", "d2", "d3", "d4"]), fixed("B", ["d3", "d1", "d4", "d2"])]);
  const [hits] = await rrf.retrieve(["q"], 4);
  assert.deepEqual(
    hits.map((h) => h.id),
    ["d1", "d3", "d2", "d4"],
  );
  close(hits[0].score, 1 / 61 + 1 / 62, "d1");
  assert.equal(rrf.name, "RRF(A + B)");
  // d2 and d1 tie exactly (1/61 + 1/62 each): corpus order puts d1 first.
  const tie = new HybridRetriever([fixed("A", ["d2", "d1", "d3", "d4"]), fixed("B", ["d1", "d2", "d4", "d3"])]);
  assert.deepEqual(
    (await tie.retrieve(["q"], 2))[0].map((h) => h.id),
    ["d1", "d2"],
  );
  // depth 2: A gives d1, d2; B gives d3, d1 -> d1 = 1/61 + 1/62, d3 = 1/61, d2 = 1/62; d4 absent
  const shallow = new HybridRetriever([fixed("A", ["d1", "d2", "d3", "d4"]), fixed("B", ["d3", "d1", "d4", "d2"])], {
    depth: 2,
  });
  assert.deepEqual(
    (await shallow.retrieve(["q"], 2))[0].map((h) => h.id),
    ["d1", "d3"],
  );
  // weights: B counts 3x -> d3 = 1/63 + 3/61 beats d1 = 1/61 + 3/62
  const weighted = new HybridRetriever([fixed("A", ["d1", "d2", "d3", "d4"]), fixed("B", ["d3", "d1", "d4", "d2"])], {
    weights: [1, 3],
  });
  assert.deepEqual(
    (await weighted.retrieve(["q"], 1))[0].map((h) => h.id),
    ["d3"],
  );
  const other: Retriever = { ...fixed("C", ["d1"]), ids: ["d1", "d2", "d3", "x"] };
  assert.throws(() => new HybridRetriever([fixed("A", []), other]), /"C" indexes a different corpus/);
});

test("BM25 and hybrid go through the same evaluator", async () => {
  const bm25 = new BM25Retriever(corpus);
  const ev = new InformationRetrievalEvaluator({
    queries: { q1: "cat", q2: "barks" },
    corpus,
    relevantDocs: { q1: ["d1"], q2: ["d3"] },
    accuracyAtK: [1],
    precisionRecallAtK: [1],
    mrrAtK: [4],
    ndcgAtK: [4],
    mapAtK: [4],
  });
  const r = await ev.evaluate(bm25);
  // q1 "cat": d2 ranks first, d1 second -> MRR 1/2; q2 "barks": d3 first -> 1.
  assert.equal(r.metrics["bm25_mrr@4"], 0.75);
  assert.equal(r.metrics["bm25_accuracy@1"], 0.5);
  const hybrid = await ev.evaluate(new HybridRetriever([bm25, fixed("A", ["d1", "d3", "d2", "d4"])]));
  // q1: bm25 d2,d1,d3,d4 + A d1,d3,d2,d4 -> d1 = 1/62 + 1/61 is first -> 1.
  // q2: bm25 d3,d1,d2,d4 + A d1,d3,d2,d4 -> d1 and d3 both 1/61 + 1/62: the tie goes to d1 (earlier) -> d3 at rank 2 -> 1/2.
  assert.deepEqual(
    hybrid.perQuery.map((q) => q.firstRelevantRank),
    [1, 2],
  );
  assert.equal(hybrid.metrics["rrf_mrr@4"], 0.75);
});
