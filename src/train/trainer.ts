/**
 * train(): fine-tunes a SentenceTransformer with a loss from ./losses, the way sentence-transformers'
 * SentenceTransformerTrainer does with its defaults, on tfjs:
 *
 *   before the first step: a step's memory against the backend's limit (memory.ts); a loss that would not fit and
 *     declares a Cached (GradCache) form (Loss.cachedForm) runs as that, same loss and gradients; a step that cannot
 *     fit is refused
 *   for each epoch: batches from the seeded sampler (no text twice in a batch by default)
 *     for each batch: loss + gradients (the loss decides how: plain or cached/GradCache)
 *                     -> stop if the loss or the gradient norm is NaN/Inf (the last checkpoint stays intact)
 *                     -> clip the global gradient norm to 1 -> AdamW with the linear warmup/decay schedule
 *                     -> every evalSteps: evaluate, keep the best model (<outputDir>/best, s-t layout)
 *                     -> every checkpointSteps: checkpoint (<outputDir>/checkpoints/, atomic, last K kept)
 *   the final model -> <outputDir>/final; the history -> <outputDir>/history.json and the result
 *
 * Defaults (options.ts): learningRate 5e-5, batchSize 16, epochs 1, no warmup, max grad norm 1, seed 42 and the
 * no-duplicates batch sampler, as SentenceTransformerTrainer; weight decay 0.01 (not on biases / LayerNorm), which
 * is model.fit()'s default, not the Trainer's 0.0 (why: options.ts); single-pair batches dropped for in-batch-
 * negative losses (options.ts).
 * Where the parts live: options resolved and checked (options.ts), which parameters train (parameters.ts),
 * checkpoints, the run's fingerprint and resume (checkpoint.ts), the loss's step (losses/), AdamW and
 * clipping (optimizer.ts), the schedule (schedule.ts), the batches (sampler.ts). This file is the loop.
 *
 * Same seed, data and options => bit-identical weights: the sampler is a function of (seed, epoch), the
 * encoder has no dropout and tfjs kernels are deterministic. A run interrupted at any point (SIGKILL
 * included) and started again with the same outputDir resumes from its newest checkpoint (weights, AdamW
 * moments and step counts, sampler position, history, best metric) and ends with the same weights as an
 * uninterrupted run (test/train-resume.test.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initBackend, type tf } from "../backend";
import { readModelFolder } from "../model/folder";
import type { SentenceTransformer } from "../model/sentence-transformer";
import {
  CHECKPOINT_FORMAT,
  findResumeCheckpoint,
  restoreCheckpoint,
  runFingerprint,
  type TrainerState,
  writeCheckpoint,
} from "./checkpoint";
import { type HistoryEntry, type TrainStepLog, writeHistory } from "./history";
import type { TrainingBatch } from "./losses/types";
import { AdamW, clipGradNorm, gradNormOf, type NamedParameter } from "./optimizer";
import {
  prepareOutputDir,
  type ResolvedTrainOptions,
  resolveTrainOptions,
  trainingBatches,
  type TrainOptions,
} from "./options";
import { encoderShapeOf, longestTokenized, memoryLimit, planStepMemory, type StepMemoryPlan } from "./memory";
import { assignWeights, namedParameters, splitFrozen, weightsOf } from "./parameters";
import { autoProgress, type ProgressReporter, type ProgressState } from "./progress";
import { learningRateAt } from "./schedule";

export type { FreezeOptions, TrainEvaluator, TrainOptions } from "./options";

export interface TrainResult {
  history: HistoryEntry[];
  /** Optimizer steps done in total (all runs). */
  steps: number;
  totalSteps: number;
  /** Mean training loss over all steps. */
  trainLoss: number;
  best: { metric: string; value: number; step: number; path?: string } | null;
  finalModelPath?: string;
  historyPath?: string;
  /** The checkpoint this run continued from. */
  resumedFrom?: string;
  /** Training seconds (all runs, evaluation included). */
  seconds: number;
  warnings: string[];
  /** Parameter names trained and frozen. */
  trainedParameters: string[];
  frozenParameters: string[];
  /** The tfjs backend that trained ("wasm", "tensorflow", "cpu") and its package. */
  backend: { name: string; package: string };
  /**
   * The memory plan made before the first step (Transformer models): the loss the steps ran with (the one given, or
   * its Cached form when a step would not have fitted), the estimated peak and the budget, in bytes.
   */
  memory?: { loss: string; estimatedBytes: number; budgetBytes: number; limitBytes: number; source: string };
}

