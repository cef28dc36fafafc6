// A fresh clone (issues 19 item 5, 21 item 3): `npm test`, `npm run cli`, `npm run bench` run before anything
// else stop in their first seconds with the one command to run (`npm run setup`), instead of a misleading
// "Lint failed" (biome missing) or notebook 05 failing minutes later (faiss-node unbuilt). A clone without
// node_modules is made for real (the entry points and package.json copied into a temporary folder); the
// states a shared node_modules cannot be put in here (faiss-node unbuilt, no Jupyter) go through the checker
// with stand-in probes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkReady, type Probes } from "../scripts/preflight.mjs";

const root = join(__dirname, "..");

test("a clone without node_modules: npm test, cli, bench and course stop at once with `npm run setup`", () => {
  const clone = mkdtempSync(join(tmpdir(), "fresh-clone-"));
  try {
    cpSync(join(root, "package.json"), join(clone, "package.json"));
    cpSync(join(root, "scripts"), join(clone, "scripts"), { recursive: true });
    mkdirSync(join(clone, "test"));
    cpSync(join(root, "test", "env.test.ts"), join(clone, "test", "env.test.ts"));
    mkdirSync(join(clone, "bench"));
    cpSync(join(root, "bench", "serve-soak.ts"), join(clone, "bench", "serve-soak.ts"));
    for (const [script, args] of [
      ["test.mjs", []],
      ["test.mjs", ["--unit"]],
      ["cli.mjs", ["serve"]],
      ["bench.mjs", ["serve-soak"]],
    ] as const) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [join(clone, "scripts", script), ...args], {
        cwd: clone,
        encoding: "utf8",
        timeout: 30_000,
      });
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(r.status, 1, `${script}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /npm packages are not installed \(@huggingface\/hub, /, script);
      assert.match(r.stderr, /Run `npm run setup` once/, script);
      assert.doesNotMatch(r.stderr + r.stdout, /Lint failed/);
      assert.ok(seconds < 10, `${script} took ${seconds} s to stop`);
    }
    // npm run course runs setup itself, which names the command when it cannot install (--check: installs nothing).
    const setupCheck = spawnSync(process.execPath, [join(clone, "scripts", "setup.mjs"), "--check"], {
      cwd: clone,
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(setupCheck.status, 1);
    assert.match(setupCheck.stderr, /npm dependencies missing .*; run: npm ci/);
  } finally {
    rmSync(clone, { recursive: true, force: true });
  }
});

const ready: Probes = {
  missingPackages: () => [],
  faissLoads: () => true,
  jupyterPython: () => true,
  kernelspec: () => true,
};

test("checkReady: faiss-node unbuilt or no Jupyter stop the notebook runs, not the unit tests", () => {
  assert.deepEqual(checkReady(["deps", "faiss", "kernel"], ready), []);
  const noFaiss = { ...ready, faissLoads: () => false };
  assert.deepEqual(checkReady(["deps", "faiss", "kernel"], noFaiss), [
    "faiss-node's native addon is not built (the notebooks' FaissStore needs it)",
  ]);
  assert.deepEqual(checkReady(["deps"], noFaiss), [], "unit tests do not need faiss-node");
  assert.deepEqual(checkReady(["deps", "faiss", "kernel"], { ...ready, jupyterPython: () => false }), [
    "Jupyter's nbclient / nbconvert are not installed (the notebook runner)",
  ]);
  assert.deepEqual(checkReady(["deps", "kernel"], { ...ready, kernelspec: () => false }), [
    "the course's notebook kernel is not registered for this checkout",
  ]);
  // Missing packages: nothing else is probed (it could not load), and the list is shortened.
  let probed = false;
  const none = checkReady(["deps", "faiss"], {
    ...ready,
    missingPackages: () => ["a", "b", "c", "d", "e", "f"],
    faissLoads: () => {
      probed = true;
      return false;
    },
  });
  assert.deepEqual(none, ["npm packages are not installed (a, b, c, d, and 2 more)"]);
  assert.equal(probed, false);
});

test("this checkout is set up: the real probes find the packages and a faiss-node that loads", () => {
  assert.deepEqual(checkReady(["deps", "faiss"]), []);
});
