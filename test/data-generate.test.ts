import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateQuestions, questionSchema, estimateGenerationCost } from "../src/data/generate";
import { backoffMs, extractJson, parseRetryAfter } from "../src/data/llm";
import { validateJson } from "../src/data/schema";
import type { CorpusRow } from "../src/data/types";

test("schema validator names the path of every error", () => {
  const schema = questionSchema(2, 1);
  assert.deepEqual(
    validateJson({ questions: [{ question: "ok question", paraphrases: ["p1 p2"] }, { question: 5 }] }, schema),
    ['$.questions[1]: missing property "paraphrases"', "$.questions[1].question: expected string, got integer"],
  );
  assert.deepEqual(validateJson({ questions: [] }, schema), ["$.questions: 0 items, expected at least 2"]);
  assert.deepEqual(validateJson([1], schema), ["$: expected object, got array"]);
  assert.deepEqual(validateJson("x", { enum: ["accept", "reject"] }), [
    '$: expected one of ["accept","reject"], got "x"',
  ]);
});

test("Retry-After, backoff and fenced JSON", () => {
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", Date.UTC(2015, 9, 21, 7, 28, 0)), 10_000);
  assert.equal(parseRetryAfter(null), undefined);
  // min(max, base * 2^(k-1)) * (0.5 + 0.5 * u): with u = 0.5 and base 500: k=1 -> 375, k=4 -> 3000, k=10 capped at 1000 * 0.75.
  const half = () => 0.5;
  assert.equal(backoffMs(1, { baseDelayMs: 500, maxDelayMs: 30_000 }, half), 375);
  assert.equal(backoffMs(4, { baseDelayMs: 500, maxDelayMs: 30_000 }, half), 3000);
  assert.equal(backoffMs(10, { baseDelayMs: 500, maxDelayMs: 1000 }, half), 750);
  assert.deepEqual(extractJson('```json\n{"a": 1}\n```'), { a: 1 });
  assert.throws(() => extractJson("Sure! Here you go"));
});

// ---- A scripted OpenAI-compatible server on 127.0.0.1 ----
type Action = "ok" | "fenced" | "429" | "500" | "badbody" | "notjson" | "schema" | "hang" | "401";
const scripts = new Map<string, Action[]>();
const attempts = new Map<string, number>();
const seen: { title: string; auth?: string; model: string; responseFormat: unknown }[] = [];
let inFlight = 0;
let maxInFlight = 0;