/** A NaN or infinite loss or gradient; names the step and the last good checkpoint. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly step: number,
    readonly lastCheckpoint: string | undefined,
  ) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

/** Messages of the wasm backend running out of its 4 GiB (wasm32) heap. */
const OUT_OF_MEMORY = new RegExp(
  [
    "memory access out of bounds",
    "Aborted\\(",
    "out of memory",
    "Cannot enlarge memory",
    "failed to allocate",
    "Array buffer allocation failed",
  ].join("|"),
  "i",
);

/** An error thrown while computing a step's loss, with the step and what to do about it. */
function stepFailure(
  err: unknown,
  step: number,
  epoch: number,
  batch: number,
  size: number,
  loss: string,
  lastCheckpoint: string | undefined,
): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const where = `train: step ${step} (epoch ${epoch}, batch ${batch} of ${size} examples): ${loss} failed: ${msg}.`;
  const resume = lastCheckpoint
    ? ` The last good checkpoint is ${lastCheckpoint}; training resumes from it when started again with the same ` +
      "outputDir."
    : "";
  // A WebAssembly.RuntimeError is the wasm heap giving out too.
  if (OUT_OF_MEMORY.test(msg) || (err instanceof Error && err.name === "RuntimeError"))
    return new Error(
      `${where} This is the tfjs backend running out of memory (the wasm heap is capped at 4 GiB): ` +
        "use CachedMultipleNegativesRankingLoss ({ miniBatchSize: 16 }; same loss and gradients in bounded memory), " +
        "a smaller batchSize, or a shorter max_seq_length. " +
        `Restart the process first: the backend is not usable after this error.${resume}`,
      { cause: err },
    );
  return new Error(`${where}${resume}`, { cause: err });
}

/**
 * One call of train(): the model, its optimizer and the loop's position, with what happens at a step and
 * between steps (evaluate and keep the best model, checkpoint, report progress), as transformers' Trainer
 * keeps its TrainerState and runs _maybe_log_save_evaluate.
 */
class TrainingRun {
  step = 0;
  epoch = 0;
  batchInEpoch = 0;
  history: HistoryEntry[] = [];
  best: TrainerState["best"] = null;
  /** Training seconds of the runs before this one (resumed from a checkpoint). */
  private readonly secondsBefore: number = 0;
  lastCheckpoint: string | undefined;
  readonly reporter: ProgressReporter | undefined;
  private readonly trainVars: tf.Variable[];
  private readonly runStart = performance.now();
  private stepSecondsSum = 0;
  private stepsThisRun = 0;

  constructor(
    readonly model: SentenceTransformer,
    readonly args: ResolvedTrainOptions,
    readonly params: NamedParameter[],
    trained: NamedParameter[],
    readonly optimizer: AdamW,
    readonly fingerprint: Record<string, unknown>,
    resumed: { path: string; state: TrainerState } | undefined,
  ) {
    if (resumed) {
      ({ step: this.step, epoch: this.epoch, batchInEpoch: this.batchInEpoch } = resumed.state);
      ({ history: this.history, best: this.best, seconds: this.secondsBefore } = resumed.state);
    }
    this.lastCheckpoint = resumed?.path;
    this.trainVars = trained.map((p) => p.variable);
    const { progress } = args;
    this.reporter = progress === false ? undefined : progress === true ? autoProgress(args.totalSteps) : progress;
  }

  /** Training seconds of all runs so far. */
  elapsed(): number {
    return this.secondsBefore + (performance.now() - this.runStart) / 1000;
  }

  /** The epoch as a fraction (1.5 = half-way through the second epoch). */
  private fracEpoch(): number {
    const { epochs, batchesPerEpoch } = this.args;
    return this.epoch >= epochs ? epochs : this.epoch + this.batchInEpoch / Math.max(1, batchesPerEpoch[this.epoch]);
  }

