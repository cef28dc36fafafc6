/**
 * `split`: chunks + pairs -> a BEIR folder (corpus.jsonl, queries.jsonl, qrels/{train,dev,test}.tsv),
 * split by source document so that no document's passages appear in two splits (notebook 1).
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import type { CorpusRow } from "../data/index";
import { DEFAULT_FRACTIONS } from "../data/split";
import { emit, existingFile, fraction, nonNegativeInt, UsageError, withJson, type JsonOption } from "./common";
import { DEFAULT_SEED } from "../defaults";

interface SplitOpts extends JsonOption {
  chunks: string;
  pairs: string;
  out: string;
  seed: number;
  train: number;
  dev: number;
  test: number;
}

export function registerSplit(program: Command): void {
  withJson(
    program
      .command("split")
      .description("Split pairs by source document into train / dev / test and write a BEIR folder (notebook 1).")
      .requiredOption("--chunks <file>", "chunks.jsonl written by generate")
      .requiredOption("--pairs <file>", "pairs (.jsonl / .parquet) from generate or review import")
      .option("-o, --out <folder>", "BEIR folder to write", "dataset")
      .option("--seed <n>", "seed of the document shuffle", nonNegativeInt("--seed"), DEFAULT_SEED)
      .option("--train <f>", "fraction of documents for train", fraction("--train"), DEFAULT_FRACTIONS.train)
      .option("--dev <f>", "fraction for dev", fraction("--dev"), DEFAULT_FRACTIONS.dev)
      .option("--test <f>", "fraction for test", fraction("--test"), DEFAULT_FRACTIONS.test),
  ).action(async (opts: SplitOpts) => {
    const { assertNoLeak, buildBeir, loadBeir, readJsonl, readPairs, writeBeir } = await import("../data/index");
    const sum = opts.train + opts.dev + opts.test;
    if (Math.abs(sum - 1) > 1e-9) throw new UsageError(`--train + --dev + --test = ${sum}; they must add up to 1.`);
    const chunksPath = existingFile(opts.chunks, "--chunks");
    const chunks = readJsonl(chunksPath).records.map((r) => r.value as unknown as CorpusRow);
    const { rows } = readPairs(existingFile(opts.pairs, "--pairs"));
    const files = buildBeir(chunks, rows, {
      seed: opts.seed,
      fractions: { train: opts.train, dev: opts.dev, test: opts.test },
    });
    const out = resolve(opts.out);
    writeBeir(out, files);
    const splits = (["train", "dev", "test"] as const).map((s) => loadBeir(out, s));
    const leak = assertNoLeak(splits);
    const counts = Object.fromEntries(splits.map((s) => [s.split, s.queries.size]));
    emit(
      opts,
      [
        `wrote ${out}: ${files.corpus.length} passages; queries train ${counts.train}, dev ${counts.dev}, test ${counts.test}`,
        `no source document in two splits; documents: ${leak.splits.map((s) => `${s.split} ${s.documents}`).join(", ")}`,
      ],
      {
        ok: true,
        out,
        passages: files.corpus.length,
        queries: counts,
        leak,
      },
    );
  });
}
