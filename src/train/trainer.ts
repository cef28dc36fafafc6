/**
 * train(): fine-tunes a SentenceTransformer with a loss from ./losses, the way sentence-transformers'
 * SentenceTransformerTrainer does with its defaults, on tfjs:
 *
 *   for each epoch: batches from the seeded sampler (no text twice in a batch by default)
 *     for each batch: loss + gradients (the loss decides how: plain or cached/GradCache)
 *                     -> stop if the loss or the gradient norm is NaN/Inf (the last checkpoint stays intact)
 *                     -> clip the global gradient norm to 1 -> AdamW with the linear warmup/decay schedule
 *                     -> every evalSteps: evaluate, keep the best model (<outputDir>/best, sentence-transformers layout)
 *                     -> every checkpointSteps: checkpoint (<outputDir>/checkpoints/, atomic, last K kept)
 *   the final model -> <outputDir>/final; the history -> <outputDir>/history.json and the result
 *
 * Defaults (transformers / sentence-transformers): learningRate 5e-5, batchSize 16, epochs 1, no warmup,
 * weight decay 0.01 (not on biases / LayerNorm), max grad norm 1, seed 42, no-duplicates batch sampler.
 *
 * Same seed, data and options => bit-identical weights: the sampler is a function of (seed, epoch), the
 * encoder has no dropout and tfjs kernels are deterministic. A run interrupted at any point (SIGKILL
 * included) and started again with the same outputDir resumes from its newest checkpoint (weights, AdamW
 * moments and step counts, sampler position, history, best metric) and ends with the same weights as an
 * uninterrupted run (test/train-resume.test.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { initBackend, tf } from "../backend";
import { readModelFolder } from "../model/folder";
import type { SentenceTransformer } from "../model/sentence-transformer";
import { STATIC_EMBEDDING_WEIGHT } from "../model/static-embedding";
import type { HostTensor, WeightMap } from "../model/types";
import type { Loss, TrainingBatch } from "./losses/types";
import { CHECKPOINT_FORMAT, latestCheckpoint, readCheckpoint, removeStaleTemps, writeCheckpoint, type TrainerState } from "./checkpoint";
import { prepareTrainingData } from "./training-data";
import { writeHistory, type HistoryEntry, type TrainStepLog } from "./history";
import { AdamW, clipGradNorm, gradNormOf, type NamedParameter } from "./optimizer";
import { autoProgress, type ProgressReporter, type ProgressState } from "./progress";
import { epochBatches, type BatchSamplerName } from "./sampler";
import { learningRateAt, warmupStepsFor, type LinearSchedule } from "./schedule";

/** Anything that scores a model with named metrics: InformationRetrievalEvaluator fits. */
export interface TrainEvaluator {
  evaluate(model: SentenceTransformer): Promise<{ metrics: Record<string, number>; primaryMetric?: string }>;
}