function answer(title: string, n: number) {
  return {
    questions: Array.from({ length: n }, (_, i) => ({
      question: `${title} question ${i}`,
      paraphrases: [`${title} paraphrase ${i}`],
    })),
  };
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  setTimeout(() => {
    inFlight--;
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  }, 20);
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let raw = "";
  req.on("data", (d) => (raw += d));
  req.on("end", () => {
    const body = JSON.parse(raw);
    const title = /Passage title: (.*)/.exec(body.messages[1].content)?.[1] ?? "?";
    seen.push({ title, auth: req.headers.authorization, model: body.model, responseFormat: body.response_format });
    const k = attempts.get(title) ?? 0;
    attempts.set(title, k + 1);
    const script = scripts.get(title) ?? ["ok"];
    const action = script[Math.min(k, script.length - 1)];
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const usage = { prompt_tokens: 100, completion_tokens: 20 };
    const content = (c: string) => JSON.stringify({ choices: [{ message: { role: "assistant", content: c } }], usage });
    switch (action) {
      case "ok":
        return reply(res, 200, content(JSON.stringify(answer(title, 2))));
      case "fenced":
        return reply(res, 200, content("```json\n" + JSON.stringify(answer(title, 2)) + "\n```"));
      case "429":
        return reply(res, 429, "{}", { "retry-after": "2" });
      case "500":
        return reply(res, 500, "oops");
      case "badbody":
        return reply(res, 200, "<html>gateway</html>");
      case "notjson":
        return reply(res, 200, content("Sure! Here are some questions: ..."));
      case "schema":
        return reply(
          res,
          200,
          content(JSON.stringify({ questions: [{ question: "only one", paraphrases: ["x y z"] }] })),
        );
      case "401":
        return reply(res, 401, '{"error": "invalid api key"}');
      case "hang": // never answers: the client must time out (and then closes the connection)
        res.on("close", () => inFlight--);
        return;
    }
  });
});
const ready = new Promise<string>((resolve) =>
  server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`)),
);
after(() => {
  server.closeAllConnections();
  server.close();
});

const chunk = (id: string): CorpusRow => ({ _id: id, doc_id: `doc-${id}`, title: id, text: `Text of passage ${id}.` });

test("retries 429 (Retry-After), 5xx, bad bodies, non-JSON answers and timeouts; accounts tokens and cost; resumes", async () => {
  const baseUrl = await ready;
  const out = join(mkdtempSync(join(tmpdir(), "gen-")), "questions.jsonl");
  scripts.set("A", ["429", "ok"]);
  scripts.set("B", ["500", "badbody", "notjson", "fenced"]);
  scripts.set("C", ["hang", "ok"]);
  scripts.set("D", ["schema"]);
  scripts.set("E", ["ok"]);
  const delays: number[] = [];
  const llm = {
    baseUrl,
    model: "tiny-llm",
    apiKey: "test-key",
    timeoutMs: 1000,
    maxRetries: 3,
    sleep: async (ms: number) => void delays.push(ms),
  };
  const chunks = ["A", "B", "C", "D", "E"].map(chunk);
  const progress: number[] = [];
  const report = await generateQuestions(chunks, {
    out,
    questionsPerChunk: 2,
    paraphrases: 1,
    concurrency: 2,
    llm,
    prices: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
    onProgress: (d) => progress.push(d),
  });

  assert.equal(report.generated, 4);
  assert.equal(report.rowsWritten, 16);
  assert.equal(report.requests, 13); // A 2, B 4, C 2, D 4 (1 + maxRetries), E 1
  assert.equal(report.retries, 8);
  assert.deepEqual(report.retryReasons, {
    "HTTP 429 (rate limited)": 1,
    "HTTP 500": 1,
    "malformed response body (not JSON)": 1,
    "answer is not JSON": 1,
    "timeout after 1000 ms": 1,
    "answer does not match the schema": 3,
  });
  // Usage is counted for every answer that reports it: A 1, B 2 (not-JSON + fenced), C 1, D 4, E 1 -> 9 x (100, 20).
  assert.deepEqual(report.usage, { promptTokens: 900, completionTokens: 180 });
  assert.ok(Math.abs((report.costUsd ?? 0) - (900 * 0.15 + 180 * 0.6) / 1e6) < 1e-15);
  assert.ok(delays.includes(2000), `Retry-After honoured: ${delays}`);
  assert.equal(report.failed.length, 1);
  assert.equal(report.failed[0].chunkId, "D");
  assert.match(
    report.failed[0].reason,
    /gave up after 4 attempts; last: answer does not match the schema: \$\.questions: 1 items, expected at least 2/,
  );
  assert.equal(maxInFlight, 2, "the concurrency limit is reached and not exceeded");
  assert.deepEqual(progress, [1, 2, 3, 4, 5]);
  assert.deepEqual(seen[0], {
    title: seen[0].title,
    auth: "Bearer test-key",
    model: "tiny-llm",
    responseFormat: { type: "json_object" },
  });

  const lines = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 16);
  const a = lines.filter((r) => r.positive_id === "A");
  assert.deepEqual(
    a.map((r) => [r.anchor, r.kind, r.chunk_rows]),
    [
      ["A question 0", "question", 4],
      ["A paraphrase 0", "paraphrase", 4],
      ["A question 1", "question", 4],
      ["A paraphrase 1", "paraphrase", 4],
    ],
  );
  assert.equal(a[0].positive, "A\nText of passage A.");
  assert.equal(a[0].generator, "llm:tiny-llm");
  assert.equal(a[1].paraphrase_of, "A question 0");

  // Second run: only the failed chunk is asked again.
  scripts.set("D", ["ok"]);
  const before = seen.length;
  const again = await generateQuestions(chunks, { out, questionsPerChunk: 2, paraphrases: 1, llm });
  assert.deepEqual([again.alreadyDone, again.generated, again.requests, seen.length - before], [4, 1, 1, 1]);
  assert.equal(seen[seen.length - 1].title, "D");

  // A crash: the last row of B lost and a torn line at the end. B is dropped and regenerated; the rest kept.
  const full = readFileSync(out, "utf8").trim().split("\n");
  const lastB = full.map((l) => JSON.parse(l).positive_id).lastIndexOf("B");
  writeFileSync(out, full.filter((_, i) => i !== lastB).join("\n") + "\n");
  appendFileSync(out, '{"anchor": "E question 7", "posi');
  const resumed = await generateQuestions(chunks, { out, questionsPerChunk: 2, paraphrases: 1, llm });
  assert.deepEqual(resumed.resume, { rowsFound: 19, truncatedTail: true, incompleteChunksDropped: 1 });
  assert.deepEqual([resumed.alreadyDone, resumed.generated], [4, 1]);
  const final = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(final.length, 20);
  for (const id of ["A", "B", "C", "D", "E"]) assert.equal(final.filter((r) => r.positive_id === id).length, 4, id);
  assert.deepEqual(final.slice(0, 4), lines.filter((r) => r.positive_id !== "B").slice(0, 4));
});

test("a non-retryable error (401) stops the run without retries", async () => {
  const baseUrl = await ready;
  const out = join(mkdtempSync(join(tmpdir(), "gen-")), "q.jsonl");
  scripts.set("F", ["401"]);
  const report = await generateQuestions(["F", "G"].map(chunk), {
    out,
    questionsPerChunk: 2,
    concurrency: 1,
    llm: { baseUrl, model: "m", sleep: async () => {} },
  });
  assert.equal(report.requests, 1);
  assert.equal(report.retries, 0);
  assert.equal(report.generated, 0);
  assert.match(report.stopped ?? "", /HTTP 401 \(check OPENAI_API_KEY\)/);
  assert.equal(attempts.get("G"), undefined);
  await assert.rejects(generateQuestions([], { out, llm: { model: "m", baseUrl: "" } }), /set OPENAI_BASE_URL/);
  await assert.rejects(
    generateQuestions(["F", "G", "F"].map(chunk), { out, llm: { baseUrl, model: "m" } }),
    /chunks line 3: duplicate chunk id "F"/,
  );
});

test("estimateGenerationCost: tokens from characters / 4 and ~20 per question, priced per million", () => {
  const chunks = [{ _id: "a#0", doc_id: "a", title: "T", text: "x".repeat(400) }];
  const c = estimateGenerationCost(chunks, {
    questionsPerChunk: 3,
    prices: { inputPerMillion: 1, outputPerMillion: 2 },
  });
  assert.equal(c.requests, 1);
  assert.equal(c.completionTokens, 70);
  assert.ok(c.promptTokens > 100 && c.promptTokens < 400, `prompt tokens ${c.promptTokens}`);
  assert.equal(c.usd, (c.promptTokens * 1 + 70 * 2) / 1e6);
});