  batch(indices: number[]): TrainingBatch {
    const { columns, rows, labels } = this.args.data;
    const batch: TrainingBatch = {
      columns,
      texts: columns.map((_, c) => indices.map((i) => rows[i][c])),
      size: indices.length,
    };
    if (labels) batch.labels = indices.map((i) => labels[i]);
    return batch;
  }

  /** One optimizer step on the rows `indices`: loss and gradients, the NaN/Inf checks, clipping, AdamW. */
  trainingStep(indices: number[]): { loss: number; gradNorm: number; learningRate: number } {
    const { loss: lossFn, maxGradNorm, schedule } = this.args;
    const learningRate = learningRateAt(schedule, this.step);
    const where = `train: step ${this.step + 1} (epoch ${this.epoch + 1}, batch ${this.batchInEpoch + 1}`;
    let computed: { loss: number; grads: Map<tf.Variable, tf.Tensor> };
    try {
      computed = lossFn.lossAndGrads(this.model, this.batch(indices), this.trainVars);
    } catch (err) {
      const [step, epoch, batch] = [this.step + 1, this.epoch + 1, this.batchInEpoch + 1];
      throw stepFailure(err, step, epoch, batch, indices.length, lossFn.name, this.lastCheckpoint);
    }
    const { loss, grads } = computed;
    const last = this.lastCheckpoint ? `The last good checkpoint is ${this.lastCheckpoint}. ` : "";
    try {
      if (!Number.isFinite(loss)) {
        const rows = `${indices.slice(0, 8).join(", ")}${indices.length > 8 ? ", ..." : ""}`;
        throw new TrainingDivergedError(
          `${where}): the loss is ${loss}; training stopped before updating the weights. ` +
            `${last}Lower the learning rate or check this batch's rows (${rows}).`,
          this.step + 1,
          this.lastCheckpoint,
        );
      }
      const gradNorm = maxGradNorm > 0 ? clipGradNorm(grads, maxGradNorm) : gradNormOf(grads);
      if (!Number.isFinite(gradNorm)) {
        throw new TrainingDivergedError(
          `${where}): the gradient norm is ${gradNorm} (loss ${loss}); training stopped before updating the weights. ` +
            `${last}Lower the learning rate or check this batch's rows.`,
          this.step + 1,
          this.lastCheckpoint,
        );
      }
      this.optimizer.step(grads, learningRate);
      return { loss, gradNorm, learningRate };
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  }

  /** Records a finished step (called after step and batchInEpoch moved on, before the epoch rolls over). */
  logStep(loss: number, gradNorm: number, learningRate: number, batchSize: number, stepSeconds: number): void {
    this.stepSecondsSum += stepSeconds;
    this.stepsThisRun += 1;
    const { step } = this;
    this.history.push({
      kind: "train",
      step,
      epoch: this.fracEpoch(),
      loss,
      learningRate,
      gradNorm,
      batchSize,
      seconds: this.elapsed(),
    });
  }

  progressState(): ProgressState {
    const lastOf = <K extends HistoryEntry["kind"]>(kind: K) => {
      for (let i = this.history.length - 1; i >= 0; i--)
        if (this.history[i].kind === kind) return this.history[i] as Extract<HistoryEntry, { kind: K }>;
      return undefined;
    };
    const lastTrain = lastOf("train");
    const lastEval = lastOf("eval");
    return {
      step: this.step,
      totalSteps: this.args.totalSteps,
      epoch: this.fracEpoch(),
      epochs: this.args.epochs,
      loss: lastTrain?.loss,
      learningRate: lastTrain?.learningRate,
      gradNorm: lastTrain?.gradNorm,
      secondsPerStep: this.stepsThisRun > 0 ? this.stepSecondsSum / this.stepsThisRun : undefined,
      metrics: lastEval?.metrics,
      metricsStep: lastEval?.step,
      bestMetric: this.best?.metric,
      bestValue: this.best?.value,
    };
  }

  /** Evaluates the model, keeps it in <outputDir>/best when it is the best so far, writes the history. */
  async evaluate(): Promise<void> {
    const { evaluator, metricForBestModel, greaterIsBetter, bestPath, historyPath } = this.args;
    if (!evaluator) return;
    const t0 = performance.now();
    const res = await evaluator.evaluate(this.model);
    const evalSeconds = (performance.now() - t0) / 1000;
    const metrics = { ...res.metrics };
    const { step } = this;
    this.history.push({ kind: "eval", step, epoch: this.fracEpoch(), metrics, evalSeconds, seconds: this.elapsed() });
    const metric = metricForBestModel ?? res.primaryMetric ?? Object.keys(metrics)[0];
    const value = metrics[metric];
    if (value === undefined)
      throw new Error(
        `train: metricForBestModel "${metric}" is not among the evaluator's metrics ` +
          `(${Object.keys(metrics).join(", ")}).`,
      );
    if (this.best === null || (greaterIsBetter ? value > this.best.value : value < this.best.value)) {
      this.best = { metric, value, step };
      if (bestPath) await this.model.save(bestPath);
    }
    if (historyPath) writeHistory(historyPath, this.history);
    this.reporter?.update(this.progressState(), "eval");
  }

  /** Writes a checkpoint (weights, AdamW moments, the loop's state) and the history. */
  checkpoint(): void {
    const { checkpointDir, historyPath, totalSteps, seed, keepCheckpoints } = this.args;
    if (!checkpointDir) return;
    const optState = this.optimizer.state();
    const state: TrainerState = {
      format: CHECKPOINT_FORMAT,
      step: this.step,
      totalSteps,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      seed,
      optimizerSteps: Object.fromEntries([...optState].map(([k, s]) => [k, s.step])),
      history: this.history,
      best: this.best,
      seconds: this.elapsed(),
      fingerprint: this.fingerprint,
    };
    this.lastCheckpoint = writeCheckpoint(checkpointDir, state, weightsOf(this.params), optState, keepCheckpoints);
    if (historyPath) writeHistory(historyPath, this.history);
  }
}

/** Fine-tunes `model` in place on `trainData` and returns the history. See the module header. */
export async function train(
  model: SentenceTransformer,
  trainData: unknown,
  options: TrainOptions,
): Promise<TrainResult> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    (options?.onWarning ?? ((x: string) => console.warn(x)))(m);
  };
  const args = resolveTrainOptions(trainData, options, warn);
  const release = prepareOutputDir(args);
  try {
    return await trainResolved(model, args, warnings, warn);
  } finally {
    release();
  }
}

