/**
 * Do mined hard negatives help? One call trains the same base model once per kind of negative and measures every
 * run on the same held-out queries:
 *
 *   "in-batch"   (anchor, positive) pairs, MultipleNegativesRankingLoss: the other positives of the batch are the
 *                only negatives
 *   "random"     + one negative drawn uniformly from the corpus (miningPresets.random)
 *   "hard-no-margin"  + the top-ranked candidate that is not a positive (no margin: nothing but the positives removed)
 *   "hard"       + one mined hard negative, NV-Retriever's setting (miningPresets.hard: relativeMargin 0.05, top)
 *   "semi-hard"  + one semi-hard negative (miningPresets["semi-hard"]: within 0.1 below the positive, random)
 *   "labeled-pairs"  (optional) hard negatives as (anchor, passage, 0/1) rows trained with CoSENTLoss
 *
 * Same seed, same number of optimizer steps (default 50; learning rate: defaultLearningRate), same batch size and
 * learning-rate schedule for every run; negatives are mined once with the base model (as one does before training).
 * Each run is compared with the base model and with "in-batch" by the paired bootstrap (src/eval/compare: 95% CIs of
 * the mean per-query difference, queries improved / worsened by the rank of their first relevant passage).
 * A pair that gets no negative is dropped from a mined run's rows, as sentence-transformers' mining drops it. With
 * `samePairs` (the default) every run, in-batch included, then trains on the same pairs: those every mined (triplet)
 * run found a negative for, so runs differ only in their negatives; the table shows the rows each run had.
 *
 * With `cacheDir`, each finished run (its evaluation and mining summary) is stored under a key of everything that
 * determines it (model, data, queries, settings), so a notebook re-run reuses it instead of training again.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pl from "nodejs-polars";
import { bootstrapCI, compareSystems, type BootstrapOptions, type SystemComparison } from "../eval/compare";
import type { InformationRetrievalEvaluator, IRResult } from "../eval/ir-evaluator";
import { metricBarsFigure } from "../eval/charts";
import { writeFileAtomic } from "../files";
import { mean } from "../math";
import { loadModel } from "../model/sentence-transformer";
import type { SentenceTransformer } from "../model/sentence-transformer";
import type { PlotlyFigure } from "../display/display";
import { mineHardNegatives, miningPresets, type MineHardNegativesOptions, type MiningReport } from "../mining/index";
import { NoMinedRowsError } from "../mining/hard-negatives";
import { CoSENTLoss } from "../train/losses/cosent";
import { MultipleNegativesRankingLoss } from "../train/losses/multiple-negatives-ranking";
import type { Loss } from "../train/losses/types";
import { prepareTrainingData } from "../train/training-data";
import { train } from "../train/trainer";
import { defaultLearningRate } from "./recipes";
import { DEFAULT_SEED } from "../defaults";
import { formatSigned } from "../display/format";

export type NegativeCondition = "in-batch" | "random" | "hard-no-margin" | "hard" | "semi-hard" | "labeled-pairs";

export const NEGATIVE_CONDITIONS: readonly NegativeCondition[] = [
  "in-batch",
  "random",
  "hard-no-margin",
  "hard",
  "semi-hard",
  "labeled-pairs",
];

export interface NegativesComparisonOptions {
  /** The base model: a loadModel() spec (default: COURSE_MODEL, else the offline default) or a function returning a fresh copy each call. */
  model?: string | (() => Promise<SentenceTransformer>);
  /** (anchor, positive) training rows. */
  pairs: unknown;
  /** The held-out evaluation (e.g. InformationRetrievalEvaluator.fromSplit(test)). */
  evaluator: InformationRetrievalEvaluator;
  /** Runs, in order (default in-batch, random, hard, semi-hard). "in-batch" is the reference of the second comparison. */
  conditions?: NegativeCondition[];
  /** Negatives per pair for the mined runs (default 1). */
  numNegatives?: number;
  /** Extra mining options per condition (merged over the preset). */
  mining?: Partial<Record<NegativeCondition, MineHardNegativesOptions>>;
  /** Train every run on the pairs every mined triplet run found a negative for (default true; see the header). */
  samePairs?: boolean;
  /** Optimizer steps per run (default 50). */
  steps?: number;
  /** Default 32; TRANSFORMER_BATCH_SIZE (16) for a Transformer model. */
  batchSize?: number;
  learningRate?: number;
  warmupRatio?: number;
  seed?: number;
  bootstrap?: BootstrapOptions;
  /** Folder for cached runs (reused when everything that determines a run is unchanged). */
  cacheDir?: string;
  /** Training progress display (default false: one line per run through onLog). */
  progress?: boolean;
  onLog?: (line: string) => void;
  onWarning?: (message: string) => void;
}

