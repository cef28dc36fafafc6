// src/files.ts under failure (issue 9 items 3, 4): dataset writes that hit a full disk say what, where, why and
// that the old file is intact; leftovers of killed writers are removed; a path through a file is named.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs, { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SaveError, writeFileAtomic } from "../src/files";
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
