// The OpenAI-compatible server: response shape, base64 bytes, dimensions, usage from our tokenizer, every
// error status (400 / 401 / 404 / 413 / 429 / 503) in OpenAI's shape, and the official `openai` client and
// LangChain's OpenAIEmbeddings working unchanged against it on loopback. Model: the embedded "offline" one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { OpenAIEmbeddings } from "@langchain/openai";
import { loadModel, type SentenceTransformer } from "../src/model/index";
import { createEmbeddingServer, defaultModelName, type EmbeddingServer } from "../src/serve/index";
import { toBase64, truncateAndNormalize } from "../src/serve/server";
import { DynamicBatcher } from "../src/serve/batcher";
import { metricValue } from "../src/serve/metrics";

let model: SentenceTransformer;
let server: EmbeddingServer;

before(async () => {
  model = await loadModel("offline");
  server = createEmbeddingServer({ model, modelName: "offline", maxInputs: 64, maxBodyBytes: 64 * 1024 });
  await server.ready;
});
after(async () => {
  await server.close();
});

async function post(body: unknown, headers: Record<string, string> = {}, s = server) {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  const res = await s.app.inject({
    method: "POST",
    url: "/v1/embeddings",
    payload,
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.statusCode, json: res.json() as Record<string, any>, headers: res.headers };
}

function assertOpenAIError(json: Record<string, any>, param: string | null = null) {
  assert.deepEqual(Object.keys(json), ["error"]);
  assert.deepEqual(Object.keys(json.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(typeof json.error.message, "string");
  assert.ok(json.error.message.length > 10);
  if (param !== null) assert.equal(json.error.param, param);
}

test("a string input gives OpenAI's response shape with the model's vector and usage from our tokenizer", async () => {
  const text = "How many PTO days do I get?";
  const { status, json } = await post({ input: text, model: "offline" });
  assert.equal(status, 200);
  assert.equal(json.object, "list");
  assert.equal(json.model, "offline");
  assert.equal(json.data.length, 1);
  assert.deepEqual(Object.keys(json.data[0]).sort(), ["embedding", "index", "object"]);
  assert.equal(json.data[0].object, "embedding");
  assert.equal(json.data[0].index, 0);
  const direct = await model.encode([text]);
  assert.equal(json.data[0].embedding.length, model.dim);
  json.data[0].embedding.forEach((v: number, i: number) => assert.equal(v, direct.data[i]));
  const n = model.tokenizer.encodeContent(text).length;
  assert.ok(n > 5);
  assert.deepEqual(json.usage, { prompt_tokens: n, total_tokens: n });
});

test("an array keeps its order; base64 is little-endian float32; dimensions truncates and re-normalises", async () => {
  const texts = ["sick leave policy", "parental leave", "expense reports and receipts"];
  const direct = await model.encode(texts);
  const f = await post({ input: texts, model: "offline" });
  const b = await post({ input: texts, model: "offline", encoding_format: "base64" });
  assert.equal(f.status, 200);
  assert.equal(b.status, 200);
  texts.forEach((_, i) => {
    assert.equal(f.json.data[i].index, i);
    const bytes = Buffer.from(b.json.data[i].embedding, "base64");
    assert.equal(bytes.length, model.dim * 4);
    for (let k = 0; k < model.dim; k++) assert.equal(bytes.readFloatLE(k * 4), direct.data[i * model.dim + k]);
  });
  const d = await post({ input: texts, model: "offline", dimensions: 8 });
  assert.equal(d.status, 200);
  const v: number[] = d.json.data[1].embedding;
  assert.equal(v.length, 8);
  const row = direct.data.subarray(model.dim, model.dim + 8);
  const norm = Math.hypot(...row);
  v.forEach((x, k) => assert.ok(Math.abs(x - row[k] / norm) < 1e-6));
  assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-6);
});

test("truncateAndNormalize and toBase64 by hand", () => {
  assert.deepEqual(
    Array.from(truncateAndNormalize(new Float32Array([3, 4, 12]), 2)),
    [0.6000000238418579, 0.800000011920929],
  );
  assert.equal(toBase64(new Float32Array([1, -2])), Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString("base64"));
});

test("the served model id: Hub id without revision, offline, a trained folder's parent-best", () => {
  assert.equal(
    defaultModelName("sentence-transformers/all-MiniLM-L6-v2@abc123"),
    "sentence-transformers/all-MiniLM-L6-v2",
  );
  assert.equal(defaultModelName("offline"), "offline");
  const dir = join(mkdtempSync(join(tmpdir(), "serve-name-")), "policy", "best");
  mkdirSync(dir, { recursive: true });
  assert.equal(defaultModelName(`${dir}/`), "policy-best");
});

test("token-id inputs are read as this model's ids", async () => {
  const ids = model.tokenizer.encodeContent("annual leave carry over");
  const a = await post({ input: ids, model: "offline" });
  const b = await post({ input: [ids, ids.slice(0, 2)], model: "offline" });
  const t = await post({ input: "annual leave carry over", model: "offline" });
  assert.equal(a.status, 200);
  assert.deepEqual(a.json.data[0].embedding, t.json.data[0].embedding);
  assert.equal(a.json.usage.prompt_tokens, ids.length);
  assert.equal(b.json.data.length, 2);
  assert.equal(b.json.usage.prompt_tokens, ids.length + 2);
  const bad = await post({ input: [1, 2, 999999], model: "offline" });
  assert.equal(bad.status, 400);
  assertOpenAIError(bad.json, "input");
  assert.match(bad.json.error.message, /input\[0\]\[2\] = 999999/);
});

test("400: malformed JSON, missing / empty / wrong-typed input, bad fields, too many inputs", async () => {
  const cases: [unknown, string | null, RegExp][] = [
    ['{"input": "x", "model": ', null, /not valid JSON/],
    [[1, 2], null, /JSON object/],
    [{ model: "offline" }, "input", /input/],
    [{ input: "", model: "offline" }, "input", /empty string/],
    [{ input: [], model: "offline" }, "input", /empty array/],
    [{ input: ["ok", 5], model: "offline" }, "input", /input\[1\] is a number/],
    [{ input: { text: "x" }, model: "offline" }, "input", /an object/],
    [{ input: "x" }, "model", /model/],
    [{ input: "x", model: "offline", encoding_format: "int8" }, "encoding_format", /float.*base64/],
    [{ input: "x", model: "offline", dimensions: 0 }, "dimensions", /1 to 256/],
    [{ input: "x", model: "offline", dimensions: 257 }, "dimensions", /1 to 256/],
    [{ input: Array(65).fill("x"), model: "offline" }, "input", /Too many inputs: 65; at most 64/],
  ];
  for (const [body, param, re] of cases) {
    const { status, json } = await post(body);
    assert.equal(status, 400, JSON.stringify(body));
    assertOpenAIError(json, param);
    assert.match(json.error.message, re);
  }
  const empty = await server.app.inject({
    method: "POST",
    url: "/v1/embeddings",
    headers: { "content-type": "application/json" },
  });
  assert.equal(empty.statusCode, 400);
  assertOpenAIError(empty.json());
});

test("404 unknown model (and route); 413 body too large; all in OpenAI's shape", async () => {
  const nf = await post({ input: "x", model: "text-embedding-3-small" });
  assert.equal(nf.status, 404);
  assertOpenAIError(nf.json, "model");
  assert.equal(nf.json.error.code, "model_not_found");
  const route = await server.app.inject({ method: "GET", url: "/v2/nothing" });
  assert.equal(route.statusCode, 404);
  assertOpenAIError(route.json());
  const big = await post({ input: "word ".repeat(20_000), model: "offline" });
  assert.equal(big.status, 413);
  assertOpenAIError(big.json);
});

test("long inputs: rejected as OpenAI does (the default) or truncated to the limit (usage says so), as configured", async () => {
  const long = "leave ".repeat(50);
  const t = createEmbeddingServer({ model, modelName: "offline", maxInputTokens: 10, onLongInput: "truncate" });
  const r = createEmbeddingServer({ model, modelName: "offline", maxInputTokens: 10 });
  const a = await post({ input: [long, "short one"], model: "offline" }, {}, t);
  assert.equal(a.status, 200);
  assert.equal(a.json.usage.prompt_tokens, 10 + 2);
  const exact = await post({ input: "leave ".repeat(10), model: "offline" }, {}, t);
  // The truncated input was embedded in a batch of two, the exact one alone: equal within float32 rounding (BLAS
  // may sum in another order per batch shape), and far from the untruncated input's vector.
  const [got, want] = [a.json.data[0].embedding as number[], exact.json.data[0].embedding as number[]];
  got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `dimension ${i}: ${x} vs ${want[i]}`));
  const b = await post({ input: ["short", long], model: "offline" }, {}, r);
  assert.equal(b.status, 400);
  assert.match(b.json.error.message, /input\[1\] has 50 tokens; .* at most 10/);
  const cap = createEmbeddingServer({ model, modelName: "offline", maxRequestTokens: 20 });
  const c = await post({ input: [long], model: "offline" }, {}, cap);
  assert.equal(c.status, 400);
  assert.equal(c.json.error.code, "max_tokens_per_request");
  await Promise.all([t.close(), r.close(), cap.close()]);
});

