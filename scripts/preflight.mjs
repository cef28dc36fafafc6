// Checks, in the first second of an npm entry point, that what it needs is installed, and otherwise stops
// with the one command that installs it (`npm run setup`: npm ci, faiss-node, the kernel), instead of a
// misleading error minutes later (a "Lint failed" from a missing biome, notebook 05 failing on an unbuilt
// faiss-node). Node built-ins only: it runs before node_modules exists.
//   needs "deps"     every package in package.json's dependencies and devDependencies is in node_modules
//   needs "faiss"    faiss-node's native addon loads (the notebooks' LangChain FaissStore)
//   needs "kernel"   Jupyter's nbclient for the runner, and this checkout's kernelspec (npm run setup writes it)
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..");
export const SETUP_COMMAND = "npm run setup";

/** Packages of package.json (dependencies + devDependencies) that node_modules lacks. */
export function missingNpmPackages(dir = root) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const wanted = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
  return wanted.filter((name) => !existsSync(join(dir, "node_modules", name, "package.json")));
}

/** Loads a module in a child process, so that a native addon that crashes cannot take us down. */
export function loads(moduleName, cwd = root) {
  const res = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(moduleName)})`], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
  });
  const stderr = res.stderr ?? "";
  return {
    ok: res.status === 0,
    why: (stderr.split("\n").find((l) => /Error/.test(l)) ?? stderr.trim()).slice(0, 300),
  };
}

/** The real probes; tests pass their own to check the messages without breaking an installation. */
export const probes = {
  missingPackages: () => missingNpmPackages(),
  faissLoads: () => loads("faiss-node").ok,
  jupyterPython: () =>
    [process.env.COURSE_JUPYTER_PYTHON || "/usr/bin/python3", "python3"].some(
      (py) =>
        spawnSync(py, ["-c", "import nbclient, nbconvert, nbformat, jupyter_client"], { stdio: "ignore" }).status === 0,
    ),
  kernelspec: () => existsSync(join(root, "jupyter", "kernels", "tslab-course", "kernel.json")),
};

/** What is missing for `needs`, one sentence each (empty when ready). Later checks are skipped once deps lack. */
export function checkReady(needs, p = probes) {
  const problems = [];
  if (needs.includes("deps")) {
    const missing = p.missingPackages();
    if (missing.length > 0) {
      const shown = missing.slice(0, 4).join(", ") + (missing.length > 4 ? `, and ${missing.length - 4} more` : "");
      problems.push(`npm packages are not installed (${shown})`);
      return problems; // the rest cannot be probed without them
    }
  }
  if (needs.includes("faiss") && !p.faissLoads())
    problems.push("faiss-node's native addon is not built (the notebooks' FaissStore needs it)");
  if (needs.includes("kernel")) {
    if (!p.jupyterPython()) problems.push("Jupyter's nbclient / nbconvert are not installed (the notebook runner)");
    else if (!p.kernelspec()) problems.push("the course's notebook kernel is not registered for this checkout");
  }
  return problems;
}

/** Stops this process (exit 1) with what is missing and the one command to run, when anything is. */
export function requireReady(needs, command, p = probes) {
  const problems = checkReady(needs, p);
  if (problems.length === 0) return;
  console.error(`[${command}] this checkout is not set up yet:`);
  for (const problem of problems) console.error(`  - ${problem}`);
  console.error(`Run \`${SETUP_COMMAND}\` once (it installs all of it), then \`${command}\` again.`);
  process.exit(1);
}
