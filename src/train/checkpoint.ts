/**
 * Training checkpoints: everything needed to continue a run as if it had never stopped.
 *
 *   <outputDir>/checkpoints/checkpoint-000120/
 *     model.safetensors       every trainable parameter (Hugging Face names), float32
 *     optimizer.safetensors   AdamW moments: "exp_avg.<name>", "exp_avg_sq.<name>"
 *     trainer_state.json      step, sampler position (epoch, batch in epoch), seed, AdamW step counts,
 *                             history, best metric, elapsed seconds, and the run's fingerprint
 *
 * A checkpoint is written into a temp folder beside the others and renamed into place only once complete,
 * so a run killed at any moment (even SIGKILL) leaves either the previous checkpoints or the new one, never
 * a half-written folder; leftover temp folders are removed on the next run. The last `keep` are kept.
 * The sampler needs no stored RNG state beyond (seed, epoch, position): an epoch's batches are a pure
 * function of (seed, epoch) (sampler.ts), and the encoder has no dropout, so nothing else is random.
 *
 * A run continues only from a checkpoint of the same run: its fingerprint (the options that change the
 * result, the data's hash and the parameters' names and shapes) must match, or the resume is refused
 * with the settings that differ.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { readSafetensors, serializeSafetensors } from "../model/safetensors";
import { cleanStaleTemporaries, replaceFolder, saveError, writeFileAtomic } from "../files";
import type { HostTensor, WeightMap } from "../model/types";
import type { HistoryEntry } from "./history";
import type { AdamW, AdamWParamState, NamedParameter } from "./optimizer";
import type { ResolvedTrainOptions } from "./options";
import { assignWeights } from "./parameters";

export const CHECKPOINT_FORMAT = 1;

export interface TrainerState {
  format: number;
  /** Optimizer steps done. */
  step: number;
  totalSteps: number;
  /** Sampler position: the epoch being trained and how many of its batches are done. */
  epoch: number;
  batchInEpoch: number;
  seed: number;
  /** AdamW's per-parameter step counts. */
  optimizerSteps: Record<string, number>;
  history: HistoryEntry[];
  best: { metric: string; value: number; step: number } | null;
  /** Training seconds so far (all runs). */
  seconds: number;
  /** What must match for a resume to continue the same run (runFingerprint). */
  fingerprint: Record<string, unknown>;
}

export interface Checkpoint {
  path: string;
  state: TrainerState;
  weights: WeightMap;
  optimizer: Map<string, AdamWParamState>;
}

const NAME = /^checkpoint-(\d+)$/;

export function checkpointName(step: number): string {
  return `checkpoint-${String(step).padStart(6, "0")}`;
}

/** Completed checkpoints in `dir`, oldest first. */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, m: NAME.exec(name) }))
    .filter(
      (x): x is { name: string; m: RegExpExecArray } =>
        x.m !== null && existsSync(join(dir, x.name, "trainer_state.json")),
    )
    .map(({ name, m }) => ({ step: Number(m[1]), path: join(dir, name) }))
    .sort((a, b) => a.step - b.step);
}

/** The newest completed checkpoint in `dir`, or undefined. */
export function latestCheckpoint(dir: string): string | undefined {
  return listCheckpoints(dir).pop()?.path;
}

/** Removes temp folders a killed run left behind. */
export function removeStaleTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".tmp-")) rmSync(join(dir, name), { recursive: true, force: true });
    // A checkpoint set aside during a swap (replaceFolder): put back if the swap died half-way, else removed.
    const old = /^\.(checkpoint-\d+)\.old-/.exec(name);
    if (old) cleanStaleTemporaries(join(dir, old[1]));
  }
}

