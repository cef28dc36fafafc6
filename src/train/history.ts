/**
 * The training history: one entry per optimizer step (loss, learning rate, gradient norm) and one per
 * evaluation (the evaluator's flat metrics, e.g. "cosine_ndcg@10"), in the spirit of transformers'
 * TrainerState.log_history. It is returned by train(), written as JSON to <outputDir>/history.json
 * (atomically) and stored in every checkpoint, so a resumed run continues the same history.
 *
 *   step     optimizer steps done (0 = before training, for the first evaluation)
 *   epoch    fractional epoch: completed epochs + batches done in this epoch / batches of this epoch
 *   seconds  training wall-clock seconds since step 0 (summed over interrupted and resumed runs)
 *
 * trainingCurvesFigure draws it for a notebook (show it with src/course's showPlot): the loss per step on the
 * left axis, the chosen evaluation metrics over steps on the right axis.
 */
import { writeFileAtomic } from "../files";
import type { PlotlyFigure } from "../display/display";

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

/**
 * Loss per step (top panel) and evaluation metrics over steps (bottom panel, markers, its axis spanning the
 * metric's own range) as a Plotly figure.
 * `metrics` picks metric keys (default: every key ending in "ndcg@10", else the first metric).
 */
export function trainingCurvesFigure(
  history: readonly HistoryEntry[],
  options: { metrics?: string[]; title?: string } = {},
): PlotlyFigure {
  const steps = trainSteps(history);
  const evals = evaluations(history);
  if (steps.length === 0 && evals.length === 0)
    throw new Error("trainingCurvesFigure: the history is empty; train first.");
  const keys = evals.length > 0 ? Object.keys(evals[evals.length - 1].metrics) : [];
  const metrics =
    options.metrics ??
    (keys.some((k) => k.endsWith("ndcg@10")) ? keys.filter((k) => k.endsWith("ndcg@10")) : keys.slice(0, 1));
  for (const m of metrics)
    if (!keys.includes(m))
      throw new Error(
        `trainingCurvesFigure: no metric "${m}" in the history (have: ${keys.join(", ") || "no evaluations"}).`,
      );
  const data: Array<Record<string, unknown>> = [
    {
      type: "scatter",
      mode: "lines",
      name: "training loss",
      x: steps.map((s) => s.step),
      y: steps.map((s) => s.loss),
      yaxis: "y",
    },
    ...metrics.map((m) => ({
      type: "scatter",
      mode: "lines+markers",
      name: m,
      x: evals.map((e) => e.step),
      y: evals.map((e) => e.metrics[m]),
      yaxis: "y2",
    })),
  ];
  // Two panels on one step axis rather than two scales on one panel: each line gets the height of its own range,
  // so a dev metric that moves by 0.02 is visible, and no line runs above its axis's ticks.
  const values = metrics.flatMap((m) => evals.map((e) => e.metrics[m]));
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const pad = Math.max(0.005, 0.15 * (hi - lo));
  return {
    data,
    layout: {
      title: { text: options.title ?? "Training loss and evaluation metrics" },
      // The step axis sits under the lower panel, where the reader's eye ends.
      xaxis: { title: { text: "optimizer step" }, anchor: "y2" },
      yaxis: { title: { text: "loss" }, domain: [0.56, 1] },
      yaxis2: {
        title: { text: metrics.length === 1 ? metrics[0] : "metric" },
        domain: [0, 0.44],
        anchor: "x",
        ...(values.length > 0 ? { range: [lo - pad, hi + pad] } : {}),
      },
      legend: { orientation: "h" },
      height: 520,
    },
  };
}
