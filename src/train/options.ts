/**
 * The trainer's options, resolved and checked in one place before anything else happens (the counterpart
 * of sentence-transformers' SentenceTransformerTrainingArguments): a wrong value fails here with its name
 * and the fix, never after the first training step.
 *
 * Defaults (src/defaults.ts TRAIN_DEFAULTS; transformers / sentence-transformers): learningRate 5e-5, batchSize 16,
 * epochs 1, no warmup, weight decay 0.01 (not on biases / LayerNorm; see below), max grad norm 1, seed 42 (DEFAULT_SEED),
 * no-duplicates batch sampler, evaluation only after the last step (and of the untrained model first), a checkpoint
 * every 500 steps (and after the last), the last 2 checkpoints kept, resume from the newest checkpoint.
 *
 * Weight decay: SentenceTransformerTrainer inherits transformers' TrainingArguments default of 0.0; 0.01 is
 * the default of sentence-transformers' older model.fit(), which two of the course's reference tutorials use. We keep
 * 0.01 so that the course's numbers match those tutorials; pass weightDecay: 0 for the Trainer's default. At
 * learning rates near 2e-5 and a few hundred steps the two differ by a shrink factor of (1 - 2e-7) per step.
 *
 * Last batch: a batch of one (anchor, positive) pair has no in-batch negative, so MultipleNegativesRankingLoss
 * and its variants give loss 0 and learn nothing from it while the schedule still advances (784 pairs at batch
 * 32 end in one). By default ("auto") such single-pair batches are dropped for losses with in-batch negatives
 * (Loss.inBatchNegatives) and pair data, and the trainer says so; dropLast: false keeps every batch (Python's default), true drops
 * every incomplete last batch (Python's dataloader_drop_last).
 *
 * The number of steps is known here: an epoch's batches are a pure function of (seed, epoch) (sampler.ts),
 * so counting them per epoch gives the schedule's length before training starts.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { lockTarget } from "../files";
import { isSavedModelFolder } from "../model/folder";
import type { SentenceTransformer } from "../model/sentence-transformer";
import type { Loss } from "./losses/types";
import type { FreezeOptions } from "./parameters";
import type { ProgressReporter } from "./progress";
import { type BatchSamplerName, type BatchSamplerOptions, epochBatches } from "./sampler";
import { type LinearSchedule, type ScheduleType, warmupStepsFor } from "./schedule";
import { prepareTrainingData, type TrainingData } from "./training-data";
import { TRAIN_DEFAULTS } from "../defaults";

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
  /** Learning-rate schedule after the warmup: "linear" decay to 0 (default) or "cosine" (lr_scheduler_type). */
  lrScheduler?: ScheduleType;
  weightDecay?: number;
  adamBetas?: [number, number];
  adamEpsilon?: number;
  /** Clip the global gradient norm to this (default 1; 0 turns clipping off, the norm is still logged). */
  maxGradNorm?: number;
  batchSampler?: BatchSamplerName;
  /**
   * "auto" (default): drop batches of a single pair when the loss needs in-batch negatives and the data has no
   * negative column (they have loss 0); true: drop every incomplete last batch; false: keep every batch.
   */
  dropLast?: boolean | "auto";
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
  /**
   * Bytes a step may plan to use, instead of what the backend offers (memory.ts: wasm 4 GiB, a GPU's free memory,
   * else the machine's free memory). Before the first step the trainer estimates a step's memory against it: an
   * in-batch-negatives loss that would not fit is switched to its Cached (GradCache) form, same loss and gradients;
   * a step that cannot fit is refused, naming the setting to change.
   */
  memoryLimit?: number;
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
  /** Drop batches of a single example ("auto": in-batch-negative loss on pairs). */
  dropSingleExampleBatches: boolean;
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
  /** options.memoryLimit (bytes), when given. */
  memoryLimit?: number;
}

/** `options[name]` must be a number when given: "2e-5" (a string) gets a message, not NaN arithmetic. */
function checkNumber(name: string, v: unknown): void {
  if (v === undefined || typeof v === "number") return;
  const got = v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
  const hint =
    typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))
      ? ` (write ${name}: ${v}, without quotes)`
      : "";
  throw new TypeError(`train: ${name} must be a number, got ${got} (${JSON.stringify(v)})${hint}.`);
}

function checkBoolean(name: string, v: unknown, also: readonly string[] = []): void {
  if (v === undefined || typeof v === "boolean" || also.includes(v as string)) return;
  const allowed = ["true", "false", ...also.map((a) => JSON.stringify(a))].join(" or ");
  throw new TypeError(`train: ${name} must be ${allowed}, got ${JSON.stringify(v)}.`);
}

