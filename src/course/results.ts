/**
 * reports/results.json: what the course run measured, one file every notebook adds to.
 *
 *   { "version": 1,
 *     "results": [ { dataset, split, system, model, queries, metrics: { "ndcg@10": {estimate, low, high}, ... },
 *                    notebook, updated } ],
 *     "comparisons": [ { dataset, split, baseline, candidate, model, improved, worsened, differences: { "ndcg@10": {estimate, low, high} } } ],
 *     "timings": [ { notebook, seconds, finished } ],
 *     "facts": [ { dataset, model, key, value, updated } ] }
 *
 * A row for a part of a test set (notebook 3 splits the independent queries into paraphrases of a training
 * question and the rest) has `subset` ("paraphrase" / "novel") and the split name "<split>/<subset>".
 * Facts are what a run decided or measured that prose elsewhere repeats (the training data chosen, one run's
 * seconds): recordFact keeps them, and test/course-prose.test.ts holds the notebooks' claims to them.
 *
 * A result row is keyed by (dataset, split, system, model): recording it again replaces it, so a
 * rerun updates the table instead of growing it. `system` is one of the course's systems (BM25, base,
 * fine-tuned, hard-negative fine-tuned, hybrid, or any other name); `model` says which embedding model
 * produced the number ("offline (embedded default)", "BAAI/bge-small-en-v1.5", "-" for BM25).
 * Intervals are 95% percentile-bootstrap intervals over the queries (src/eval/compare: bootstrapCI).
 *
 * Writers take a lock (src/files.ts lockTarget: `.results.json.lock`, as the Python runner does) and write the whole file
 * atomically (temp file + rename), so a reader never sees half a file and two writers never lose each
 * other's rows.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pl from "nodejs-polars";
import { getConfig } from "../env";
import { formatSigned, formatSignedInterval } from "../display/format";
import { withLock, writeFileAtomic } from "../files";
import { bootstrapCI, type BootstrapOptions, type Interval, type SystemComparison } from "../eval/compare";
import type { IRResult } from "../eval/ir-evaluator";

/** The systems the course compares, in the order tables show them. */
export const COURSE_SYSTEMS = [
  "BM25",
  "base",
  "fine-tuned",
  "hard-negative fine-tuned",
  "hybrid",
  "hybrid (fine-tuned)",
] as const;

/** Metrics results.json keeps (sentence-transformers' names). */
export const RESULT_METRICS = [
  "accuracy@1",
  "accuracy@3",
  "accuracy@5",
  "accuracy@10",
  "mrr@10",
  "ndcg@10",
  "recall@10",
  "precision@1",
  "precision@5",
  "map@100",
] as const;

/** The metrics results tables show by default. */
export const TABLE_METRICS: readonly string[] = RESULT_METRICS.filter((m) => m !== "precision@1" && m !== "map@100");

export interface ResultRow {
  dataset: string;
  split: string;
  subset?: string;
  system: string;
  model: string;
  queries: number;
  metrics: Record<string, Interval>;
  notebook?: string;
  /** ISO time recorded. */
  updated: string;
}

export interface TimingRow {
  notebook: string;
  seconds: number;
  /** ISO time the notebook finished. */
  finished: string;
  status?: "ok" | "failed";
}

/** A paired comparison of two systems on the same queries: candidate - baseline per metric, with its 95% CI. */
export interface ComparisonRow {
  dataset: string;
  split: string;
  subset?: string;
  baseline: string;
  candidate: string;
  model: string;
  queries: number;
  improved: number;
  worsened: number;
  unchanged: number;
  /** metric -> { estimate (mean difference), low, high } */
  differences: Record<string, Interval>;
  method: string;
  notebook?: string;
  updated: string;
}

/** One fact of a run for a dataset and model (course.model, the spec: "offline", a Hub id). */
export interface FactRow {
  dataset: string;
  model: string;
  key: string;
  value: string | number;
  updated: string;
}

export interface ResultsFile {
  version: 1;
  results: ResultRow[];
  comparisons: ComparisonRow[];
  timings: TimingRow[];
  facts?: FactRow[];
}

/** reports/results.json (COURSE_REPORTS_DIR). */
export function defaultResultsPath(): string {
  return join(getConfig().reportsDir, "results.json");
}

