// Prints the course run's results (reports/results.json) as markdown and writes reports/results.md;
// with --readme, also puts the table into README.md between <!-- course-results:begin --> and <!-- course-results:end -->.
//   node --import tsx scripts/results-table.ts [path/to/results.json] [--readme]
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../src/files";
import { getConfig } from "../src/env";
import { formatInterval, formatSigned, formatSignedInterval } from "../src/display/format";
import { readResults, SETTING_TEST_SETS, type ResultsFile } from "../src/course/results";

/** The systems the course compares, in the order tables show them. */
const COURSE_SYSTEMS = [
  "BM25",
  "base",
  "fine-tuned",
  "hard-negative fine-tuned",
  "hybrid",
  "hybrid (fine-tuned)",
] as const;

const systemOrder = (s: string) => {
  const i = (COURSE_SYSTEMS as readonly string[]).indexOf(s);
  return i < 0 ? COURSE_SYSTEMS.length : i;
};

/**
 * Notebook 3's two settings for one dataset as a markdown table: NDCG@10 [95% CI] of BM25, base, fine-tuned and
 * hybrid (BM25 + fine-tuned) on each test set, the paired fine-tuned − base difference and the questions it
 * improved / worsened. Empty when the run has no setting results for the dataset.
 */
function settingsMarkdown(file: ResultsFile, dataset: string): string {
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
function courseResultsMarkdown(file: ResultsFile): string {
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

const args = process.argv.slice(2);
const path = args.find((a) => !a.startsWith("--")) ?? join(getConfig().reportsDir, "results.json");
if (!existsSync(path)) {
  console.error(`${path} does not exist: run the course first (npm run course).`);
  process.exit(1);
}
const markdown = courseResultsMarkdown(readResults(path));
writeFileAtomic(join(dirname(path), "results.md"), `${markdown}\n`);
console.log(markdown);
if (args.includes("--readme")) {
  const readme = join(getConfig().repoRoot, "README.md");
  const text = readFileSync(readme, "utf8");
  const begin = "<!-- course-results:begin -->";
  const end = "<!-- course-results:end -->";
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) {
    console.error(`README.md has no ${begin} ... ${end} block to fill.`);
    process.exit(1);
  }
  writeFileAtomic(readme, `${text.slice(0, i + begin.length)}\n${markdown}\n${text.slice(j)}`);
  console.log(`\nREADME.md updated.`);
}
