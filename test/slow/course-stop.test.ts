// Stopping `npm run course` mid-notebook leaves nothing running (issue 21 item 1): SIGTERM to npm reaches the
// runner, which shuts its kernel down; `kill -9` of npm sends nothing, so course.mjs, the runner and the
// kernel each notice their parent is gone and stop within seconds. Then the rerun resumes (the finished
// artefact is reused) and gives the numbers of an uninterrupted run. One short fixture notebook
// (test/fixtures/notebooks/resume.ipynb).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mulberry32 } from "../../src/random";
import { jupyterReady, root } from "./helpers";

const notebook = join(root, "test", "fixtures", "notebooks", "resume.ipynb");

/** Pids of live processes whose environment holds COURSE_STOP_MARK=<mark> (Linux /proc). */
function processesWithMark(mark: string): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/environ`, "latin1").split("\0").includes(`COURSE_STOP_MARK=${mark}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function course(reports: string, runs: string) {
  const mark = randomUUID();
  const child = spawn("npm", ["run", "course", "--", "--headless", "--no-user-kernel", "--no-html", notebook], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, COURSE_REPORTS_DIR: reports, RESUME_RUNS_DIR: runs, COURSE_STOP_MARK: mark },
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal })),
  );
  return { child, mark, exited, output: () => out };
}

/** The numbers the notebook printed, and whether its first artefact was reused. */
function outcome(reports: string): { numbers: string; reusedFirst: boolean } {
  const nb = JSON.parse(readFileSync(join(reports, "resume.ipynb"), "utf8")) as {
    cells: { cell_type: string; outputs?: { text?: string | string[] }[] }[];
  };
  const text = (i: number) =>
    (nb.cells.filter((c) => c.cell_type === "code")[i].outputs ?? [])
      .map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? "")))
      .join("");
  return { numbers: text(2).trim(), reusedFirst: /reused first-/.test(text(0)) };
}

async function stopMidNotebook(how: "SIGTERM" | "SIGKILL", reports: string, runs: string): Promise<void> {
  const run = course(reports, runs);
  // Cell 2 waits 15 s inside its artefact's build: stop the run there.
  await until(() => /resume\.ipynb\] cell 1\/3 ok/.test(run.output()), 240_000, "the first cell");
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(processesWithMark(run.mark).length >= 3, "npm, the runner and the kernel are running");
  run.child.kill(how);
  const { code, signal } = await run.exited;
  if (how === "SIGTERM") assert.ok(code !== 0 || signal !== null, `a stopped run is not a success: ${run.output()}`);
  const t0 = Date.now();
  await until(() => processesWithMark(run.mark).length === 0, 15_000, `no process of the ${how} run left`);
  console.log(`${how} to npm run course: every process gone ${((Date.now() - t0) / 1000).toFixed(1)} s after npm`);
}

test("SIGTERM, then kill -9 of npm run course mid-notebook: nothing left; the rerun resumes with the same numbers", {
  timeout: 900_000,
}, async () => {
  await jupyterReady();
  const reports = mkdtempSync(join(tmpdir(), "course-stop-reports-"));
  const runs = mkdtempSync(join(tmpdir(), "course-stop-runs-"));
  await stopMidNotebook("SIGTERM", reports, runs);
  await stopMidNotebook("SIGKILL", reports, runs);

  const rerun = course(reports, runs);
  assert.equal((await rerun.exited).code, 0, rerun.output());
  const resumed = outcome(reports);
  assert.equal(resumed.reusedFirst, true, "the finished artefact was reused");

  // What an uninterrupted run prints: the notebook's two seeded means, computed here the same way.
  const draw = (seed: number, n: number) => {
    const r = mulberry32(seed);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += r();
    return sum / n;
  };
  assert.equal(resumed.numbers, JSON.stringify({ first: draw(42, 100_000), second: draw(7, 100_000) }));
});