/** Reads the results file; an absent file is an empty one. A damaged file is an error naming it. */
export function readResults(path: string = defaultResultsPath()): ResultsFile {
  if (!existsSync(path)) return { version: 1, results: [], comparisons: [], timings: [] };
  let parsed: Partial<ResultsFile>;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<ResultsFile>;
  } catch (err) {
    throw new Error(
      `${path}: not valid JSON (${(err as Error).message}); move it away and rerun the notebooks to write it again.`,
    );
  }
  const list = <T>(x: T[] | undefined): T[] => (Array.isArray(x) ? x : []);
  return {
    version: 1,
    results: list(parsed.results),
    comparisons: list(parsed.comparisons),
    timings: list(parsed.timings),
    facts: list(parsed.facts),
  };
}

/** Read, change, write back atomically under the lock. */
export function updateResults(change: (file: ResultsFile) => void, path: string = defaultResultsPath()): ResultsFile {
  const update = () => {
    const file = readResults(path);
    change(file);
    writeFileAtomic(path, `${JSON.stringify(file, null, 1)}\n`);
    return file;
  };
  return withLock(path, "the course's results", update, { waitMs: 30_000 });
}

const sameRow = (a: ResultRow, b: Pick<ResultRow, "dataset" | "split" | "system" | "model">) =>
  a.dataset === b.dataset && a.split === b.split && a.system === b.system && a.model === b.model;

/** Adds result rows, replacing rows with the same (dataset, split, system, model). */
export function recordResults(rows: readonly ResultRow[], path: string = defaultResultsPath()): ResultsFile {
  return updateResults((file) => {
    for (const row of rows) {
      file.results = file.results.filter((r) => !sameRow(r, row));
      file.results.push(row);
    }
  }, path);
}

export interface RecordOptions extends BootstrapOptions {
  dataset: string;
  split: string;
  /** A part of the split ("paraphrase" / "novel"), when the row is for one. */
  subset?: string;
  /** One of COURSE_SYSTEMS (or another name). */
  system: string;
  /** The embedding model's label; "-" for BM25. */
  model: string;
  notebook?: string;
  path?: string;
}

/** The row for one evaluated system: every RESULT_METRICS value with its 95% bootstrap interval. */
export function resultRow(result: IRResult, options: RecordOptions): ResultRow {
  const ci = bootstrapCI(result, options);
  const metrics: Record<string, Interval> = {};
  for (const m of RESULT_METRICS) if (ci[m]) metrics[m] = ci[m];
  return {
    dataset: options.dataset,
    split: options.split,
    ...(options.subset ? { subset: options.subset } : {}),
    system: options.system,
    model: options.model,
    queries: result.perQuery.length,
    metrics,
    notebook: options.notebook,
    updated: new Date().toISOString(),
  };
}

/** Records one evaluated system in results.json and returns its row. */
export function recordResult(result: IRResult, options: RecordOptions): ResultRow {
  const row = resultRow(result, options);
  recordResults([row], options.path);
  return row;
}

/**
 * Records a paired comparison (src/eval compareSystems) of two course systems, replacing the one with the
 * same (dataset, split, baseline, candidate, model).
 */
export function recordComparison(
  comparison: SystemComparison,
  options: {
    dataset: string;
    split: string;
    subset?: string;
    baseline: string;
    candidate: string;
    model: string;
    notebook?: string;
    path?: string;
  },
): ComparisonRow {
  const differences: Record<string, Interval> = {};
  for (const d of comparison.differences)
    if ((RESULT_METRICS as readonly string[]).includes(d.metric))
      differences[d.metric] = { estimate: d.estimate, low: d.low, high: d.high };
  const row: ComparisonRow = {
    dataset: options.dataset,
    split: options.split,
    ...(options.subset ? { subset: options.subset } : {}),
    baseline: options.baseline,
    candidate: options.candidate,
    model: options.model,
    queries: comparison.queries,
    improved: comparison.improved,
    worsened: comparison.worsened,
    unchanged: comparison.unchanged,
    differences,
    method: comparison.method,
    notebook: options.notebook,
    updated: new Date().toISOString(),
  };
  updateResults((file) => {
    file.comparisons = file.comparisons.filter(
      (c) =>
        !(
          c.dataset === row.dataset &&
          c.split === row.split &&
          c.baseline === row.baseline &&
          c.candidate === row.candidate &&
          c.model === row.model
        ),
    );
    file.comparisons.push(row);
  }, options.path);
  return row;
}

