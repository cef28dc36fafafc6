// src/files.ts under failure (issue 9 items 3, 4): dataset writes that hit a full disk say what, where, why and
// that the old file is intact; leftovers of killed writers are removed; a path through a file is named; the one
// file lock refuses or waits for a live holder and takes over a dead one's.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs, { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockTarget, SaveError, withLock, writeFileAtomic } from "../src/files";
import { writeJsonl } from "../src/data/jsonl";
import { offlineModel } from "../src/model/sentence-transformer";

test("a full disk while writing a dataset file: the error names the file and the reason; the old file is intact", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "files-enospc-"));
  const path = join(dir, "train.jsonl");
  writeJsonl(path, [{ anchor: "a", positive: "p" }]);
  const before = readFileSync(path, "utf8");
  t.mock.method(fs, "writeSync", () => {
    const err = new Error("ENOSPC: no space left on device, write") as NodeJS.ErrnoException;
    err.code = "ENOSPC";
    throw err;
  });
  assert.throws(
    () => writeJsonl(path, [{ anchor: "b", positive: "q" }]),
    (err: Error) => {
      assert.ok(err instanceof SaveError);
      assert.equal(
        err.message,
        `Saving the file to ${path} failed: no space left on the device (ENOSPC). The previous version at ${path} is intact. To fix: free some disk space, or save to another disk.`,
      );
      return true;
    },
  );
  t.mock.restoreAll();
  assert.equal(readFileSync(path, "utf8"), before);
  assert.deepEqual(readdirSync(dir), ["train.jsonl"]);
});

test("temp files of a killed writer are removed by the next write of the same file only", () => {
  const dir = mkdtempSync(join(tmpdir(), "files-stale-"));
  const dead = spawnSync(process.execPath, ["-e", ""]).pid as number;
  writeFileSync(join(dir, `.data.jsonl.${dead}.abc123.tmp`), "partial");
  writeFileSync(join(dir, `.other.jsonl.${dead}.abc123.tmp`), "partial");
  writeFileSync(join(dir, `.data.jsonl.${process.ppid}.abc123.tmp`), "a live writer's");
  writeFileAtomic(join(dir, "data.jsonl"), "x\n");
  assert.deepEqual(readdirSync(dir).sort(), [
    `.data.jsonl.${process.ppid}.abc123.tmp`,
    `.other.jsonl.${dead}.abc123.tmp`,
    "data.jsonl",
  ]);
});

test("saving under a path that goes through a file names it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "files-notdir-"));
  writeFileSync(join(dir, "models"), "a file");
  const m = offlineModel("offline");
  await assert.rejects(
    m.save(join(dir, "models", "policy")),
    /Saving a model folder to .*models\/policy failed: a part of the path is a file, not a folder \(ENOTDIR\)/,
  );
  m.dispose();
});

test("the lock: waits for a live holder until it is gone, refuses its own process and a fresh empty lock, takes over stale ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), "files-lock-"));
  const target = join(dir, "results.json");
  const lock = join(dir, ".results.json.lock");
  // A live holder in another process, which releases the lock after 600 ms.
  const holder = spawn(process.execPath, [
    "-e",
    `setTimeout(() => require("node:fs").rmSync(${JSON.stringify(lock)}), 600); setTimeout(() => {}, 1500);`,
  ]);
  writeFileSync(lock, `${holder.pid}\n`);
  assert.throws(
    () => withLock(target, "a test", () => 1),
    new RegExp(`being written by process ${holder.pid} right now \\(a test; lock .*results\\.json\\.lock\\)`),
  );
  const t0 = Date.now();
  assert.equal(
    withLock(target, "a test", () => readFileSync(lock, "utf8"), { waitMs: 20_000 }),
    `${process.pid}\n`,
  );
  assert.ok(Date.now() - t0 >= 300, `waited ${Date.now() - t0} ms for the holder`);
  assert.equal(existsSync(lock), false, "released");
  holder.kill();
  // Held by this process: refused at once, even when waiting is allowed (it could never be released meanwhile).
  const release = lockTarget(target, "the first writer");
  const t1 = Date.now();
  assert.throws(() => withLock(target, "a test", () => 1, { waitMs: 20_000 }), /being written by this process/);
  assert.ok(Date.now() - t1 < 1000);
  release();
  // Empty: a writer between creating it and writing its pid (refused), or one that died there (stale after 2 s).
  writeFileSync(lock, "");
  assert.throws(() => withLock(target, "a test", () => 1), /being written by another process right now/);
  utimesSync(lock, new Date(Date.now() - 5000), new Date(Date.now() - 5000));
  assert.equal(
    withLock(target, "a test", () => 2),
    2,
  );
  assert.deepEqual(readdirSync(dir), []);
});
