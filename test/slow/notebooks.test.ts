// Every course notebook runs top to bottom on the offline defaults (this is `npm run course`), one test per
// notebook, in order: later notebooks build on earlier ones. Artefacts go to a fresh runs folder, so the whole
// pipeline really runs. For the notebooks in ./course-expectations: their tables and charts are in the
// executed .ipynb, and headless Chromium draws every chart of the exported HTML. Then the course's targets on the
// measured numbers (courseTargets: both settings, policy-handbook, then vet-clinic with notebooks 01 and 03), and
// every notebook on a small folder of documents nobody wrote questions for (test/fixtures/own-documents).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumPath, jupyterReady, root, runNotebooks } from "./helpers";
import { courseTargets, EXPECTED, notebookDisplays } from "./course-expectations";
import { readResults } from "../../src/course/results";

const notebooks = readdirSync(join(root, "notebooks"))
  .filter((f) => f.endsWith(".ipynb"))
  .sort();
const out = mkdtempSync(join(tmpdir(), "course-"));
process.env.COURSE_RUNS_DIR = mkdtempSync(join(tmpdir(), "course-runs-")); // inherited by the runner and its kernels
const failed: string[] = [];

test("the course has notebooks", () => assert.ok(notebooks.length > 0));

function drawnCharts(html: string): number {
  const binary = chromiumPath();
  if (!binary) return -1;
  const res = spawnSync(
    binary,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${mkdtempSync(join(tmpdir(), "chromium-"))}`,
      "--virtual-time-budget=20000",
      "--dump-dom",
      `file://${html}`,
    ],
    { encoding: "utf8", timeout: 180_000, maxBuffer: 256 * 1024 * 1024 },
  );
  return (res.stdout.match(/class="plot-container plotly"/g) ?? []).length;
}

for (const name of notebooks) {
  const stem = name.replace(/\.ipynb$/, "");
  test(`notebook ${name} runs without errors${EXPECTED[stem] ? " and shows its tables and charts" : ""}`, async (t) => {
    if (failed.length > 0) return t.skip(`an earlier notebook failed (${failed.join(", ")})`);
    const python = await jupyterReady();
    const expected = EXPECTED[stem];
    const res = runNotebooks(python, out, [join(root, "notebooks", name)], expected ? [] : ["--no-html"]);
    if (res.status !== 0) failed.push(name);
    assert.equal(res.status, 0, `${name} failed:\n${res.stderr.slice(-4000)}`);
    if (!expected) return;
    const shown = notebookDisplays(JSON.parse(readFileSync(join(out, name), "utf8")));
    for (const re of expected.tables)
      assert.ok(
        shown.tables.some((c) => re.test(c)),
        `${name}: no table captioned ${re} (tables: ${JSON.stringify(shown.tables)})`,
      );
    for (const re of expected.charts)
      assert.ok(
        shown.charts.some((c) => re.test(c)),
        `${name}: no chart titled ${re} (charts: ${JSON.stringify(shown.charts)})`,
      );
    const drawn = drawnCharts(join(out, `${stem}.html`));
    if (drawn < 0) {
      if (process.env.CI) assert.fail("chromium is not installed (apt-get install chromium)");
      t.diagnostic("chromium not installed: the HTML rendering check was skipped");
      return;
    }
    assert.equal(
      drawn,
      shown.charts.length,
      `${name}: headless Chromium drew ${drawn} of the ${shown.charts.length} charts in ${stem}.html`,
    );
  });
}

test("notebook 05 wrote the per-query RAG report: one row per test question, hit or miss for both models", (t) => {
  if (!notebooks.includes("05_rag_integration.ipynb") || failed.length > 0) return t.skip("notebook 05 did not run");
  const csv = readdirSync(out).find((f) => /^rag_compare_report-.*\.csv$/.test(f));
  assert.ok(csv, `no rag_compare_report-*.csv in ${out}`);
  const lines = readFileSync(join(out, csv), "utf8").trim().split("\n");
  assert.equal(
    lines[0],
    "query_id,question,relevant_ids,base ids,base scores,base hit@3,base rank,fine-tuned ids,fine-tuned scores,fine-tuned hit@3,fine-tuned rank,outcome",
  );
  assert.ok(lines.length > 20, `${lines.length - 1} rows`);
  for (const line of lines.slice(1))
    assert.match(line, /,(hit|miss),\d*,[^,]*,[^,]*,(hit|miss),\d*,(fixed|broken|both hit|both miss)$/);
});

