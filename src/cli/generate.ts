/**
 * `generate`: documents -> chunks -> (question, passage) pairs, as notebook 1 does. Offline by default
 * (the template generator, no network); `--llm` asks the OpenAI-compatible endpoint in OPENAI_BASE_URL
 * (resumable: rows are appended, finished chunks are skipped on the next run).
 */
import { join, resolve } from "node:path";
import type { Command } from "commander";
import {
  emit,
  existingFolder,
  note,
  nonNegativeInt,
  positiveInt,
  progressBar,
  UsageError,
  withJson,
  type JsonOption,
} from "./common";
import { DEFAULT_SEED } from "../defaults";

interface GenerateOpts extends JsonOption {
  out: string;
  questions: number;
  seed: number;
  llm?: boolean;
  concurrency: number;
  size: number;
  overlap: number;
}

export function registerGenerate(program: Command): void {
  withJson(
    program
      .command("generate")
      .description("Chunk a folder of documents and write (anchor, positive) pairs plus the chunks (notebook 1).")
      .argument("<docs>", "folder of .md / .txt documents")
      .option("-o, --out <folder>", "output folder: chunks.jsonl and pairs.jsonl", "generated")
      .option("-q, --questions <n>", "questions per chunk", positiveInt("--questions"), 3)
      .option("--seed <n>", "seed of the offline generator", nonNegativeInt("--seed"), DEFAULT_SEED)
      .option(
        "--llm",
        "generate with the LLM endpoint (OPENAI_BASE_URL, OPENAI_API_KEY, COURSE_LLM_MODEL) instead of templates",
      )
      .option("--concurrency <n>", "LLM requests in flight", positiveInt("--concurrency"), 4)
      .option("--size <words>", "words per chunk", positiveInt("--size"), 200)
      .option("--overlap <words>", "words shared by neighbouring chunks", nonNegativeInt("--overlap"), 40),
  ).action(async (docs: string, opts: GenerateOpts) => {
    const dir = existingFolder(docs, "generate <docs>");
    if (opts.overlap >= opts.size)
      throw new UsageError(`--overlap ${opts.overlap} must be smaller than --size ${opts.size}.`);
    const out = resolve(opts.out);
    const { chunkFolder, generateOffline, generateQuestions, OFFLINE_GENERATOR, writeJsonl, writePairs } = await import(
      "../data/index"
    );
    const { chunks, report } = chunkFolder(dir, { size: opts.size, overlap: opts.overlap });
    if (chunks.length === 0)
      throw new Error(`${dir}: no text found in ${report.files} file(s) (.md, .markdown, .txt are read).`);
    const chunksPath = join(out, "chunks.jsonl");
    const pairsPath = join(out, "pairs.jsonl");
    writeJsonl(chunksPath, chunks);
    let rows: number;
    let generator: string;
    let extra: Record<string, unknown> = {};
    if (opts.llm) {
      const bar = progressBar(opts, "generate", chunks.length);
      const rep = await generateQuestions(chunks, {
        out: pairsPath,
        questionsPerChunk: opts.questions,
        concurrency: opts.concurrency,
        onProgress: (done, total) => {
          bar.setTotal(total);
          bar.update(done);
        },
      });
      bar.stop();
      if (rep.stopped) throw new Error(`question generation stopped: ${rep.stopped}`);
      rows = rep.rowsWritten + rep.resume.rowsFound;
      generator = "llm";
      extra = {
        requests: rep.requests,
        retries: rep.retries,
        failedChunks: rep.failed.length,
        usage: rep.usage,
        costUsd: rep.costUsd,
      };
      if (rep.failed.length > 0)
        note(opts, `${rep.failed.length} chunk(s) failed; run the command again to retry them.`);
    } else {
      const pairs = generateOffline(chunks, { questionsPerChunk: opts.questions, seed: opts.seed });
      writePairs(pairsPath, pairs);
      rows = pairs.length;
      generator = OFFLINE_GENERATOR;
    }
    emit(
      opts,
      [
        `${report.documents} documents -> ${chunks.length} chunks -> ${rows} pairs (${generator}).`,
        `wrote ${chunksPath}`,
        `wrote ${pairsPath}`,
        "next: npm run cli -- review export, or npm run cli -- split",
      ],
      {
        ok: true,
        documents: report.documents,
        chunks: chunks.length,
        pairs: rows,
        generator,
        chunksPath,
        pairsPath,
        ...extra,
      },
    );
  });
}
