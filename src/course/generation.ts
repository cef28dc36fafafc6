/**
 * Notebook 1's questions for every passage: an LLM's (data.generateQuestions, resumable) when one is configured, else
 * the offline template generator's (data.generateOffline), saved under runs/<dataset>/generated/ and reused; and what
 * generating them with an LLM costs (measured when an LLM ran, else src/data/generate's estimateGenerationCost).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../files";
import {
  DEFAULT_PRICES,
  estimateGenerationCost,
  generateQuestions,
  usdOf,
  type CostEstimate,
  type GenerateReport,
  type Prices,
} from "../data/generate";
import { readJsonl } from "../data/jsonl";
import { generateOffline, OFFLINE_GENERATOR } from "../data/template-generator";
import type { PairRow } from "../data/types";
import { reuseOrBuild, type Artefact } from "../artefacts";
import type { CourseCorpus } from "./data";
import { checkLlm, type Course } from "./setup";

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
          usd: usdOf(report.usage, prices),
        }
      : estimateGenerationCost(corpus.chunks, { questionsPerChunk: n, prices });
  return { rows, generator, artefact, cost, report };
}
