// POST /v1/rerank on the embedding server with a real OnnxCrossEncoder on a random-weight BERT cross-encoder folder:
// the Jina / Cohere response shape, scores equal to the scorer's predict, top_n / return_documents / {text}
// documents / raw_scores, usage from tokenCounts, concurrent requests sharing batches, metrics, and every error in
// OpenAI's shape (empty documents, top_n out of range, too many documents, wrong model, bad JSON, body and token
// limits, auth, a re-ranker still loading).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OnnxCrossEncoder } from "../src/rerank/onnx-scorer";
import { createEmbeddingServer, type EmbeddingServer, type ServableModel } from "../src/serve/index";
import { metricValue } from "../src/serve/metrics";
import { writeCrossEncoderFolder } from "./fixtures/rerank/folder";

/** The embedding side is not under test here: a model that is never asked to embed. */
const stubModel: ServableModel = {
  name: "stub-embedder",
  dim: 2,
  maxSeqLength: 16,
  tokenizer: { encodeContent: () => [1], encode: () => ({ ids: [1] }), decode: () => "", vocabSize: 10 },
  encode: async () => {
    throw new Error("not used");
  },
};

let scorer: OnnxCrossEncoder;
let server: EmbeddingServer;
const DOCS = [
  "Employees accrue twenty days of paid time off per year.",
  "The cafeteria opens at eight.",
  "Remote work needs a manager's approval.",
  "Receipts over $25 need an itemised invoice.",
  "PTO requests go to your manager two weeks ahead.",
];
const QUERY = "How many PTO days do I get?";

before(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "serve-rerank-")), "reranker");
  writeCrossEncoderFolder(dir);
  scorer = await OnnxCrossEncoder.load(dir, { threads: 1, name: "tiny-reranker" });
  server = createEmbeddingServer({
    model: stubModel,
    reranker: scorer,
    maxInputs: 8,
    maxBodyBytes: 16 * 1024,
    maxRequestTokens: 400,
  });
  await server.ready;
});
after(async () => {
  await server.close();
  await scorer.release();
});

