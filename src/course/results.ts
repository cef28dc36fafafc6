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
import { getConfig } from "../env";
import { withLock, writeFileAtomic } from "../files";
import { bootstrapCI, type BootstrapOptions, type Interval, type SystemComparison } from "../eval/compare";
import type { IRResult } from "../eval/ir-evaluator";

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
  /** A course system: BM25, base, fine-tuned, hard-negative fine-tuned, hybrid, or any other name. */
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

/** The test sets of notebook 3's two settings, as results.json names their splits. */
export const SETTING_TEST_SETS: readonly { setting: string; split: string; label: string }[] = [
  { setting: "A · new questions about your documents", split: "questions-test", label: "test split" },
  { setting: "A · new questions about your documents", split: "questions-independent", label: "independent queries" },
  { setting: "B · documents added later", split: "test", label: "test split" },
  { setting: "B · documents added later", split: "independent", label: "independent queries" },
];
