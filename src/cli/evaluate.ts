/**
 * `eval`: retrieval metrics of one or more systems (models or bm25) on a split, with sentence-transformers'
 * InformationRetrievalEvaluator names and definitions (notebook 2); `compare`: a paired bootstrap
 * comparison of two systems with 95% intervals (notebook 4). Both write the per-query CSV report.
 */
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import type { IRSplit } from "../data/index";
import type { InformationRetrievalEvaluator, IRResult } from "../eval/index";
import { getConfig } from "../env";
import { writeFileAtomic } from "../files";
import type { PairScorer } from "../rerank/types";
import {
  emit,
  existingFolder,
  fmt,
  loadSplit,
  nonNegativeInt,
  positiveInt,
  UsageError,
  withJson,
  type JsonOption,
} from "./common";
import { BOOTSTRAP_RESAMPLES, DEFAULT_SEED } from "../defaults";
import { formatSignedInterval } from "../display/format";

/** The label a system spec gets in tables: "bm25", "offline", or a folder's name ("final" -> "run/final"). */
export function systemLabel(spec: string): string {
  if (spec === "bm25" || spec === "offline" || spec === "offline-bert") return spec;
  const parts = resolve(spec).split(/[\\/]/).filter(Boolean);
  const last = parts.pop() ?? spec;
  return ["best", "final"].includes(last) && parts.length > 0 ? `${parts.pop()}/${last}` : basename(spec) || spec;
}

/** Evaluates "bm25" or a model spec; the result is labelled with systemLabel (unique labels are the caller's job). */
export async function evaluateSystem(
  spec: string,
  split: IRSplit,
  evaluator: InformationRetrievalEvaluator,
  label = systemLabel(spec),
): Promise<IRResult> {
  if (spec === "bm25") {
    const { BM25Retriever } = await import("../retrieval/index");
    return { ...(await evaluator.evaluate(new BM25Retriever(split.corpus))), system: label };
  }
  const { loadModel } = await import("../model/index");
  const model = await loadModel(spec);
  try {
    return { ...(await evaluator.evaluate(model)), system: label };
  } finally {
    model.dispose();
  }
}

/**
 * "bm25" or a model spec evaluated as it is and re-ranked by `scorer` (RerankedRetriever: its top `topK` re-ordered,
 * CrossEncoderRerankingEvaluator's realistic mode); the first stage is built once for both.
 */
export async function evaluateReranked(
  spec: string,
  split: IRSplit,
  evaluator: InformationRetrievalEvaluator,
  label: string,
  reranker: { scorer: PairScorer; label: string; topK: number },
): Promise<IRResult[]> {
  const { BM25Retriever, DenseRetriever } = await import("../retrieval/index");
  const { RerankedRetriever } = await import("../rerank/index");
  const model = spec === "bm25" ? undefined : await (await import("../model/index")).loadModel(spec);
  try {
    const first = model ? await DenseRetriever.build(model, split.corpus) : new BM25Retriever(split.corpus);
    const reranked = new RerankedRetriever(first, reranker.scorer, split.corpus, { topK: reranker.topK });
    return [
      { ...(await evaluator.evaluate(first)), system: label },
      { ...(await evaluator.evaluate(reranked)), system: `${label} + ${reranker.label}@${reranker.topK}` },
    ];
  } finally {
    model?.dispose();
  }
}

function uniqueLabels(specs: string[]): string[] {
  const labels = specs.map(systemLabel);
  return labels.map((l, i) => (labels.indexOf(l) === i ? l : `${l} (${i + 1})`));
}

interface EvalOpts extends JsonOption {
  model: string[];
  data: string;
  split: string;
  report: string;
  results?: string;
  topK: number;
  reranker?: string;
  rerankTopK: number;
}

/** --data, --split and --report: the options eval and compare share. */
function splitOptions(command: Command, report: string, defaultReport: string): Command {
  return command
    .requiredOption("-d, --data <dataset>", "shipped dataset name or BEIR folder")
    .option("-s, --split <name>", "split", "test")
    .option("-r, --report <file>", report, resolve(getConfig().reportsDir, defaultReport));
}

