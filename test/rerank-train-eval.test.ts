// Training and measuring a cross-encoder: examples from mined rows (random negatives mixed in), trainCrossEncoder's
// loop (loss goes down on a learnable toy task, same seed = same weights, keep-best, an interrupted run resumes to the
// same weights), the three losses on a real batch, CrossEncoderRerankingEvaluator's metrics (hand-computed values,
// realistic vs always-rerank-positives) and RerankedRetriever measured by the InformationRetrievalEvaluator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../src/backend";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";
import { BM25Retriever } from "../src/retrieval/bm25";
import type { CrossEncoder } from "../src/rerank/cross-encoder";
import { tinyCrossEncoder } from "./fixtures/rerank/tiny";
import { rerankingExamples } from "../src/rerank/data";
import { CrossEncoderRerankingEvaluator, rankingMetrics } from "../src/rerank/evaluate";
import { RerankedRetriever } from "../src/rerank/reranked-retriever";
import {
  BinaryCrossEntropyLoss,
  ListNetLoss,
  MultipleNegativesRankingLoss,
  type RerankExample,
} from "../src/rerank/losses";
import { trainCrossEncoder } from "../src/rerank/train";
import type { PairScorer, RankedPassage, TextPair } from "../src/rerank/types";

function tiny(seed = 11): CrossEncoder {
  return tinyCrossEncoder(seed, { range: 0.02, maxLength: 64 });
}

/** A scorer that counts shared words: enough to re-rank toy data predictably. */
class OverlapScorer implements PairScorer {
  readonly name = "overlap";
  readonly maxLength = 512;
  async predict(pairs: readonly TextPair[]): Promise<number[]> {
    return pairs.map(([q, p]) => {
      const words = new Set(q.toLowerCase().split(/\W+/));
      return p
        .toLowerCase()
        .split(/\W+/)
        .filter((w) => w && words.has(w)).length;
    });
  }
  async rank(query: string, passages: readonly string[]): Promise<RankedPassage[]> {
    const s = await this.predict(passages.map((p) => [query, p] as const));
    return s
      .map((score, corpusId) => ({ corpusId, score, text: passages[corpusId] }))
      .sort((a, b) => b.score - a.score || a.corpusId - b.corpusId);
  }
  tokenCounts(pairs: readonly TextPair[]): number[] {
    return pairs.map(([q, p]) => q.split(" ").length + p.split(" ").length);
  }
}

test("rankingMetrics: MRR@k, NDCG@k and AP as sentence-transformers computes them (hand values)", () => {
  const m = rankingMetrics([false, true, false, true], 0, 10);
  assert.equal(m["mrr@10"], 0.5);
  assert.ok(Math.abs(m["ndcg@10"] - (1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3))) < 1e-12);
  assert.equal(m.map, (1 / 2 + 2 / 4) / 2);
  const missed = rankingMetrics([true, false], 1, 10); // a positive not retrieved counts below everything
  assert.ok(Math.abs(missed["ndcg@10"] - (1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3))) < 1e-12);
  assert.equal(missed.map, (1 + 2 / 3) / 2);
  assert.equal(rankingMetrics([false, false, true], 0, 2)["mrr@2"], 0);
});

test("CrossEncoderRerankingEvaluator: realistic mode keeps a missed positive missed; always mode re-ranks it in", async () => {
  const samples = [
    {
      query: "annual leave days",
      positive: ["you get 25 annual leave days"],
      documents: ["parking rules", "you get 25 annual leave days"],
    },
    { query: "expense approval", positive: ["manager expense approval"], documents: ["parking rules", "office hours"] },
  ];
  const realistic = new CrossEncoderRerankingEvaluator({ samples, alwaysRerankPositives: false });
  const r = await realistic.evaluate(new OverlapScorer());
  assert.equal(r["mrr@10"], 0.5, "query 1 re-ranked to rank 1, query 2's positive missed: (1 + 0) / 2");
  assert.equal(r["base_mrr@10"], 0.25, "first stage: rank 2, missed");
  const always = await new CrossEncoderRerankingEvaluator({ samples }).evaluate(new OverlapScorer());
  assert.equal(always["mrr@10"], 1);
  const cmp = await realistic.compare(new OverlapScorer(), { resamples: 200 });
  assert.equal(cmp.gains["mrr@10"].estimate, 0.25);
  assert.ok(cmp.gains["mrr@10"].low <= 0.25 && cmp.gains["mrr@10"].high >= 0.25);
  assert.equal(cmp.perQuery.length, 2);
});

