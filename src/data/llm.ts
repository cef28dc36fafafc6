/**
 * A client for any OpenAI-compatible chat endpoint (OpenAI, Ollama's /v1, vLLM, llama.cpp server)
 * that asks for a JSON answer and checks it against a schema.
 *
 * POST {baseUrl}/chat/completions with { model, messages, temperature, response_format:
 * {type: "json_object"} }. Retried, at most maxRetries times: HTTP 429 (waiting Retry-After when
 * the server sends it), 5xx, network errors, timeouts, a body that is not JSON, and an answer that is
 * not JSON or does not match the schema. Not retried: other 4xx (a wrong key, model or URL will not
 * fix itself). The wait before retry k is min(maxDelayMs, baseDelayMs * 2^(k-1)) scaled by a
 * seeded jitter factor in [0.5, 1) ("equal jitter", so that parallel workers do not retry in step).
 * Token usage is summed over every answer that reports `usage`, failed attempts included: they cost too.
 */
import { getConfig } from "../env";
import { rngFor, type Rng } from "../random";
import { validateJson, type JsonSchema } from "./schema";
import { DEFAULT_SEED } from "../defaults";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface LlmOptions {
  /** e.g. "https://api.openai.com/v1" or "http://localhost:11434/v1". Default: config.llm.baseUrl (OPENAI_BASE_URL). */
  baseUrl?: string;
  /** Default: config.llm.apiKey (OPENAI_API_KEY); local servers usually need none. */
  apiKey?: string;
  /** Default: config.llm.model (COURSE_LLM_MODEL). */
  model?: string;
  temperature?: number;
  /** Ask for response_format json_object (default true; turn off for servers that reject it). */
  jsonMode?: boolean;
  /** Per attempt, including reading the body. Default 60 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 5. */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Longest Retry-After honoured. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Seed of the jitter. Default DEFAULT_SEED = 42. */
  seed?: number;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface Retry {
  attempt: number;
  reason: string;
  delayMs: number;
}

export interface ChatResult<T> {
  value: T;
  usage: TokenUsage;
  attempts: number;
  retries: Retry[];
}

/** A request that failed for good; `retryable` false means retrying cannot help (bad key, URL, model). */
export class LlmError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly usage: TokenUsage,
    readonly retries: Retry[],
    readonly status?: number,
  ) {
    super(message);
    this.name = "LlmError";
  }
}

export interface ResolvedLlm extends Required<Omit<LlmOptions, "apiKey" | "fetch" | "sleep">> {
  apiKey: string | undefined;
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
}