/**
 * Records a fact of this run (replacing the same key for the dataset and model) and returns it as the HTML a
 * notebook shows, `<span data-fact="key">value</span>`, so that the prose test can check the figure shown against
 * the one recorded. Format a number before passing it (`Number(x.toFixed(1))`): what is shown is what is kept.
 */
export function recordFact(
  course: { dataset: { name: string }; model: string; resultsPath: string },
  key: string,
  value: string | number,
): string {
  const row: FactRow = {
    dataset: course.dataset.name,
    model: course.model,
    key,
    value,
    updated: new Date().toISOString(),
  };
  updateResults((file) => {
    const same = (f: FactRow) => f.dataset === row.dataset && f.model === row.model && f.key === key;
    file.facts = [...(file.facts ?? []).filter((f) => !same(f)), row];
  }, course.resultsPath);
  return `<span data-fact="${key}">${value}</span>`;
}

/** Records how long a notebook took (the course runner calls this; replaces that notebook's earlier timing). */
export function recordTiming(
  notebook: string,
  seconds: number,
  status: "ok" | "failed" = "ok",
  path: string = defaultResultsPath(),
): ResultsFile {
  return updateResults((file) => {
    file.timings = file.timings.filter((t) => t.notebook !== notebook);
    file.timings.push({ notebook, seconds, finished: new Date().toISOString(), status });
    file.timings.sort((a, b) => (a.notebook < b.notebook ? -1 : 1));
  }, path);
}

const systemOrder = (s: string) => {
  const i = (COURSE_SYSTEMS as readonly string[]).indexOf(s);
  return i < 0 ? COURSE_SYSTEMS.length : i;
};

/** "0.612 [0.571, 0.655]" */
export function formatInterval(i: Interval | undefined, digits = 3): string {
  return i ? `${i.estimate.toFixed(digits)} [${i.low.toFixed(digits)}, ${i.high.toFixed(digits)}]` : "";
}

/**
 * The results as a table, one row per (dataset, split, system, model), each metric "estimate [low, high]".
 * Filter by dataset / split / model; rows in course order (BM25, base, fine-tuned, hard-negative, hybrid).
 */
export function resultsTable(
  filter: { dataset?: string; split?: string; model?: string } = {},
  options: { metrics?: readonly string[]; path?: string; file?: ResultsFile } = {},
): pl.DataFrame {
  const file = options.file ?? readResults(options.path);
  const metrics = options.metrics ?? TABLE_METRICS;
  const rows = file.results
    .filter((r) => (!filter.dataset || r.dataset === filter.dataset) && (!filter.split || r.split === filter.split))
    .filter((r) => !filter.model || r.model === filter.model || r.model === "-")
    .sort(
      (a, b) =>
        a.dataset.localeCompare(b.dataset) ||
        a.split.localeCompare(b.split) ||
        systemOrder(a.system) - systemOrder(b.system),
    );
  // Columns the filter fixes to one value say nothing: leave them out (the caption names them).
  const keys = (["dataset", "split", "system", "model", "queries"] as const).filter(
    (k) => !(k === "dataset" && filter.dataset) && !(k === "split" && filter.split),
  );
  const columns: Record<string, (string | number)[]> = {};
  for (const k of keys) columns[k] = rows.map((r) => r[k]);
  for (const m of metrics) columns[m] = rows.map((r) => formatInterval(r.metrics[m]));
  return pl.DataFrame(columns);
}