test("401: bearer auth on /v1 routes (missing or wrong key), /health and /metrics stay open", async () => {
  const s = createEmbeddingServer({ model, modelName: "offline", apiKey: "sk-local-secret" });
  const missing = await post({ input: "x", model: "offline" }, {}, s);
  assert.equal(missing.status, 401);
  assertOpenAIError(missing.json);
  assert.equal(missing.json.error.type, "authentication_error");
  const wrong = await post({ input: "x", model: "offline" }, { authorization: "Bearer sk-local-secreT" }, s);
  assert.equal(wrong.status, 401);
  const short = await post({ input: "x", model: "offline" }, { authorization: "Bearer s" }, s);
  assert.equal(short.status, 401);
  const ok = await post({ input: "x", model: "offline" }, { authorization: "Bearer sk-local-secret" }, s);
  assert.equal(ok.status, 200);
  const models = await s.app.inject({ method: "GET", url: "/v1/models" });
  assert.equal(models.statusCode, 401);
  assert.equal((await s.app.inject({ method: "GET", url: "/health" })).statusCode, 200);
  assert.equal((await s.app.inject({ method: "GET", url: "/metrics" })).statusCode, 200);
  await s.close();
});

test("503 from /health and /v1/embeddings until the model is loaded; a failed load says why", async () => {
  let resolveModel!: (m: SentenceTransformer) => void;
  const s = createEmbeddingServer({ model: new Promise((r) => (resolveModel = r)), modelName: "offline" });
  const h = await s.app.inject({ method: "GET", url: "/health" });
  assert.equal(h.statusCode, 503);
  const e = await post({ input: "x", model: "offline" }, {}, s);
  assert.equal(e.status, 503);
  assertOpenAIError(e.json);
  assert.equal(e.headers["retry-after"], "2");
  resolveModel(model);
  await s.ready;
  assert.equal((await s.app.inject({ method: "GET", url: "/health" })).statusCode, 200);
  await s.close();
  const f = createEmbeddingServer({ model: Promise.reject(new Error("no such folder models/x")) });
  await assert.rejects(f.ready);
  const fh = await f.app.inject({ method: "GET", url: "/health" });
  assert.equal(fh.statusCode, 503);
  assert.match(fh.body, /no such folder models\/x/);
  await f.close();
});

