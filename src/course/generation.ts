/**
 * Notebook 1's questions for every passage: an LLM's (data.generateQuestions, resumable) when one is configured, else
 * the offline template generator's (data.generateOffline), saved under runs/<dataset>/generated/ and reused; and what
 * generating them with an LLM costs (measured when an LLM ran, else estimated).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../files";
import { defaultPrompt, generateQuestions, type GenerateReport, type Prices } from "../data/generate";
import { readJsonl } from "../data/jsonl";
import { generateOffline, OFFLINE_GENERATOR } from "../data/template-generator";
import type { CorpusRow, PairRow } from "../data/types";
import { reuseOrBuild, type Artefact } from "./artefacts";
import type { CourseCorpus } from "./data";
import { checkLlm, type Course } from "./setup";

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
  const usd = (promptTokens * prices.inputPerMillion + completionTokens * prices.outputPerMillion) / 1e6;
  return { requests: chunks.length, promptTokens, completionTokens, usd, prices, basis: "estimated" };
}

export interface GenerationResult {
  rows: PairRow[];
  /** "offline template generator" or "llm:<model>". */
  generator: string;
  artefact: Artefact;
  cost: CostEstimate;
  report?: GenerateReport;
}

/**
 * Questions for every passage: with the course's LLM when one is configured (checked first; an interrupted
 * run resumes from the rows already written), else the offline template generator. Saved under
 * runs/<dataset>/generated/ and reused while the passages and options are unchanged.
 */
export async function generateCourseQuestions(
  course: Course,
  corpus: CourseCorpus,
  options: { questionsPerChunk?: number; prices?: Prices & { model?: string }; concurrency?: number } = {},
): Promise<GenerationResult> {
  const n = options.questionsPerChunk ?? 3;
  const llm = course.llm;
  if (llm) console.log(await checkLlm(course));
  const generator = llm ? `llm:${llm.model}` : OFFLINE_GENERATOR;
  const inputs = { corpus: corpus.key, questionsPerChunk: n, generator, baseUrl: llm?.baseUrl, seed: course.seed };
  let report: GenerateReport | undefined;
  const artefact = await reuseOrBuild(
    { root: course.datasetDir, name: "generated/questions", inputs, verb: "generated" },
    async (folder) => {
      const out = join(folder, "rows.jsonl");
      if (llm) {
        report = await generateQuestions(corpus.chunks, {
          out,
          questionsPerChunk: n,
          concurrency: options.concurrency,
          prices: options.prices ?? DEFAULT_PRICES,
          llm: { baseUrl: llm.baseUrl, apiKey: llm.apiKey, model: llm.model, seed: course.seed },
        });
        if (report.stopped || report.failed.length > 0) {
          throw new Error(
            `LLM setting OPENAI_BASE_URL=${llm.baseUrl} (model ${llm.model}): generation stopped (${report.stopped ?? `${report.failed.length} passage(s) failed, e.g. ${report.failed[0].reason}`}). ` +
              `The ${report.rowsWritten} rows written are kept; run the cell again to continue, or set COURSE_LLM=none.`,
          );
        }
        writeFileAtomic(join(folder, "report.json"), JSON.stringify(report, null, 1));
      } else {
        const rows = generateOffline(corpus.chunks, { questionsPerChunk: n, seed: course.seed });
        writeFileAtomic(out, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
      }
    },
  );
  const rows = readJsonl(join(artefact.path, "rows.jsonl")).records.map((r) => r.value as PairRow);
  const reportPath = join(artefact.path, "report.json");
  if (!report && existsSync(reportPath)) report = JSON.parse(readFileSync(reportPath, "utf8")) as GenerateReport;
  const prices = options.prices ?? DEFAULT_PRICES;
  const cost: CostEstimate =
    report && report.usage.promptTokens > 0
      ? {
          requests: report.requests,
          promptTokens: report.usage.promptTokens,
          completionTokens: report.usage.completionTokens,
          prices,
          basis: "measured",
          usd:
            (report.usage.promptTokens * prices.inputPerMillion +
              report.usage.completionTokens * prices.outputPerMillion) /
            1e6,
        }
      : estimateGenerationCost(corpus.chunks, { questionsPerChunk: n, prices });
  return { rows, generator, artefact, cost, report };
}
