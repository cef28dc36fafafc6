// POST /v1/search (src/serve/routes/search.ts): the server embeds the query with its model and answers the
// store's top-k with each passage's title and text, the same hits DenseRetriever gives, over a LanceDB table and
// over an in-memory index; filters; every bad field a 400 in OpenAI's error shape naming it; another model 404;
// a table that cannot be opened 503; no store, no route.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadShippedSplit } from "../src/data";
import { loadModel, type SentenceTransformer } from "../src/model/index";
import { DenseRetriever, openStore } from "../src/retrieval";
import { VectorIndex } from "../src/retrieval/vector-index";
import { createEmbeddingServer, type EmbeddingServer } from "../src/serve/index";

const split = loadShippedSplit("policy-handbook", "test");
const questions = [...split.queries.values()].slice(0, 4);
const dir = mkdtempSync(join(tmpdir(), "serve-search-"));
let model: SentenceTransformer;
let lance: DenseRetriever<Awaited<ReturnType<typeof openStore>>>;

before(async () => {
  model = await loadModel("offline");
  lance = await DenseRetriever.build(model, split.corpus, {
    store: await openStore(`lancedb:${dir}`, { table: "policy-offline", dim: model.dim, modelKey: "offline" }),
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function search(server: EmbeddingServer, body: unknown) {
  const res = await server.app.inject({
    method: "POST",
    url: "/v1/search",
    payload: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  return { status: res.statusCode, json: res.json() as Record<string, any> };
}

for (const kind of ["lancedb", "memory"] as const) {
  test(`/v1/search over ${kind}: the retriever's top-k with title and text, filters, usage`, async () => {
    const memory =
      kind === "memory"
        ? await DenseRetriever.build(model, split.corpus, { store: VectorIndex.create(model.dim) })
        : undefined;
    const retriever = memory ?? lance;
    const server = createEmbeddingServer({ model, modelName: "offline", store: retriever.index });
    try {
      await server.ready;
      for (const question of questions) {
        const { status, json } = await search(server, { model: "offline", query: question, top_k: 5 });
        assert.equal(status, 200, JSON.stringify(json));
        assert.deepEqual(Object.keys(json).sort(), ["model", "object", "results", "usage"]);
        const [expected] = await retriever.retrieve([question], 5);
        assert.deepEqual(
          json.results.map((r: { id: string }) => r.id),
          expected.map((h) => h.id),
        );
        json.results.forEach((r: { id: string; score: number; title: string; text: string }, i: number) => {
          assert.ok(Math.abs(r.score - expected[i].score) < 1e-5);
          assert.equal(r.title, split.corpus.get(r.id)?.title);
          assert.equal(r.text, split.corpus.get(r.id)?.text);
        });
        assert.ok(json.usage.prompt_tokens > 0 && json.usage.total_tokens === json.usage.prompt_tokens);
      }
      const title = split.corpus.get(lance.ids[0])?.title as string;
      const filtered = await search(server, { model: "offline", query: questions[0], filter: { title } });
      assert.equal(filtered.status, 200);
      assert.ok(filtered.json.results.length > 0, "the filter matches the passages of one title");
      for (const r of filtered.json.results) assert.equal(r.title, title);
      assert.equal(
        (await search(server, { model: "offline", query: questions[0] })).json.results.length,
        10,
        "top_k defaults to 10",
      );
    } finally {
      await server.close();
    }
  });
}

test("/v1/search errors: OpenAI's shape naming the field; another model 404; a store that failed 503; no store, no route", async () => {
  const server = createEmbeddingServer({ model, modelName: "offline", store: lance.index });
  const broken = createEmbeddingServer({
    model,
    modelName: "offline",
    store: openStore(`lancedb:${dir}`, { table: "absent", dim: model.dim, modelKey: "offline", mode: "open" }),
  });
  const none = createEmbeddingServer({ model, modelName: "offline" });
  try {
    await Promise.all([server.ready, broken.ready, none.ready]);
    for (const [body, param, status] of [
      [{ query: "leave" }, "model", 400],
      [{ model: "offline" }, "query", 400],
      [{ model: "offline", query: "   " }, "query", 400],
      [{ model: "offline", query: "leave", top_k: 0 }, "top_k", 400],
      [{ model: "offline", query: "leave", top_k: 101 }, "top_k", 400],
      [{ model: "offline", query: "leave", filter: { doc_id: { $ne: 1 } } }, "filter", 400],
      [{ model: "offline", query: "leave", filter: { no_such_column: "x" } }, null, 500],
      [{ model: "other", query: "leave" }, "model", 404],
    ] as const) {
      const { status: got, json } = await search(server, body);
      assert.equal(got, status, JSON.stringify(body));
      assert.deepEqual(Object.keys(json.error).sort(), ["code", "message", "param", "type"]);
      if (param) assert.equal(json.error.param, param);
    }
    const failed = await search(broken, { model: "offline", query: "leave" });
    assert.equal(failed.status, 503);
    assert.match(failed.json.error.message, /absent\.lance: no such LanceDB table/);
    assert.equal((await search(none, { model: "offline", query: "leave" })).status, 404);
  } finally {
    await Promise.all([server.close(), broken.close(), none.close()]);
  }
});
