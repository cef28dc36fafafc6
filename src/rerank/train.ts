/**
 * trainCrossEncoder(): fine-tunes a CrossEncoder with a loss of ./losses, as sentence-transformers v4's
 * CrossEncoderTrainer does with its defaults, from the trainer's own parts (src/train): the seeded batch order
 * (sampler.ts), AdamW with weight decay off for biases / LayerNorm and clipping at norm 1 (optimizer.ts), the linear
 * warmup / decay (schedule.ts), checkpoints with a run fingerprint and resume (checkpoint.ts):
 *
 *   for each epoch: batches of examples (seeded shuffle of (seed, epoch))
 *     for each batch: loss + gradients (the loss tokenizes its pairs and runs the forward) -> stop on NaN / Inf
 *                     -> clip to norm 1 -> AdamW at the scheduled learning rate
 *                     -> every evalSteps: evaluate, keep the best (<outputDir>/best, CrossEncoder's layout)
 *                     -> every checkpointSteps: <outputDir>/checkpoints/checkpoint-N (weights, AdamW, state)
 *   <outputDir>/final, <outputDir>/history.json
 *
 * The loop is this file's, not src/train/trainer.ts's: train() takes a SentenceTransformer and a loss of its
 * embeddings (src/train/losses/types.ts). What a shared trainer needs from a loss to run both: a model-agnostic
 * `lossAndGrads(model, batch, variables, step)` and the model's `namedParameters()` / `save(dir)`.
 * Same seed, data and options => identical weights; an interrupted run resumes from its newest checkpoint (the
 * MultipleNegativesRankingLoss draws are seeded per step, so a resumed run draws what the uninterrupted one did).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initBackend, type tf } from "../backend";
import { TRAIN_DEFAULTS } from "../defaults";
import { writeFileAtomic } from "../files";
import {
  CHECKPOINT_FORMAT,
  findResumeCheckpoint,
  restoreCheckpoint,
  type TrainerState,
  writeCheckpoint,
} from "../train/checkpoint";
import { type EvalLog, type HistoryEntry, type TrainStepLog, writeHistory } from "../train/history";
import { AdamW, clipGradNorm } from "../train/optimizer";
import { weightsOf } from "../train/parameters";
import { defaultBatches } from "../train/sampler";
import { learningRateAt, warmupStepsFor } from "../train/schedule";
import type { CrossEncoder } from "./cross-encoder";
import type { CrossEncoderLoss, RerankExample } from "./losses";

/** Anything that scores a CrossEncoder: CrossEncoderRerankingEvaluator (./evaluate.ts), or a test double. */
export interface CrossEncoderEvaluator {
  /** Flat metrics, e.g. {"ndcg@10": 0.61, "mrr@10": 0.55, "map": 0.52}. */
  evaluate(model: CrossEncoder): Promise<Record<string, number>>;
}

export interface TrainCrossEncoderOptions {
  loss: CrossEncoderLoss;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  warmupRatio?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  seed?: number;
  /** Stop after this many optimizer steps (default: epochs x batches). */
  maxSteps?: number;
  evaluator?: CrossEncoderEvaluator;
  /** The metric that decides "best" (default "ndcg@10"; higher is better). */
  metric?: string;
  /** Evaluate every this many steps (default: once per epoch) and after the last step. */
  evalSteps?: number;
  /** best/, final/, checkpoints/, history.json go here; without it nothing is written. */
  outputDir?: string;
  /** Checkpoint every this many steps (default 0: none). */
  checkpointSteps?: number;
  /** Checkpoints kept (default 2). */
  keepCheckpoints?: number;
  /** "auto" (default): continue from the newest checkpoint in outputDir; false: start over; or a checkpoint folder. */
  resumeFrom?: "auto" | false | string;
  /** Keep the token / position / type embeddings fixed (train the layers and the head only). */
  freezeEmbeddings?: boolean;
  /** Called after every step and evaluation. */
  onLog?: (entry: HistoryEntry) => void;
}

export interface TrainCrossEncoderResult {
  history: HistoryEntry[];
  steps: number;
  totalSteps: number;
  trainLoss: number;
  best: { metric: string; value: number; step: number; path?: string } | null;
  finalModelPath?: string;
  resumedFrom?: string;
  seconds: number;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`trainCrossEncoder: ${name} ${v} must be a positive integer.`);
  return v;
}

