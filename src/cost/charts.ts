/**
 * Figures for notebook 6 as plain Plotly objects (src/course's showPlot draws them): the break-even over
 * time, monthly cost against query volume, and retrieval quality against embedding dimension.
 */
import type { PlotlyFigure } from "../display/display";
import { cumulativeCosts, roi, type RoiInput } from "./roi";
import type { DimensionRow } from "./matryoshka";

// No "$" in chart text: MathJax on the page (nbconvert HTML, the Notebook UI) would typeset "$0.14 vs $30" as math.
const money = (x: number) =>
  `${x < 0 ? "-" : ""}USD ${Math.abs(x) >= 100 ? Math.abs(x).toFixed(0) : Math.abs(x).toFixed(2)}`;

/** Cumulative cost of the hosted API and of fine-tuning + self-hosting, month by month, with the break-even. */
export function breakEvenFigure(
  input: RoiInput,
  options: { months?: number; title?: string; apiLabel?: string; selfLabel?: string } = {},
): PlotlyFigure {
  const r = roi(input);
  const months = options.months ?? Math.max(12, Math.min(120, Math.ceil((r.breakEvenMonths ?? 11) * 1.5)));
  const c = cumulativeCosts(input, months);
  const shapes: Record<string, unknown>[] = [];
  const annotations: Record<string, unknown>[] = [];
  if (r.breakEvenMonths !== null && r.breakEvenMonths <= months) {
    shapes.push({
      type: "line",
      x0: r.breakEvenMonths,
      x1: r.breakEvenMonths,
      yref: "paper",
      y0: 0,
      y1: 1,
      line: { dash: "dash", color: "#555" },
    });
    annotations.push({
      x: r.breakEvenMonths,
      yref: "paper",
      y: 1,
      text: `break-even: month ${r.breakEvenMonths.toFixed(1)}`,
      showarrow: false,
      yanchor: "bottom",
    });
  }
  return {
    data: [
      { type: "scatter", mode: "lines", name: options.apiLabel ?? "hosted embedding API", x: c.month, y: c.api },
      {
        type: "scatter",
        mode: "lines",
        name: options.selfLabel ?? "fine-tune once + self-host",
        x: c.month,
        y: c.selfHosted,
      },
    ],
    layout: {
      title: {
        text:
          options.title ??
          (r.breakEvenMonths === null
            ? "Cumulative cost: self-hosting never pays back at this volume"
            : "Cumulative cost and break-even"),
      },
      xaxis: { title: { text: "months" } },
      yaxis: { title: { text: "cumulative cost (USD)" }, rangemode: "tozero" },
      shapes,
      annotations,
      height: 400,
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/** Monthly cost against queries per month (log axis): the API grows with volume, self-hosting is flat. */
export function volumeFigure(
  input: RoiInput,
  options: { minQueries?: number; maxQueries?: number; title?: string } = {},
): PlotlyFigure {
  const lo = Math.log10(options.minQueries ?? 1e3);
  const hi = Math.log10(options.maxQueries ?? 1e9);
  const volumes = Array.from({ length: 61 }, (_, i) => 10 ** (lo + ((hi - lo) * i) / 60));
  const at = (q: number) => roi({ ...input, queriesPerMonth: q });
  const r = roi(input);
  const annotations: Record<string, unknown>[] = [];
  if (r.breakEvenQueriesPerMonth !== null && r.breakEvenQueriesPerMonth > 0)
    annotations.push({
      x: Math.log10(r.breakEvenQueriesPerMonth),
      y: Math.log10(Math.max(r.selfHostedCostPerMonth, 1e-6)),
      text: `equal at ${Math.round(r.breakEvenQueriesPerMonth).toLocaleString("en-US")} queries/month`,
      showarrow: true,
      ax: 0,
      ay: -40,
    });
  return {
    data: [
      {
        type: "scatter",
        mode: "lines",
        name: "hosted embedding API",
        x: volumes,
        y: volumes.map((q) => at(q).apiCostPerMonth),
      },
      {
        type: "scatter",
        mode: "lines",
        name: "self-hosted (hardware)",
        x: volumes,
        y: volumes.map((q) => at(q).selfHostedCostPerMonth),
      },
      {
        type: "scatter",
        mode: "markers",
        name: `your volume: ${money(r.apiCostPerMonth)} vs ${money(r.selfHostedCostPerMonth)} a month`,
        x: [input.queriesPerMonth],
        y: [r.apiCostPerMonth],
        marker: { size: 10 },
      },
    ],
    layout: {
      title: { text: options.title ?? "Monthly cost against query volume" },
      xaxis: { type: "log", title: { text: "queries per month" } },
      yaxis: { type: "log", title: { text: "cost per month (USD)" } },
      annotations,
      height: 400,
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

/** The metric (with bootstrap whiskers) against the dimension kept, one line per model, and the index size on disk. */
export function dimensionFigure(
  series: readonly { name: string; rows: readonly DimensionRow[] }[],
  options: { metric?: string; title?: string } = {},
): PlotlyFigure {
  if (series.length === 0 || series.some((s) => s.rows.length === 0))
    throw new Error("dimensionFigure: no rows; run matryoshkaCurve first.");
  const metric = options.metric ?? "ndcg@10";
  for (const s of series)
    if (s.rows.some((r) => typeof r.metrics[metric]?.estimate !== "number"))
      throw new Error(`dimensionFigure: "${s.name}" has no metric "${metric}".`);
  const first = series[0].rows;
  // Categories, not a log axis: bars on a log axis get uneven widths.
  const cat = (d: number) => `${d}`;
  const x = first.map((r) => cat(r.dim));
  return {
    data: [
      ...series.map((s) => ({
        type: "scatter",
        mode: "lines+markers",
        name: `${s.name}: ${metric}`,
        x: s.rows.map((r) => cat(r.dim)),
        y: s.rows.map((r) => r.metrics[metric].estimate),
        error_y: {
          type: "data",
          symmetric: false,
          array: s.rows.map((r) => r.metrics[metric].high - r.metrics[metric].estimate),
          arrayminus: s.rows.map((r) => r.metrics[metric].estimate - r.metrics[metric].low),
        },
      })),
      {
        type: "bar",
        name: "index on disk (KB)",
        x,
        y: first.map((r) => r.indexBytes / 1024),
        yaxis: "y2",
        opacity: 0.3,
        marker: { color: "#888" },
      },
    ],
    layout: {
      title: { text: options.title ?? `${metric} and storage against embedding dimension` },
      xaxis: { title: { text: "dimensions kept (first d, re-normalised)" }, type: "category" },
      yaxis: { title: { text: `${metric} (95% bootstrap interval)` }, rangemode: "tozero" },
      yaxis2: {
        title: { text: "index size (KB)" },
        overlaying: "y",
        side: "right",
        rangemode: "tozero",
        showgrid: false,
      },
      height: 420,
      legend: { orientation: "h", y: -0.25 },
    },
  };
}
