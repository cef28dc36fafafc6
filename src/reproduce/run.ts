/**
 * One tutorial, reproduced: its recipe (recipes/<name>.json) -> its data (data.ts, from the Hub by id) -> the base
 * model evaluated -> a few training steps measured and the run's time estimated -> training as the recipe says
 * (src/train's train) -> the fine-tuned model evaluated the same way -> the published table with our numbers beside it,
 * written atomically to reports/reproduce/<name>/report.json and report.md (report-quick.* for --quick), saying where
 * it ran and how long each phase took.
 *
 * Evaluation is InformationRetrievalEvaluator's (src/eval): the corpus and queries are encoded once per model at full
 * size; each Matryoshka dimension d truncates both to their first d coordinates and re-normalises (sentence-transformers'
 * truncate_dim), then scores with cosine. The metric names are the evaluator's: Hit@K is accuracy@K.
 *
 * The estimate: `estimateSteps` steps (default 3) of the recipe's loss on probe batches of min(batch, 64) pairs, trained
 * on a second copy of the model; the seconds per pair after the first step (which includes one-off set-up), times the
 * pairs of a step and the steps of the run, plus the baseline evaluation's time for every evaluation the run does.
 * GradCache and plain losses both cost about linearly in the pairs of a step, which is what the scaling assumes.
 */
import { cpus } from "node:os";
import { join } from "node:path";
import { backendInfo, runsOnGpu } from "../backend";
import { truncateEmbeddings } from "../cost/matryoshka";
import type { IRSplit } from "../data/types";
import { getConfig } from "../env";
import { InformationRetrievalEvaluator } from "../eval/ir-evaluator";
import { writeFileAtomic } from "../files";
import type { HubOptions } from "../model/hub";
import { loadModel, type SentenceTransformer } from "../model/sentence-transformer";
import { DenseRetriever } from "../retrieval/dense";
import { documentText } from "../retrieval/types";
import { CachedMultipleNegativesRankingLoss } from "../train/losses/cached-multiple-negatives-ranking";
import { MatryoshkaLoss } from "../train/losses/matryoshka";
import { MultipleNegativesRankingLoss } from "../train/losses/multiple-negatives-ranking";
import type { Loss } from "../train/losses/types";
import type { TrainEvaluator, TrainOptions } from "../train/options";
import { train } from "../train/trainer";
import { type RecipeData, recipeData, sliceSplit, type TrainRow } from "./data";
import type { HubDatasetOptions } from "./hub-dataset";
import { datasetLabel, loadRecipe, lossLabel, type Recipe } from "./recipes";

export interface ReproduceOptions {
  /** Train and evaluate on the recipe's `quick` slice (minutes on a laptop); the report says it is a slice. */
  quick?: boolean;
  /** Folder with the tutorial's files (the LlamaIndex recipe's train_dataset.json / val_dataset.json). */
  dataDir?: string;
  /** Another model than the recipe's (a Hub id or a folder): for tests with a tiny model. */
  model?: string;
  /** Other Matryoshka dimensions than the recipe's (a smaller model's). */
  dims?: number[];
  /** Stop after printing the estimate. */
  estimateOnly?: boolean;
  /** Steps measured for the estimate (default 3; 0 skips it). */
  estimateSteps?: number;
  /** Where report.json / report.md go (default <reports>/reproduce/<name>). */
  reportDir?: string;
  /** Where checkpoints and models go (default <runs>/reproduce/<name>[-quick]). */
  workDir?: string;
  /** Hub settings for the model and the dataset (endpoint, cache, token, offline, progress). */
  hub?: HubOptions;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
  /** Show the trainer's live progress (default true). */
  progress?: boolean;
}

export interface ComparisonRow {
  metric: string;
  dim: number;
  published: { base: number; fine_tuned: number } | null;
  ours: { base: number; fine_tuned: number | null };
}