/** Options with defaults from src/env.ts; throws naming the variable to set when URL or model is missing. */
export function resolveLlm(options: LlmOptions = {}): ResolvedLlm {
  const baseUrl = options.baseUrl ?? getConfig().llm.baseUrl;
  const model = options.model ?? getConfig().llm.model;
  if (!baseUrl)
    throw new Error(
      "No LLM endpoint: set OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama) or pass llm.baseUrl.",
    );
  if (!model) throw new Error("No LLM model: set COURSE_LLM_MODEL (e.g. gpt-4o-mini, llama3.1) or pass llm.model.");
  return {
    baseUrl: baseUrl.replace(/\/+$/, ""),
    apiKey: options.apiKey ?? getConfig().llm.apiKey,
    model,
    temperature: options.temperature ?? 0.7,
    jsonMode: options.jsonMode ?? true,
    timeoutMs: options.timeoutMs ?? 60_000,
    maxRetries: options.maxRetries ?? 5,
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
    seed: options.seed ?? DEFAULT_SEED,
    fetch: options.fetch ?? fetch,
    sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
  };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The backoff before retry `k` (1-based), jittered. */
export function backoffMs(k: number, llm: Pick<ResolvedLlm, "baseDelayMs" | "maxDelayMs">, rng: Rng): number {
  return Math.round(Math.min(llm.maxDelayMs, llm.baseDelayMs * 2 ** (k - 1)) * (0.5 + 0.5 * rng()));
}

/** The JSON object in an answer, tolerating a ```json fence around it. */
export function extractJson(content: string): unknown {
  const fenced = /^\s*```(?:json)?\s*\n?([\s\S]*?)\n?\s*```\s*$/i.exec(content);
  return JSON.parse(fenced ? fenced[1] : content);
}

// One flat shape, not a union on `ok`: tslab compiles without strictNullChecks, where narrowing on a
// boolean discriminant does not work.
interface Attempt<T> {
  ok: boolean;
  value?: T;
  retryable: boolean;
  reason: string;
  status?: number;
  retryAfterMs?: number;
}

async function attempt<T>(llm: ResolvedLlm, body: string, schema: JsonSchema, usage: TokenUsage): Promise<Attempt<T>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), llm.timeoutMs);
  try {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (llm.apiKey) headers.authorization = `Bearer ${llm.apiKey}`;
    const res = await llm.fetch(`${llm.baseUrl}/chat/completions`, {
      method: "POST",
      headers,
      body,
      signal: controller.signal,
    });
    const text = await res.text();
    if (res.status === 429)
      return {
        ok: false,
        retryable: true,
        status: 429,
        reason: "HTTP 429 (rate limited)",
        retryAfterMs: parseRetryAfter(res.headers.get("retry-after")),
      };
    if (res.status >= 500) return { ok: false, retryable: true, status: res.status, reason: `HTTP ${res.status}` };
    if (!res.ok) {
      const hint =
        res.status === 401 || res.status === 403
          ? " (check OPENAI_API_KEY)"
          : res.status === 404
            ? " (check OPENAI_BASE_URL, which should end in /v1, and COURSE_LLM_MODEL)"
            : "";
      return {
        ok: false,
        retryable: false,
        status: res.status,
        reason: `HTTP ${res.status}${hint}: ${text.slice(0, 200)}`,
      };
    }
    let parsed: {
      choices?: { message?: { content?: unknown } }[];
      usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
    };
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, retryable: true, reason: "malformed response body (not JSON)" };
    }
    if (typeof parsed.usage?.prompt_tokens === "number") usage.promptTokens += parsed.usage.prompt_tokens;
    if (typeof parsed.usage?.completion_tokens === "number") usage.completionTokens += parsed.usage.completion_tokens;
    const content = parsed.choices?.[0]?.message?.content;
    if (typeof content !== "string")
      return { ok: false, retryable: true, reason: "malformed response (no choices[0].message.content)" };
    let value: unknown;
    try {
      value = extractJson(content);
    } catch {
      return { ok: false, retryable: true, reason: "answer is not JSON" };
    }
    const errors = validateJson(value, schema);
    if (errors.length > 0)
      return {
        ok: false,
        retryable: true,
        reason: `answer does not match the schema: ${errors.slice(0, 3).join("; ")}`,
      };
    return { ok: true, value: value as T, retryable: false, reason: "" };
  } catch (err) {
    if (controller.signal.aborted) return { ok: false, retryable: true, reason: `timeout after ${llm.timeoutMs} ms` };
    return { ok: false, retryable: true, reason: `network error: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends `messages` and returns the answer parsed as JSON and valid against `schema`, retrying as
 * described above; throws LlmError when no attempt succeeded. `key` names the jitter stream.
 */
export async function chatJson<T>(
  messages: ChatMessage[],
  schema: JsonSchema,
  options: LlmOptions = {},
  key = "",
): Promise<ChatResult<T>> {
  const llm = resolveLlm(options);
  const rng = rngFor(llm.seed, `chatJson\u0000${key}`);
  const body = JSON.stringify({
    model: llm.model,
    messages,
    temperature: llm.temperature,
    ...(llm.jsonMode ? { response_format: { type: "json_object" } } : {}),
  });
  const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  const retries: Retry[] = [];
  for (let k = 0; ; k++) {
    const result = await attempt<T>(llm, body, schema, usage);
    if (result.ok) return { value: result.value as T, usage, attempts: k + 1, retries };
    if (!result.retryable || k >= llm.maxRetries) {
      const why = result.retryable ? `gave up after ${k + 1} attempts; last: ${result.reason}` : result.reason;
      throw new LlmError(`${llm.baseUrl}/chat/completions: ${why}`, result.retryable, usage, retries, result.status);
    }
    const delayMs =
      result.retryAfterMs !== undefined
        ? Math.min(result.retryAfterMs, llm.maxRetryAfterMs)
        : backoffMs(k + 1, llm, rng);
    retries.push({ attempt: k + 1, reason: result.reason, delayMs });
    await llm.sleep(delayMs);
  }
}