async function rerank(body: unknown, s = server, headers: Record<string, string> = {}) {
  const res = await s.app.inject({
    method: "POST",
    url: "/v1/rerank",
    payload: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.statusCode, json: res.json() as Record<string, any>, headers: res.headers };
}

function assertError(
  r: { status: number; json: Record<string, any> },
  status: number,
  param: string | null,
  code: string,
) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.deepEqual(Object.keys(r.json), ["error"]);
  assert.deepEqual(Object.keys(r.json.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(r.json.error.param, param);
  assert.equal(r.json.error.code, code);
  assert.ok(r.json.error.message.length > 10);
}

test("results are sorted by the scorer's predict, with index into documents and usage from tokenCounts", async () => {
  const r = await rerank({ model: "tiny-reranker", query: QUERY, documents: DOCS });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ["id", "model", "results", "usage"]);
  assert.equal(r.json.model, "tiny-reranker");
  const scores = await scorer.predict(DOCS.map((d) => [QUERY, d] as const));
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  assert.deepEqual(
    r.json.results.map((x: any) => x.index),
    order.map((o) => o[1]),
  );
  for (const x of r.json.results) {
    assert.deepEqual(Object.keys(x).sort(), ["index", "relevance_score"]);
    assert.ok(Math.abs(x.relevance_score - scores[x.index]) < 1e-6);
    assert.ok(x.relevance_score > 0 && x.relevance_score < 1);
  }
  const total = scorer.tokenCounts(DOCS.map((d) => [QUERY, d] as const)).reduce((a, b) => a + b, 0);
  assert.deepEqual(r.json.usage, { total_tokens: total });
  assert.equal(r.headers["x-total-tokens"], String(total));
});

test("top_n, return_documents, {text} documents (Cohere v2) and raw_scores (the logit)", async () => {
  const full = await rerank({ model: "tiny-reranker", query: QUERY, documents: DOCS });
  const r = await rerank({
    model: "tiny-reranker",
    query: QUERY,
    documents: DOCS.map((text) => ({ text })),
    top_n: 2,
    return_documents: true,
  });
  assert.equal(r.status, 200);
  assert.equal(r.json.results.length, 2);
  r.json.results.forEach((x: any, i: number) => {
    assert.equal(x.index, full.json.results[i].index);
    assert.ok(Math.abs(x.relevance_score - full.json.results[i].relevance_score) < 1e-6);
    assert.deepEqual(x.document, { text: DOCS[x.index] });
  });
  const all = await rerank({ model: "tiny-reranker", query: QUERY, documents: DOCS, top_n: 50 });
  assert.equal(all.json.results.length, DOCS.length, "a top_n above the documents' count returns them all");
  const raw = await rerank({ model: "tiny-reranker", query: QUERY, documents: DOCS, raw_scores: true });
  const logits = await scorer.predict(
    DOCS.map((d) => [QUERY, d] as const),
    { activation: "identity" },
  );
  for (const x of raw.json.results) assert.ok(Math.abs(x.relevance_score - logits[x.index]) < 1e-5);
});

test("concurrent requests share re-ranker batches and get the scores they would get alone", async () => {
  const before = metricValue((await server.app.inject({ url: "/metrics" })).body, "rerank_batch_size_count") ?? 0;
  const queries = ["pto days", "cafeteria hours", "remote work", "receipts", "manager approval", "invoice"];
  const together = await Promise.all(
    queries.map((q) => rerank({ model: "tiny-reranker", query: q, documents: DOCS.slice(0, 3) })),
  );
  const metrics = (await server.app.inject({ url: "/metrics" })).body;
  const batches = (metricValue(metrics, "rerank_batch_size_count") ?? 0) - before;
  assert.ok(batches >= 1 && batches < queries.length, `${queries.length} requests took ${batches} batches`);
  for (const [i, q] of queries.entries()) {
    const alone = await scorer.predict(DOCS.slice(0, 3).map((d) => [q, d] as const));
    for (const x of together[i].json.results) assert.ok(Math.abs(x.relevance_score - alone[x.index]) < 1e-5);
  }
  assert.ok((metricValue(metrics, 'embed_requests_total{route="/v1/rerank",status="200"}') ?? 0) >= queries.length);
  assert.ok((metricValue(metrics, "rerank_documents_total") ?? 0) >= 3 * queries.length);
  assert.match(metrics, /^rerank_request_duration_seconds_count \d+$/m);
});

test("errors in OpenAI's shape: empty documents, top_n out of range, too many documents, wrong model, bad JSON", async () => {
  const base = { model: "tiny-reranker", query: QUERY };
  assertError(await rerank({ ...base, documents: [] }), 400, "documents", "empty_documents");
  assertError(await rerank({ ...base }), 400, "documents", "missing_documents");
  assertError(await rerank({ ...base, documents: "one string" }), 400, "documents", null as unknown as string);
  assertError(await rerank({ ...base, documents: ["a", 3] }), 400, "documents", "invalid_document");
  for (const top_n of [0, -1, 1.5, "2"])
    assertError(await rerank({ ...base, documents: DOCS, top_n }), 400, "top_n", "invalid_top_n");
  assertError(await rerank({ ...base, documents: Array(9).fill("doc") }), 400, "documents", "too_many_documents");
  assertError(await rerank({ model: "gpt-4", query: QUERY, documents: DOCS }), 404, "model", "model_not_found");
  assertError(await rerank({ query: QUERY, documents: DOCS }), 400, "model", "missing_model");
  assertError(await rerank({ model: "tiny-reranker", documents: DOCS }), 400, "query", "missing_query");
  assertError(await rerank({ ...base, query: "", documents: DOCS }), 400, "query", "invalid_query");
  assertError(
    await rerank({ ...base, documents: DOCS, return_documents: "yes" }),
    400,
    "return_documents",
    null as unknown as string,
  );
  assertError(await rerank('{"model": "tiny-reranker", "query": '), 400, null, "invalid_json");
  assertError(await rerank([1, 2]), 400, null, "invalid_request");
});

test("limits: request tokens (400), pair tokens (400), body size (413); auth and loading as on every route", async () => {
  const base = { model: "tiny-reranker", query: QUERY };
  const long = "vacation ".repeat(60); // each pair is cut to the model's 64 tokens: 8 pairs x 64 > 400
  assertError(await rerank({ ...base, documents: Array(8).fill(long) }), 400, "documents", "max_tokens_per_request");
  assertError(await rerank({ ...base, documents: ["x".repeat(20_000)] }), 413, null, "request_too_large");
  const tight = createEmbeddingServer({ model: stubModel, reranker: scorer, maxInputTokens: 20, apiKey: "sk-test" });
  await tight.ready;
  assertError(await rerank({ ...base, documents: ["hi"] }, tight), 401, null, "invalid_api_key");
  const auth = { authorization: "Bearer sk-test" };
  assert.equal((await rerank({ ...base, documents: ["hi"] }, tight, auth)).status, 200);
  assertError(await rerank({ ...base, documents: ["hi", long] }, tight, auth), 400, "documents", "input_too_long");
  await tight.close();
  let resolve: (s: OnnxCrossEncoder) => void = () => undefined;
  const loading = createEmbeddingServer({
    model: stubModel,
    reranker: new Promise<OnnxCrossEncoder>((r) => {
      resolve = r;
    }),
    rerankerName: "later",
  });
  await loading.ready;
  const early = await rerank({ model: "later", query: QUERY, documents: DOCS }, loading);
  assertError(early, 503, null, "model_loading");
  assert.equal(early.headers["retry-after"], "2");
  resolve(scorer);
  await new Promise((r) => setImmediate(r));
  assert.equal((await rerank({ model: "later", query: QUERY, documents: DOCS }, loading)).status, 200);
  await loading.close();
});