export interface ReproduceReport {
  recipe: string;
  title: string;
  source: string;
  quick: boolean;
  /** What --quick trained and evaluated on (null for a full run). */
  slice: { train_rows: number; eval_queries: number; corpus_size: number; epochs: number } | null;
  model: string;
  dataset: string;
  where: { backend: string; package: string; device: "GPU" | "CPU"; cpus: number; node: string };
  estimate: {
    probe_pairs: number;
    seconds_per_pair: number;
    pairs_per_step: number;
    steps: number;
    train_seconds: number;
    eval_seconds: number;
  } | null;
  seconds: { data: number; baseline: number; train: number; evaluation: number; total: number };
  train: { steps: number; loss: string; final_loss: number; warnings: string[] } | null;
  table: ComparisonRow[];
  differences: string[];
  written: { json: string; markdown: string } | null;
}

const now = () => performance.now() / 1000;

/** The training loss the recipe names, built the way the trainer here runs it (recipe.ours). */
export function recipeLoss(recipe: Recipe, dims?: number[]): Loss {
  const scale = recipe.loss.inner?.scale ?? recipe.loss.scale ?? 20;
  const base =
    recipe.ours.loss === "CachedMultipleNegativesRankingLoss"
      ? new CachedMultipleNegativesRankingLoss({ scale, miniBatchSize: recipe.ours.mini_batch_size })
      : new MultipleNegativesRankingLoss({ scale });
  if (recipe.loss.name !== "MatryoshkaLoss") return base;
  const matryoshkaDims = dims ?? (recipe.loss.matryoshka_dims as number[]);
  const weights = recipe.loss.matryoshka_weights;
  return new MatryoshkaLoss(base, {
    matryoshkaDims,
    matryoshkaWeights: weights && weights.length === matryoshkaDims.length ? weights : undefined,
  });
}

/** The metrics of `split` for each dimension (truncated, re-normalised), the model encoding once. */
export async function evaluateAtDims(
  model: SentenceTransformer,
  split: IRSplit,
  dims: number[],
): Promise<Map<number, Record<string, number>>> {
  const evaluator = InformationRetrievalEvaluator.fromSplit(split);
  const docs = await model.encode(evaluator.corpus.map(documentText));
  const queries = await model.encode(evaluator.queries.map((q) => q.text));
  const ids = evaluator.corpus.map((d) => d._id);
  const out = new Map<number, Record<string, number>>();
  for (const dim of dims) {
    const cut = (e: typeof docs) => (dim === e.dim ? e : truncateEmbeddings(e, dim));
    const retriever = DenseRetriever.fromEmbeddings(model, ids, cut(docs), { implementation: "auto" });
    const hits = retriever.retrieveByVectors(cut(queries), evaluator.depth);
    out.set(dim, evaluator.score(`${model.name} @ ${dim}`, "cosine", hits).values);
  }
  return out;
}

/** A TrainEvaluator over the dims: metrics keyed "dim_<d>_cosine_<metric>" (Schmid's per-epoch evaluation). */
function dimsEvaluator(split: IRSplit, dims: number[]): TrainEvaluator {
  return {
    async evaluate(model) {
      const metrics: Record<string, number> = {};
      for (const [dim, values] of await evaluateAtDims(model, split, dims))
        for (const [m, v] of Object.entries(values)) metrics[`dim_${dim}_cosine_${m}`] = v;
      return { metrics };
    },
  };
}

function trainOptions(recipe: Recipe, loss: Loss, epochs: number, rows: number): TrainOptions {
  // model.fit's callers round the warmup down: pass the step count (the trainer's ratio rounds up, as transformers).
  const floorWarmup = Math.floor(Math.ceil(rows / recipe.ours.batch_size) * epochs * recipe.warmup_ratio);
  return {
    loss,
    epochs,
    batchSize: recipe.ours.batch_size,
    learningRate: recipe.learning_rate,
    ...(recipe.warmup_rounding === "floor" ? { warmupSteps: floorWarmup } : { warmupRatio: recipe.warmup_ratio }),
    lrScheduler: recipe.schedule,
    weightDecay: recipe.weight_decay,
    batchSampler: recipe.batch_sampler,
    seed: recipe.split.seed ?? 42,
  };
}

/**
 * Measures a few steps and extrapolates the run (module header). It TRAINS `model` (the caller reloads it before the
 * real run: one model in memory at a time, which matters on the 4 GiB wasm heap).
 */
