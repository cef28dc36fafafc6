#!/usr/bin/env node
// Runs the test suite with Node's own test runner, TypeScript loaded through tsx.
//   npm test                     every test/**/*.test.ts (unit tests, then the notebooks)
//   npm test -- test/foo.test.ts only the files named
//   npm test -- --unit           everything but the slow notebook / browser tests (test/slow/)
// First, in its first seconds, it checks that the checkout is set up (scripts/preflight.mjs) and otherwise
// stops with the command to run. A full run (no files named) then runs the linter (biome, biome.json), as CI
// runs it: `npm run lint`. Node 20's `--test` takes no globs, so the files are listed here. SIGINT / SIGTERM /
// SIGHUP are passed on to the test runner, and the exit status is the runner's (scripts/process.mjs).
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { requireReady } from "./preflight.mjs";
import { exitLike, runChild, spawnForwarding } from "./process.mjs";

const root = join(import.meta.dirname, "..");
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const named = args.filter((a) => !a.startsWith("--"));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === "fixtures" ? [] : walk(p);
    return name.endsWith(".test.ts") ? [p] : [];
  });
}

let files =
  named.length > 0
    ? named
    : walk(join(root, "test"))
        .map((p) => relative(root, p))
        .sort();
if (unitOnly) files = files.filter((f) => !f.split(/[\\/]/).includes("slow"));
// Slow tests (notebooks, headless browser) run last so that a broken unit shows up first.
files.sort((a, b) => Number(a.includes("slow")) - Number(b.includes("slow")) || a.localeCompare(b));
if (files.length === 0) {
  console.error("No test files found under test/.");
  process.exit(1);
}
// The notebooks need faiss-node and the kernel; unit tests only the npm packages.
const notebooks = files.some((f) => f.split(/[\\/]/).includes("slow"));
requireReady(notebooks ? ["deps", "faiss", "kernel"] : ["deps"], "npm test");
if (named.length === 0) {
  // biome check: lint rules + the formatter's check, the same as `npm run lint`.
  const biome = join(root, "node_modules", "@biomejs", "biome", "bin", "biome");
  const lint = await spawnForwarding(process.execPath, [biome, "check"], { cwd: root });
  if (lint.signal) await exitLike(lint);
  if (lint.code !== 0) {
    console.error("Lint failed (see above). `npm run lint` shows the same; `npm run format` fixes formatting.");
    process.exit(lint.code ?? 1);
  }
}
await runChild(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], {
  cwd: root,
  env: process.env,
});