test("429 with Retry-After when the queue is full, while queued requests still succeed", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let encoding = 0;
  const slow = {
    name: "slow",
    dim: model.dim,
    maxSeqLength: model.maxSeqLength,
    tokenizer: model.tokenizer,
    encode: async (texts: string[]) => {
      encoding++;
      await gate;
      return model.encode(texts);
    },
  };
  const s = createEmbeddingServer({ model: slow, maxQueuedInputs: 4 });
  await s.ready;
  // Poll instead of sleeping: on a busy machine a fixed delay may not be enough for a request to arrive.
  const until = async (cond: () => Promise<boolean> | boolean) => {
    for (let i = 0; i < 2000 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 5));
  };
  const depth = async () =>
    metricValue((await s.app.inject({ method: "GET", url: "/metrics" })).body, "embed_queue_depth");
  const first = post({ input: ["a", "b", "c"], model: "slow" }, {}, s); // taken into a batch, blocks on the gate
  await until(() => encoding === 1);
  const queued = post({ input: ["d", "e", "f"], model: "slow" }, {}, s); // waits in the queue (3 of 4)
  await until(async () => (await depth()) === 3);
  assert.equal(await depth(), 3);
  const refused = await post({ input: ["g", "h"], model: "slow" }, {}, s); // 3 + 2 > 4
  assert.equal(refused.status, 429);
  assertOpenAIError(refused.json);
  assert.equal(refused.json.error.type, "rate_limit_error");
  assert.ok(Number(refused.headers["retry-after"]) >= 1);
  release();
  assert.equal((await first).status, 200);
  assert.equal((await queued).status, 200);
  const m = (await s.app.inject({ method: "GET", url: "/metrics" })).body;
  assert.equal(metricValue(m, 'embed_requests_total{route="/v1/embeddings",status="429"}'), 1);
  assert.equal(metricValue(m, "embed_queue_rejections_total"), 1);
  await s.close();
});

test("the batcher merges concurrent requests into one batch and splits by the token budget", async () => {
  const calls: number[] = [];
  const enc = {
    encode: async (texts: string[]) => {
      calls.push(texts.length);
      return model.encode(texts);
    },
  };
  const b = new DynamicBatcher(enc, { maxBatchTokens: 40 });
  const out = await Promise.all([b.embed(["a", "b"], [4, 4]), b.embed(["c"], [4]), b.embed(["d", "e"], [10, 10])]);
  // a, b, c (3 x 4 = 12), then d joins: 4 x 10 = 40 fits, e: 5 x 10 = 50 does not.
  assert.deepEqual(calls, [4, 1]);
  assert.deepEqual(
    out.map((r) => r.length),
    [2, 1, 2],
  );
  const direct = await model.encode(["e"]);
  assert.deepEqual(Array.from(out[2][1]), Array.from(direct.data));
});

