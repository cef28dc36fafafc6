/**
 * Figure builders for metric comparisons. They return plain Plotly figure objects ({data, layout},
 * what Plotly.newPlot takes; src/course's showPlot displays them) and touch no DOM, so they run
 * and are tested in Node.
 *
 * - metricBarsFigure: grouped bars, one group per metric, one bar per system, with asymmetric
 *   error whiskers from bootstrap intervals (./compare) when given;
 * - differenceFigure: the paired differences candidate - baseline with their intervals, and a
 *   line at 0: a bar whose whisker crosses 0 is not a demonstrated improvement.
 */
import type { PlotlyFigure } from "../display/display";
import { bootstrapCI, type BootstrapOptions, type Interval, type SystemComparison } from "./compare";
import type { IRResult } from "./ir-evaluator";

export interface SystemBars {
  name: string;
  /** Metric -> value. */
  values: Record<string, number>;
  /** Metric -> interval, drawn as whiskers from low to high. */
  intervals?: Record<string, Interval>;
}

/** Grouped bars with optional CI whiskers. `metrics` chooses and orders the groups. */
export function metricBarsFigure(
  systems: SystemBars[],
  metrics: string[],
  options: { title?: string } = {},
): PlotlyFigure {
  if (systems.length === 0 || metrics.length === 0)
    throw new Error("metricBarsFigure: give at least one system and one metric.");
  for (const s of systems)
    for (const m of metrics)
      if (typeof s.values[m] !== "number") throw new Error(`metricBarsFigure: "${s.name}" has no value for "${m}".`);
  const data = systems.map((s) => {
    const y = metrics.map((m) => s.values[m]);
    const trace: Record<string, unknown> = {
      type: "bar",
      name: s.name,
      x: metrics,
      y,
      hovertemplate: "%{x}: %{y:.3f}<extra>" + s.name + "</extra>",
    };
    if (s.intervals) {
      const iv = s.intervals;
      trace.error_y = {
        type: "data",
        symmetric: false,
        array: metrics.map((m, i) => iv[m].high - y[i]),
        arrayminus: metrics.map((m, i) => y[i] - iv[m].low),
        visible: true,
      };
    }
    return trace;
  });
  const hasCI = systems.some((s) => s.intervals);
  return {
    data,
    layout: {
      title: {
        text: options.title ?? (hasCI ? "Retrieval metrics (whiskers: 95% bootstrap interval)" : "Retrieval metrics"),
      },
      barmode: "group",
      xaxis: { title: { text: "metric" } },
      yaxis: { title: { text: "score" }, range: [0, 1.05] },
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/** metricBarsFigure from evaluator results, with bootstrap whiskers unless `ci` is false. */
export function metricBars(
  results: IRResult[],
  options: { metrics?: string[]; ci?: false | BootstrapOptions; title?: string } = {},
): PlotlyFigure {
  if (results.length === 0) throw new Error("metricBars: give at least one result.");
  const metrics = options.metrics ?? results[0].metricNames;
  const systems = results.map((r) => ({
    name: r.system,
    values: r.values,
    intervals: options.ci === false ? undefined : bootstrapCI(r, options.ci ?? {}),
  }));
  return metricBarsFigure(systems, metrics, { title: options.title });
}

/** Bars of candidate - baseline per metric with their paired-bootstrap intervals. */
export function differenceFigure(
  comparison: SystemComparison,
  options: { metrics?: string[]; title?: string } = {},
): PlotlyFigure {
  const rows = options.metrics
    ? comparison.differences.filter((d) => options.metrics!.includes(d.metric))
    : comparison.differences;
  if (rows.length === 0) throw new Error("differenceFigure: none of the requested metrics is in the comparison.");
  return {
    data: [
      {
        type: "bar",
        name: `${comparison.candidate} - ${comparison.baseline}`,
        x: rows.map((d) => d.metric),
        y: rows.map((d) => d.estimate),
        marker: { color: rows.map((d) => (!d.significant ? "#9e9e9e" : d.estimate > 0 ? "#2e7d32" : "#c62828")) },
        error_y: {
          type: "data",
          symmetric: false,
          array: rows.map((d) => d.high - d.estimate),
          arrayminus: rows.map((d) => d.estimate - d.low),
          visible: true,
        },
      },
    ],
    layout: {
      title: {
        text: options.title ?? `${comparison.candidate} vs ${comparison.baseline} (${comparison.queries} queries)`,
      },
      xaxis: { title: { text: "metric" } },
      yaxis: { title: { text: "difference" }, zeroline: true },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0, y1: 0, line: { color: "#000", width: 1 } }],
      showlegend: false,
    },
  };
}