/** What a run's mining did, without the per-pair score arrays (those stay in `mining` of a fresh run). */
export interface MiningSummary {
  rows: number;
  pairsWithFewerNegatives: number;
  meanPositiveScore: number;
  meanNegativeScore: number;
  falseNegativeCount: number;
  seconds: number;
}

export interface ConditionRun {
  condition: NegativeCondition;
  loss: string;
  rows: number;
  mining?: MiningSummary;
  /** The full mining report (absent when the run came from the cache). */
  miningReport?: MiningReport;
  trainSeconds: number;
  trainLoss: number;
  steps: number;
  result: IRResult;
  vsBase: SystemComparison;
  vsInBatch?: SystemComparison;
  cached: boolean;
}

/** A condition that did not run because mining left no training row (see NoMinedRowsError). */
export interface SkippedCondition {
  condition: NegativeCondition;
  reason: string;
}

export interface NegativesComparison {
  model: string;
  base: IRResult;
  runs: ConditionRun[];
  /** Mined conditions that left no row to train on, with the mining error. */
  skipped: SkippedCondition[];
  settings: {
    steps: number;
    batchSize: number;
    learningRate: number;
    warmupRatio: number;
    seed: number;
    numNegatives: number;
  };
  bootstrap: BootstrapOptions;
}

/**
 * The batch size of a Transformer's runs: 16, as the course's Transformer recipe (src/course/recipes.ts). With a
 * mined negative a step embeds 3 x 16 texts; on the wasm backend train() runs it in GradCache form when a plain step
 * would not fit the heap (src/train/memory.ts), and 20 steps of a MiniLM-sized model take minutes, not tens of them.
 */
export const TRANSFORMER_BATCH_SIZE = 16;

const PRESET: Record<Exclude<NegativeCondition, "in-batch">, MineHardNegativesOptions> = {
  random: miningPresets.random,
  "hard-no-margin": { samplingStrategy: "top" },
  hard: miningPresets.hard,
  "semi-hard": miningPresets["semi-hard"],
  "labeled-pairs": { ...miningPresets.hard, outputFormat: "labeled-pair" },
};

