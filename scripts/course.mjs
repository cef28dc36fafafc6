#!/usr/bin/env node
// npm run course: runs the whole course headless on the embedded offline default.
//   npm run course                      setup, then every notebooks/*.ipynb in order
//   npm run course -- 02 03             only the notebooks whose file names start with these prefixes
//   npm run course -- path/to/x.ipynb   a notebook given by its path
//   npm run course -- --no-html         skip the HTML export
//   npm run course -- --readme          also write the measured results table into README.md
// Executed notebooks (signed, so their charts render in the Notebook UI) and HTML exports go to
// reports/ (COURSE_REPORTS_DIR). Exit code 0 when every notebook ran; otherwise the runner has named
// the notebook, the cell and the error. SIGINT / SIGTERM / SIGHUP go on to the runner, which shuts its
// kernel down and exits; if this process is killed outright (kill -9), the runner and then the kernel see
// their parent gone and stop within seconds (scripts/process.mjs, run_notebooks.py, kernel.cjs).
import { existsSync, readdirSync, renameSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { exitLike, spawnForwarding } from "./process.mjs";
import { root, setup } from "./setup.mjs";

const args = process.argv.slice(2);
const prefixes = args.filter((a) => !a.startsWith("--"));
const env = await setup(args.filter((a) => ["--gpu", "--no-user-kernel", "--headless"].includes(a)));
if (!env.ok) {
  console.error("[course] setup is incomplete (see MISSING above); install it and run `npm run course` again.");
  process.exit(1);
}
const dir = join(root, "notebooks");
const paths = prefixes.filter((p) => p.endsWith(".ipynb")).map((p) => resolve(p));
const names = prefixes.filter((p) => !p.endsWith(".ipynb"));
let notebooks = readdirSync(dir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort()
  .map((f) => join(dir, f));
if (prefixes.length > 0)
  notebooks = [...notebooks.filter((f) => names.some((p) => basename(f).startsWith(p))), ...paths];
if (notebooks.length === 0) {
  console.error(`[course] no notebooks match ${prefixes.join(", ") || "notebooks/*.ipynb"}`);
  process.exit(2);
}
const out = resolve(process.env.COURSE_REPORTS_DIR || join(root, "reports"));
if (prefixes.length === 0 && existsSync(join(out, "results.json"))) {
  // A whole-course run starts a fresh results.json (the previous one is kept beside it); a partial run adds to it.
  renameSync(join(out, "results.json"), join(out, "results.previous.json"));
  console.log(`[course] previous results moved to ${join(out, "results.previous.json")}`);
}
console.log(`[course] running ${notebooks.length} notebook(s) -> ${out}`);
const res = await spawnForwarding(
  env.python,
  [
    join(root, "scripts", "run_notebooks.py"),
    "--out",
    out,
    ...(args.includes("--no-html") ? ["--no-html"] : []),
    ...notebooks,
  ],
  { cwd: root },
);
if (res.code === 0 && existsSync(join(out, "results.json"))) {
  // The measured results as markdown (reports/results.md); `--readme` also puts them into README.md.
  console.log("\n[course] results of this run:\n");
  await spawnForwarding(
    process.execPath,
    [
      "--import",
      "tsx",
      join(root, "scripts", "results-table.ts"),
      join(out, "results.json"),
      ...(args.includes("--readme") ? ["--readme"] : []),
    ],
    { cwd: root },
  );
}
await exitLike(res);