/** Every option's type, before any value is used (a string where a number belongs fails here by name). */
function checkOptionTypes(options: TrainOptions): void {
  const o = options as unknown as Record<string, unknown>;
  for (const name of [
    "epochs",
    "maxSteps",
    "batchSize",
    "learningRate",
    "warmupRatio",
    "warmupSteps",
    "weightDecay",
    "adamEpsilon",
    "maxGradNorm",
    "seed",
    "evalSteps",
    "checkpointSteps",
    "keepCheckpoints",
    "memoryLimit",
  ])
    checkNumber(name, o[name]);
  if (options.adamBetas !== undefined) {
    if (!Array.isArray(options.adamBetas) || options.adamBetas.length !== 2)
      throw new TypeError(
        `train: adamBetas must be two numbers [beta1, beta2], got ${JSON.stringify(options.adamBetas)}.`,
      );
    options.adamBetas.forEach((b, i) => checkNumber(`adamBetas[${i}]`, b));
  }
  if (options.freeze !== undefined) checkNumber("freeze.layers", options.freeze.layers);
  for (const name of ["evalAtStart", "greaterIsBetter", "loadBestModelAtEnd"]) checkBoolean(name, o[name]);
  checkBoolean("dropLast", o.dropLast, ["auto"]);
  if (options.outputDir !== undefined && (typeof options.outputDir !== "string" || options.outputDir.trim() === ""))
    throw new TypeError(
      `train: outputDir must be a folder path (a non-empty string), got ${JSON.stringify(options.outputDir)}.`,
    );
}

/** The batches (row indices) of `epoch`, as the trainer runs them (single-example batches dropped if set). */
export function trainingBatches(args: ResolvedTrainOptions, epoch: number): number[][] {
  const batches = epochBatches(args.batchSampler, args.data.rows, epoch, args.samplerOptions);
  return args.dropSingleExampleBatches ? batches.filter((b) => b.length > 1) : batches;
}

/**
 * Checks every place the run will write, before the first step, so that a bad outputDir fails now and not
 * after training: outputDir must be a folder (or absent: it is created) we can write in, best/ and final/ absent
 * or saved model folders (model.save would refuse anything else), checkpoints/ a folder and history.json a
 * file. Other entries of outputDir are left alone: the trainer never deletes what it did not write. Takes the
 * run's lock (.<outputDir name>.lock beside it), so a second training into the same outputDir refuses; returns
 * the function that releases it.
 */