test("the inference path is the one the model's encode will take (ONNX Runtime when it says so)", async () => {
  const onnx = Object.assign(Object.create(model) as SentenceTransformer, {
    encodeRuntime: () => ({ runtime: "onnxruntime", reason: "not training; onnxruntime-node 1.30.0 (cpu)" }),
  });
  const s = createEmbeddingServer({ model: onnx, modelName: "offline" });
  const info = (await s.app.inject({ method: "GET", url: "/info" })).json();
  assert.equal(info.inference_path, "onnxruntime-node (not training; onnxruntime-node 1.30.0 (cpu))");
  const tf = Object.assign(Object.create(model) as SentenceTransformer, {
    encodeRuntime: () => ({ runtime: "tfjs", reason: "COURSE_ONNX=0" }),
  });
  const t = createEmbeddingServer({ model: tf, modelName: "offline" });
  assert.match(
    (await t.app.inject({ method: "GET", url: "/v1/models" })).json().data[0].inference_path,
    /^tensorflow\.js .*; COURSE_ONNX=0$/,
  );
  await Promise.all([s.close(), t.close()]);
});

test("/v1/models, /info, /metrics", async () => {
  const models = (await server.app.inject({ method: "GET", url: "/v1/models" })).json();
  assert.equal(models.object, "list");
  assert.equal(models.data[0].id, "offline");
  assert.equal(models.data[0].object, "model");
  assert.match(models.data[0].inference_path, /tensorflow\.js/);
  const info = (await server.app.inject({ method: "GET", url: "/info" })).json();
  assert.equal(info.dimensions, 256);
  assert.equal(info.limits.max_inputs, 64);
  const text = (await server.app.inject({ method: "GET", url: "/metrics" })).body;
  assert.match(text, /# TYPE embed_request_duration_seconds histogram/);
  assert.match(text, /embed_batch_size_bucket\{le="\+Inf"\} \d+/);
  assert.match(text, /embed_queue_depth 0/);
  assert.ok((metricValue(text, 'embed_requests_total{route="/v1/embeddings",status="200"}') ?? 0) >= 4);
  assert.ok((metricValue(text, 'embed_requests_total{route="/v1/embeddings",status="400"}') ?? 0) >= 12);
});

test("the official openai client and LangChain's OpenAIEmbeddings work unchanged against it", async () => {
  const s = createEmbeddingServer({ model, modelName: "offline", apiKey: "sk-test" });
  const url = await s.listen(0);
  try {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "sk-test", maxRetries: 0 });
    const texts = ["vacation days", "dental insurance"];
    const direct = await model.encode(texts);
    // No encoding_format: the client asks for base64 and decodes it itself.
    const res = await client.embeddings.create({ model: "offline", input: texts });
    assert.equal(res.data.length, 2);
    res.data.forEach((d, i) => d.embedding.forEach((v, k) => assert.equal(v, direct.data[i * model.dim + k])));
    assert.equal(
      res.usage.prompt_tokens,
      texts.reduce((s2, t) => s2 + model.tokenizer.encodeContent(t).length, 0),
    );
    const f = await client.embeddings.create({
      model: "offline",
      input: "vacation days",
      encoding_format: "float",
      dimensions: 16,
    });
    assert.equal(f.data[0].embedding.length, 16);
    const list = await client.models.list();
    assert.equal(list.data[0].id, "offline");
    const bad = new OpenAI({ baseURL: `${url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    await assert.rejects(
      bad.embeddings.create({ model: "offline", input: "x" }),
      (e: unknown) => e instanceof OpenAI.AuthenticationError,
    );
    await assert.rejects(
      client.embeddings.create({ model: "gpt-x", input: "x" }),
      (e: unknown) => e instanceof OpenAI.NotFoundError,
    );

    const lc = new OpenAIEmbeddings({
      model: "offline",
      apiKey: "sk-test",
      configuration: { baseURL: `${url}/v1` },
      maxRetries: 0,
    });
    const docs = await lc.embedDocuments(texts);
    const q = await lc.embedQuery("vacation days");
    assert.equal(docs.length, 2);
    docs.forEach((v, i) => v.forEach((x, k) => assert.equal(x, direct.data[i * model.dim + k])));
    assert.deepEqual(q, docs[0]);
  } finally {
    await s.close();
  }
});
