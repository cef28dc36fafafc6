/**
 * Synthetic questions for chunks from an OpenAI-compatible LLM (see llm.ts for the client, retries
 * and backoff). For each chunk: N questions it answers, each with P paraphrases, asked for as JSON
 * {"questions": [{"question": "...", "paraphrases": ["..."]}]} and checked against that schema.
 *
 * Resumable: each chunk's rows are appended to `out` (JSONL) in one flushed write as soon as its
 * answer arrives, each row carrying `chunk_rows` (how many rows its chunk wrote). On restart, chunks
 * whose rows are all in the file are skipped (whatever N and P they were made with); an incomplete last line (a crash mid-write) is cut off,
 * and a chunk with fewer rows than its `chunk_rows` is removed from the file (atomically) and asked
 * again. Chunks that fail after every retry are reported, not written, so the next run retries them.
 * A non-retryable error (401, 404: wrong key, URL or model) stops the run early; what was written stays.
 *
 * Cost = prompt tokens x inputPerMillion / 1e6 + completion tokens x outputPerMillion / 1e6, with
 * the token counts the endpoint reports in `usage` and prices the caller passes (they change often).
 */
import { existsSync } from "node:fs";
import { passageText } from "./beir";
import { appendJsonl, readJsonl, repairJsonlTail, writeJsonl } from "./jsonl";
import { chatJson, LlmError, resolveLlm, type ChatMessage, type LlmOptions, type TokenUsage } from "./llm";
import type { JsonSchema } from "./schema";
import { DataError, type CorpusRow, type DataIssue, type PairRow } from "./types";

export interface Prices {
  /** USD per million prompt (input) tokens. */
  inputPerMillion: number;
  /** USD per million completion (output) tokens. */
  outputPerMillion: number;
}

export interface GenerateOptions {
  /** JSONL file the rows are appended to (created when missing). */
  out: string;
  questionsPerChunk?: number;
  /** Paraphrases per question (default 0). */
  paraphrases?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  llm?: LlmOptions;
  prices?: Prices;
  /** Replaces the default prompt. */
  prompt?: (chunk: CorpusRow, questions: number, paraphrases: number) => ChatMessage[];
  onProgress?: (done: number, total: number) => void;
}

export interface GenerateReport {
  chunks: number;
  /** Chunks already complete in `out` before this run. */
  alreadyDone: number;
  /** Chunks answered in this run. */
  generated: number;
  rowsWritten: number;
  /** Chunks that failed after every retry (not written: the next run asks again). */
  failed: { chunkId: string; reason: string }[];
  /** Set when a non-retryable error stopped the run. */
  stopped?: string;
  requests: number;
  retries: number;
  /** Retries by reason, e.g. { "HTTP 429 (rate limited)": 3, "answer is not JSON": 1 }. */
  retryReasons: Record<string, number>;
  usage: TokenUsage;
  costUsd?: number;
  resume: { rowsFound: number; truncatedTail: boolean; incompleteChunksDropped: number };
}

/** The answer's schema for N questions with P paraphrases each. */
export function questionSchema(questions: number, paraphrases: number): JsonSchema {
  const item: JsonSchema = {
    type: "object",
    required: paraphrases > 0 ? ["question", "paraphrases"] : ["question"],
    properties: {
      question: { type: "string", minLength: 3 },
      paraphrases: { type: "array", items: { type: "string", minLength: 3 }, minItems: paraphrases },
    },
  };
  return {
    type: "object",
    required: ["questions"],
    properties: { questions: { type: "array", items: item, minItems: questions } },
  };
}

