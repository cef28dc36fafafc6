import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

test("src/, test/, bench/ and scripts/*.ts type-check under strict with the project's tsconfig", () => {
  const root = join(__dirname, "..");
  const res = spawnSync(
    process.execPath,
    [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json"), "--noEmit"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(res.status, 0, `tsc reported:\n${res.stdout}${res.stderr}`);
});

test("src/ stays importable from tslab: no top-level await, no import.meta, no .ts import suffixes", () => {
  const root = join(__dirname, "..");
  const res = spawnSync(
    "grep",
    ["-rnE", 'import\\.meta|^await |^const .* = await |from "\\.{1,2}/[^"]*\\.ts"', join(root, "src")],
    { encoding: "utf8" },
  );
  assert.equal(res.stdout, "", `found in src/:\n${res.stdout}`);
});
