/**
 * The last step of RAG: an answer from the retrieved passages.
 *
 * - With an OpenAI-compatible chat endpoint configured (OPENAI_BASE_URL + COURSE_LLM_MODEL, and
 *   OPENAI_API_KEY where the server wants one; see src/env.ts), LangChain's ChatOpenAI sends the prompt of
 *   ./prompt to {baseUrl}/chat/completions: OpenAI, Ollama (http://localhost:11434/v1), vLLM, llama.cpp.
 * - Without one, an OFFLINE EXTRACTIVE answer: the sentence of the retrieved passages that shares the most
 *   distinct content words with the question (ties: the better-ranked passage, then the earlier sentence),
 *   quoted with its citation. It generates nothing and says so in its text; it shows which passage the
 *   retriever put in front of the model, which is what fine-tuning changes.
 *
 * Failures name the setting to fix: an unreachable endpoint (OPENAI_BASE_URL, or start the server), a
 * rejected key (OPENAI_API_KEY), an unknown model or path (COURSE_LLM_MODEL / OPENAI_BASE_URL).
 */
import { getConfig } from "../env";
import { ENGLISH_STOP_WORDS, tokenize } from "../retrieval/bm25";
import { buildRagPrompt } from "./prompt";
import type { AnswerOptions, RagLlmOptions, RagPromptOptions, RetrievedContext } from "./types";

export type { AnswerOptions, RagLlmOptions } from "./types";

export interface RagAnswer {
  question: string;
  answer: string;
  /** "llm" or "extractive". */
  mode: "llm" | "extractive";
  /** Who produced the answer: "<model> at <baseUrl>" or "offline extractive answer (no LLM)". */
  generator: string;
  /** Corpus ids of the passages the answer cites. */
  citations: string[];
  /** Tokens as the server counted them (LLM answers that report usage). */
  usage?: { promptTokens: number; completionTokens: number };
  /** The prompt's estimated tokens (characters / 4). */
  promptTokensEstimate: number;
  seconds: number;
}

/** What this module uses of LangChain's ChatOpenAI (@langchain/openai). */
interface ChatModel {
  invoke(
    messages: { role: string; content: string }[],
  ): Promise<{ content: unknown; usage_metadata?: { input_tokens: number; output_tokens: number } }>;
}
type ChatOpenAIClass = new (fields: {
  model: string;
  apiKey: string;
  temperature: number;
  timeout: number;
  maxRetries: number;
  configuration: { baseURL: string };
}) => ChatModel;

/**
 * LangChain's ChatOpenAI, loaded on first use: importing it statically would make tslab type-check the OpenAI
 * SDK's declarations (~430 files) in every cell that imports src/rag, LLM or not.
 */
function chatOpenAI(): ChatOpenAIClass {
  return (require("@langchain/openai") as { ChatOpenAI: ChatOpenAIClass }).ChatOpenAI;
}

export const EXTRACTIVE_GENERATOR = "offline extractive answer (no LLM)";

/** The LLM settings after defaults from src/env.ts; `configured` is false when URL or model is missing. */
export function resolveRagLlm(llm: RagLlmOptions = {}): {
  configured: boolean;
  baseUrl?: string;
  apiKey?: string;
  model?: string;
} {
  const baseUrl = (llm.baseUrl ?? getConfig().llm.baseUrl)?.replace(/\/+$/, "");
  const model = llm.model ?? getConfig().llm.model;
  return { configured: Boolean(baseUrl && model), baseUrl, apiKey: llm.apiKey ?? getConfig().llm.apiKey, model };
}

/** One line for a notebook: which answer path this run takes. */
export function describeAnswerMode(options: AnswerOptions = {}): string {
  const r = resolveRagLlm(options.llm);
  if (options.mode === "extractive" || (!r.configured && options.mode !== "llm"))
    return "No LLM configured (OPENAI_BASE_URL and COURSE_LLM_MODEL unset): answers are offline extractive answers, quoted from the retrieved passages, not generated.";
  return `Answers come from ${r.model} at ${r.baseUrl} (OpenAI-compatible chat/completions, through LangChain's ChatOpenAI).`;
}