/** A markdown table of the results (for the README and reports). */
export function resultsMarkdown(
  filter: { dataset?: string; split?: string; model?: string } = {},
  options: { metrics?: readonly string[]; path?: string; file?: ResultsFile } = {},
): string {
  const df = resultsTable(filter, options);
  const cols = df.columns;
  const lines = [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`];
  for (const row of df.toRecords()) lines.push(`| ${cols.map((c) => String(row[c])).join(" | ")} |`);
  return lines.join("\n");
}

/** The test sets of notebook 3's two settings, as results.json names their splits. */
export const SETTING_TEST_SETS: readonly { setting: string; split: string; label: string }[] = [
  { setting: "A · new questions about your documents", split: "questions-test", label: "test split" },
  { setting: "A · new questions about your documents", split: "questions-independent", label: "independent queries" },
  { setting: "B · documents added later", split: "test", label: "test split" },
  { setting: "B · documents added later", split: "independent", label: "independent queries" },
];

/**
 * Notebook 3's two settings for one dataset as a markdown table: NDCG@10 [95% CI] of BM25, base, fine-tuned and
 * hybrid (BM25 + fine-tuned) on each test set, the paired fine-tuned − base difference and the questions it
 * improved / worsened. Empty when the run has no setting results for the dataset.
 */
export function settingsMarkdown(file: ResultsFile, dataset: string): string {
  const systems = ["BM25", "base", "fine-tuned", "hybrid (fine-tuned)"];
  const rows: string[] = [];
  for (const t of SETTING_TEST_SETS) {
    const found = systems.map((sys) =>
      file.results.find((r) => r.dataset === dataset && r.split === t.split && r.system === sys),
    );
    if (found.every((r) => r === undefined)) continue;
    const model = found.find((r) => r && r.model !== "-")?.model;
    const c = file.comparisons.find(
      (x) =>
        x.dataset === dataset &&
        x.split === t.split &&
        x.baseline === "base" &&
        x.candidate === "fine-tuned" &&
        x.model === model,
    );
    const d = c?.differences["ndcg@10"];
    const n = found.find((r) => r)?.queries ?? 0;
    rows.push(
      `| ${t.setting} | ${t.label} (${n}) | ${found.map((r) => (r ? formatInterval(r.metrics["ndcg@10"]) : "-")).join(" | ")} | ${d ? `${formatSignedInterval(d, 3)}` : "-"} | ${c ? `${c.improved} / ${c.worsened}` : "-"} |`,
    );
  }
  if (rows.length === 0) return "";
  return [
    `**${dataset}**, NDCG@10 [95% CI] in notebook 3's two settings:`,
    "",
    "| setting | test set (questions) | BM25 | base | fine-tuned | hybrid (BM25 + fine-tuned) | fine-tuned − base, paired 95% CI | improved / worsened |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const SHOWN: readonly string[] = ["accuracy@1", "accuracy@5", "mrr@10", "ndcg@10"];
const NAMES: Record<string, string> = {
  "accuracy@1": "Hit@1",
  "accuracy@5": "Hit@5",
  "mrr@10": "MRR@10",
  "ndcg@10": "NDCG@10",
};

/**
 * The course run's results for a README: per dataset and test split, each system's Hit@1, Hit@5, MRR@10 and
 * NDCG@10 with 95% CIs; the paired fine-tuned - base differences; the notebooks' times.
 */
export function courseResultsMarkdown(file: ResultsFile): string {
  const lines: string[] = [];
  const datasets = [...new Set(file.results.map((r) => r.dataset))].sort();
  for (const dataset of datasets) {
    const settings = settingsMarkdown(file, dataset);
    if (settings) lines.push(settings, "");
  }
  for (const dataset of datasets) {
    const rows = file.results
      .filter((r) => r.dataset === dataset && r.split === "test")
      .sort((a, b) => systemOrder(a.system) - systemOrder(b.system) || a.model.localeCompare(b.model));
    if (rows.length === 0) continue;
    lines.push(
      `**${dataset}**, every system on setting B's test split (split by document, ${rows[0].queries} held-out questions), mean [95% CI]:`,
      "",
    );
    lines.push(
      `| system | model | ${SHOWN.map((m) => NAMES[m]).join(" | ")} |`,
      `|---|---|${SHOWN.map(() => "---").join("|")}|`,
    );
    for (const r of rows)
      lines.push(`| ${r.system} | ${r.model} | ${SHOWN.map((m) => formatInterval(r.metrics[m])).join(" | ")} |`);
    for (const c of file.comparisons.filter(
      (x) => x.dataset === dataset && x.split === "test" && x.baseline === "base",
    )) {
      const d = c.differences["ndcg@10"];
      if (d)
        lines.push(
          "",
          `${c.candidate} − ${c.baseline} (${c.model}): NDCG@10 ${formatSigned(d.estimate, 3)}, paired 95% CI [${formatSigned(d.low, 3)}, ${formatSigned(d.high, 3)}]; ${c.improved} questions improved, ${c.worsened} worsened.`,
        );
    }
    lines.push("");
  }
  if (file.timings.length > 0) {
    const total = file.timings.reduce((s, t) => s + t.seconds, 0);
    lines.push(
      `Notebook times (wall clock): ${file.timings.map((t) => `${t.notebook.slice(0, 2)} ${t.seconds.toFixed(0)} s${t.status === "failed" ? " (failed)" : ""}`).join(", ")}; total ${(total / 60).toFixed(1)} min.`,
    );
  }
  return lines.join("\n").trim();
}