export async function estimateRun(
  recipe: Recipe,
  model: SentenceTransformer,
  rows: TrainRow[],
  dims: number[] | undefined,
  epochs: number,
  steps: number,
  probeOptions: { probePairs?: number; memoryLimit?: number } = {},
): Promise<{
  probe_pairs: number;
  seconds_per_pair: number;
  pairs_per_step: number;
  steps: number;
  train_seconds: number;
}> {
  // `steps` full batches of the probe's size (at least 2 pairs: in-batch negatives need a second one).
  const probe = Math.max(
    2,
    Math.min(recipe.ours.batch_size, probeOptions.probePairs ?? 64, Math.floor(rows.length / steps)),
  );
  let r: Awaited<ReturnType<typeof train>>;
  try {
    r = await train(model, rows.slice(0, probe * steps), {
      ...trainOptions(recipe, recipeLoss(recipe, dims), steps, probe * steps),
      batchSize: probe,
      maxSteps: steps,
      progress: false,
      onWarning: () => {},
      ...(probeOptions.memoryLimit ? { memoryLimit: probeOptions.memoryLimit } : {}),
    });
  } catch (err) {
    throw new Error(
      `${recipe.name}: the time estimate's probe (${steps} steps of ${probe} pairs with the recipe's loss) could not run, so the run's ${recipe.ours.batch_size}-pair steps cannot either: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const times = r.history.flatMap((h) => (h.kind === "train" ? [h.seconds] : []));
  const perStep =
    times.length >= 2 ? (times[times.length - 1] - times[0]) / (times.length - 1) : r.seconds / Math.max(1, r.steps);
  const stepsPerEpoch = Math.ceil(rows.length / recipe.ours.batch_size);
  const total = stepsPerEpoch * epochs;
  const perPair = perStep / probe;
  return {
    probe_pairs: probe,
    seconds_per_pair: perPair,
    pairs_per_step: Math.min(recipe.ours.batch_size, rows.length),
    steps: total,
    train_seconds: perPair * Math.min(recipe.ours.batch_size, rows.length) * total,
  };
}

/** "1 h 05 min", "4 min 10 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, "0")} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

/** The table rows: every published row with our base and fine-tuned values at the same metric and dimension. */
function comparison(
  recipe: Recipe,
  fullDim: number,
  base: Map<number, Record<string, number>>,
  tuned: Map<number, Record<string, number>> | null,
  dimMap: Map<number, number>,
): ComparisonRow[] {
  return recipe.published.rows.map((row) => {
    const metric = row.metric ?? (recipe.published.metric as string);
    const publishedDim = row.dim ?? fullDim;
    const dim = dimMap.get(publishedDim) ?? fullDim;
    const value = (m: Map<number, Record<string, number>> | null) => m?.get(dim)?.[metric];
    const b = value(base);
    if (b === undefined)
      throw new Error(`recipe ${recipe.name}: the evaluator has no metric "${metric}" at ${dim} dims.`);
    return {
      metric,
      dim,
      published: { base: row.base, fine_tuned: row.fine_tuned },
      ours: { base: b, fine_tuned: value(tuned) ?? null },
    };
  });
}

/** The markdown report: where, how long, the table, what differs. */
export function reportMarkdown(r: ReproduceReport, recipe: Recipe): string {
  const names = recipe.published.metric_names ?? {};
  const f = (v: number | null | undefined) => (v === null || v === undefined ? "—" : v.toFixed(3));
  const lines = [
    `# ${r.title}`,
    "",
    `Published: ${r.source}`,
    "",
    r.quick
      ? `**A slice, not the tutorial's run** (--quick): ${r.slice?.train_rows} training rows, ${r.slice?.epochs} epoch(s), ${r.slice?.eval_queries} queries over ${r.slice?.corpus_size} passages. The published numbers are for the full run; compare the direction, not the values.`
      : "Full run, with the recipe's data and settings.",
    "",
    `Model ${r.model}; data ${r.dataset}. Ran on ${r.where.device} (tfjs backend ${r.where.backend}, ${r.where.package}; ${r.where.cpus} CPU cores; Node ${r.where.node}).`,
    `Time: data ${formatDuration(r.seconds.data)}, base evaluation ${formatDuration(r.seconds.baseline)}, training ${formatDuration(r.seconds.train)}, fine-tuned evaluation ${formatDuration(r.seconds.evaluation)}; total ${formatDuration(r.seconds.total)}.`,
    ...(r.estimate
      ? [
          `Estimate before training (measured here): ${r.estimate.seconds_per_pair.toFixed(3)} s per pair on a probe of ${r.estimate.probe_pairs} pairs -> ${formatDuration(r.estimate.seconds_per_pair * r.estimate.pairs_per_step)} per step of ${r.estimate.pairs_per_step} pairs x ${r.estimate.steps} steps = ${formatDuration(r.estimate.train_seconds)} of training, plus ${formatDuration(r.estimate.eval_seconds)} of evaluation.`,
        ]
      : []),
    "",
    "| metric | dim | published base | published fine-tuned | ours base | ours fine-tuned |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.table.map(
      (row) =>
        `| ${names[row.metric] ? `${names[row.metric]} (${row.metric})` : row.metric} | ${row.dim} | ${f(row.published?.base)} | ${f(row.published?.fine_tuned)} | ${f(row.ours.base)} | ${f(row.ours.fine_tuned)} |`,
    ),
    "",
    "What differs from the tutorial:",
    "",
    ...r.differences.map((d) => `- ${d}`),
    "",
  ];
  return lines.join("\n");
}