/** Sentences of a passage: split after . ! ? and at line breaks. */
export function sentences(text: string): string[] {
  return text
    .split(/\n+|(?<=[.!?])\s+(?=[A-Z0-9"'(])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The offline extractive answer (see the header comment). */
export function extractiveAnswer(
  question: string,
  contexts: readonly RetrievedContext[],
  options: RagPromptOptions = {},
): RagAnswer {
  const t0 = performance.now();
  const prompt = buildRagPrompt(question, contexts, options);
  const wanted = new Set(tokenize(question, ENGLISH_STOP_WORDS));
  let best = { score: -1, sentence: "", context: 0 };
  contexts.forEach((c, ci) => {
    // The title line is a heading, not an answer: search the passage body when there is one.
    const body = c.title && c.text.startsWith(`${c.title}\n`) ? c.text.slice(c.title.length + 1) : c.text;
    for (const s of sentences(body)) {
      const score = new Set(tokenize(s, ENGLISH_STOP_WORDS).filter((t) => wanted.has(t))).size;
      if (score > best.score) best = { score, sentence: s, context: ci };
    }
  });
  const cited = contexts[best.context];
  const answer =
    `[offline extractive answer, no LLM] "${best.sentence}" [${best.context + 1}] ` +
    `(the retrieved sentence sharing most words with the question; set OPENAI_BASE_URL and COURSE_LLM_MODEL for a generated answer)`;
  return {
    question,
    answer,
    mode: "extractive",
    generator: EXTRACTIVE_GENERATOR,
    citations: [cited.id],
    promptTokensEstimate: prompt.estimatedTokens,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** An error from the chat endpoint, rewritten to name the setting and the fix. */
export function explainLlmError(err: unknown, baseUrl: string, model: string): Error {
  const e = err as { name?: string; status?: number; message?: string; constructor?: { name?: string } };
  const kind = e?.constructor?.name ?? e?.name ?? "";
  const where = `the LLM endpoint OPENAI_BASE_URL=${baseUrl}`;
  let message: string;
  if (
    kind === "APIConnectionError" ||
    kind === "APIConnectionTimeoutError" ||
    /ECONNREFUSED|ENOTFOUND|fetch failed|Connection error|timed? ?out/i.test(e?.message ?? "")
  )
    message =
      `Cannot reach ${where} (${e?.message ?? kind}). Start the server (for Ollama: \`ollama serve\`, base URL ` +
      `http://localhost:11434/v1), fix OPENAI_BASE_URL, or unset it to use the offline extractive answer.`;
  else if (e?.status === 401 || e?.status === 403)
    message = `${where} refused the key (HTTP ${e.status}): set OPENAI_API_KEY to a valid key for this server.`;
  else if (e?.status === 404)
    message = `${where} answered 404 for model "${model}": check COURSE_LLM_MODEL (a model the server has) and that OPENAI_BASE_URL ends in /v1.`;
  else message = `The chat request to ${where} (model COURSE_LLM_MODEL=${model}) failed: ${e?.message ?? String(err)}`;
  const out = new Error(message);
  (out as Error & { cause?: unknown }).cause = err;
  return out;
}

/** Citations [n] found in a generated answer, as corpus ids (out-of-range numbers are ignored). */
export function citedIds(answer: string, contexts: readonly RetrievedContext[]): string[] {
  const ids = new Set<string>();
  for (const m of answer.matchAll(/\[(\d+)\]/g)) {
    const n = Number(m[1]);
    if (n >= 1 && n <= contexts.length) ids.add(contexts[n - 1].id);
  }
  return [...ids];
}

/** Answers one question from its contexts: LLM when configured (or mode "llm"), else extractive. */
export async function answerQuestion(
  question: string,
  contexts: readonly RetrievedContext[],
  options: AnswerOptions = {},
): Promise<RagAnswer> {
  const mode = options.mode ?? "auto";
  const llm = resolveRagLlm(options.llm);
  if (mode === "extractive" || (mode === "auto" && !llm.configured))
    return extractiveAnswer(question, contexts, options);
  if (!llm.baseUrl)
    throw new Error(
      'answerQuestion(mode: "llm"): no endpoint; set OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama).',
    );
  if (!llm.model)
    throw new Error('answerQuestion(mode: "llm"): no model; set COURSE_LLM_MODEL (e.g. gpt-4o-mini, llama3.1).');
  const prompt = buildRagPrompt(question, contexts, options);
  const ChatOpenAI = chatOpenAI();
  const chat = new ChatOpenAI({
    model: llm.model,
    // Local servers (Ollama, vLLM) take no key, but the client insists on one.
    apiKey: llm.apiKey ?? "no-key",
    temperature: options.llm?.temperature ?? 0,
    timeout: options.llm?.timeoutMs ?? 60_000,
    maxRetries: options.llm?.maxRetries ?? 2,
    configuration: { baseURL: llm.baseUrl },
  });
  const t0 = performance.now();
  let reply: Awaited<ReturnType<ChatModel["invoke"]>>;
  try {
    reply = await chat.invoke(prompt.messages.map((m) => ({ role: m.role, content: m.content })));
  } catch (err) {
    throw explainLlmError(err, llm.baseUrl, llm.model);
  }
  const text = typeof reply.content === "string" ? reply.content : JSON.stringify(reply.content);
  const usage = reply.usage_metadata;
  return {
    question,
    answer: text,
    mode: "llm",
    generator: `${llm.model} at ${llm.baseUrl}`,
    citations: citedIds(text, contexts),
    usage: usage ? { promptTokens: usage.input_tokens, completionTokens: usage.output_tokens } : undefined,
    promptTokensEstimate: prompt.estimatedTokens,
    seconds: (performance.now() - t0) / 1000,
  };
}
