// model.save never destroys what it does not own (issue 9 items 1, 3, 4 and concurrent saves): a folder that is
// not a saved model, or a file, is refused with the path and the way out; disk-full / read-only / permission
// failures name the model, the folder, the reason and that the previous version is intact; a save killed with
// SIGKILL leaves temporaries that the next save removes; two saves to one folder at once refuse.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs, { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadModel, offlineModel } from "../src/model/sentence-transformer";
import { cleanStaleTemporaries, SaveError } from "../src/files";

const TEXTS = ["How many PTO days do I get?", "remote work"];

/** A process id that is certainly not running: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid as number;
}

async function embeddingsOf(folder: string): Promise<Buffer> {
  const m = await loadModel(folder);
  const e = await m.encode(TEXTS);
  m.dispose();
  return Buffer.from(e.data.buffer);
}

test("save into a non-empty folder that is not a saved model is refused; nothing is deleted", async () => {
  const root = mkdtempSync(join(tmpdir(), "save-foreign-"));
  const target = join(root, "mine");
  mkdirSync(join(target, "sub"), { recursive: true });
  writeFileSync(join(target, "notes.txt"), "my notes");
  writeFileSync(join(target, "sub", "data.csv"), "a,b");
  const m = offlineModel("offline");
  await assert.rejects(m.save(target), (err: Error) => {
    assert.match(err.message, new RegExp(`^${resolve(target).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} already exists`));
    assert.match(err.message, /notes\.txt/);
    assert.match(err.message, /another path, or pass \{ overwrite: true \}/);
    return true;
  });
  assert.equal(readFileSync(join(target, "notes.txt"), "utf8"), "my notes");
  assert.equal(readFileSync(join(target, "sub", "data.csv"), "utf8"), "a,b");
  assert.deepEqual(readdirSync(root), ["mine"]);
  // A model folder Python wrote has a README.md (its model card): also not ours.
  const py = join(root, "py");
  await m.save(py);
  writeFileSync(join(py, "README.md"), "# card");
  await assert.rejects(m.save(py), /README\.md/);
  assert.ok(existsSync(join(py, "README.md")));
  // The explicit way out replaces the folder.
  await m.save(target, { overwrite: true });
  assert.equal(existsSync(join(target, "notes.txt")), false);
  assert.ok(existsSync(join(target, "modules.json")));
  m.dispose();
});

test("save onto a file is refused; an empty folder is used", async () => {
  const root = mkdtempSync(join(tmpdir(), "save-file-"));
  const file = join(root, "model");
  writeFileSync(file, "not a model");
  const m = offlineModel("offline");
  await assert.rejects(m.save(file), /model is a file, not a folder; .*overwrite: true/);
  assert.equal(readFileSync(file, "utf8"), "not a model");
  const empty = join(root, "empty");
  mkdirSync(empty);
  await m.save(empty);
  assert.ok(existsSync(join(empty, "modules.json")));
  m.dispose();
});

for (const [code, call] of [
  ["ENOSPC", "writeSync"],
  ["EROFS", "mkdirSync"],
  ["EACCES", "renameSync"],
] as const) {
  test(`${code} during a save names the model folder, the reason and keeps the previous version`, async (t) => {
    const root = mkdtempSync(join(tmpdir(), `save-${code}-`));
    const target = join(root, "model");
    const m = offlineModel("offline");
    await m.save(target);
    const before = await embeddingsOf(target);
    const real = fs[call] as (...args: unknown[]) => unknown;
    // Fail the first call that touches the new version (a temp path), as the disk or the mount would.
    t.mock.method(fs, call, (...args: unknown[]) => {
      const path = String(call === "writeSync" ? "" : args[0]);
      if (call === "writeSync" || path.includes(".tmp-")) {
        const err = new Error(`${code}: simulated, ${call}`) as NodeJS.ErrnoException;
        err.code = code;
        err.path = call === "writeSync" ? undefined : path;
        throw err;
      }
      return real.apply(fs, args);
    });
    await assert.rejects(m.save(target), (err: Error) => {
      assert.ok(err instanceof SaveError, `a SaveError, got ${err.name}: ${err.message}`);
      assert.equal((err as SaveError).code, code);
      assert.match(
        err.message,
        new RegExp(`^Saving the model to ${resolve(target).replace(/[/.]/g, "\\$&")} failed: .*\\(${code}\\)`),
      );
      assert.match(err.message, /The previous version at .* is intact\. To fix: /);
      return true;
    });
    t.mock.restoreAll();
    assert.deepEqual(readdirSync(root), ["model"], "no temporaries left");
    assert.ok((await embeddingsOf(target)).equals(before), "the previous model still loads, unchanged");
    m.dispose();
  });
}

test("a save killed with SIGKILL leaves the old model whole; the next save removes its temporaries", async () => {
  const root = mkdtempSync(join(tmpdir(), "save-kill-"));
  const target = join(root, "model");
  const m = offlineModel("offline");
  await m.save(target);
  const before = await embeddingsOf(target);
  // A child process saves to the same folder and is killed in the middle of writing the weights.
  const script = `
    const fs = require("node:fs");
    const { offlineModel } = require(${JSON.stringify(resolve("src/model/sentence-transformer"))});
    const real = fs.writeSync;
    let calls = 0;
    fs.writeSync = (...a) => { if (++calls === 3) process.kill(process.pid, "SIGKILL"); return real(...a); };
    offlineModel("offline").save(${JSON.stringify(target)});`;
  const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8" });
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const left = readdirSync(root).filter((n) => n !== "model");
  assert.ok(
    left.some((n) => n.startsWith(".model.tmp-")),
    `the kill left a temporary: ${left}`,
  );
  assert.ok((await embeddingsOf(target)).equals(before), "the old model is whole after the kill");
  await m.save(target);
  assert.deepEqual(readdirSync(root), ["model"]);
  m.dispose();
});

test("stale temporaries: only dead owners' are removed; a set-aside old version is put back", () => {
  const root = mkdtempSync(join(tmpdir(), "save-stale-"));
  const target = join(root, "model");
  const dead = deadPid();
  const live = process.ppid;
  for (const name of [
    `.model.tmp-${dead}-abc`,
    `.model.tmp-${live}-abc`,
    `.other.tmp-${dead}-abc`,
    `.model.old-${dead}-abd`,
  ])
    mkdirSync(join(root, name));
  writeFileSync(join(root, `.model.old-${dead}-abd`, "modules.json"), "[]");
  writeFileSync(join(root, `.model.${dead}.x1y2.tmp`), "partial");
  cleanStaleTemporaries(target);
  // target was missing (the save died between the two renames): the old version is restored, not deleted.
  assert.deepEqual(readdirSync(root).sort(), [`.model.tmp-${live}-abc`, `.other.tmp-${dead}-abc`, "model"]);
  assert.ok(existsSync(join(target, "modules.json")));
});

test("a second save to the same folder while one runs is refused; a dead owner's lock is taken over", async () => {
  const root = mkdtempSync(join(tmpdir(), "save-lock-"));
  const target = join(root, "model");
  const m = offlineModel("offline");
  writeFileSync(join(root, ".model.lock"), `${process.ppid}\n`);
  await assert.rejects(
    m.save(target),
    new RegExp(`being written by process ${process.ppid} right now .*Wait for it to finish`),
  );
  assert.equal(existsSync(target), false);
  writeFileSync(join(root, ".model.lock"), `${deadPid()}\n`);
  await m.save(target);
  assert.deepEqual(readdirSync(root), ["model"], "the lock is released");
  m.dispose();
});