export function registerEval(program: Command): void {
  withJson(
    splitOptions(
      program
        .command("eval")
        .description(
          "Retrieval metrics (accuracy@k, precision/recall@k, MRR@10, NDCG@10, MAP@100) of models or bm25 on a split (notebook 2).",
        )
        .option("-m, --model <spec...>", "systems: Hub id, model folder, offline, or bm25", ["offline"]),
      "per-query report (.csv or .parquet)",
      "eval-per-query.csv",
    )
      .option("--results <file>", "also write the metrics as JSON (publish --eval reads it for the model card)")
      .option("--top-k <n>", "ids listed per query in the report", positiveInt("--top-k"), 5)
      .option("--reranker <dir>", "also evaluate each system re-ranked by this cross-encoder folder (ONNX Runtime)")
      .option("--rerank-top-k <n>", "first-stage hits the re-ranker re-orders", positiveInt("--rerank-top-k"), 30),
  ).action(async (opts: EvalOpts) => {
    const { InformationRetrievalEvaluator, perQueryReport, writeReport } = await import("../eval/index");
    const split = await loadSplit(opts.data, opts.split);
    const evaluator = InformationRetrievalEvaluator.fromSplit(split, { name: `${basename(opts.data)}-${opts.split}` });
    const labels = uniqueLabels(opts.model);
    const results: IRResult[] = [];
    const rerankerDir = opts.reranker === undefined ? undefined : existingFolder(opts.reranker, "--reranker");
    const scorer = rerankerDir ? await (await import("../rerank/index")).OnnxCrossEncoder.load(rerankerDir) : undefined;
    try {
      for (let i = 0; i < opts.model.length; i++)
        if (scorer && rerankerDir) {
          const reranker = { scorer, label: systemLabel(rerankerDir), topK: opts.rerankTopK };
          results.push(...(await evaluateReranked(opts.model[i], split, evaluator, labels[i], reranker)));
        } else results.push(await evaluateSystem(opts.model[i], split, evaluator, labels[i]));
    } finally {
      await scorer?.release();
    }
    const report = resolve(opts.report);
    writeReport(perQueryReport(results, { topK: opts.topK }), report);
    const payload = {
      ok: true,
      dataset: opts.data,
      split: opts.split,
      queries: results[0].perQuery.length,
      corpus: results[0].corpusSize,
      systems: results.map((r) => ({
        system: r.system,
        scoreFunction: r.scoreFunction,
        metrics: r.values,
        primaryMetric: r.primaryMetric,
        pythonMetrics: r.metrics,
        seconds: r.retrievalSeconds,
      })),
      report,
    };
    if (opts.results) writeFileAtomic(resolve(opts.results), JSON.stringify(payload, null, 2));
    const names = results[0].metricNames;
    const width = Math.max(...names.map((n) => n.length));
    emit(
      opts,
      [
        `${opts.data} ${opts.split}: ${payload.queries} queries, ${payload.corpus} passages`,
        `${"metric".padEnd(width)}  ${results.map((r) => r.system.padStart(12)).join("  ")}`,
        ...names.map(
          (n) =>
            `${n.padEnd(width)}  ${results.map((r) => fmt(r.values[n]).padStart(Math.max(12, r.system.length))).join("  ")}`,
        ),
        `per-query report: ${report}`,
      ],
      payload,
    );
  });
}

interface CompareOpts extends JsonOption {
  baseline: string;
  candidate: string;
  data: string;
  split: string;
  report: string;
  resamples: number;
  seed: number;
  topK: number;
}

export function registerCompare(program: Command): void {
  withJson(
    splitOptions(
      program
        .command("compare")
        .description("Paired bootstrap comparison of two systems on the same queries, with 95% intervals (notebook 4).")
        .requiredOption("-b, --baseline <spec>", "baseline: Hub id, model folder, offline, or bm25")
        .requiredOption("-c, --candidate <spec>", "candidate: Hub id, model folder, offline, or bm25"),
      "per-query report with rank changes (.csv or .parquet)",
      "compare-per-query.csv",
    )
      .option("--resamples <n>", "bootstrap resamples", positiveInt("--resamples"), BOOTSTRAP_RESAMPLES)
      .option("--seed <n>", "bootstrap seed", nonNegativeInt("--seed"), DEFAULT_SEED)
      .option("--top-k <n>", "ids listed per query in the report", positiveInt("--top-k"), 5),
  ).action(async (opts: CompareOpts) => {
    if (opts.baseline === opts.candidate)
      throw new UsageError("--baseline and --candidate are the same system; compare two different ones.");
    const { compareSystems, describeComparison, InformationRetrievalEvaluator, perQueryReport, writeReport } =
      await import("../eval/index");
    const split = await loadSplit(opts.data, opts.split);
    const evaluator = InformationRetrievalEvaluator.fromSplit(split, { name: `${basename(opts.data)}-${opts.split}` });
    const [lb, lc] = uniqueLabels([opts.baseline, opts.candidate]);
    const base = await evaluateSystem(opts.baseline, split, evaluator, lb);
    const cand = await evaluateSystem(opts.candidate, split, evaluator, lc);
    const cmp = compareSystems(base, cand, { resamples: opts.resamples, seed: opts.seed });
    const report = resolve(opts.report);
    writeReport(perQueryReport([base, cand], { topK: opts.topK }), report);
    emit(
      opts,
      [
        describeComparison(cmp),
        ...cmp.differences.map(
          (d) =>
            `${d.metric.padEnd(14)} ${fmt(d.baseline)} -> ${fmt(d.candidate)}  ${formatSignedInterval(d, 4)}${d.significant ? " *" : ""}`,
        ),
        cmp.method,
        `per-query report: ${report}`,
      ],
      {
        ok: true,
        dataset: opts.data,
        split: opts.split,
        baseline: cmp.baseline,
        candidate: cmp.candidate,
        queries: cmp.queries,
        improved: cmp.improved,
        worsened: cmp.worsened,
        unchanged: cmp.unchanged,
        differences: cmp.differences,
        method: cmp.method,
        report,
      },
    );
  });
}
