// The LangChain Embeddings wrapper gives exactly our encode()'s vectors, with Python's prompt rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadModel, SentenceTransformer } from "../src/model";
import { SentenceTransformerEmbeddings } from "../src/rag";
import { matrixRows, modelPrompts } from "../src/rag/embeddings";

const texts = ["How many PTO days do I get?", "Parental leave lasts sixteen weeks.", "WFH needs manager approval."];

test("embedDocuments / embedQuery return encode()'s vectors, row for row", async () => {
  const model = await loadModel("offline");
  const emb = new SentenceTransformerEmbeddings({ model });
  const expected = matrixRows(await model.encode(texts));
  const docs = await emb.embedDocuments(texts);
  assert.equal(docs.length, 3);
  assert.deepEqual(docs, expected);
  assert.deepEqual(await emb.embedQuery(texts[1]), expected[1]);
  assert.deepEqual(await emb.embedQueries(texts), expected);
  assert.deepEqual(await emb.embedDocuments([]), []);
  assert.ok(Math.abs(Math.hypot(...docs[0]) - 1) < 1e-6, "unit length by default");
});

test("normalize: true rescales a model without Normalize; false keeps its raw vectors", async () => {
  const base = await loadModel("offline");
  const raw = new SentenceTransformer({
    name: "raw",
    source: "test",
    tokenizer: base.tokenizer,
    staticEmbedding: base.staticEmbedding,
    normalize: false,
  });
  const unnormalised = matrixRows(await raw.encode(texts));
  assert.ok(
    Math.abs(Math.hypot(...unnormalised[0]) - 1) > 1e-3,
    "the raw model is not unit length (else this test proves nothing)",
  );
  const v = await new SentenceTransformerEmbeddings({ model: raw }).embedQuery(texts[0]);
  const n = Math.hypot(...unnormalised[0]);
  v.forEach((x, i) => assert.ok(Math.abs(x - unnormalised[0][i] / n) < 1e-6));
  // One text alone against the same text in a batch of two: BLAS may sum in another order per batch shape
  // (seen on an AVX2 machine), so equal within float32 rounding, not bit for bit.
  const kept = await new SentenceTransformerEmbeddings({ model: raw, normalize: false }).embedQuery(texts[0]);
  assert.equal(kept.length, unnormalised[0].length);
  kept.forEach((x, i) =>
    assert.ok(Math.abs(x - unnormalised[0][i]) < 1e-6, `dimension ${i}: ${x} vs ${unnormalised[0][i]}`),
  );
});

test("prompts: query gets prompts.query, documents the first of document / passage / corpus", async () => {
  assert.deepEqual(modelPrompts({}), { query: "", document: "" });
  assert.deepEqual(modelPrompts({ query: "q: ", passage: "p: ", corpus: "c: " }), { query: "q: ", document: "p: " });
  assert.deepEqual(modelPrompts({ query: "q: ", document: "d: ", passage: "p: " }), { query: "q: ", document: "d: " });
  const base = await loadModel("offline");
  const prompted = new SentenceTransformer({
    name: "prompted",
    source: "test",
    tokenizer: base.tokenizer,
    staticEmbedding: base.staticEmbedding,
    normalize: true,
    stConfig: { prompts: { query: "query: search for ", passage: "passage: " } },
  });
  assert.deepEqual(prompted.prompts, { query: "query: search for ", passage: "passage: " });
  const emb = new SentenceTransformerEmbeddings({ model: prompted });
  assert.deepEqual(
    await emb.embedQuery("parental leave"),
    matrixRows(await prompted.encode(["query: search for parental leave"]))[0],
  );
  assert.deepEqual(
    await emb.embedDocuments(["parental leave"]),
    matrixRows(await prompted.encode(["passage: parental leave"])),
  );
  assert.notDeepEqual(await emb.embedQuery("parental leave"), matrixRows(await prompted.encode(["parental leave"]))[0]);
  const off = new SentenceTransformerEmbeddings({ model: prompted, queryPrompt: "" });
  assert.deepEqual(await off.embedQuery("parental leave"), matrixRows(await prompted.encode(["parental leave"]))[0]);
});

test("a model that pools without its prompt is refused when a prompt would apply", async () => {
  const base = await loadModel("offline-bert");
  const pooling = { ...(base.pooling as NonNullable<typeof base.pooling>), include_prompt: false };
  const m = new SentenceTransformer({
    name: "instructor-like",
    source: "test",
    tokenizer: base.tokenizer,
    encoder: base.encoder,
    pooling,
    normalize: true,
    stConfig: { prompts: { query: "Represent the question: " } },
  });
  assert.throws(() => new SentenceTransformerEmbeddings({ model: m }), /include_prompt false.*queryPrompt: ""/);
  assert.doesNotThrow(() => new SentenceTransformerEmbeddings({ model: m, queryPrompt: "", documentPrompt: "" }));
});