/** The default prompt: questions people would really type, not sentences copied from the passage. */
export function defaultPrompt(chunk: CorpusRow, questions: number, paraphrases: number): ChatMessage[] {
  const para =
    paraphrases > 0 ? ` For each question also write ${paraphrases} paraphrase(s): the same need in other words.` : "";
  const shape =
    paraphrases > 0
      ? '{"questions": [{"question": "...", "paraphrases": ["..."]}]}'
      : '{"questions": [{"question": "..."}]}';
  return [
    {
      role: "system",
      content:
        "You write the search queries that real users type to find a passage in a knowledge base. You answer with JSON only.",
    },
    {
      role: "user",
      content:
        `Passage title: ${chunk.title}\nPassage:\n"""\n${chunk.text}\n"""\n\n` +
        `Write ${questions} different questions that this passage answers. Mix short keyword queries and full questions; ` +
        `use everyday words, abbreviations or their long forms as people do; do not copy phrases from the passage.${para}\n` +
        `Answer with JSON of this shape: ${shape}`,
    },
  ];
}

type Answer = { questions: { question: string; paraphrases?: string[] }[] };

/** Rows of one chunk's answer: its first N questions, each followed by its first P paraphrases. */
function answerRows(chunk: CorpusRow, answer: Answer, n: number, p: number, generator: string): PairRow[] {
  const positive = passageText(chunk);
  const rows: PairRow[] = [];
  for (const [i, q] of answer.questions.slice(0, n).entries()) {
    rows.push({
      anchor: q.question.trim(),
      positive,
      positive_id: chunk._id,
      doc_id: chunk.doc_id,
      generator,
      kind: "question",
      question_index: i,
    });
    for (const para of (q.paraphrases ?? []).slice(0, p)) {
      rows.push({
        anchor: para.trim(),
        positive,
        positive_id: chunk._id,
        doc_id: chunk.doc_id,
        generator,
        kind: "paraphrase",
        question_index: i,
        paraphrase_of: q.question.trim(),
      });
    }
  }
  return rows.map((r) => ({ ...r, chunk_rows: rows.length }));
}

/** Reads what an interrupted run left in `out`: ids of complete chunks; repairs the file for appending. */
export function resumeState(out: string): {
  done: Set<string>;
  rowsFound: number;
  truncatedTail: boolean;
  incompleteChunksDropped: number;
} {
  if (!existsSync(out)) return { done: new Set(), rowsFound: 0, truncatedTail: false, incompleteChunksDropped: 0 };
  const { records, truncatedTail } = readJsonl(out, { tolerateTruncatedTail: true });
  if (truncatedTail) repairJsonlTail(out);
  const counts = new Map<string, { have: number; want: number }>();
  for (const r of records) {
    const id = r.value.positive_id;
    const want = r.value.chunk_rows;
    if (typeof id !== "string" || typeof want !== "number")
      throw new Error(
        `${out} line ${r.line}: not a generation row (needs "positive_id" and "chunk_rows"); use another output file.`,
      );
    const c = counts.get(id) ?? { have: 0, want };
    c.have++;
    counts.set(id, c);
  }
  const incomplete = new Set([...counts].filter(([, c]) => c.have < c.want).map(([id]) => id));
  if (incomplete.size > 0)
    writeJsonl(
      out,
      records.filter((r) => !incomplete.has(r.value.positive_id as string)).map((r) => r.value),
    );
  const done = new Set([...counts.keys()].filter((id) => !incomplete.has(id)));
  return { done, rowsFound: records.length, truncatedTail, incompleteChunksDropped: incomplete.size };
}

