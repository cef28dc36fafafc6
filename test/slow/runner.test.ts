import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jupyterReady, root, runNotebooks } from "./helpers";

interface Cell {
  cell_type: string;
  execution_count?: number | null;
  outputs?: Array<{ output_type: string; name?: string; text?: string; data?: Record<string, unknown> }>;
}

const fixtures = join(root, "test", "fixtures", "notebooks");
/** nbformat stores multi-line strings as arrays of lines. */
const joined = (v: unknown): string => (Array.isArray(v) ? v.join("") : String(v));

test("a passing notebook is executed, numbered, signed and exported", async () => {
  const python = await jupyterReady();
  const out = mkdtempSync(join(tmpdir(), "nb-pass-"));
  const res = runNotebooks(python, out, [join(fixtures, "pass.ipynb")]);
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /1 notebook\(s\) executed, 0 failed/);
  const nb = JSON.parse(readFileSync(join(out, "pass.ipynb"), "utf8")) as { cells: Cell[] };
  const code = nb.cells.filter((c) => c.cell_type === "code");
  assert.deepEqual(
    code.map((c) => c.execution_count),
    [1, 2, 3],
  );
  assert.equal(joined(code[0].outputs?.find((o) => o.name === "stdout")?.text), "answer 42\n");
  const table = code[1].outputs?.find((o) => o.output_type === "display_data");
  assert.match(joined(table?.data?.["text/html"]), /<td style="text-align:right">0\.7500<\/td>/);
  // The chart cell holds the inlined plotly.js, then the chart with both MIME types.
  const chartOutputs = code[2].outputs?.filter((o) => o.output_type === "display_data") ?? [];
  assert.equal(chartOutputs.length, 2);
  assert.match(joined(chartOutputs[0].data?.["text/plain"]), /plotly\.js .* loaded/);
  assert.ok(chartOutputs[1].data?.["application/vnd.plotly.v1+json"]);
  // Signed: Jupyter's notary accepts it, so the Notebook UI runs its scripts.
  const check = spawnSync(python, [
    "-c",
    "import sys, nbformat; from nbformat.sign import NotebookNotary; nb = nbformat.read(sys.argv[1], 4); sys.exit(0 if NotebookNotary().check_signature(nb) else 3)",
    join(out, "pass.ipynb"),
  ]);
  assert.equal(check.status, 0, "executed notebook is trusted");
  assert.ok(existsSync(join(out, "pass.html")));
});

test("a failing notebook stops at the failing cell and names notebook, cell, source and error", async () => {
  const python = await jupyterReady();
  const out = mkdtempSync(join(tmpdir(), "nb-fail-"));
  const res = runNotebooks(python, out, [join(fixtures, "fail.ipynb"), join(fixtures, "pass.ipynb")], ["--no-html"]);
  assert.equal(res.status, 1);
  assert.match(res.stderr, /FAILED: .*fail\.ipynb, code cell \[2\] \(cell 2 of 3 in the file/);
  assert.match(res.stderr, /throw new Error\(`deliberate failure \$\{n\}`\)/, "prints the cell's source");
  assert.match(res.stderr, /Error: deliberate failure 1/, "prints the error from the kernel's stderr");
  assert.match(res.stderr, /not run \(they build on this one\): pass\.ipynb/);
  const nb = JSON.parse(readFileSync(join(out, "fail.ipynb"), "utf8")) as { cells: Cell[] };
  assert.equal(nb.cells[0].execution_count, 1);
  assert.equal(nb.cells[2].execution_count, null, "cells after the failure are not run");
  assert.deepEqual(nb.cells[2].outputs, []);
  assert.ok(!existsSync(join(out, "pass.ipynb")), "later notebooks are not run");
});

test("the course command fails with the notebook named when a notebook fails", async () => {
  await jupyterReady();
  const res = spawnSync(
    process.execPath,
    [join(root, "scripts", "course.mjs"), "--no-user-kernel", "--no-html", "does-not-exist"],
    { cwd: root, encoding: "utf8" },
  );
  assert.equal(res.status, 2);
  assert.match(res.stderr, /no notebooks match does-not-exist/);
});