/** Fine-tunes `model` in place on `examples` (mined rows as ./data.ts makes them); returns the history. */
export async function trainCrossEncoder(
  model: CrossEncoder,
  examples: readonly RerankExample[],
  options: TrainCrossEncoderOptions,
): Promise<TrainCrossEncoderResult> {
  await initBackend();
  const { loss } = options;
  const epochs = positiveInt("epochs", options.epochs ?? TRAIN_DEFAULTS.epochs);
  const batchSize = positiveInt("batchSize", options.batchSize ?? TRAIN_DEFAULTS.batchSize);
  const learningRate = options.learningRate ?? TRAIN_DEFAULTS.learningRate;
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  const maxGradNorm = options.maxGradNorm ?? TRAIN_DEFAULTS.maxGradNorm;
  const metric = options.metric ?? "ndcg@10";
  if (examples.length === 0) throw new Error("trainCrossEncoder: no training examples.");
  examples.forEach((ex, i) => {
    if (!loss.input.includes(ex.kind))
      throw new Error(
        `trainCrossEncoder: example ${i} is a "${ex.kind}" row; ${loss.name} takes ${loss.input.join(" / ")} rows.`,
      );
  });
  const batchesPerEpoch = Math.ceil(examples.length / batchSize);
  const totalSteps = Math.min(options.maxSteps ?? Infinity, epochs * batchesPerEpoch);
  const schedule = {
    peakLearningRate: learningRate,
    totalSteps,
    warmupSteps: warmupStepsFor(totalSteps, { warmupRatio: options.warmupRatio ?? TRAIN_DEFAULTS.warmupRatio }),
  };
  const evalSteps = options.evalSteps ?? batchesPerEpoch;
  const params = model.namedParameters().filter((p) => !(options.freezeEmbeddings && /\.embeddings\./.test(p.name)));
  const variables = params.map((p) => p.variable);
  const optimizer = new AdamW(params, { weightDecay: options.weightDecay ?? TRAIN_DEFAULTS.weightDecay });
  const out = options.outputDir;
  const checkpointDir = out ? join(out, "checkpoints") : undefined;
  const fingerprint = {
    seed,
    epochs,
    batchSize,
    totalSteps,
    learningRate,
    warmupSteps: schedule.warmupSteps,
    weightDecay: optimizer.weightDecay,
    maxGradNorm,
    freezeEmbeddings: options.freezeEmbeddings === true,
    loss: { name: loss.name, config: loss.config() },
    examples: examples.length,
    data: sha256(JSON.stringify(examples)),
    parameters: sha256(params.map((p) => `${p.name}:${p.variable.shape}`).join(";")),
  };
  let state: TrainerState = {
    format: CHECKPOINT_FORMAT,
    step: 0,
    totalSteps,
    epoch: 0,
    batchInEpoch: 0,
    seed,
    optimizerSteps: {},
    history: [],
    best: null,
    seconds: 0,
    fingerprint,
  };
  const resumeFrom = out ? findResumeCheckpoint(options.resumeFrom ?? "auto", checkpointDir) : undefined;
  if (resumeFrom) state = restoreCheckpoint(resumeFrom, fingerprint, params, optimizer);
  const started = performance.now() - state.seconds * 1000;
  const seconds = () => (performance.now() - started) / 1000;
  const log = (entry: HistoryEntry) => {
    state.history.push(entry);
    options.onLog?.(entry);
  };

  const evaluate = async (epoch: number) => {
    if (!options.evaluator) return;
    const t0 = performance.now();
    const metrics = await options.evaluator.evaluate(model);
    const entry: EvalLog = {
      kind: "eval",
      step: state.step,
      epoch,
      metrics,
      evalSeconds: (performance.now() - t0) / 1000,
      seconds: seconds(),
    };
    log(entry);
    const value = metrics[metric];
    if (typeof value !== "number")
      throw new Error(
        `trainCrossEncoder: the evaluator gave no "${metric}" (it gave ${Object.keys(metrics).join(", ")}).`,
      );
    if (state.best === null || value > state.best.value) {
      state.best = { metric, value, step: state.step };
      if (out) model.save(join(out, "best"), { overwrite: true });
    }
  };

  for (let epoch = state.epoch; epoch < epochs && state.step < totalSteps; epoch++) {
    const batches = defaultBatches(examples.length, epoch, { batchSize, seed, dropLast: false });
    for (let b = epoch === state.epoch ? state.batchInEpoch : 0; b < batches.length && state.step < totalSteps; b++) {
      const batch = batches[b].map((i) => examples[i]);
      const lr = learningRateAt(schedule, state.step);
      const { loss: value, grads } = loss.lossAndGrads(model, batch, variables, state.step);
      let gradNorm: number;
      try {
        gradNorm = clipGradNorm(grads as Map<tf.Variable, tf.Tensor>, maxGradNorm > 0 ? maxGradNorm : Infinity);
        if (!Number.isFinite(value) || !Number.isFinite(gradNorm))
          throw new Error(
            `trainCrossEncoder: step ${state.step + 1} gave loss ${value}, gradient norm ${gradNorm}; lower the learning rate ` +
              `(${learningRate}). ${state.step > 0 && checkpointDir ? "The last checkpoint is intact." : ""}`,
          );
        optimizer.step(grads, lr);
      } finally {
        for (const g of grads.values()) g.dispose();
      }
      state.step++;
      state.epoch = epoch;
      state.batchInEpoch = b + 1;
      const entry: TrainStepLog = {
        kind: "train",
        step: state.step,
        epoch,
        loss: value,
        learningRate: lr,
        gradNorm,
        batchSize: batch.length,
        seconds: seconds(),
      };
      log(entry);
      if (state.step % evalSteps === 0 || state.step === totalSteps) await evaluate(epoch);
      if (checkpointDir && options.checkpointSteps && state.step % options.checkpointSteps === 0) {
        state.seconds = seconds();
        state.optimizerSteps = Object.fromEntries([...optimizer.state()].map(([n, s]) => [n, s.step]));
        writeCheckpoint(checkpointDir, state, weightsOf(params), optimizer.state(), options.keepCheckpoints ?? 2);
      }
    }
    if (state.step < totalSteps) {
      state.epoch = epoch + 1;
      state.batchInEpoch = 0;
    }
  }
  optimizer.dispose();
  const trainLosses = state.history.filter((e): e is TrainStepLog => e.kind === "train").map((e) => e.loss);
  let finalModelPath: string | undefined;
  if (out) {
    finalModelPath = join(out, "final");
    model.save(finalModelPath, { overwrite: true });
    writeHistory(join(out, "history.json"), state.history);
    if (state.best) writeFileAtomic(join(out, "best.json"), JSON.stringify(state.best, null, 2));
  }
  return {
    history: state.history,
    steps: state.step,
    totalSteps,
    trainLoss: trainLosses.reduce((a, b) => a + b, 0) / Math.max(1, trainLosses.length),
    best: state.best
      ? { ...state.best, path: out && existsSync(join(out, "best")) ? join(out, "best") : undefined }
      : null,
    finalModelPath,
    resumedFrom: resumeFrom,
    seconds: seconds(),
  };
}
