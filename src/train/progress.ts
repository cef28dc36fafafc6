/**
 * Live training progress: step/total, loss, learning rate, seconds per step, ETA and the latest metrics.
 *
 *   in a tslab notebook  one output that updates in place: the first message is a display_data with a
 *                        transient display_id, later ones are update_display_data with the same id
 *                        (Jupyter messaging spec; tslab's lastWriteDisplayData(msg, update) sends them)
 *   in a terminal (TTY)  a single line rewritten with "\r" and erase-line, ended with a newline
 *   otherwise (CI, logs) plain lines: every `every` steps, at each evaluation and at the end
 *
 * The ETA is (steps left) x (mean seconds per step of this run so far).
 */
import { randomBytes } from "node:crypto";
import { escapeHtml, inNotebook } from "../display/display";

export interface ProgressState {
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  loss?: number;
  learningRate?: number;
  gradNorm?: number;
  /** Mean seconds per step in this run (excludes evaluation time). */
  secondsPerStep?: number;
  /** Latest evaluation. */
  metrics?: Record<string, number>;
  metricsStep?: number;
  /** Which metric decides the best checkpoint, and its best value so far. */
  bestMetric?: string;
  bestValue?: number;
  message?: string;
}

/** Receives progress; the trainer calls update() after every step and evaluation, end() once. */
export interface ProgressReporter {
  update(state: ProgressState, event: "step" | "eval" | "resume"): void;
  end(state: ProgressState): void;
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - 60 * m)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Metrics worth showing on one line: the best-by metric first, then at most 2 others. */
function shownMetrics(state: ProgressState): [string, number][] {
  const m = state.metrics ?? {};
  const keys = Object.keys(m);
  const first = state.bestMetric && state.bestMetric in m ? [state.bestMetric] : [];
  const rest = keys.filter((k) => !first.includes(k) && /ndcg@10|mrr@10|accuracy@1$|recall@10/.test(k));
  return [...first, ...rest].slice(0, 3).map((k) => [k, m[k]]);
}

/** The one-line summary used by every display. */
export function formatProgress(state: ProgressState): string {
  const pct = state.totalSteps > 0 ? Math.floor((100 * state.step) / state.totalSteps) : 100;
  const parts = [`step ${state.step}/${state.totalSteps} (${pct}%)`, `epoch ${state.epoch.toFixed(2)}/${state.epochs}`];
  if (state.loss !== undefined) parts.push(`loss ${state.loss.toFixed(4)}`);
  if (state.learningRate !== undefined) parts.push(`lr ${state.learningRate.toExponential(2)}`);
  if (state.gradNorm !== undefined) parts.push(`grad norm ${state.gradNorm.toFixed(3)}`);
  if (state.secondsPerStep !== undefined) {
    parts.push(`${state.secondsPerStep.toFixed(2)} s/step`);
    parts.push(`ETA ${fmtSeconds((state.totalSteps - state.step) * state.secondsPerStep)}`);
  }
  const metrics = shownMetrics(state);
  if (metrics.length > 0)
    parts.push(`${metrics.map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")} (step ${state.metricsStep})`);
  if (state.message) parts.push(state.message);
  return parts.join(" | ");
}

/** An HTML card for notebooks: a progress bar and a small table. */
export function progressHtml(state: ProgressState): string {
  const pct = state.totalSteps > 0 ? (100 * state.step) / state.totalSteps : 100;
  const rows: [string, string][] = [
    ["step", `${state.step} / ${state.totalSteps}`],
    ["epoch", `${state.epoch.toFixed(2)} / ${state.epochs}`],
  ];
  if (state.loss !== undefined) rows.push(["loss", state.loss.toFixed(4)]);
  if (state.learningRate !== undefined) rows.push(["learning rate", state.learningRate.toExponential(2)]);
  if (state.gradNorm !== undefined) rows.push(["grad norm", state.gradNorm.toFixed(3)]);
  if (state.secondsPerStep !== undefined) {
    rows.push(["s / step", state.secondsPerStep.toFixed(2)]);
    rows.push(["ETA", fmtSeconds((state.totalSteps - state.step) * state.secondsPerStep)]);
  }
  for (const [k, v] of shownMetrics(state)) rows.push([`${k} (step ${state.metricsStep})`, v.toFixed(4)]);
  if (state.bestMetric && state.bestValue !== undefined)
    rows.push([`best ${state.bestMetric}`, state.bestValue.toFixed(4)]);
  if (state.message) rows.push(["", state.message]);
  const table = rows
    .map(
      ([k, v]) =>
        `<tr><td style="text-align:left">${escapeHtml(k)}</td><td style="text-align:right">${escapeHtml(v)}</td></tr>`,
    )
    .join("");
  return (
    `<div><progress value="${pct.toFixed(1)}" max="100" style="width:320px"></progress> ${pct.toFixed(0)}%` +
    `<table style="font-size:90%">${table}</table></div>`
  );
}

type WriteDisplayData = (
  msg: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> },
  update: boolean,
) => void;

/** One notebook output updated in place (display_data, then update_display_data with the same display_id). */
export class NotebookProgress implements ProgressReporter {
  private readonly displayId = `train-progress-${randomBytes(6).toString("hex")}`;
  private shown = false;
  private last = 0;

  constructor(private readonly minIntervalMs = 300) {}

  private send(state: ProgressState): void {
    const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: WriteDisplayData | null };
    const write = jupyter.lastWriteDisplayData;
    if (!write) return;
    write(
      {
        data: { "text/html": progressHtml(state), "text/plain": formatProgress(state) },
        metadata: {},
        transient: { display_id: this.displayId },
      },
      this.shown,
    );
    this.shown = true;
    this.last = Date.now();
  }

  update(state: ProgressState, event: "step" | "eval" | "resume"): void {
    if (event !== "step" || !this.shown || Date.now() - this.last >= this.minIntervalMs) this.send(state);
  }

  end(state: ProgressState): void {
    this.send(state);
  }
}

/** A single terminal line rewritten in place. */
export class TerminalProgress implements ProgressReporter {
  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {}

  update(state: ProgressState, event: "step" | "eval" | "resume"): void {
    const width = this.stream.columns ?? 120;
    let line = formatProgress(state);
    if (line.length > width - 1) line = line.slice(0, width - 2) + "…";
    this.stream.write(`\r\x1b[2K${line}`);
    if (event === "eval") {
      // Keep each evaluation visible above the live line.
      this.stream.write("\n");
    }
  }

  end(state: ProgressState): void {
    this.stream.write(`\r\x1b[2K${formatProgress(state)}\n`);
  }
}

/** Plain lines for logs: every `every` steps, at each evaluation, and at the end. */
export class LineProgress implements ProgressReporter {
  constructor(
    private readonly every: number,
    private readonly write: (line: string) => void = (l) => console.log(l),
  ) {}

  update(state: ProgressState, event: "step" | "eval" | "resume"): void {
    if (event !== "step" || state.step % this.every === 0) this.write(formatProgress(state));
  }

  end(state: ProgressState): void {
    if (state.step % this.every !== 0 || state.message) this.write(formatProgress(state));
  }
}

/** The display that suits where we run: notebook, terminal, or plain lines (about 20 per run). */
export function autoProgress(totalSteps: number): ProgressReporter {
  if (inNotebook()) return new NotebookProgress();
  if (process.stdout.isTTY) return new TerminalProgress();
  return new LineProgress(Math.max(1, Math.round(totalSteps / 20)));
}
