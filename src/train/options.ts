/**
 * The trainer's options, resolved and checked in one place before anything else happens (the counterpart
 * of sentence-transformers' SentenceTransformerTrainingArguments): a wrong value fails here with its name
 * and the fix, never after the first training step.
 *
 * Defaults (transformers / sentence-transformers): learningRate 5e-5, batchSize 16, epochs 1, no warmup,
 * weight decay 0.01 (not on biases / LayerNorm), max grad norm 1, seed 42, no-duplicates batch sampler,
 * evaluation only after the last step (and of the untrained model first), a checkpoint every 500 steps
 * (and after the last), the last 2 checkpoints kept, resume from the newest checkpoint.
 *
 * The number of steps is known here: an epoch's batches are a pure function of (seed, epoch) (sampler.ts),
 * so counting them per epoch gives the schedule's length before training starts.
 */
import { join, resolve } from "node:path";
import type { SentenceTransformer } from "../model/sentence-transformer";
import type { Loss } from "./losses/types";
import type { FreezeOptions } from "./parameters";
import type { ProgressReporter } from "./progress";
import { type BatchSamplerName, type BatchSamplerOptions, epochBatches } from "./sampler";
import { type LinearSchedule, warmupStepsFor } from "./schedule";
import { prepareTrainingData, type TrainingData } from "./training-data";

export type { FreezeOptions } from "./parameters";

/** Anything that scores a model with named metrics: InformationRetrievalEvaluator fits. */
export interface TrainEvaluator {
  evaluate(model: SentenceTransformer): Promise<{ metrics: Record<string, number>; primaryMetric?: string }>;
}

export interface TrainOptions {
  loss: Loss;
  epochs?: number;
  /** Stop after this many steps (default: all batches of all epochs). The schedule spans these steps. */
  maxSteps?: number;
  batchSize?: number;
  learningRate?: number;
  warmupRatio?: number;
  warmupSteps?: number;
  weightDecay?: number;
  adamBetas?: [number, number];
  adamEpsilon?: number;
  /** Clip the global gradient norm to this (default 1; 0 turns clipping off, the norm is still logged). */
  maxGradNorm?: number;
  batchSampler?: BatchSamplerName;
  dropLast?: boolean;
  seed?: number;
  freeze?: FreezeOptions;
  evaluator?: TrainEvaluator;
  /** Evaluate every N steps (and after the last step). Default: only after the last step. */
  evalSteps?: number;
  /** Evaluate the untrained model first (step 0; default true when there is an evaluator). */
  evalAtStart?: boolean;
  /** The metric that picks the best model (default: the evaluator's primary metric). */
  metricForBestModel?: string;
  /** Default true (false for metrics whose name contains "loss"). */
  greaterIsBetter?: boolean;
  /** After training, load the best model's weights into `model` (default false). */
  loadBestModelAtEnd?: boolean;
  /** Where best/, final/, checkpoints/ and history.json go. Without it nothing is written. */
  outputDir?: string;
  /** Checkpoint every N steps (default 500, and always after the last step) when outputDir is set. */
  checkpointSteps?: number;
  /** Checkpoints kept (newest first; default 2). */
  keepCheckpoints?: number;
  /**
   * "auto" (default): continue from the newest checkpoint in <outputDir>/checkpoints if there is one;
   * a path: continue from that checkpoint; false: start over (existing checkpoints are deleted).
   */
  resumeFrom?: "auto" | false | string;
  /** true (default): notebook / terminal / plain-line display as fits; false: silent; or your own reporter. */
  progress?: boolean | ProgressReporter;
  /** Where warnings go (default console.warn); they are also returned. */
  onWarning?: (message: string) => void;
}

/** TrainOptions with every default filled in and checked, plus what follows from them and the data. */
export interface ResolvedTrainOptions {
  loss: Loss;
  /** The training rows in the trainer's form (training-data.ts). */
  data: TrainingData;
  epochs: number;
  /** options.maxSteps as given (null when not given; part of the run's fingerprint). */
  maxSteps: number | null;
  batchSize: number;
  seed: number;
  learningRate: number;
  maxGradNorm: number;
  batchSampler: BatchSamplerName;
  dropLast: boolean;
  samplerOptions: BatchSamplerOptions;
  /** Batches in each epoch. */
  batchesPerEpoch: number[];
  /** Optimizer steps of the whole run (all epochs, capped by maxSteps). */
  totalSteps: number;
  schedule: LinearSchedule;
  adamW: { betas?: [number, number]; eps?: number; weightDecay: number };
  freeze: { embeddings: boolean; layers: number };
  evaluator?: TrainEvaluator;
  evalSteps?: number;
  evalAtStart: boolean;
  metricForBestModel?: string;
  greaterIsBetter: boolean;
  loadBestModelAtEnd: boolean;
  /** Absolute paths; all undefined without outputDir. */
  outputDir?: string;
  checkpointDir?: string;
  historyPath?: string;
  bestPath?: string;
  checkpointSteps: number;
  keepCheckpoints: number;
  resumeFrom: "auto" | false | string;
  progress: boolean | ProgressReporter;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1) throw new RangeError(`train: ${name} ${x} must be a positive integer.`);
  return x;
}