function sha(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/** Trains one model per condition and compares them on the evaluator's queries (see the module header). */
export async function compareNegatives(options: NegativesComparisonOptions): Promise<NegativesComparison> {
  const conditions = options.conditions ?? ["in-batch", "random", "hard", "semi-hard"];
  for (const c of conditions)
    if (!NEGATIVE_CONDITIONS.includes(c))
      throw new Error(`compareNegatives: unknown condition "${c}"; use ${NEGATIVE_CONDITIONS.join(", ")}.`);
  if (new Set(conditions).size !== conditions.length) throw new Error("compareNegatives: a condition is listed twice.");
  const log = options.onLog ?? ((l: string) => console.log(l));
  const spec = options.model;
  const fresh = typeof spec === "function" ? spec : () => loadModel(spec);
  const pairs = prepareTrainingData(options.pairs, "compareNegatives pairs");
  const pairRows = pairs.rows.map(([anchor, positive]) => ({ anchor, positive }));

  const baseModel = await fresh();
  const modelName = baseModel.name;
  const settings = {
    steps: options.steps ?? 50,
    batchSize: options.batchSize ?? (baseModel.encoder ? TRANSFORMER_BATCH_SIZE : 32),
    learningRate: options.learningRate ?? defaultLearningRate(baseModel),
    warmupRatio: options.warmupRatio ?? 0.1,
    seed: options.seed ?? DEFAULT_SEED,
    numNegatives: options.numNegatives ?? 1,
  };
  const base = { ...(await options.evaluator.evaluate(baseModel)), system: "base model" };
  const samePairs = options.samePairs ?? true;
  const pairKey = (r: Record<string, unknown>) => `${String(r.anchor)}\u0000${String(r.positive)}`;
  let kept: Set<string> | undefined;
  const key = (condition: NegativeCondition) =>
    sha({
      v: 1,
      model: baseModel.name,
      source: baseModel.describe(),
      pairs: sha(pairRows),
      kept: kept ? sha([...kept].sort()) : null,
      queries: sha(options.evaluator.queries),
      corpus: options.evaluator.corpus.length,
      condition,
      settings,
      mining: options.mining?.[condition] ?? null,
    });
  const cachePath = (condition: NegativeCondition) =>
    options.cacheDir && join(options.cacheDir, `negatives-${condition}-${key(condition)}.json`);

  // Mine with the base model, before any training.
  const skipped: SkippedCondition[] = [];
  const mined = new Map<NegativeCondition, { rows: Record<string, string | number>[]; report: MiningReport }>();
  for (const c of conditions) {
    if (c === "in-batch") continue;
    const path = cachePath(c);
    if (!samePairs && path && existsSync(path)) continue;
    try {
      const r = await mineHardNegatives(pairRows, baseModel, {
        ...PRESET[c],
        numNegatives: settings.numNegatives,
        seed: settings.seed,
        onWarning: options.onWarning,
        ...options.mining?.[c],
      });
      mined.set(c, r);
    } catch (err) {
      // A model that scores every passage close to the positive leaves nothing to mine: that condition is
      // reported as not run (with the filter counts), and the others go on.
      if (!(err instanceof NoMinedRowsError)) throw err;
      skipped.push({ condition: c, reason: err.message });
      log(`${c}: not run: ${err.message}`);
    }
  }
  baseModel.dispose();
  const triplets = [...mined].filter(([c]) => c !== "labeled-pairs").map(([, m]) => m.rows);
  if (samePairs && triplets.length > 0) {
    kept = new Set(pairRows.map(pairKey));
    for (const rows of triplets) {
      const found = new Set(rows.map(pairKey));
      for (const k of kept) if (!found.has(k)) kept.delete(k);
    }
    if (kept.size === 0)
      throw new Error(
        "compareNegatives: no pair got a negative in every mined run, so the runs have no pair in common to train on. Fix: loosen the margins, or pass samePairs: false.",
      );
    for (const [c, m] of mined) if (c !== "labeled-pairs") m.rows = m.rows.filter((r) => kept?.has(pairKey(r)));
  }

  const runs: ConditionRun[] = [];
  for (const condition of conditions) {
    if (skipped.some((x) => x.condition === condition)) continue;
    const path = cachePath(condition);
    let run: Omit<ConditionRun, "vsBase" | "vsInBatch">;
    if (path && existsSync(path)) {
      run = { ...(JSON.parse(readFileSync(path, "utf8")) as Omit<ConditionRun, "vsBase" | "vsInBatch">), cached: true };
      log(`${condition}: reused ${path}`);
    } else {
      const m = mined.get(condition);
      const rows = m ? m.rows : kept ? pairRows.filter((r) => kept?.has(pairKey(r))) : pairRows;
      const loss: Loss = condition === "labeled-pairs" ? new CoSENTLoss() : new MultipleNegativesRankingLoss();
      const model = await fresh();
      const t0 = performance.now();
      const trained = await train(model, rows, {
        loss,
        maxSteps: settings.steps,
        epochs: Math.max(1, Math.ceil((settings.steps * settings.batchSize) / rows.length)),
        batchSize: settings.batchSize,
        learningRate: settings.learningRate,
        warmupRatio: settings.warmupRatio,
        seed: settings.seed,
        // A Transformer's runs take minutes: show each one's progress and ETA unless told otherwise.
        progress: options.progress ?? Boolean(model.encoder),
        onWarning: options.onWarning,
      });
      const trainSeconds = (performance.now() - t0) / 1000;
      const result = { ...(await options.evaluator.evaluate(model)), system: condition };
      model.dispose();
      run = {
        condition,
        loss: loss.name,
        rows: rows.length,
        trainSeconds,
        trainLoss: trained.trainLoss,
        steps: trained.steps,
        result,
        cached: false,
        ...(m && {
          mining: {
            rows: m.report.rows,
            pairsWithFewerNegatives: m.report.pairsWithFewerNegatives,
            meanPositiveScore: mean(m.report.positiveScores),
            meanNegativeScore: mean(m.report.negativeScores),
            falseNegativeCount: m.report.falseNegativeCount,
            seconds: m.report.seconds.total,
          },
        }),
      };
      if (path) writeFileAtomic(path, JSON.stringify(run));
      if (m) run.miningReport = m.report;
      log(
        `${condition}: ${rows.length} rows, ${trained.steps} steps of ${loss.name} in ${trainSeconds.toFixed(1)} s; ndcg@10 ${result.values["ndcg@10"]?.toFixed(4)}`,
      );
    }
    runs.push({ ...run, vsBase: compareSystems(base, run.result, options.bootstrap) });
  }
  const inBatch = runs.find((r) => r.condition === "in-batch");
  if (inBatch)
    for (const r of runs) if (r !== inBatch) r.vsInBatch = compareSystems(inBatch.result, r.result, options.bootstrap);
  return { model: modelName, base, runs, skipped, settings, bootstrap: options.bootstrap ?? {} };
}

const signed = (x: number) => formatSigned(x, 3);

/** "above in-batch" / "below in-batch" when the paired 95% interval excludes 0, else "level with in-batch". */
function verdict(s: SystemComparison | undefined, metric: string): string {
  const d = s?.differences.find((x) => x.metric === metric);
  if (!s || !d) return "";
  return d.low > 0 ? `above ${s.baseline}` : d.high < 0 ? `below ${s.baseline}` : `level with ${s.baseline}`;
}

/**
 * One row per run: rows trained on, `metric` with its 95% bootstrap interval, the paired difference from the base
 * model and from "in-batch" with their intervals and the queries improved / worsened, and a verdict against
 * in-batch (against the base model when there is no in-batch run) read off that interval. A mined run that found
 * no negative is a row that says so.
 */
export function negativesComparisonTable(c: NegativesComparison, metric = "ndcg@10"): pl.DataFrame {
  const ci = (s: SystemComparison | undefined) => {
    const d = s?.differences.find((x) => x.metric === metric);
    return d ? `${signed(d.estimate)} [${signed(d.low)}, ${signed(d.high)}]` : "";
  };
  const counts = (s: SystemComparison | undefined) => (s ? `${s.improved} / ${s.worsened}` : "");
  const rows = c.runs.map((r) => {
    const iv = bootstrapCI(r.result, c.bootstrap)[metric];
    return {
      run: r.condition,
      "training rows": String(r.rows),
      [metric]: r.result.values[metric].toFixed(4),
      [`${metric} 95% CI`]: `[${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}]`,
      "vs base (95% CI)": ci(r.vsBase),
      "improved / worsened vs base": counts(r.vsBase),
      "vs in-batch (95% CI)": ci(r.vsInBatch),
      "improved / worsened vs in-batch": counts(r.vsInBatch),
      verdict: verdict(r.vsInBatch ?? r.vsBase, metric),
    };
  });
  const iv = bootstrapCI(c.base, c.bootstrap)[metric];
  const columns = [
    "run",
    "training rows",
    metric,
    `${metric} 95% CI`,
    "vs base (95% CI)",
    "improved / worsened vs base",
  ];
  const more = ["vs in-batch (95% CI)", "improved / worsened vs in-batch", "verdict"];
  const empty = Object.fromEntries([...columns, ...more].map((k) => [k, ""]));
  return pl.DataFrame([
    {
      ...empty,
      run: "base model",
      [metric]: c.base.values[metric].toFixed(4),
      [`${metric} 95% CI`]: `[${iv.low.toFixed(3)}, ${iv.high.toFixed(3)}]`,
    },
    ...rows,
    ...c.skipped.map((x) => ({ ...empty, run: x.condition, verdict: "not run: mining found no negative" })),
  ]);
}

/** Bars of `metrics` for the base model and every run, whiskers = 95% bootstrap intervals. */
export function negativesComparisonFigure(
  c: NegativesComparison,
  metrics: string[] = ["ndcg@10", "mrr@10", "recall@10"],
): PlotlyFigure {
  const systems = [c.base, ...c.runs.map((r) => r.result)].map((r) => ({
    name: r.system,
    values: r.values,
    intervals: bootstrapCI(r, c.bootstrap),
  }));
  return metricBarsFigure(systems, metrics, {
    title: `Negatives compared: ${c.settings.steps} steps each, ${c.base.perQuery.length} held-out queries (${c.model})`,
  });
}