/** Runs a recipe end to end (module header); returns the report, also written to reportDir. */
export async function reproduceTutorial(
  nameOrRecipe: string | Recipe,
  options: ReproduceOptions = {},
): Promise<ReproduceReport> {
  const t0 = now();
  const recipe = typeof nameOrRecipe === "string" ? loadRecipe(nameOrRecipe) : nameOrRecipe;
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const quick = options.quick === true;
  const cfg = getConfig();
  const suffix = quick ? "-quick" : "";
  const workDir =
    options.workDir ?? join(cfg.course.runsDir ?? join(cfg.repoRoot, "runs"), "reproduce", `${recipe.name}${suffix}`);
  const reportDir = options.reportDir ?? join(cfg.reportsDir, "reproduce", recipe.name);
  const hub: HubDatasetOptions | undefined = options.hub;

  log(`${recipe.name}: ${recipe.title}`);
  const data: RecipeData = await recipeData(recipe, { dataDir: options.dataDir, workDir, hub });
  let rows = data.train;
  let evaluation = data.evaluation;
  const epochs = quick ? recipe.quick.epochs : recipe.epochs;
  if (quick) {
    rows = rows.slice(0, recipe.quick.train_rows);
    evaluation = sliceSplit(evaluation, recipe.quick.eval_queries, recipe.quick.corpus_size, recipe.split.seed ?? 42);
  }
  const tData = now();
  log(
    `data: ${data.source}; ${rows.length} training rows, ${evaluation.relevant.size} evaluation queries over ${evaluation.corpus.size} passages (BEIR folder ${data.beirDir})` +
      (quick ? " — a --quick slice" : ""),
  );

  const modelSpec = options.model ?? recipe.model;
  let model = await loadModel(modelSpec, hub);
  const info = backendInfo();
  const where = {
    backend: info?.name ?? "unknown",
    package: info?.package ?? "unknown",
    device: (runsOnGpu(info) ? "GPU" : "CPU") as "GPU" | "CPU",
    cpus: cpus().length,
    node: process.versions.node,
  };
  log(`model ${modelSpec} (${model.dim} dims) on ${where.device}, tfjs backend ${where.backend}`);
  const recipeDims = recipe.evaluator.truncate_dims ?? recipe.loss.matryoshka_dims;
  const dims = options.dims ?? recipeDims ?? [model.dim];
  for (const d of dims)
    if (!Number.isInteger(d) || d < 1 || d > model.dim)
      throw new Error(
        `recipe ${recipe.name}: dimension ${d} is not in 1..${model.dim}, the size of ${modelSpec}'s embeddings; a smaller model needs its own dims.`,
      );
  // The published row at the recipe's dim i is compared with ours at dims[i].
  const dimMap = new Map<number, number>((recipeDims ?? [model.dim]).map((d, i) => [d, dims[i] ?? model.dim]));
  dimMap.set(model.dim, model.dim);

  const base = await evaluateAtDims(model, evaluation, dims);
  const tBase = now();
  log(`base model evaluated in ${formatDuration(tBase - tData)}`);

  const hasMatryoshka = recipe.loss.name === "MatryoshkaLoss";
  const lossDims = hasMatryoshka ? dims : undefined;
  let estimate: ReproduceReport["estimate"] = null;
  const estimateSteps = options.estimateSteps ?? 3;
  if (estimateSteps > 0) {
    const e = await estimateRun(recipe, model, rows, lossDims, epochs, estimateSteps);
    // The probe trained the model: start the run from the downloaded weights again (from the cache).
    model.dispose();
    model = await loadModel(modelSpec, { ...hub, onProgress: () => {} });
    const evals = recipe.evaluator.during_training ? epochs + 1 : 1;
    estimate = { ...e, eval_seconds: (tBase - tData) * evals };
    log(
      `estimate (measured here, ${estimateSteps} steps of ${e.probe_pairs} pairs): ${e.seconds_per_pair.toFixed(3)} s per pair -> ` +
        `${formatDuration(e.seconds_per_pair * e.pairs_per_step)} per step x ${e.steps} steps = ${formatDuration(e.train_seconds)} of training, ` +
        `plus ~${formatDuration(estimate.eval_seconds)} of evaluation`,
    );
  }
  const tEstimate = now();

  let trained: ReproduceReport["train"] = null;
  let tuned: Map<number, Record<string, number>> | null = null;
  let tTrain = tEstimate;
  if (!options.estimateOnly) {
    const best = recipe.evaluator.best_model as { dim: number; metric: string } | undefined;
    const bestDim = best ? (dimMap.get(best.dim) ?? model.dim) : undefined;
    const opts: TrainOptions = {
      ...trainOptions(recipe, recipeLoss(recipe, lossDims), epochs, rows.length),
      outputDir: join(workDir, "train"),
      progress: options.progress ?? true,
      onWarning: (w) => log(w),
      ...(recipe.evaluator.during_training
        ? {
            evaluator: dimsEvaluator(evaluation, dims),
            evalSteps: Math.max(1, Math.ceil(rows.length / recipe.ours.batch_size)),
            evalAtStart: false,
            ...(best ? { metricForBestModel: `dim_${bestDim}_cosine_${best.metric}`, loadBestModelAtEnd: true } : {}),
          }
        : {}),
    };
    const r = await train(model, rows, opts);
    tTrain = now();
    const steps = r.history.flatMap((h) => (h.kind === "train" ? [h.loss] : []));
    trained = {
      steps: r.steps,
      loss: lossLabel(recipe),
      final_loss: steps[steps.length - 1] ?? Number.NaN,
      warnings: r.warnings,
    };
    log(`trained ${r.steps} steps in ${formatDuration(tTrain - tEstimate)}`);
    tuned = await evaluateAtDims(model, evaluation, dims);
  }
  const tEnd = now();
  model.dispose();

  const report: ReproduceReport = {
    recipe: recipe.name,
    title: recipe.title,
    source: recipe.published.source,
    quick,
    slice: quick
      ? {
          ...recipe.quick,
          train_rows: rows.length,
          eval_queries: evaluation.relevant.size,
          corpus_size: evaluation.corpus.size,
        }
      : null,
    model: modelSpec,
    dataset: `${datasetLabel(recipe)} — ${data.source}`,
    where,
    estimate,
    seconds: {
      data: tData - t0,
      baseline: tBase - tData,
      train: options.estimateOnly ? 0 : tTrain - tEstimate,
      evaluation: options.estimateOnly ? 0 : tEnd - tTrain,
      total: tEnd - t0,
    },
    train: trained,
    table: comparison(recipe, model.dim, base, tuned, dimMap),
    differences: [
      ...(options.model ? [`Model: ${options.model} instead of the recipe's ${recipe.model}.`] : []),
      ...(options.dims ? [`Dimensions: ${options.dims.join(", ")} instead of the recipe's.`] : []),
      ...recipe.differences,
    ],
    written: null,
  };
  if (!options.estimateOnly) {
    const stem = quick ? "report-quick" : "report";
    const written = { json: join(reportDir, `${stem}.json`), markdown: join(reportDir, `${stem}.md`) };
    report.written = written;
    writeFileAtomic(written.json, `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomic(written.markdown, reportMarkdown(report, recipe));
  }
  return report;
}