export interface FreezeOptions {
  /** Freeze the embedding layer (word, position, token-type embeddings and their LayerNorm). */
  embeddings?: boolean;
  /** Freeze the lowest N Transformer layers (encoder.layer.0 .. N-1). */
  layers?: number;
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
const OUT_OF_MEMORY = /memory access out of bounds|Aborted\(|out of memory|Cannot enlarge memory|failed to allocate|Array buffer allocation failed/i;

/** An error thrown while computing a step's loss, with the step and what to do about it. */
function stepFailure(err: unknown, step: number, epoch: number, batch: number, size: number, loss: string, lastCheckpoint: string | undefined): Error {
  const msg = err instanceof Error ? err.message : String(err);
  const where = `train: step ${step} (epoch ${epoch}, batch ${batch} of ${size} examples): ${loss} failed: ${msg}.`;
  const resume = lastCheckpoint ? ` The last good checkpoint is ${lastCheckpoint}; training resumes from it when started again with the same outputDir.` : "";
  if (OUT_OF_MEMORY.test(msg) || (err instanceof Error && err.name === "RuntimeError")) // WebAssembly.RuntimeError
    return new Error(
      `${where} This is the tfjs backend running out of memory (the wasm heap is capped at 4 GiB): use CachedMultipleNegativesRankingLoss ` +
        "({ miniBatchSize: 16 }; same loss and gradients in bounded memory), a smaller batchSize, or a shorter max_seq_length. " +
        `Restart the process first: the backend is not usable after this error.${resume}`,
      { cause: err },
    );
  return new Error(`${where}${resume}`, { cause: err });
}

/** Every trainable parameter of a model with its Hugging Face name. */
export function namedParameters(model: SentenceTransformer): NamedParameter[] {
  if (model.encoder) return [...model.encoder.variables].map(([name, variable]) => ({ name, variable }));
  const vars = model.trainableVariables();
  return vars.map((variable, i) => ({ name: i === 0 ? STATIC_EMBEDDING_WEIGHT : `parameter_${i}`, variable }));
}

/** Splits parameters into trained and frozen. */
export function splitFrozen(model: SentenceTransformer, params: NamedParameter[], freeze: FreezeOptions = {}): { trained: NamedParameter[]; frozen: NamedParameter[] } {
  const layers = freeze.layers ?? 0;
  if (!Number.isInteger(layers) || layers < 0) throw new RangeError(`freeze.layers ${layers} must be a non-negative integer.`);
  if (layers > 0) {
    const n = model.encoder?.config.numHiddenLayers;
    if (n === undefined) throw new Error("freeze.layers: this is a static model (no Transformer layers); use freeze.embeddings or nothing.");
    if (layers > n) throw new RangeError(`freeze.layers ${layers}: the model has only ${n} layers.`);
  }
  const isFrozen = (name: string): boolean => {
    if (freeze.embeddings && (/(^|\.)embeddings\./.test(name) || name === STATIC_EMBEDDING_WEIGHT)) return true;
    const m = /(^|\.)encoder\.layer\.(\d+)\./.exec(name);
    return m !== null && Number(m[2]) < layers;
  };
  const trained = params.filter((p) => !isFrozen(p.name));
  const frozen = params.filter((p) => isFrozen(p.name));
  if (trained.length === 0) throw new Error("freeze: every parameter is frozen; nothing would train. Freeze fewer layers.");
  return { trained, frozen };
}

function weightsOf(params: NamedParameter[]): WeightMap {
  const out: WeightMap = new Map();
  for (const { name, variable } of params) out.set(name, { shape: [...variable.shape], data: Float32Array.from(variable.dataSync()) });
  return out;
}

function assignWeights(params: NamedParameter[], weights: WeightMap, source: string): void {
  for (const { name, variable } of params) {
    const w = weights.get(name) as HostTensor | undefined;
    if (!w) throw new Error(`${source}: no weight "${name}"; it was written for a different model.`);
    if (w.shape.join(",") !== variable.shape.join(",")) throw new Error(`${source}: "${name}" has shape [${w.shape}], the model's is [${variable.shape}].`);
    variable.assign(tf.tensor(w.data, w.shape, "float32"));
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1) throw new RangeError(`train: ${name} ${x} must be a positive integer.`);
  return x;
}

function diffFingerprints(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: checkpoint ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
}

/** Fine-tunes `model` in place on `trainData` and returns the history. See the module header. */
export async function train(model: SentenceTransformer, trainData: unknown, options: TrainOptions): Promise<TrainResult> {
  if (!options || typeof options.loss?.lossAndGrads !== "function")
    throw new Error("train(model, data, options): options.loss is required, e.g. new MultipleNegativesRankingLoss({ scale: 20 }).");
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    (options.onWarning ?? ((x: string) => console.warn(x)))(m);
  };
  const data = prepareTrainingData(trainData, "train data");
  data.warnings.forEach(warn);
  const epochs = positiveInt("epochs", options.epochs, 1);
  const batchSize = positiveInt("batchSize", options.batchSize, 16);
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed)) throw new RangeError(`train: seed ${seed} must be an integer.`);
  const learningRate = options.learningRate ?? 5e-5;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new RangeError(`train: learningRate ${learningRate} must be a positive number.`);
  const maxGradNorm = options.maxGradNorm ?? 1;
  if (!(maxGradNorm >= 0)) throw new RangeError(`train: maxGradNorm ${maxGradNorm} must be >= 0 (0 = no clipping).`);
  const sampler = options.batchSampler ?? "no_duplicates";
  if (sampler !== "no_duplicates" && sampler !== "default") throw new Error(`train: batchSampler "${String(sampler)}" must be "no_duplicates" or "default".`);
  const dropLast = options.dropLast ?? false;
  const n = data.rows.length;
  if (batchSize > n) {
    if (dropLast) throw new Error(`train: batchSize ${batchSize} is larger than the ${n} training rows and dropLast is set, so there would be no batch; lower batchSize to at most ${n}.`);
    warn(`train: batchSize ${batchSize} is larger than the ${n} training rows; each epoch is one batch of ${n} (in-batch negatives: ${n - 1} per anchor).`);
  }
  if (options.evaluator && typeof options.evaluator.evaluate !== "function") throw new Error("train: options.evaluator must have evaluate(model).");
  const evalSteps = options.evalSteps === undefined ? undefined : positiveInt("evalSteps", options.evalSteps, 1);
  const checkpointSteps = positiveInt("checkpointSteps", options.checkpointSteps, 500);
  const keep = positiveInt("keepCheckpoints", options.keepCheckpoints, 2);

  // Batches per epoch (each epoch's are a function of (seed, epoch); computed again when trained).
  const samplerOptions = { batchSize, seed, dropLast };
  const batchesPerEpoch: number[] = [];
  for (let e = 0; e < epochs; e++) batchesPerEpoch.push(epochBatches(sampler, data.rows, e, samplerOptions).length);
  const allSteps = batchesPerEpoch.reduce((a, b) => a + b, 0);
  const totalSteps = options.maxSteps === undefined ? allSteps : Math.min(allSteps, positiveInt("maxSteps", options.maxSteps, 1));
  if (totalSteps === 0) throw new Error(`train: no training steps (${n} rows, batchSize ${batchSize}, dropLast ${dropLast}).`);
  const schedule: LinearSchedule = { peakLearningRate: learningRate, totalSteps, warmupSteps: warmupStepsFor(totalSteps, options) };

  await initBackend();
  const params = namedParameters(model);
  const { trained, frozen } = splitFrozen(model, params, options.freeze);
  const trainVars = trained.map((p) => p.variable);
  const optimizer = new AdamW(trained, { betas: options.adamBetas, eps: options.adamEpsilon, weightDecay: options.weightDecay ?? 0.01 });

  const fingerprint: Record<string, unknown> = {
    seed, epochs, batchSize, maxSteps: options.maxSteps ?? null, totalSteps, learningRate, warmupSteps: schedule.warmupSteps,
    weightDecay: optimizer.weightDecay, adamBetas: [optimizer.beta1, optimizer.beta2], adamEpsilon: optimizer.eps, maxGradNorm,
    batchSampler: sampler, dropLast, freeze: { embeddings: options.freeze?.embeddings ?? false, layers: options.freeze?.layers ?? 0 },
    loss: { name: options.loss.name, config: options.loss.config() },
    data: { rows: n, columns: data.columns, sha256: sha256(JSON.stringify(data.rows)) },
    parameters: sha256(JSON.stringify(params.map((p) => [p.name, p.variable.shape]))),
  };

  const outputDir = options.outputDir === undefined ? undefined : resolve(options.outputDir);
  const checkpointDir = outputDir && join(outputDir, "checkpoints");
  const historyPath = outputDir && join(outputDir, "history.json");
  const bestPath = outputDir && join(outputDir, "best");
  if (checkpointDir) removeStaleTemps(checkpointDir);

  // Resume.
  const resumeFrom = options.resumeFrom ?? "auto";
  let resumePath: string | undefined;
  if (typeof resumeFrom === "string" && resumeFrom !== "auto") {
    resumePath = resolve(resumeFrom);
    if (!existsSync(resumePath)) throw new Error(`train: resumeFrom ${resumePath} does not exist; give a checkpoint folder (<outputDir>/checkpoints/checkpoint-N) or "auto".`);
  } else if (resumeFrom === "auto" && checkpointDir) resumePath = latestCheckpoint(checkpointDir);
  else if (resumeFrom === false && checkpointDir && existsSync(checkpointDir)) rmSync(checkpointDir, { recursive: true, force: true });

  let step = 0;
  let epoch = 0;
  let batchInEpoch = 0;
  let history: HistoryEntry[] = [];
  let best: TrainerState["best"] = null;
  let secondsBefore = 0;
  if (resumePath) {
    try {
      const ck = readCheckpoint(resumePath);
      const diff = diffFingerprints(ck.state.fingerprint, fingerprint);
      if (diff.length > 0)
        throw new Error(
          `train: ${resumePath} is a checkpoint of a different run (${diff.join("; ")}). ` +
            "Use another outputDir, pass resumeFrom: false to start over (its checkpoints are deleted), or train with the same settings.",
        );
      assignWeights(params, ck.weights, join(resumePath, "model.safetensors"));
      optimizer.loadState(ck.optimizer, join(resumePath, "optimizer.safetensors"));
      ({ step, epoch, batchInEpoch, history, best, seconds: secondsBefore } = ck.state);
    } catch (err) {
      optimizer.dispose();
      throw err;
    }
  }

  const evaluator = options.evaluator;
  const greaterIsBetter = options.greaterIsBetter ?? !(options.metricForBestModel ?? "").includes("loss");
  const reporter: ProgressReporter | undefined = options.progress === false ? undefined : options.progress === true || options.progress === undefined ? autoProgress(totalSteps) : options.progress;
  const runStart = performance.now();
  const elapsed = () => secondsBefore + (performance.now() - runStart) / 1000;
  let stepSecondsSum = 0;
  let stepsThisRun = 0;
  let lastCheckpoint = resumePath;
  const fracEpoch = (e: number, b: number) => (e >= epochs ? epochs : e + b / Math.max(1, batchesPerEpoch[e]));
  const progressState = (): ProgressState => {
    const lastOf = <K extends HistoryEntry["kind"]>(kind: K) => {
      for (let i = history.length - 1; i >= 0; i--) if (history[i].kind === kind) return history[i] as Extract<HistoryEntry, { kind: K }>;
      return undefined;
    };
    const lastTrain = lastOf("train");
    const lastEval = lastOf("eval");
    return {
      step, totalSteps, epoch: fracEpoch(epoch, batchInEpoch), epochs, loss: lastTrain?.loss, learningRate: lastTrain?.learningRate, gradNorm: lastTrain?.gradNorm,
      secondsPerStep: stepsThisRun > 0 ? stepSecondsSum / stepsThisRun : undefined, metrics: lastEval?.metrics, metricsStep: lastEval?.step,
      bestMetric: best?.metric, bestValue: best?.value,
    };
  };

  const evaluate = async (): Promise<void> => {
    if (!evaluator) return;
    const t0 = performance.now();
    const res = await evaluator.evaluate(model);
    const evalSeconds = (performance.now() - t0) / 1000;
    const metrics = { ...res.metrics };
    history.push({ kind: "eval", step, epoch: fracEpoch(epoch, batchInEpoch), metrics, evalSeconds, seconds: elapsed() });
    const metric = options.metricForBestModel ?? res.primaryMetric ?? Object.keys(metrics)[0];
    const value = metrics[metric];
    if (value === undefined) throw new Error(`train: metricForBestModel "${metric}" is not among the evaluator's metrics (${Object.keys(metrics).join(", ")}).`);
    if (best === null || (greaterIsBetter ? value > best.value : value < best.value)) {
      best = { metric, value, step };
      if (bestPath) await model.save(bestPath);
    }
    if (historyPath) writeHistory(historyPath, history);
    reporter?.update(progressState(), "eval");
  };

  const checkpoint = (): void => {
    if (!checkpointDir) return;
    const optState = optimizer.state();
    const state: TrainerState = {
      format: CHECKPOINT_FORMAT, step, totalSteps, epoch, batchInEpoch, seed,
      optimizerSteps: Object.fromEntries([...optState].map(([k, s]) => [k, s.step])),
      history, best, seconds: elapsed(), fingerprint,
    };
    lastCheckpoint = writeCheckpoint(checkpointDir, state, weightsOf(params), optState, keep);
    if (historyPath) writeHistory(historyPath, history);
  };

  const toBatch = (indices: number[]): TrainingBatch => ({ columns: data.columns, texts: data.columns.map((_, c) => indices.map((i) => data.rows[i][c])), size: indices.length });
  // While set, model.encode (evaluation) runs on tfjs; afterwards encoding rebuilds its ONNX graph from the trained weights.
  model.training = true;
  try {
    // Check the loss accepts these columns before the first step.
    const validate = (options.loss as Partial<{ validate(b: TrainingBatch): void }>).validate;
    if (typeof validate === "function") validate.call(options.loss, toBatch(data.rows.slice(0, Math.min(2, n)).map((_, i) => i)));
    if (resumePath) reporter?.update({ ...progressState(), message: `resumed from ${resumePath}` }, "resume");
    else if (evaluator && (options.evalAtStart ?? true)) await evaluate();

    while (step < totalSteps) {
      const batches = epochBatches(sampler, data.rows, epoch, samplerOptions);
      for (; batchInEpoch < batches.length && step < totalSteps; ) {
        const t0 = performance.now();
        const indices = batches[batchInEpoch];
        const lr = learningRateAt(schedule, step);
        let computed: { loss: number; grads: Map<tf.Variable, tf.Tensor> };
        try {
          computed = options.loss.lossAndGrads(model, toBatch(indices), trainVars);
        } catch (err) {
          throw stepFailure(err, step + 1, epoch + 1, batchInEpoch + 1, indices.length, options.loss.name, lastCheckpoint);
        }
        const { loss, grads } = computed;
        let gradNorm: number;
        try {
          if (!Number.isFinite(loss)) {
            throw new TrainingDivergedError(
              `train: step ${step + 1} (epoch ${epoch + 1}, batch ${batchInEpoch + 1}): the loss is ${loss}; training stopped before updating the weights. ` +
                `${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}. ` : ""}Lower the learning rate or check this batch's rows (${indices.slice(0, 8).join(", ")}${indices.length > 8 ? ", ..." : ""}).`,
              step + 1, lastCheckpoint,
            );
          }
          gradNorm = maxGradNorm > 0 ? clipGradNorm(grads, maxGradNorm) : gradNormOf(grads);
          if (!Number.isFinite(gradNorm)) {
            throw new TrainingDivergedError(
              `train: step ${step + 1} (epoch ${epoch + 1}, batch ${batchInEpoch + 1}): the gradient norm is ${gradNorm} (loss ${loss}); training stopped before updating the weights. ` +
                `${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}. ` : ""}Lower the learning rate or check this batch's rows.`,
              step + 1, lastCheckpoint,
            );
          }
          optimizer.step(grads, lr);
        } finally {
          for (const g of grads.values()) g.dispose();
        }
        step += 1;
        batchInEpoch += 1;
        const stepSeconds = (performance.now() - t0) / 1000;
        stepSecondsSum += stepSeconds;
        stepsThisRun += 1;
        history.push({ kind: "train", step, epoch: fracEpoch(epoch, batchInEpoch), loss, learningRate: lr, gradNorm, batchSize: indices.length, seconds: elapsed() });
        if (batchInEpoch === batches.length) {
          epoch += 1;
          batchInEpoch = 0;
        }
        reporter?.update(progressState(), "step");
        if ((evalSteps !== undefined && step % evalSteps === 0) || step === totalSteps) await evaluate();
        if (step % checkpointSteps === 0 || step === totalSteps) checkpoint();
        // Let the display, timers and signal handlers run between steps.
        await new Promise<void>((r) => setImmediate(r));
        if (batchInEpoch === 0) break;
      }
    }
  } catch (err) {
    if (historyPath) writeHistory(historyPath, history);
    const why = err instanceof Error ? err.message : String(err);
    reporter?.end({ ...progressState(), message: `stopped: ${why.split("\n")[0].slice(0, 200)}` });
    optimizer.dispose();
    throw err;
  } finally {
    model.training = false;
  }
  optimizer.dispose();

  let finalModelPath: string | undefined;
  if (outputDir) {
    finalModelPath = join(outputDir, "final");
    await model.save(finalModelPath);
    if (historyPath) writeHistory(historyPath, history);
  }
  const bestResult = best as TrainerState["best"];
  if (options.loadBestModelAtEnd && bestResult && bestPath && existsSync(bestPath)) {
    const folder = readModelFolder(bestPath);
    assignWeights(params, folder.first.weights, bestPath);
  }
  reporter?.end(progressState());
  const losses = history.filter((h): h is TrainStepLog => h.kind === "train").map((h) => h.loss);
  return {
    history, steps: step, totalSteps, trainLoss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length),
    best: bestResult ? { ...bestResult, path: bestPath } : null, finalModelPath, historyPath, resumedFrom: resumePath,
    seconds: elapsed(), warnings, trainedParameters: trained.map((p) => p.name), frozenParameters: frozen.map((p) => p.name),
  };
}
