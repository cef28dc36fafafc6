/**
 * Notebook 6's tables as polars DataFrames (src/course's showTable renders them): what was measured,
 * the ROI inputs with where each came from, the ROI outputs, and storage against dimension.
 */
import pl from "nodejs-polars";
import type { EncodeThroughput, SearchLatency, TrainingTime } from "./measure";
import type { RoiInput, RoiResult } from "./roi";
import type { DimensionRow } from "./matryoshka";

export interface RunMeasurements {
  /** Which model the numbers belong to (a label). */
  model: string;
  training: TrainingTime;
  encode: EncodeThroughput;
  latency: SearchLatency;
  /** Saved index file (or folder) size in bytes, and the passages it holds. */
  indexBytes: number;
  passages: number;
}

const fmt = (x: number, digits = 2) =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** One row per measured quantity: value, unit, and how it was measured. */
export function measurementsTable(m: RunMeasurements): pl.DataFrame {
  const rows: [string, string, string][] = [
    [
      "fine-tuning time",
      `${fmt(m.training.seconds, 1)} s`,
      `history.json: ${m.training.steps} steps, ${m.training.examples.toLocaleString("en-US")} examples, ${m.training.evaluations} dev evaluations included`,
    ],
    [
      "training speed",
      `${fmt(m.training.examples / Math.max(m.training.seconds, 1e-9), 1)} examples/s`,
      "examples / fine-tuning time",
    ],
    [
      "embedding speed",
      `${fmt(m.encode.textsPerSecond, 1)} passages/s`,
      `encode() of ${m.encode.texts} passages, batch ${m.encode.batchSize}, after a warm-up batch; ${m.encode.path}`,
    ],
    ["token throughput", `${fmt(m.encode.tokensPerSecond, 0)} tokens/s`, "real (non-padding) tokens in the same run"],
    [
      "search latency, median",
      `${fmt(m.latency.medianMs, 3)} ms`,
      `one query at a time, top ${m.latency.k} of ${m.passages} passages, ${m.latency.queries} queries, ${m.latency.implementation}`,
    ],
    ["search latency, 95th percentile", `${fmt(m.latency.p95Ms, 3)} ms`, "same runs"],
    [
      "batched search",
      `${fmt(m.latency.batchQueriesPerSecond, 0)} queries/s`,
      `all ${m.latency.queries} queries in one call`,
    ],
    [
      "index size on disk",
      `${fmt(m.indexBytes / 1024, 1)} KB`,
      `the saved index file (float32 vectors + ids) for ${m.passages} passages`,
    ],
    ["per passage", `${fmt(m.indexBytes / m.passages, 0)} bytes`, "index size / passages"],
  ];
  return pl.DataFrame({
    quantity: rows.map((r) => r[0]),
    [`value (${m.model})`]: rows.map((r) => r[1]),
    "how it was measured": rows.map((r) => r[2]),
  });
}

export type InputSource = "measured" | "assumed" | "computed";

/** The ROI inputs and outputs in one table, each with where it came from. */
export function roiTable(
  input: RoiInput,
  result: RoiResult,
  sources: Partial<Record<keyof RoiInput, { source: InputSource; note?: string }>>,
): pl.DataFrame {
  const money = (x: number) => `${x < 0 ? "-" : ""}$${fmt(Math.abs(x), x !== 0 && Math.abs(x) < 1 ? 4 : 2)}`;
  const src = (k: keyof RoiInput) => sources[k] ?? { source: "assumed" as InputSource };
  const rows: [string, string, InputSource, string][] = [
    [
      "queries per month",
      input.queriesPerMonth.toLocaleString("en-US"),
      src("queriesPerMonth").source,
      src("queriesPerMonth").note ?? "",
    ],
    ["tokens per query", fmt(input.tokensPerQuery, 1), src("tokensPerQuery").source, src("tokensPerQuery").note ?? ""],
    [
      "API price per 1M tokens",
      money(input.apiPricePerMillionTokens),
      src("apiPricePerMillionTokens").source,
      src("apiPricePerMillionTokens").note ?? "",
    ],
    [
      "self-hosting, per month",
      money(input.hardwareCostPerMonth),
      src("hardwareCostPerMonth").source,
      src("hardwareCostPerMonth").note ?? "",
    ],
    ["one-time cost", money(input.oneTimeCost), src("oneTimeCost").source, src("oneTimeCost").note ?? ""],
    [
      "LLM input saved per month",
      money(input.llmSavingPerMonth ?? 0),
      src("llmSavingPerMonth").source,
      src("llmSavingPerMonth").note ?? "",
    ],
    ["API cost per month", money(result.apiCostPerMonth), "computed", "queries x tokens x price"],
    ["monthly saving", money(result.monthlySaving), "computed", "API - self-hosting + LLM saving"],
    [
      "break-even",
      result.breakEvenMonths === null ? "never" : `${fmt(result.breakEvenMonths, 1)} months`,
      "computed",
      "one-time cost / monthly saving",
    ],
    [
      "break-even volume",
      result.breakEvenQueriesPerMonth === null
        ? "none"
        : `${Math.round(result.breakEvenQueriesPerMonth).toLocaleString("en-US")} queries/month`,
      "computed",
      "where the monthly costs are equal",
    ],
  ];
  return pl.DataFrame({
    item: rows.map((r) => r[0]),
    value: rows.map((r) => r[1]),
    source: rows.map((r) => r[2]),
    note: rows.map((r) => r[3]),
  });
}

/**
 * Storage against dimension for one or more models: metric [95% CI], the metric as a share of the model's metric at
 * full dimension, the share of the full vector's storage, and sizes.
 */
export function dimensionTable(
  series: readonly { name: string; rows: readonly DimensionRow[] }[],
  metric = "ndcg@10",
): pl.DataFrame {
  const flat = series.flatMap((s) => s.rows.map((r) => ({ s, r })));
  return pl.DataFrame({
    model: flat.map(({ s }) => s.name),
    dimensions: flat.map(({ r }) => r.dim),
    [metric]: flat.map(({ r }) => Number(r.metrics[metric].estimate.toFixed(4))),
    "95% CI": flat.map(({ r }) => `[${r.metrics[metric].low.toFixed(3)}, ${r.metrics[metric].high.toFixed(3)}]`),
    [`${metric} vs full dimension`]: flat.map(({ r }) => `${(100 * r.relativeToFull).toFixed(1)}%`),
    "storage vs full dimension": flat.map(({ s, r }) => {
      const full = Math.max(...s.rows.map((x) => x.bytesPerVector));
      return `${((100 * r.bytesPerVector) / full).toFixed(1)}%`;
    }),
    "bytes per vector": flat.map(({ r }) => r.bytesPerVector),
    "index on disk (KB)": flat.map(({ r }) => (r.indexBytes / 1024).toFixed(1)),
  });
}
