// The README's "library in one screen" snippet, taken from README.md as it is, runs as a plain script
// (`npx tsx script.ts` in this CommonJS package: no top-level await) and prints both comparisons labelled.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..", "..");

function readmeSnippet(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The library in one screen"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README.md has a ts block under 'The library in one screen'");
  return m[1];
}

test("the README snippet runs as a tsx script and labels both sides of each comparison", () => {
  // A folder like the user's: the script beside src/ (and package.json, node_modules), so that the training
  // output (models/policy) lands there and not in the repository.
  const dir = mkdtempSync(join(tmpdir(), "readme-"));
  for (const name of ["src", "node_modules"]) symlinkSync(join(root, name), join(dir, name));
  copyFileSync(join(root, "package.json"), join(dir, "package.json"));
  writeFileSync(join(dir, "script.ts"), readmeSnippet());
  const run = spawnSync(process.execPath, ["--import", "tsx", "script.ts"], {
    cwd: dir,
    encoding: "utf8",
    timeout: 300_000,
  });
  assert.equal(run.status, 0, `exit ${run.status} ${run.signal ?? ""}\n${run.stderr.slice(-3000)}`);
  assert.doesNotMatch(run.stderr, /Top-level await/);
  assert.match(run.stdout, /^fine-tuned vs before training on 190 queries: \d+ improved, \d+ worsened, \d+ unchanged/m);
  assert.match(run.stdout, /^fine-tuned vs BM25\S* on 190 queries/m);
  assert.ok(existsSync(join(dir, "models", "policy", "final", "modules.json")), "the trained model is saved");
});