test("RerankedRetriever is a Retriever: the IR evaluator measures BM25 re-ranked; hits below the depth keep BM25's order", async () => {
  const corpus = [
    { _id: "d1", text: "annual leave policy: 25 days of annual leave per year" },
    { _id: "d2", text: "leave the building by the north exit in case of fire" },
    { _id: "d3", text: "expense claims are approved by your manager" },
    { _id: "d4", text: "annual report of the company" },
    { _id: "d5", text: "parking is not available at the office" },
  ];
  const bm25 = new BM25Retriever(corpus);
  const reranked = new RerankedRetriever(bm25, new OverlapScorer(), corpus, { topK: 3 });
  assert.deepEqual(reranked.ids, bm25.ids);
  const [first] = await bm25.retrieve(["how many annual leave days per year"], 5);
  const [hits] = await reranked.retrieve(["how many annual leave days per year"], 5);
  assert.equal(hits.length, 5);
  assert.deepEqual(
    hits.slice(3).map((h) => h.id),
    first.slice(3).map((h) => h.id),
    "below the depth: the first stage's order",
  );
  assert.ok(hits[2].score > hits[3].score);
  assert.deepEqual(new Set(hits.slice(0, 3).map((h) => h.id)), new Set(first.slice(0, 3).map((h) => h.id)));
  const evaluator = new InformationRetrievalEvaluator({
    queries: { q1: "how many annual leave days per year", q2: "who approves expense claims" },
    corpus,
    relevantDocs: { q1: ["d1"], q2: ["d3"] },
  });
  const result = await evaluator.evaluate(reranked);
  assert.equal(result.system, "BM25 + overlap@3");
  assert.equal(result.values["mrr@10"], 1);
});

test("rerankingExamples: labeled pairs and n-tuples from mined rows, random negatives mixed in (never a positive)", () => {
  const corpus = ["p1", "p2", "n1", "n2", "r1", "r2", "r3"];
  const pairs = rerankingExamples(
    [
      { anchor: "q1", positive: "p1", label: 1 },
      { anchor: "q1", positive: "n1", label: 0 },
      { anchor: "q2", positive: "p2", label: 1 },
    ],
    { corpus, randomNegatives: 2 },
  );
  assert.equal(pairs.length, 3 + 4);
  for (const ex of pairs.slice(3)) {
    assert.equal(ex.kind, "labeled-pair");
    if (ex.kind !== "labeled-pair") continue;
    assert.equal(ex.label, 0);
    assert.ok(!(ex.query === "q1" && ["p1", "n1"].includes(ex.passage)) && !(ex.query === "q2" && ex.passage === "p2"));
  }
  const tuples = rerankingExamples([{ anchor: "q1", positive: "p1", negative_1: "n1", negative_2: "n2" }], {
    corpus,
    randomNegatives: 1,
  });
  assert.equal(tuples[0].kind, "n-tuple");
  if (tuples[0].kind === "n-tuple") {
    assert.deepEqual(tuples[0].negatives.slice(0, 2), ["n1", "n2"]);
    assert.equal(tuples[0].negatives.length, 3);
    assert.ok(!["p1", "n1", "n2"].includes(tuples[0].negatives[2]));
  }
  assert.throws(() => rerankingExamples([{ anchor: "q", positive: "p" }], { randomNegatives: 1 }), /needs a corpus/);
});

// A learnable toy task: passages that answer "leave" questions vs. unrelated ones.
const TOPICS = ["leave", "expenses", "parking", "laptops", "training", "payroll"];
const TRAIN: RerankExample[] = TOPICS.flatMap((t, i) => [
  { kind: "labeled-pair" as const, query: `question about ${t}`, passage: `the policy on ${t} says this`, label: 1 },
  {
    kind: "labeled-pair" as const,
    query: `question about ${t}`,
    passage: `the policy on ${TOPICS[(i + 1) % TOPICS.length]} says this`,
    label: 0,
  },
]);

