// The server under faults (issue 21 item 2), on a real socket: a client that disconnects mid-request (its
// waiting inputs leave the queue, the shared batch finishes for the others, nothing stays counted), slow
// clients (408 in OpenAI's shape after the header / request timeouts, connection closed), too many open
// requests (429 + Retry-After before the body is read), the model failing mid-batch (500 for that batch's
// requests only, then the server goes on), inputs over the model's window (cut to it, as
// sentence-transformers does), and a stop whose grace period runs out (the rest cut off, the port closed).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { loadModel, type SentenceTransformer } from "../src/model/index";
import { createEmbeddingServer, type EmbeddingServer, type ServableModel } from "../src/serve/index";
import { metricValue } from "../src/serve/metrics";

let model: SentenceTransformer;
before(async () => {
  model = await loadModel("offline");
});

/** What the server reads of a model, taken from the real one. */
function stub(m: SentenceTransformer): ServableModel {
  return {
    name: m.name,
    dim: m.dim,
    maxSeqLength: m.maxSeqLength,
    tokenizer: m.tokenizer,
    encode: (texts: string[]) => m.encode(texts),
  };
}

/** The offline model behind a gate: encode() records its texts and waits until `open()`; `fail` makes it throw. */
function gated(fail: (texts: string[]) => boolean = () => false) {
  let open!: () => void;
  let gate = new Promise<void>((r) => (open = r));
  const seen: string[][] = [];
  const m: ServableModel = {
    ...stub(model),
    name: "gated",
    encode: async (texts: string[]) => {
      seen.push(texts);
      await gate;
      if (fail(texts)) throw new Error("the model ran out of memory (simulated fault in the test's stub)");
      return model.encode(texts);
    },
  };
  return {
    model: m,
    seen,
    open: () => open(),
    close: () => (gate = new Promise<void>((r) => (open = r))),
  };
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const metric = async (url: string, name: string) =>
  metricValue(await (await fetch(`${url}/metrics`)).text(), name) ?? Number.NaN;

function post(url: string, body: unknown, signal?: AbortSignal) {
  return fetch(`${url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

/** Sends raw bytes and resolves with everything the server answered before it closed the connection. */
function rawExchange(url: string, send: string): Promise<{ answer: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname, () => socket.write(send));
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d));
    socket.on("close", () => resolve({ answer, ms: Date.now() - t0 }));
    socket.on("error", reject);
  });
}

async function started(s: EmbeddingServer): Promise<string> {
  await s.ready;
  return s.listen(0);
}

test("a client that disconnects: its queued inputs are dropped, the others are answered, nothing leaks", async () => {
  const g = gated();
  const s = createEmbeddingServer({ model: g.model, modelName: "gated" });
  const url = await started(s);
  try {
    const first = post(url, { model: "gated", input: ["held in the running batch"] });
    await until(() => g.seen.length === 1, "the first batch");
    const leaving = new AbortController();
    const gone = post(
      url,
      { model: "gated", input: ["leaves before its turn 1", "leaves before its turn 2"] },
      leaving.signal,
    );
    const staying = post(url, { model: "gated", input: ["stays"] });
    await until(async () => (await metric(url, "embed_queue_depth")) === 3, "both requests queued");
    leaving.abort();
    await assert.rejects(gone);
    await until(async () => (await metric(url, "embed_client_disconnects_total")) === 1, "the disconnect");
    assert.equal(await metric(url, "embed_queue_depth"), 1, "the leaver's inputs left the queue");
    g.open();
    assert.equal((await first).status, 200);
    const r = await staying;
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { data: unknown[] }).data.length, 1);
    assert.deepEqual(g.seen, [["held in the running batch"], ["stays"]], "the leaver's texts were never embedded");
    await until(async () => (await metric(url, "embed_open_requests")) === 1, "only /metrics open");
    assert.equal(await metric(url, "embed_requests_in_flight"), 0);
    assert.equal(await metric(url, "embed_queue_depth"), 0);
  } finally {
    g.open();
    await s.close();
  }
});

test("a client that disconnects while its batch runs: the batch finishes for the others", async () => {
  const g = gated();
  const s = createEmbeddingServer({ model: g.model, modelName: "gated" });
  const url = await started(s);
  try {
    const blocker = post(url, { model: "gated", input: ["blocker"] });
    await until(() => g.seen.length === 1, "the first batch");
    const leaving = new AbortController();
    const gone = post(url, { model: "gated", input: ["a leaver in the shared batch"] }, leaving.signal);
    const staying = post(url, { model: "gated", input: ["a stayer in the shared batch"] });
    await until(async () => (await metric(url, "embed_queue_depth")) === 2, "both queued");
    g.open();
    g.close();
    await until(() => g.seen.length === 2, "the shared batch");
    assert.deepEqual(g.seen[1], ["a leaver in the shared batch", "a stayer in the shared batch"]);
    leaving.abort();
    await assert.rejects(gone);
    g.open();
    assert.equal((await blocker).status, 200);
    assert.equal((await staying).status, 200);
    await until(async () => (await metric(url, "embed_open_requests")) === 1, "only /metrics open");
  } finally {
    g.open();
    await s.close();
  }
});

test("slow clients: headers or body not sent in time get 408 in OpenAI's shape and the connection closes", async () => {
  const s = createEmbeddingServer({ model, modelName: "offline", headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
  const url = await started(s);
  try {
    const headers = await rawExchange(url, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n");
    assert.match(headers.answer, /^HTTP\/1\.1 408 /);
    const body = JSON.parse(headers.answer.split("\r\n\r\n")[1]) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "request_timeout");
    assert.match(body.error.message, /headers within 1 s/);
    assert.ok(headers.ms >= 900 && headers.ms < 5000, `closed after ${headers.ms} ms`);
    const partialBody = await rawExchange(
      url,
      'POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":',
    );
    assert.match(partialBody.answer, /^HTTP\/1\.1 408 /);
    assert.ok(partialBody.ms >= 1900 && partialBody.ms < 6000, `closed after ${partialBody.ms} ms`);
    // The server is still there for everyone else.
    assert.equal((await post(url, { model: "offline", input: "still serving" })).status, 200);
  } finally {
    await s.close();
  }
});

test("too many open requests: 429 with Retry-After before the body is read; memory stays bounded", async () => {
  const g = gated();
  const s = createEmbeddingServer({ model: g.model, modelName: "gated", maxConcurrentRequests: 2 });
  const url = await started(s);
  try {
    const held = [post(url, { model: "gated", input: ["one"] }), post(url, { model: "gated", input: ["two"] })];
    await until(async () => (await metric(url, "embed_requests_in_flight")) === 2, "two requests open");
    const refused = await post(url, { model: "gated", input: ["three"] });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "1");
    const j = (await refused.json()) as { error: { type: string; code: string } };
    assert.equal(j.error.type, "rate_limit_error");
    assert.equal(j.error.code, "too_many_requests");
    g.open();
    for (const r of await Promise.all(held)) assert.equal(r.status, 200);
    assert.equal(await metric(url, "embed_concurrency_rejections_total"), 1);
  } finally {
    g.open();
    await s.close();
  }
});

test("the model failing mid-batch: 500 for that batch's requests only, and the server goes on", async () => {
  const g = gated((texts) => texts.some((t) => t.includes("poison")));
  g.open();
  const s = createEmbeddingServer({ model: g.model, modelName: "gated", maxBatchSize: 2 });
  const url = await started(s);
  try {
    // Three inputs in batches of two: the request's second batch fails after its first succeeded.
    const r = await post(url, { model: "gated", input: ["fine", "fine too", "poison"] });
    assert.equal(r.status, 500);
    const j = (await r.json()) as { error: { type: string; code: string; message: string } };
    assert.equal(j.error.type, "server_error");
    assert.equal(j.error.code, "internal_error");
    assert.match(j.error.message, /ran out of memory/);
    const after = await post(url, { model: "gated", input: ["healthy again", "and this"] });
    assert.equal(after.status, 200);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    assert.equal(await metric(url, "embed_failed_batches_total"), 1);
    assert.equal(await metric(url, "embed_queue_depth"), 0);
  } finally {
    await s.close();
  }
});

test("an input over the model's window but within max_input_tokens is cut to the window (usage says so)", async () => {
  // The offline model has no window of its own (max_seq_length Infinity): give it the 32 of a small BERT.
  const windowed: ServableModel = { ...stub(model), name: "offline", maxSeqLength: 32 };
  const s = createEmbeddingServer({ model: windowed, modelName: "offline" });
  const url = await started(s);
  try {
    const room = 32 - model.tokenizer.encode("").ids.length;
    const r = await post(url, { model: "offline", input: "leave ".repeat(room + 40) });
    assert.equal(r.status, 200);
    const j = (await r.json()) as { usage: { prompt_tokens: number }; data: { embedding: number[] }[] };
    assert.equal(j.usage.prompt_tokens, room);
    const exact = (await (await post(url, { model: "offline", input: "leave ".repeat(room) })).json()) as typeof j;
    assert.deepEqual(j.data[0].embedding, exact.data[0].embedding);
  } finally {
    await s.close();
  }
});

test("a stop whose grace period runs out cuts the rest off, says how many, and closes the port", async () => {
  const g = gated();
  const s = createEmbeddingServer({ model: g.model, modelName: "gated" });
  const url = await started(s);
  const stuck = post(url, { model: "gated", input: ["never finishes in time"] }).then(
    (r) => r.status,
    () => "cut off",
  );
  await until(() => g.seen.length === 1, "the request in flight");
  const t0 = Date.now();
  const result = await s.close({ graceMs: 300 });
  assert.deepEqual(result, { drained: false, cutOff: 1 });
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(await stuck, "cut off");
  await assert.rejects(fetch(`${url}/health`));
  g.open();
});
