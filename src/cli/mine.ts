/**
 * `mine`: hard negatives for (anchor, positive) pairs with sentence-transformers' mine_hard_negatives options
 * (src/mining/hard-negatives.ts), written as rows for TripletLoss or MNRL with negatives (notebook 4).
 */
import { extname, resolve } from "node:path";
import type { Command } from "commander";
import type { MineHardNegativesOptions } from "../mining/index";
import {
  emit,
  existingFile,
  fraction,
  loadSplit,
  nonNegativeInt,
  note,
  positiveInt,
  UsageError,
  withJson,
  type JsonOption,
} from "./common";
import { DEFAULT_SEED } from "../defaults";

interface MineOpts extends JsonOption {
  model: string;
  data: string;
  split: string;
  out: string;
  preset?: string;
  numNegatives?: number;
  rangeMin?: number;
  rangeMax?: number;
  relativeMargin?: number;
  absoluteMargin?: number;
  sampling?: string;
  format: string;
  seed: number;
}

export function registerMine(program: Command): void {
  withJson(
    program
      .command("mine")
      .description(
        "Mine hard negatives for (anchor, positive) pairs with a model (sentence-transformers' mine_hard_negatives; notebook 4).",
      )
      .option("-m, --model <spec>", "model that scores candidates: Hub id, folder, offline", "offline")
      .requiredOption(
        "-d, --data <dataset>",
        "pairs .jsonl/.parquet, or a shipped dataset / BEIR folder (its --split pairs; the whole corpus is searched)",
      )
      .option("-s, --split <name>", "split of a dataset", "train")
      .option("-o, --out <file>", "mined rows (.jsonl)", "mined.jsonl")
      .option("--preset <name>", "hard (NV-Retriever TopK-PercPos 95%), semi-hard, or random")
      .option("--num-negatives <n>", "negatives per pair (default 3)", positiveInt("--num-negatives"))
      .option("--range-min <n>", "skip the n most similar surviving candidates", nonNegativeInt("--range-min"))
      .option("--range-max <n>", "consider ranks below n only", positiveInt("--range-max"))
      .option(
        "--relative-margin <r>",
        "drop candidates scoring above (1 - r) x the positive's score",
        fraction("--relative-margin"),
      )
      .option("--absolute-margin <m>", "drop candidates with score + m above the positive's score", Number)
      .option("--sampling <s>", "top or random")
      .option("--format <f>", "triplet, n-tuple or labeled-pair", "triplet")
      .option("--seed <n>", "seed of random sampling", nonNegativeInt("--seed"), DEFAULT_SEED),
  ).action(async (opts: MineOpts) => {
    const { mineHardNegatives, miningPresets, describeMining } = await import("../mining/index");
    const { readPairs, trainingPairs, passageText, writeJsonl } = await import("../data/index");
    if (opts.preset && !(opts.preset in miningPresets))
      throw new UsageError(`--preset ${opts.preset}: expected one of ${Object.keys(miningPresets).join(", ")}.`);
    if (opts.sampling && opts.sampling !== "top" && opts.sampling !== "random")
      throw new UsageError(`--sampling ${opts.sampling}: expected top or random.`);
    if (!["triplet", "n-tuple", "labeled-pair"].includes(opts.format))
      throw new UsageError(`--format ${opts.format}: expected triplet, n-tuple or labeled-pair.`);
    if (!extname(opts.out).toLowerCase().endsWith(".jsonl"))
      throw new UsageError(`--out ${opts.out}: mined rows are written as .jsonl.`);
    const ext = extname(opts.data).toLowerCase();
    let pairs: { anchor: string; positive: string }[];
    let corpus: string[] | undefined;
    if (ext === ".jsonl" || ext === ".parquet") pairs = readPairs(existingFile(opts.data, "--data")).rows;
    else {
      const split = await loadSplit(opts.data, opts.split);
      pairs = trainingPairs(split);
      corpus = [...split.corpus.values()].map((d) => passageText(d));
    }
    const options: MineHardNegativesOptions = {
      ...(opts.preset ? miningPresets[opts.preset as keyof typeof miningPresets] : {}),
      ...(corpus ? { corpus } : {}),
      ...(opts.numNegatives !== undefined ? { numNegatives: opts.numNegatives } : {}),
      ...(opts.rangeMin !== undefined ? { rangeMin: opts.rangeMin } : {}),
      ...(opts.rangeMax !== undefined ? { rangeMax: opts.rangeMax } : {}),
      ...(opts.relativeMargin !== undefined ? { relativeMargin: opts.relativeMargin } : {}),
      ...(opts.absoluteMargin !== undefined ? { absoluteMargin: opts.absoluteMargin } : {}),
      ...(opts.sampling ? { samplingStrategy: opts.sampling as "top" | "random" } : {}),
      outputFormat: opts.format as "triplet" | "n-tuple" | "labeled-pair",
      seed: opts.seed,
      onWarning: (m) => note(opts, `warning: ${m}`),
    };
    const { loadModel } = await import("../model/index");
    const model = await loadModel(opts.model);
    const res = await mineHardNegatives(pairs, model, options);
    const out = resolve(opts.out);
    writeJsonl(out, res.rows);
    const r = res.report;
    emit(opts, [...describeMining(r), `wrote ${res.rows.length} rows (${res.columns.join(", ")}) to ${out}`], {
      ok: true,
      out,
      rows: res.rows.length,
      columns: res.columns,
      pairs: r.pairs,
      uniqueQueries: r.uniqueQueries,
      corpusSize: r.corpusSize,
      removed: r.removed,
      pairsWithFewerNegatives: r.pairsWithFewerNegatives,
      falseNegativeCount: r.falseNegativeCount,
      index: r.index,
      seconds: r.seconds,
      warnings: r.warnings,
    });
  });
}