test("trainCrossEncoder (BCE): loss falls, same seed = same weights, keep-best, an interrupted run resumes to the same weights", async () => {
  await initBackend();
  const opts = { loss: new BinaryCrossEntropyLoss(), epochs: 4, batchSize: 4, learningRate: 1e-3, seed: 3 };
  const a = tiny();
  const ra = await trainCrossEncoder(a, TRAIN, opts);
  assert.equal(ra.steps, 12);
  const losses = ra.history.filter((e) => e.kind === "train").map((e) => (e as { loss: number }).loss);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)), `loss ${losses.map((l) => l.toFixed(3)).join(" ")}`);
  const b = tiny();
  await trainCrossEncoder(b, TRAIN, opts);
  const pairs = TRAIN.map((e) => (e.kind === "labeled-pair" ? ([e.query, e.passage] as const) : (["", ""] as const)));
  assert.deepEqual(await a.predict(pairs), await b.predict(pairs), "same seed, same weights");

  const evaluator = new CrossEncoderRerankingEvaluator({
    samples: TOPICS.map((t, i) => ({
      query: `question about ${t}`,
      positive: [`the policy on ${t} says this`],
      negative: [
        `the policy on ${TOPICS[(i + 1) % TOPICS.length]} says this`,
        `the policy on ${TOPICS[(i + 2) % 6]} says this`,
      ],
    })),
  });
  const out = mkdtempSync(join(tmpdir(), "ce-train-"));
  const c = tiny();
  let stopAt: number | undefined = 6;
  await assert.rejects(
    trainCrossEncoder(c, TRAIN, {
      ...opts,
      evaluator,
      evalSteps: 3,
      outputDir: out,
      checkpointSteps: 3,
      onLog: (e) => {
        if (stopAt !== undefined && e.kind === "train" && e.step === stopAt) throw new Error("interrupted");
      },
    }),
    /interrupted/,
  );
  c.dispose();
  stopAt = undefined;
  const d = tiny();
  const rd = await trainCrossEncoder(d, TRAIN, {
    ...opts,
    evaluator,
    evalSteps: 3,
    outputDir: out,
    checkpointSteps: 3,
  });
  assert.ok(rd.resumedFrom?.endsWith("checkpoint-000003"), rd.resumedFrom);
  assert.deepEqual(
    await d.predict(pairs),
    await a.predict(pairs),
    "resumed run ends with the uninterrupted run's weights",
  );
  assert.ok(
    rd.best && existsSync(join(out, "best", "model.safetensors")) && existsSync(join(out, "final", "config.json")),
  );
  assert.ok(rd.history.filter((e) => e.kind === "eval").length >= 3);
  for (const m of [a, b, d]) m.dispose();
});

test("MultipleNegativesRankingLoss and ListNetLoss train on n-tuples; a loss refuses rows of the wrong kind", async () => {
  await initBackend();
  const tuples = rerankingExamples(
    TOPICS.map((t, i) => ({
      anchor: `question about ${t}`,
      positive: `the policy on ${t} says this`,
      negative_1: `the policy on ${TOPICS[(i + 1) % 6]} says this`,
    })),
  );
  for (const loss of [new MultipleNegativesRankingLoss({ numNegatives: 2 }), new ListNetLoss()]) {
    const m = tiny();
    const r = await trainCrossEncoder(m, tuples, { loss, epochs: 2, batchSize: 3, learningRate: 1e-3 });
    assert.equal(r.steps, 4);
    assert.ok(Number.isFinite(r.trainLoss) && r.trainLoss > 0, `${loss.name}: ${r.trainLoss}`);
    m.dispose();
  }
  const m = tiny();
  await assert.rejects(
    trainCrossEncoder(m, TRAIN, { loss: new ListNetLoss() }),
    /ListNetLoss takes list \/ n-tuple rows/,
  );
  await assert.rejects(trainCrossEncoder(m, tuples, { loss: new BinaryCrossEntropyLoss() }), /takes labeled-pair rows/);
  m.dispose();
});

test("freezeEmbeddings trains the layers and the head only; fromRetriever builds realistic samples from a first stage", async () => {
  await initBackend();
  const m = tiny();
  const words = () => Array.from(m.encoder.variables.get("embeddings.word_embeddings.weight")?.dataSync() ?? []);
  const head = () => Array.from(m.head.get("classifier.weight")?.dataSync() ?? []);
  const [w0, h0] = [words(), head()];
  await trainCrossEncoder(m, TRAIN.slice(0, 4), {
    loss: new BinaryCrossEntropyLoss(),
    batchSize: 4,
    learningRate: 1e-3,
    freezeEmbeddings: true,
  });
  assert.deepEqual(words(), w0, "embeddings unchanged");
  assert.notDeepEqual(head(), h0, "the head trained");
  m.dispose();
  const corpus = new Map([
    ["d1", { _id: "d1", title: "", text: "annual leave days per year" }],
    ["d2", { _id: "d2", title: "", text: "expense claims approval" }],
    ["d3", { _id: "d3", title: "", text: "parking at the office" }],
  ]);
  const bm25 = new BM25Retriever([...corpus.values()]);
  const evaluator = await CrossEncoderRerankingEvaluator.fromRetriever(
    bm25,
    {
      queries: new Map([
        ["q1", "annual leave"],
        ["q2", "unrelated words"],
      ]),
      corpus,
      relevant: new Map([
        ["q1", new Set(["d1"])],
        ["q2", new Set(["d3"])],
      ]),
    },
    { topK: 2 },
  );
  assert.equal(evaluator.alwaysRerankPositives, false);
  assert.equal(evaluator.samples.length, 2);
  assert.equal(evaluator.samples[0].documents?.length, 2);
  assert.deepEqual(evaluator.samples[0].positive, ["annual leave days per year"]);
});