/**
 * The memory plan of a Transformer model's step (memory.ts): the longest tokenized text of each column, the batch
 * size and the loss against the backend's limit. Returns undefined for a static model (its steps are small).
 */
function planMemory(
  model: SentenceTransformer,
  args: ResolvedTrainOptions,
  trained: NamedParameter[],
  warn: (message: string) => void,
): StepMemoryPlan | undefined {
  const shape = encoderShapeOf(
    model,
    trained.reduce((s, p) => s + p.variable.size, 0),
  );
  if (!shape) return undefined;
  const { data, batchSize } = args;
  const texts = Math.min(batchSize, data.rows.length);
  const columns = longestTokenized(model, data.rows, data.columns.length).map((seqLen) => ({ texts, seqLen }));
  const limit = memoryLimit();
  if (args.memoryLimit !== undefined) {
    limit.limitBytes = args.memoryLimit;
    limit.source = `memoryLimit ${args.memoryLimit} bytes (train option)`;
  }
  const plan = planStepMemory({ shape, columns, loss: args.loss, batchSize, maxSeqLength: model.maxSeqLength, limit });
  if (plan.switched) warn(plan.switched);
  return plan;
}

async function trainResolved(
  model: SentenceTransformer,
  args: ResolvedTrainOptions,
  warnings: string[],
  warn: (message: string) => void,
): Promise<TrainResult> {
  const { totalSteps, evalSteps, checkpointSteps, outputDir, historyPath, bestPath } = args;
  const backend = await initBackend();
  const params = namedParameters(model);
  const { trained, frozen } = splitFrozen(model, params, args.freeze);
  // Before anything is allocated for the run: does a step fit (memory.ts)? May switch the loss to its Cached form.
  const memory = planMemory(model, args, trained, warn);
  const optimizer = new AdamW(trained, args.adamW);
  // The fingerprint keeps the loss asked for: a Cached form computes the same, so a resumed run may plan differently.
  const fingerprint = runFingerprint(args, optimizer, params);
  if (memory) args = { ...args, loss: memory.loss };
  let run: TrainingRun;
  try {
    const resumePath = findResumeCheckpoint(args.resumeFrom, args.checkpointDir);
    const resumed = resumePath && {
      path: resumePath,
      state: restoreCheckpoint(resumePath, fingerprint, params, optimizer),
    };
    run = new TrainingRun(model, args, params, trained, optimizer, fingerprint, resumed || undefined);
  } catch (err) {
    optimizer.dispose();
    throw err;
  }
  const resumedFrom = run.lastCheckpoint;

  // While set, model.encode (evaluation) runs on tfjs; afterwards encoding rebuilds its ONNX graph from the trained weights.
  model.training = true;
  try {
    // Check the loss accepts these columns before the first step.
    args.loss.validate?.(run.batch(args.data.rows.slice(0, 2).map((_, i) => i)));
    if (resumedFrom) run.reporter?.update({ ...run.progressState(), message: `resumed from ${resumedFrom}` }, "resume");
    else if (args.evaluator && args.evalAtStart) await run.evaluate();

    while (run.step < totalSteps) {
      const batches = trainingBatches(args, run.epoch);
      for (; run.batchInEpoch < batches.length && run.step < totalSteps; ) {
        const t0 = performance.now();
        const indices = batches[run.batchInEpoch];
        const { loss, gradNorm, learningRate } = run.trainingStep(indices);
        run.step += 1;
        run.batchInEpoch += 1;
        run.logStep(loss, gradNorm, learningRate, indices.length, (performance.now() - t0) / 1000);
        if (run.batchInEpoch === batches.length) {
          run.epoch += 1;
          run.batchInEpoch = 0;
        }
        run.reporter?.update(run.progressState(), "step");
        if ((evalSteps !== undefined && run.step % evalSteps === 0) || run.step === totalSteps) await run.evaluate();
        if (run.step % checkpointSteps === 0 || run.step === totalSteps) run.checkpoint();
        // Let the display, timers and signal handlers run between steps.
        await new Promise<void>((r) => setImmediate(r));
        if (run.batchInEpoch === 0) break;
      }
    }
  } catch (err) {
    if (run.step > 0) model.markFineTuned();
    if (historyPath) writeHistory(historyPath, run.history);
    const why = err instanceof Error ? err.message : String(err);
    run.reporter?.end({ ...run.progressState(), message: `stopped: ${why.split("\n")[0].slice(0, 200)}` });
    optimizer.dispose();
    throw err;
  } finally {
    model.training = false;
  }
  optimizer.dispose();
  model.markFineTuned();

  let finalModelPath: string | undefined;
  if (outputDir) {
    finalModelPath = join(outputDir, "final");
    await model.save(finalModelPath);
    if (historyPath) writeHistory(historyPath, run.history);
  }
  const { best, history } = run;
  if (args.loadBestModelAtEnd && best && bestPath && existsSync(bestPath))
    assignWeights(params, readModelFolder(bestPath).first.weights, bestPath);
  run.reporter?.end(run.progressState());
  const losses = history.filter((h): h is TrainStepLog => h.kind === "train").map((h) => h.loss);
  return {
    history,
    steps: run.step,
    totalSteps,
    trainLoss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length),
    best: best ? { ...best, path: bestPath } : null,
    finalModelPath,
    historyPath,
    resumedFrom,
    seconds: run.elapsed(),
    warnings,
    trainedParameters: trained.map((p) => p.name),
    frozenParameters: frozen.map((p) => p.name),
    backend: { name: backend.name, package: backend.package },
    memory: memory && {
      loss: memory.loss.name,
      estimatedBytes: memory.estimatedBytes,
      budgetBytes: memory.budgetBytes,
      limitBytes: memory.limit.limitBytes,
      source: memory.limit.source,
    },
  };
}
