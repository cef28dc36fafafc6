// The RAG prompt, the chat path against a tiny OpenAI-compatible stand-in on loopback, the errors that
// name the setting to fix, and the offline extractive answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  answerQuestion,
  buildRagPrompt,
  describeAnswerMode,
  extractiveAnswer,
  type RetrievedContext,
} from "../src/rag";
import { citedIds, sentences } from "../src/rag/answer";

const contexts: RetrievedContext[] = [
  {
    id: "leave#3",
    title: "Leave > Sick leave",
    text: "Leave > Sick leave\nSick leave is paid for ten days a year. A doctor's note is needed after three days.",
    rank: 1,
    score: 0.61,
  },
  {
    id: "leave#7",
    title: "Leave > Parental leave",
    text: "Leave > Parental leave\nParental leave lasts sixteen weeks at full pay. It can start before the birth.",
    rank: 2,
    score: 0.58,
  },
];
const question = "How many weeks does parental leave last?";

interface Seen {
  url: string;
  auth: string | undefined;
  body: { model: string; messages: { role: string; content: string }[]; temperature: number };
}

/** An OpenAI-compatible stand-in: answers chat/completions with `reply` (or `status`), records requests. */
async function standIn(reply: string, status = 200): Promise<{ server: Server; baseUrl: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", auth: req.headers.authorization, body: JSON.parse(body) });
      res.statusCode = status;
      res.setHeader("content-type", "application/json");
      if (status !== 200) return res.end(JSON.stringify({ error: { message: "nope", type: "invalid_request_error" } }));
      res.end(
        JSON.stringify({
          id: "chatcmpl-1",
          object: "chat.completion",
          created: 1,
          model: "tiny",
          choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
          usage: { prompt_tokens: 123, completion_tokens: 9, total_tokens: 132 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen };
}

test("buildRagPrompt: numbered passages with ids, the question last, long passages cut", () => {
  const p = buildRagPrompt(question, contexts);
  assert.equal(p.messages.length, 2);
  assert.equal(p.messages[0].role, "system");
  assert.match(p.messages[0].content, /only the numbered passages.*\[1\]/s);
  const user = p.messages[1].content;
  assert.ok(user.indexOf("[1] (id leave#3)") < user.indexOf("[2] (id leave#7)"));
  assert.ok(user.trimEnd().endsWith(`Question: ${question}\nAnswer:`));
  assert.equal(p.chars, p.messages[0].content.length + user.length);
  assert.equal(p.estimatedTokens, Math.ceil(p.chars / 4));
  const cut = buildRagPrompt(question, contexts, { maxCharsPerContext: 20 }).messages[1].content;
  assert.ok(cut.includes("Leave > Sick leave\nS ..."), cut);
  assert.throws(() => buildRagPrompt(" ", contexts), /question is empty/);
  assert.throws(() => buildRagPrompt(question, []), /no contexts/);
});

test("the chat path: ChatOpenAI against an OpenAI-compatible server on loopback", async () => {
  const { server, baseUrl, seen } = await standIn("Parental leave lasts sixteen weeks [2].");
  try {
    const a = await answerQuestion(question, contexts, { llm: { baseUrl, model: "tiny", apiKey: "test-key" } });
    assert.equal(a.mode, "llm");
    assert.equal(a.answer, "Parental leave lasts sixteen weeks [2].");
    assert.deepEqual(a.citations, ["leave#7"]);
    assert.deepEqual(a.usage, { promptTokens: 123, completionTokens: 9 });
    assert.equal(a.generator, `tiny at ${baseUrl}`);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].url, "/v1/chat/completions");
    assert.equal(seen[0].auth, "Bearer test-key");
    assert.equal(seen[0].body.model, "tiny");
    assert.equal(seen[0].body.temperature, 0);
    assert.deepEqual(seen[0].body.messages, buildRagPrompt(question, contexts).messages);
    assert.match(describeAnswerMode({ llm: { baseUrl, model: "tiny" } }), /from tiny at http:\/\/127\.0\.0\.1/);
  } finally {
    server.close();
  }
});

test("an unreachable endpoint names OPENAI_BASE_URL and the fix", async () => {
  const { server, baseUrl } = await standIn("unused");
  await new Promise<void>((r) => server.close(() => r())); // the port is now closed
  await assert.rejects(
    answerQuestion(question, contexts, { llm: { baseUrl, model: "tiny", maxRetries: 0 } }),
    (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`Cannot reach the LLM endpoint OPENAI_BASE_URL=${baseUrl.replace(/[.]/g, "\\.")}`),
      );
      assert.match(err.message, /ollama serve.*unset it to use the offline extractive answer/);
      return true;
    },
  );
});

test("a rejected key names OPENAI_API_KEY; a 404 names COURSE_LLM_MODEL", async () => {
  const denied = await standIn("", 401);
  const missing = await standIn("", 404);
  try {
    await assert.rejects(
      answerQuestion(question, contexts, { llm: { baseUrl: denied.baseUrl, model: "tiny", maxRetries: 0 } }),
      /HTTP 401.*set OPENAI_API_KEY/,
    );
    await assert.rejects(
      answerQuestion(question, contexts, { llm: { baseUrl: missing.baseUrl, model: "nope", maxRetries: 0 } }),
      /404 for model "nope".*COURSE_LLM_MODEL/,
    );
    await assert.rejects(
      answerQuestion(question, contexts, { mode: "llm", llm: { baseUrl: "", model: "x" } }),
      /set OPENAI_BASE_URL/,
    );
  } finally {
    denied.server.close();
    missing.server.close();
  }
});

test("without an LLM: the extractive answer quotes the best-matching sentence and says what it is", async () => {
  const a = await answerQuestion(question, contexts, { llm: { baseUrl: "", model: "" } });
  assert.equal(a.mode, "extractive");
  assert.match(
    a.answer,
    /^\[offline extractive answer, no LLM\] "Parental leave lasts sixteen weeks at full pay\." \[2\]/,
  );
  assert.deepEqual(a.citations, ["leave#7"]);
  assert.equal(a.usage, undefined);
  const { seconds: _s, ...direct } = extractiveAnswer(question, contexts);
  const { seconds: _t, ...auto } = a;
  assert.deepEqual(direct, auto);
  assert.match(describeAnswerMode({ llm: { baseUrl: "", model: "" } }), /offline extractive answers/);
  // Ties go to the better-ranked passage: nothing in common with either passage -> passage 1, first sentence.
  const none = extractiveAnswer("zebra?", contexts);
  assert.match(none.answer, /"Sick leave is paid for ten days a year\." \[1\]/);
});

test("sentences and citations", () => {
  assert.deepEqual(sentences("One. Two? Three!\nFour e.g. five"), ["One.", "Two?", "Three!", "Four e.g. five"]);
  assert.deepEqual(citedIds("See [2] and [1], not [3] or [0].", contexts), ["leave#7", "leave#3"]);
});
