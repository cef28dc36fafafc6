// The committed BEIR files are exactly what data/build.mjs makes from data/*/source (no hand edits that
// a rebuild would lose), and the build's own checks pass (sizes, leak-free splits, resolvable qrels).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

test("shipped datasets are reproducible from their sources", () => {
  const root = join(__dirname, "..");
  const res = spawnSync(process.execPath, [join(root, "data", "build.mjs"), "--check"], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stdout + res.stderr);
});