/** Writes a checkpoint atomically and keeps only the newest `keep`. Returns its path. */
export function writeCheckpoint(
  dir: string,
  state: TrainerState,
  weights: WeightMap,
  optimizer: Map<string, AdamWParamState>,
  keep: number,
): string {
  mkdirSync(dir, { recursive: true });
  const name = checkpointName(state.step);
  const target = join(dir, name);
  const tmp = join(dir, `.tmp-${name}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(tmp);
  try {
    writeFileAtomic(join(tmp, "model.safetensors"), serializeSafetensors(weights, { format: "pt" }));
    const moments: WeightMap = new Map();
    for (const [param, s] of optimizer) {
      moments.set(`exp_avg.${param}`, s.expAvg);
      moments.set(`exp_avg_sq.${param}`, s.expAvgSq);
    }
    writeFileAtomic(join(tmp, "optimizer.safetensors"), serializeSafetensors(moments, { format: "pt" }));
    writeFileAtomic(join(tmp, "trainer_state.json"), JSON.stringify(state, null, 1) + "\n");
    replaceFolder(tmp, target);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const earlier = listCheckpoints(dir)
      .filter((c) => c.path !== target)
      .pop();
    throw saveError(
      err,
      `checkpoint ${name}`,
      target,
      false,
      earlier ? `The earlier checkpoint ${earlier.path} is intact.` : undefined,
    );
  }
  const all = listCheckpoints(dir);
  for (const c of all.slice(0, Math.max(0, all.length - Math.max(1, keep))))
    rmSync(c.path, { recursive: true, force: true });
  return target;
}

/** Reads a checkpoint folder written by writeCheckpoint. */
export function readCheckpoint(path: string): Checkpoint {
  const statePath = join(path, "trainer_state.json");
  if (!existsSync(statePath))
    throw new Error(
      `${path}: not a checkpoint (no trainer_state.json); give a folder <outputDir>/checkpoints/checkpoint-N.`,
    );
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(statePath, "utf8")) as TrainerState;
  } catch (err) {
    throw new Error(`${statePath}: not valid JSON (${(err as Error).message}).`);
  }
  if (state.format !== CHECKPOINT_FORMAT)
    throw new Error(`${statePath}: checkpoint format ${state.format}, this trainer reads format ${CHECKPOINT_FORMAT}.`);
  const weights = readSafetensors(join(path, "model.safetensors")).tensors;
  const moments = readSafetensors(join(path, "optimizer.safetensors")).tensors;
  const optimizer = new Map<string, AdamWParamState>();
  for (const [name, step] of Object.entries(state.optimizerSteps)) {
    const expAvg = moments.get(`exp_avg.${name}`);
    const expAvgSq = moments.get(`exp_avg_sq.${name}`);
    if (!expAvg || !expAvgSq)
      throw new Error(`${join(path, "optimizer.safetensors")}: missing the moments of "${name}".`);
    optimizer.set(name, { step, expAvg: expAvg as HostTensor, expAvgSq: expAvgSq as HostTensor });
  }
  return { path, state, weights, optimizer };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** What must match for a checkpoint to continue this run: the settings that change the result, the data, the
 * parameters. */
export function runFingerprint(
  args: ResolvedTrainOptions,
  optimizer: AdamW,
  params: NamedParameter[],
): Record<string, unknown> {
  return {
    seed: args.seed,
    epochs: args.epochs,
    batchSize: args.batchSize,
    maxSteps: args.maxSteps,
    totalSteps: args.totalSteps,
    learningRate: args.learningRate,
    warmupSteps: args.schedule.warmupSteps,
    // Only when set, so that checkpoints written before this option existed still resume.
    ...(args.schedule.type === "cosine" ? { lrScheduler: "cosine" } : {}),
    weightDecay: optimizer.weightDecay,
    adamBetas: [optimizer.beta1, optimizer.beta2],
    adamEpsilon: optimizer.eps,
    maxGradNorm: args.maxGradNorm,
    batchSampler: args.batchSampler,
    dropLast: args.dropLast,
    // Only when set, so that checkpoints written before this option existed still resume.
    ...(args.dropSingleExampleBatches ? { dropSingleExampleBatches: true } : {}),
    freeze: args.freeze,
    loss: { name: args.loss.name, config: args.loss.config() },
    data: {
      rows: args.data.rows.length,
      columns: args.data.columns,
      sha256: sha256(JSON.stringify(args.data.labels ? [args.data.rows, args.data.labels] : args.data.rows)),
    },
    parameters: sha256(JSON.stringify(params.map((p) => [p.name, p.variable.shape]))),
  };
}

function diffFingerprints(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: checkpoint ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
}

/**
 * The checkpoint a run continues from, after removing temp folders a killed run left in `checkpointDir`:
 * resumeFrom's folder, the newest checkpoint in `checkpointDir` ("auto"), or none. resumeFrom false
 * starts over and deletes the run's old checkpoints.
 */
export function findResumeCheckpoint(
  resumeFrom: "auto" | false | string,
  checkpointDir: string | undefined,
): string | undefined {
  if (checkpointDir) removeStaleTemps(checkpointDir);
  if (typeof resumeFrom === "string" && resumeFrom !== "auto") {
    const path = resolve(resumeFrom);
    if (!existsSync(path))
      throw new Error(
        `train: resumeFrom ${path} does not exist; give a checkpoint folder ` +
          '(<outputDir>/checkpoints/checkpoint-N) or "auto".',
      );
    return path;
  }
  if (resumeFrom === "auto" && checkpointDir) return latestCheckpoint(checkpointDir);
  // Starting over deletes the run's checkpoints, never anything else a user put in the folder.
  if (resumeFrom === false && checkpointDir)
    for (const c of listCheckpoints(checkpointDir)) rmSync(c.path, { recursive: true, force: true });
  return undefined;
}

/** Reads the checkpoint at `path` and checks it belongs to the run with this fingerprint. */
export function readCheckpointOfRun(path: string, fingerprint: Record<string, unknown>): Checkpoint {
  const ck = readCheckpoint(path);
  const diff = diffFingerprints(ck.state.fingerprint, fingerprint);
  if (diff.length > 0)
    throw new Error(
      `train: ${path} is a checkpoint of a different run (${diff.join("; ")}). ` +
        "Use another outputDir, pass resumeFrom: false to start over (its checkpoints are deleted), " +
        "or train with the same settings.",
    );
  return ck;
}

/**
 * Continues a run from the checkpoint at `path`: checks it is this run's (fingerprint), loads its weights
 * into the parameters and its AdamW moments into the optimizer, and returns the loop's state.
 */
export function restoreCheckpoint(
  path: string,
  fingerprint: Record<string, unknown>,
  params: NamedParameter[],
  optimizer: AdamW,
): TrainerState {
  const ck = readCheckpointOfRun(path, fingerprint);
  assignWeights(params, ck.weights, join(path, "model.safetensors"));
  optimizer.loadState(ck.optimizer, join(path, "optimizer.safetensors"));
  return ck.state;
}