export function prepareOutputDir(args: ResolvedTrainOptions): () => void {
  const dir = args.outputDir;
  if (!dir) return () => {};
  const fail = (what: string, fix: string) => new Error(`train: outputDir ${dir}: ${what}; ${fix}.`);
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw fail(
      "is a file, not a folder (the run writes best/, final/, checkpoints/ and history.json there)",
      "give a folder path",
    );
  let release: () => void;
  try {
    mkdirSync(dir, { recursive: true });
    release = lockTarget(dir, "a training run");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (!e.code) throw new Error(`train: outputDir ${e.message}`, { cause: err });
    throw fail(`cannot be created or written (${e.message})`, "give a folder you can write to");
  }
  try {
    for (const sub of ["best", "final"]) {
      const path = join(dir, sub);
      if (!existsSync(path)) continue;
      const stat = statSync(path);
      if (!stat.isDirectory() || (readdirSync(path).length > 0 && !isSavedModelFolder(path)))
        throw fail(
          `${sub}/ exists and is not a model folder the trainer wrote, so the run could not save its ${sub} model there`,
          `move ${path} away or give another outputDir`,
        );
    }
    if (args.checkpointDir && existsSync(args.checkpointDir) && !statSync(args.checkpointDir).isDirectory())
      throw fail("checkpoints is a file, not a folder", `move ${args.checkpointDir} away or give another outputDir`);
    if (args.historyPath && existsSync(args.historyPath) && statSync(args.historyPath).isDirectory())
      throw fail("history.json is a folder", `move ${args.historyPath} away or give another outputDir`);
  } catch (err) {
    release();
    throw err;
  }
  return release;
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
  if (typeof options.loss.inBatchNegatives !== "boolean")
    throw new TypeError(
      `train: options.loss ${options.loss.name} must declare inBatchNegatives: true when the other examples of a ` +
        "batch are its negatives (a batch of one pair then learns nothing), false otherwise (src/train/losses/types.ts).",
    );
  checkOptionTypes(options);
  const data = prepareTrainingData(trainData, "train data");
  data.warnings.forEach(warn);
  const epochs = positiveInt("epochs", options.epochs, TRAIN_DEFAULTS.epochs);
  const batchSize = positiveInt("batchSize", options.batchSize, TRAIN_DEFAULTS.batchSize);
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  if (!Number.isInteger(seed)) throw new RangeError(`train: seed ${seed} must be an integer.`);
  const learningRate = options.learningRate ?? TRAIN_DEFAULTS.learningRate;
  if (!(learningRate > 0 && Number.isFinite(learningRate)))
    throw new RangeError(`train: learningRate ${learningRate} must be a positive number.`);
  const maxGradNorm = options.maxGradNorm ?? TRAIN_DEFAULTS.maxGradNorm;
  if (!(maxGradNorm >= 0)) throw new RangeError(`train: maxGradNorm ${maxGradNorm} must be >= 0 (0 = no clipping).`);
  const batchSampler = options.batchSampler ?? "no_duplicates";
  if (batchSampler !== "no_duplicates" && batchSampler !== "default")
    throw new Error(`train: batchSampler "${String(batchSampler)}" must be "no_duplicates" or "default".`);
  const dropLastOption = options.dropLast ?? "auto";
  const dropLast = dropLastOption === true;
  const n = data.rows.length;
  // A batch of one (anchor, positive) pair gives an in-batch-negatives loss nothing to contrast: loss 0.
  const noNegativeColumn = data.columns.length === 2;
  const singlePairIsUseless = options.loss.inBatchNegatives && noNegativeColumn;
  if (singlePairIsUseless && (batchSize === 1 || n === 1))
    throw new Error(
      `train: ${batchSize === 1 ? "batchSize 1" : "a single training pair"} with ${options.loss.name} on ` +
        `(${data.columns.join(", ")}) pairs: each anchor's only candidate is its own positive, so every loss is 0 and ` +
        "nothing is learned. The loss uses the other pairs of the batch as negatives: use batchSize >= 2 (16-64 is " +
        "usual), or add a hard-negative column (anchor, positive, negative).",
    );
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
  const dropSingleExampleBatches = dropLastOption === "auto" && singlePairIsUseless;
  const batchesPerEpoch: number[] = [];
  let dropped = 0;
  for (let e = 0; e < epochs; e++) {
    const all = epochBatches(batchSampler, data.rows, e, samplerOptions);
    const kept = dropSingleExampleBatches ? all.filter((b) => b.length > 1) : all;
    dropped += all.length - kept.length;
    batchesPerEpoch.push(kept.length);
  }
  if (dropped > 0)
    warn(
      `train: ${n} pairs at batchSize ${batchSize} leave ${dropped === epochs ? "a last batch" : `${dropped} batches`} ` +
        `of a single pair${epochs > 1 ? ` (${dropped} in ${epochs} epochs)` : ""}, which has no in-batch negative for ` +
        `${options.loss.name} (loss 0, nothing learned); skipped (dropLast "auto"; dropLast: false keeps it).`,
    );
  const allSteps = batchesPerEpoch.reduce((a, b) => a + b, 0);
  const totalSteps =
    options.maxSteps === undefined ? allSteps : Math.min(allSteps, positiveInt("maxSteps", options.maxSteps, 1));
  if (totalSteps === 0)
    throw new Error(`train: no training steps (${n} rows, batchSize ${batchSize}, dropLast ${dropLast}).`);
  const lrScheduler = options.lrScheduler ?? "linear";
  if (lrScheduler !== "linear" && lrScheduler !== "cosine")
    throw new Error(`train: lrScheduler "${String(lrScheduler)}" must be "linear" or "cosine".`);
  const schedule: LinearSchedule = {
    peakLearningRate: learningRate,
    totalSteps,
    warmupSteps: warmupStepsFor(totalSteps, options),
    ...(lrScheduler === "cosine" ? { type: "cosine" as const } : {}),
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
    dropSingleExampleBatches,
    samplerOptions,
    batchesPerEpoch,
    totalSteps,
    schedule,
    adamW: {
      betas: options.adamBetas,
      eps: options.adamEpsilon,
      weightDecay: options.weightDecay ?? TRAIN_DEFAULTS.weightDecay,
    },
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
    memoryLimit: options.memoryLimit === undefined ? undefined : positiveInt("memoryLimit", options.memoryLimit, 1),
  };
}
