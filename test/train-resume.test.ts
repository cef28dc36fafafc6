// Interruption safety: a training child process killed with SIGKILL right after its first checkpoints,
// then started again on the same outputDir, ends with the same bytes of weights and the same history as an
// uninterrupted run with the same seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listCheckpoints } from "../src/train/checkpoint";

const root = join(__dirname, "..");
const child = join(__dirname, "fixtures/train/resume-child.ts");
const tsx = ["--import", "tsx", child];

function runToEnd(outputDir: string): { steps: number; resumedFrom: string | null } {
  const r = spawnSync(process.execPath, [...tsx, outputDir, "0"], { cwd: root, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** Entries without wall-clock fields, which legitimately differ between runs. */
function historyWithoutTimes(dir: string): unknown[] {
  const h = JSON.parse(readFileSync(join(dir, "history.json"), "utf8")) as { entries: Record<string, unknown>[] };
  return h.entries.map(({ seconds: _s, evalSeconds: _e, ...rest }) => rest);
}

test("SIGKILL mid-run, then resume: final weights and history equal an uninterrupted run", async () => {
  const killedDir = mkdtempSync(join(tmpdir(), "train-killed-"));
  const cleanDir = mkdtempSync(join(tmpdir(), "train-clean-"));
  try {
    // 1. Start a slowed-down run and kill it as soon as a checkpoint exists.
    const proc = spawn(process.execPath, [...tsx, killedDir, "250"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    proc.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on("exit", (_code, signal) => resolve(signal)));
    const ckDir = join(killedDir, "checkpoints");
    const deadline = Date.now() + 45_000;
    while (listCheckpoints(ckDir).length === 0) {
      assert.ok(Date.now() < deadline, `no checkpoint appeared: ${stderr}`);
      assert.equal(proc.exitCode, null, `the child ended before its first checkpoint: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    proc.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");
    const stepsAtKill = listCheckpoints(ckDir).map((c) => c.step);
    assert.ok(Math.max(...stepsAtKill) < 24, `killed mid-run (checkpoints at ${stepsAtKill})`);
    assert.equal(existsSync(join(killedDir, "final")), false, "the killed run did not finish");

    // 2. Start it again: it resumes from the newest checkpoint and finishes.
    const resumed = runToEnd(killedDir);
    assert.equal(resumed.steps, 24);
    assert.match(resumed.resumedFrom ?? "", /checkpoint-0000\d\d$/);
    assert.ok(
      readdirSync(ckDir).every((n) => !n.startsWith(".tmp-")),
      "no temp folders left",
    );

    // 3. The same run without interruption.
    const clean = runToEnd(cleanDir);
    assert.equal(clean.resumedFrom, null);

    const a = readFileSync(join(killedDir, "final", "model.safetensors"));
    const b = readFileSync(join(cleanDir, "final", "model.safetensors"));
    assert.ok(a.equals(b), "final weights are bit-identical");
    assert.ok(
      readFileSync(join(killedDir, "best", "model.safetensors")).equals(
        readFileSync(join(cleanDir, "best", "model.safetensors")),
      ),
      "best model identical",
    );
    assert.deepEqual(historyWithoutTimes(killedDir), historyWithoutTimes(cleanDir));
    const initial = readFileSync(join(cleanDir, "checkpoints", "checkpoint-000024", "model.safetensors"));
    assert.ok(initial.length > 1000);
  } finally {
    rmSync(killedDir, { recursive: true, force: true });
    rmSync(cleanDir, { recursive: true, force: true });
  }
});