/** Generates questions for every chunk not yet done in `options.out`; see the header for the guarantees. */
export async function generateQuestions(
  chunks: readonly CorpusRow[],
  options: GenerateOptions,
): Promise<GenerateReport> {
  const n = options.questionsPerChunk ?? 3;
  const p = options.paraphrases ?? 0;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const llm = resolveLlm(options.llm);
  const prompt = options.prompt ?? defaultPrompt;
  const schema = questionSchema(n, p);
  const seen = new Map<string, number>();
  const duplicates: DataIssue[] = [];
  chunks.forEach((c, i) => {
    if (seen.has(c._id))
      duplicates.push({
        file: "chunks",
        line: i + 1,
        reason: `duplicate chunk id "${c._id}" (first at ${(seen.get(c._id) as number) + 1}); ids must be unique to resume`,
      });
    else seen.set(c._id, i);
  });
  if (duplicates.length > 0) throw new DataError(duplicates);
  const state = resumeState(options.out);
  const todo = chunks.filter((c) => !state.done.has(c._id));
  const report: GenerateReport = {
    chunks: chunks.length,
    alreadyDone: chunks.length - todo.length,
    generated: 0,
    rowsWritten: 0,
    failed: [],
    requests: 0,
    retries: 0,
    retryReasons: {},
    usage: { promptTokens: 0, completionTokens: 0 },
    resume: {
      rowsFound: state.rowsFound,
      truncatedTail: state.truncatedTail,
      incompleteChunksDropped: state.incompleteChunksDropped,
    },
  };
  const account = (usage: TokenUsage, retries: { reason: string }[]) => {
    report.usage.promptTokens += usage.promptTokens;
    report.usage.completionTokens += usage.completionTokens;
    report.requests += retries.length + 1;
    report.retries += retries.length;
    for (const r of retries) {
      const reason = r.reason.startsWith("answer does not match") ? "answer does not match the schema" : r.reason;
      report.retryReasons[reason] = (report.retryReasons[reason] ?? 0) + 1;
    }
  };
  let next = 0;
  let finished = 0;
  const worker = async () => {
    while (next < todo.length && report.stopped === undefined) {
      const chunk = todo[next++];
      try {
        const result = await chatJson<Answer>(prompt(chunk, n, p), schema, { ...llm }, chunk._id);
        account(result.usage, result.retries);
        const rows = answerRows(chunk, result.value, n, p, `llm:${llm.model}`);
        appendJsonl(options.out, rows);
        report.generated++;
        report.rowsWritten += rows.length;
      } catch (err) {
        if (!(err instanceof LlmError)) throw err;
        account(err.usage, err.retries);
        report.failed.push({ chunkId: chunk._id, reason: err.message });
        if (!err.retryable) report.stopped = err.message;
      }
      options.onProgress?.(++finished, todo.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  if (options.prices) report.costUsd = usdOf(report.usage, options.prices);
  return report;
}

/** USD for the tokens at the prices: prompt x inputPerMillion / 1e6 + completion x outputPerMillion / 1e6. */
export function usdOf(usage: Pick<TokenUsage, "promptTokens" | "completionTokens">, prices: Prices): number {
  return (usage.promptTokens * prices.inputPerMillion + usage.completionTokens * prices.outputPerMillion) / 1e6;
}

/** Prices used for estimates when none are given: gpt-4o-mini's list price (USD per million tokens) in 2025. */
export const DEFAULT_PRICES: Prices & { model: string } = {
  model: "gpt-4o-mini",
  inputPerMillion: 0.15,
  outputPerMillion: 0.6,
};

export interface CostEstimate {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  usd: number;
  prices: Prices & { model?: string };
  /** "measured" (token usage the endpoint reported) or "estimated" (characters / 4, ~20 tokens per question). */
  basis: "measured" | "estimated";
}

/**
 * What generating the questions with an LLM costs: one request per passage with the default prompt.
 * Tokens are estimated as characters / 4 (the usual rule of thumb for English with GPT tokenizers) and
 * ~20 output tokens per question plus the JSON around them.
 */
export function estimateGenerationCost(
  chunks: readonly CorpusRow[],
  options: { questionsPerChunk?: number; prices?: Prices & { model?: string } } = {},
): CostEstimate {
  const n = options.questionsPerChunk ?? 3;
  const prices = options.prices ?? DEFAULT_PRICES;
  let promptChars = 0;
  for (const c of chunks) for (const m of defaultPrompt(c, n, 0)) promptChars += m.content.length + 8;
  const promptTokens = Math.round(promptChars / 4);
  const completionTokens = chunks.length * (10 + 20 * n);
  const usd = usdOf({ promptTokens, completionTokens }, prices);
  return { requests: chunks.length, promptTokens, completionTokens, usd, prices, basis: "estimated" };
}