test("the course's targets hold on policy-handbook (setting A independent queries, setting B test and independent)", (t) => {
  const path = join(out, "results.json");
  if (!existsSync(path) || !notebooks.includes("03_mnrl_finetuning.ipynb")) return t.skip("notebook 03 did not run");
  const targets = courseTargets(readResults(path), "policy-handbook");
  for (const r of targets) t.diagnostic(r.line);
  console.log(targets.map((r) => r.line).join("\n"));
  assert.deepEqual(
    targets.filter((r) => !r.ok).map((r) => r.line),
    [],
  );
});

test("the course's targets hold on vet-clinic too (notebooks 01 and 03)", async (t) => {
  if (failed.length > 0) return t.skip(`an earlier notebook failed (${failed.join(", ")})`);
  const python = await jupyterReady();
  const vetOut = mkdtempSync(join(tmpdir(), "course-vet-"));
  const res = withDataset("vet-clinic", () =>
    runNotebooks(
      python,
      vetOut,
      ["01_synthetic_data.ipynb", "03_mnrl_finetuning.ipynb"].map((n) => join(root, "notebooks", n)),
      ["--no-html"],
    ),
  );
  assert.equal(res.status, 0, `vet-clinic failed:\n${res.stderr.slice(-4000)}`);
  const targets = courseTargets(readResults(join(vetOut, "results.json")), "vet-clinic");
  for (const r of targets) t.diagnostic(r.line);
  console.log(targets.map((r) => r.line).join("\n"));
  assert.deepEqual(
    targets.filter((r) => !r.ok).map((r) => r.line),
    [],
  );
});

test("every notebook runs on a small folder of the user's own documents (no people-written questions)", async () => {
  const python = await jupyterReady();
  const docsOut = mkdtempSync(join(tmpdir(), "course-docs-"));
  const folder = join(root, "test", "fixtures", "own-documents");
  const res = withDataset(folder, () =>
    runNotebooks(
      python,
      docsOut,
      notebooks.map((n) => join(root, "notebooks", n)),
      ["--no-html"],
    ),
  );
  assert.equal(res.status, 0, `own documents failed:\n${res.stderr.slice(-4000)}`);
  // Notebook 3 said what it fitted to the small data, and measured both settings.
  const nb3 = readFileSync(join(docsOut, "03_mnrl_finetuning.ipynb"), "utf8");
  // The recipe table shows the batch size fitted to the small data (the course recipe's is 32).
  const fitted = /batchSize\s+(\d+)/.exec(nb3);
  assert.ok(
    fitted && Number(fitted[1]) < 32,
    `no fitted batch size below 32 in notebook 3's recipe table: ${fitted?.[0]}`,
  );
  // Its questions are all generated: the leak check says which share of each test set's passages had training
  // questions (the markdown explains what a low share means for setting A).
  assert.match(nb3, /passage had training questions/);
  assert.match(nb3, /A · new questions about your documents\s+questions-test\s+\d+(\s+\d+){3}\s+\d+%/);
  // One measured training time, the one the prose test checks.
  assert.match(nb3, /\d+ steps, <span data-fact=\\"training\.questions\.seconds\\">[\d.]+<\/span> s of training/);
  const file = readResults(join(docsOut, "results.json"));
  for (const split of ["questions-test", "test"])
    assert.ok(
      file.comparisons.some((c) => c.dataset === "own-documents" && c.split === split && c.candidate === "fine-tuned"),
      `no fine-tuned comparison on ${split}`,
    );
});

function withDataset<T>(dataset: string, fn: () => T): T {
  const before = process.env.COURSE_DATASET;
  process.env.COURSE_DATASET = dataset;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.COURSE_DATASET;
    else process.env.COURSE_DATASET = before;
  }
}

test("a bad setting stops the first cell that uses it; the runner names the notebook, the cell and the fix", async () => {
  const python = await jupyterReady();
  const nb = join(root, "notebooks", "02_baseline_evaluation.ipynb");
  if (!existsSync(nb)) return;
  const empty = mkdtempSync(join(tmpdir(), "no-documents-"));
  const before = process.env.COURSE_DATASET;
  process.env.COURSE_DATASET = empty;
  try {
    const res = runNotebooks(python, mkdtempSync(join(tmpdir(), "bad-")), [nb], ["--no-html"]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /FAILED: .*02_baseline_evaluation\.ipynb, code cell \[1\]/);
    assert.match(res.stderr, /COURSE_DATASET=.*no-documents-.*holds no documents.*Fix: put your documents there/s);
  } finally {
    if (before === undefined) delete process.env.COURSE_DATASET;
    else process.env.COURSE_DATASET = before;
  }
});