/** Checks `options`, prepares `trainData` and fills in every default; warnings go to `warn`. */
export function resolveTrainOptions(
  trainData: unknown,
  options: TrainOptions,
  warn: (message: string) => void,
): ResolvedTrainOptions {
  if (!options || typeof options.loss?.lossAndGrads !== "function")
    throw new Error(
      "train(model, data, options): options.loss is required, e.g. new MultipleNegativesRankingLoss({ scale: 20 }).",
    );
  const data = prepareTrainingData(trainData, "train data");
  data.warnings.forEach(warn);
  const epochs = positiveInt("epochs", options.epochs, 1);
  const batchSize = positiveInt("batchSize", options.batchSize, 16);
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed)) throw new RangeError(`train: seed ${seed} must be an integer.`);
  const learningRate = options.learningRate ?? 5e-5;
  if (!(learningRate > 0 && Number.isFinite(learningRate)))
    throw new RangeError(`train: learningRate ${learningRate} must be a positive number.`);
  const maxGradNorm = options.maxGradNorm ?? 1;
  if (!(maxGradNorm >= 0)) throw new RangeError(`train: maxGradNorm ${maxGradNorm} must be >= 0 (0 = no clipping).`);
  const batchSampler = options.batchSampler ?? "no_duplicates";
  if (batchSampler !== "no_duplicates" && batchSampler !== "default")
    throw new Error(`train: batchSampler "${String(batchSampler)}" must be "no_duplicates" or "default".`);
  const dropLast = options.dropLast ?? false;
  const n = data.rows.length;
  if (batchSize > n) {
    if (dropLast)
      throw new Error(
        `train: batchSize ${batchSize} is larger than the ${n} training rows and dropLast is set, so there would be ` +
          `no batch; lower batchSize to at most ${n}.`,
      );
    warn(
      `train: batchSize ${batchSize} is larger than the ${n} training rows; each epoch is one batch of ${n} ` +
        `(in-batch negatives: ${n - 1} per anchor).`,
    );
  }
  if (options.evaluator && typeof options.evaluator.evaluate !== "function")
    throw new Error("train: options.evaluator must have evaluate(model).");
  const evalSteps = options.evalSteps === undefined ? undefined : positiveInt("evalSteps", options.evalSteps, 1);
  const checkpointSteps = positiveInt("checkpointSteps", options.checkpointSteps, 500);
  const keepCheckpoints = positiveInt("keepCheckpoints", options.keepCheckpoints, 2);

  // Batches per epoch (each epoch's are a function of (seed, epoch); computed again when trained).
  const samplerOptions = { batchSize, seed, dropLast };
  const batchesPerEpoch: number[] = [];
  for (let e = 0; e < epochs; e++)
    batchesPerEpoch.push(epochBatches(batchSampler, data.rows, e, samplerOptions).length);
  const allSteps = batchesPerEpoch.reduce((a, b) => a + b, 0);
  const totalSteps =
    options.maxSteps === undefined ? allSteps : Math.min(allSteps, positiveInt("maxSteps", options.maxSteps, 1));
  if (totalSteps === 0)
    throw new Error(`train: no training steps (${n} rows, batchSize ${batchSize}, dropLast ${dropLast}).`);
  const schedule: LinearSchedule = {
    peakLearningRate: learningRate,
    totalSteps,
    warmupSteps: warmupStepsFor(totalSteps, options),
  };

  const outputDir = options.outputDir === undefined ? undefined : resolve(options.outputDir);
  return {
    loss: options.loss,
    data,
    epochs,
    maxSteps: options.maxSteps ?? null,
    batchSize,
    seed,
    learningRate,
    maxGradNorm,
    batchSampler,
    dropLast,
    samplerOptions,
    batchesPerEpoch,
    totalSteps,
    schedule,
    adamW: { betas: options.adamBetas, eps: options.adamEpsilon, weightDecay: options.weightDecay ?? 0.01 },
    freeze: { embeddings: options.freeze?.embeddings ?? false, layers: options.freeze?.layers ?? 0 },
    evaluator: options.evaluator,
    evalSteps,
    evalAtStart: options.evalAtStart ?? true,
    metricForBestModel: options.metricForBestModel,
    greaterIsBetter: options.greaterIsBetter ?? !(options.metricForBestModel ?? "").includes("loss"),
    loadBestModelAtEnd: options.loadBestModelAtEnd ?? false,
    outputDir,
    checkpointDir: outputDir && join(outputDir, "checkpoints"),
    historyPath: outputDir && join(outputDir, "history.json"),
    bestPath: outputDir && join(outputDir, "best"),
    checkpointSteps,
    keepCheckpoints,
    resumeFrom: options.resumeFrom ?? "auto",
    progress: options.progress ?? true,
  };
}
