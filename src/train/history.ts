/**
 * The training history: one entry per optimizer step (loss, learning rate, gradient norm) and one per
 * evaluation (the evaluator's flat metrics, e.g. "cosine_ndcg@10"), in the spirit of transformers'
 * TrainerState.log_history. It is returned by train(), written as JSON to <outputDir>/history.json
 * (atomically) and stored in every checkpoint, so a resumed run continues the same history.
 *
 *   step     optimizer steps done (0 = before training, for the first evaluation)
 *   epoch    fractional epoch: completed epochs + batches done in this epoch / batches of this epoch
 *   seconds  training wall-clock seconds since step 0 (summed over interrupted and resumed runs)
 */
import { writeFileAtomic } from "../data/files";

export interface TrainStepLog {
  kind: "train";
  step: number;
  epoch: number;
  /** The loss of this step's batch (before the update). */
  loss: number;
  /** The learning rate this step's update used. */
  learningRate: number;
  /** Global 2-norm of the gradients before clipping. */
  gradNorm: number;
  /** Examples in the batch. */
  batchSize: number;
  seconds: number;
}

export interface EvalLog {
  kind: "eval";
  step: number;
  epoch: number;
  /** The evaluator's metrics, keys as it names them. */
  metrics: Record<string, number>;
  /** Seconds the evaluation took. */
  evalSeconds: number;
  seconds: number;
}

export type HistoryEntry = TrainStepLog | EvalLog;

export interface TrainHistory {
  entries: HistoryEntry[];
}

/** The training steps of a history, in order (what a loss curve plots). */
export function trainSteps(history: readonly HistoryEntry[]): TrainStepLog[] {
  return history.filter((e): e is TrainStepLog => e.kind === "train");
}

/** The evaluations of a history, in order (what a metric-over-steps chart plots). */
export function evaluations(history: readonly HistoryEntry[]): EvalLog[] {
  return history.filter((e): e is EvalLog => e.kind === "eval");
}

/** Writes the history as JSON (atomic: temp file + rename). */
export function writeHistory(path: string, history: readonly HistoryEntry[]): void {
  writeFileAtomic(path, JSON.stringify({ entries: history }, null, 1) + "\n");
}
