#!/usr/bin/env node
// npm run setup: makes this checkout ready to run the course, installing what is missing.
//   1. npm dependencies (npm ci) when any is missing;
//   2. faiss-node's native addon: the prebuilt binary when it can be downloaded, otherwise built
//      against the system's faiss (Debian/Ubuntu libfaiss-dev; installed with apt when run as root);
//   2b. the native BLAS matrix-product addon (build/native-matmul.node) that speeds up the wasm / cpu
//      backends (src/native/build.ts, kernels.ts; needs cc and libopenblas-dev, or Accelerate on macOS);
//   3. @tensorflow/tfjs-node (optional): its libtensorflow download; on failure the wasm backend is used;
//      with --gpu, @tensorflow/tfjs-node-gpu instead (needs CUDA 11.2 + cuDNN 8.1);
//   4. Jupyter (nbclient + nbconvert) for the notebook runner: from apt when root, else the command is printed;
//      and the classic Notebook UI for interactive work (skipped with --headless, as in CI);
//   5. the repo-local TypeScript kernelspec (jupyter/kernels/tslab-course), also registered for the
//      user so that `jupyter notebook` / JupyterLab / VS Code find it (skip with --no-user-kernel).
// npm install scripts are off in .npmrc, so this script is where native code gets built.
// `npm run setup -- --check` installs and writes nothing: it reports what is missing and the commands.
// Exit code 0 when the course can run; 1 with a message naming what is missing and how to install it.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loads, missingNpmPackages } from "./preflight.mjs";

export const root = join(import.meta.dirname, "..");
export const KERNEL_NAME = "tslab-course";
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const hasApt = existsSync("/usr/bin/apt-get");
const APT_JUPYTER = ["jupyter-nbconvert", "python3-nbclient"];
const APT_NOTEBOOK_UI = ["jupyter-notebook"];
const APT_FAISS = ["build-essential", "cmake", "libfaiss-dev", "libopenblas-dev", "patchelf"];

const log = (msg) => console.log(`[setup] ${msg}`);

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, {
    cwd: opts.cwd ?? root,
    stdio: opts.quiet ? "pipe" : "inherit",
    encoding: "utf8",
    timeout: opts.timeout,
    env: { ...process.env, ...opts.env },
  });
  return {
    ok: res.status === 0,
    status: res.status,
    stdout: res.stdout ?? "",
    stderr: res.stderr ?? "",
    error: res.error,
  };
}

/** The command a person runs to install Debian packages here, or undefined without apt. */
function aptCommand(packages) {
  return hasApt
    ? `${isRoot ? "" : "sudo "}apt-get install -y --no-install-recommends ${packages.join(" ")}`
    : undefined;
}

function aptInstall(packages, why) {
  const cmd = aptCommand(packages);
  if (!(isRoot && hasApt)) return { ok: false, cmd };
  log(`installing ${why} with apt: ${packages.join(" ")}`);
  let res = run("apt-get", ["install", "-y", "--no-install-recommends", ...packages], {
    quiet: true,
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  if (!res.ok) {
    run("apt-get", ["update"], { quiet: true });
    res = run("apt-get", ["install", "-y", "--no-install-recommends", ...packages], {
      quiet: true,
      env: { DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  if (!res.ok) log(`apt-get failed:\n${res.stderr.trim().split("\n").slice(-5).join("\n")}`);
  return { ok: res.ok, cmd };
}

function checkNode() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(
      `Node ${process.versions.node} is too old: the course needs Node >= 20.19 (require() of ES modules). Install Node 20.19+, 22 or 24 LTS.`,
    );
  }
}

function npmDependencies(check) {
  const missing = missingNpmPackages();
  if (missing.length === 0) return undefined;
  if (check) return `npm dependencies missing (${missing.join(", ")}); run: npm ci`;
  log(
    `npm dependencies missing (${missing.join(", ")}): running npm ${existsSync(join(root, "package-lock.json")) ? "ci" : "install"}`,
  );
  const res = run(process.platform === "win32" ? "npm.cmd" : "npm", [
    existsSync(join(root, "package-lock.json")) ? "ci" : "install",
  ]);
  if (!res.ok)
    throw new Error(
      "npm install failed (see above). Check that the npm registry is reachable, then run `npm run setup` again.",
    );
  return undefined;
}

function faissHeaders() {
  for (const dir of ["/usr/include/faiss", "/usr/local/include/faiss", "/opt/homebrew/include/faiss"]) {
    if (existsSync(join(dir, "IndexFlat.h"))) return dir;
  }
  return undefined;
}

function buildFaissFromSystem(pkgDir) {
  let headers = faissHeaders();
  if (
    !headers ||
    (!existsSync("/usr/bin/cmake") && !existsSync("/usr/local/bin/cmake") && !existsSync("/opt/homebrew/bin/cmake"))
  ) {
    const res = process.platform === "linux" ? aptInstall(APT_FAISS, "faiss (to build faiss-node)") : { ok: false };
    headers = faissHeaders();
    if (!res.ok || !headers) {
      const how =
        process.platform === "darwin"
          ? "brew install faiss cmake libomp"
          : (res.cmd ?? "install faiss (libfaiss-dev), cmake and a C++ compiler");
      return { ok: false, why: `faiss headers or cmake not found; run: ${how}` };
    }
  }
  const deps = join(pkgDir, "deps", "faiss");
  mkdirSync(deps, { recursive: true });
  copyFileSync(join(root, "scripts", "native", "faiss-deps-CMakeLists.txt"), join(deps, "CMakeLists.txt"));
  // faiss >= 1.7.4 declares faiss::idx_t; 1.7.3 (Debian 12) only faiss::Index::idx_t.
  const src = join(pkgDir, "src", "faiss.cc");
  const metricHeader = join(headers, "MetricType.h");
  const namespaceIdx = existsSync(metricHeader) && /using\s+idx_t\s*=/.test(readFileSync(metricHeader, "utf8"));
  const code = readFileSync(src, "utf8");
  const patched = namespaceIdx
    ? code.replace("using idx_t = faiss::Index::idx_t;", "using idx_t = faiss::idx_t;")
    : code.replace("using idx_t = faiss::idx_t;", "using idx_t = faiss::Index::idx_t;");
  if (patched !== code) writeFileSync(src, patched);
  log(`building faiss-node against the system faiss (${headers})`);
  const cmakeJs = join(root, "node_modules", "cmake-js", "bin", "cmake-js");
  const res = run(process.execPath, [cmakeJs, "compile", "--directory", pkgDir], { quiet: true, timeout: 600_000 });
  if (!res.ok)
    return {
      ok: false,
      why: `cmake-js build failed:\n${(res.stdout + res.stderr).trim().split("\n").slice(-15).join("\n")}`,
    };
  return { ok: true };
}

function faiss(check) {
  if (loads("faiss-node").ok) return { ok: true, how: "already built" };
  if (check) return { ok: false, why: "its native addon is not built; run: npm run setup" };
  const pkgDir = join(root, "node_modules", "faiss-node");
  const prebuild = join(root, "node_modules", "prebuild-install", "bin.js");
  if (existsSync(prebuild)) {
    log("faiss-node: trying its prebuilt binary (GitHub releases)");
    const res = run(process.execPath, [prebuild, "--runtime", "napi"], { quiet: true, timeout: 120_000, cwd: pkgDir });
    if (res.ok && loads("faiss-node").ok) return { ok: true, how: "prebuilt binary" };
    log("faiss-node: no prebuilt binary could be downloaded; building from source instead");
  }
  const built = buildFaissFromSystem(pkgDir);
  if (!built.ok) return built;
  const loaded = loads("faiss-node");
  return loaded.ok
    ? { ok: true, how: "built against the system faiss" }
    : { ok: false, why: `built, but it does not load: ${loaded.why}` };
}

/** Builds build/native-matmul.node when it is missing or older than its source (optional: tfjs works without it). */
function nativeMatMul(check) {
  const mod = JSON.stringify(join(root, "src", "native", "build.ts"));
  const probe = `const m = require(${mod}); console.log(m.nativeMatMulStale() ? "stale" : "ok")`;
  const state = run(process.execPath, ["--import", "tsx", "-e", probe], { quiet: true });
  if (state.ok && state.stdout.trim() === "ok") return { ok: true, how: "already built" };
  if (check) return { ok: false, why: "not built; run: npm run setup" };
  const hasBlas = [
    "/usr/include/cblas.h",
    "/usr/include/x86_64-linux-gnu/cblas.h",
    "/usr/include/aarch64-linux-gnu/cblas.h",
    "/usr/include/openblas/cblas.h",
  ].some((p) => existsSync(p));
  if (process.platform === "linux" && !hasBlas)
    aptInstall(["build-essential", "libopenblas-dev"], "BLAS (for the native matrix-product addon)");
  const build = run(process.execPath, ["--import", "tsx", "-e", `require(${mod}).buildNativeMatMul()`], {
    quiet: true,
    timeout: 300_000,
  });
  if (!build.ok) {
    const why = (build.stderr.match(/buildNativeMatMul: [\s\S]*/) ?? [
      build.stderr.trim().split("\n").slice(-3).join(" "),
    ])[0];
    return { ok: false, why: why.slice(0, 600) };
  }
  return { ok: true, how: "built" };
}

function tfjsNative(gpu, check) {
  const pkg = gpu ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
  if (gpu && !existsSync(join(root, "node_modules", pkg, "package.json"))) {
    log(`installing ${pkg} (not saved to package.json)`);
    const res = run(process.platform === "win32" ? "npm.cmd" : "npm", [
      "install",
      "--no-save",
      "--ignore-scripts",
      `${pkg}@4.22.0`,
    ]);
    if (!res.ok) return { ok: false, why: `npm install ${pkg} failed` };
  }
  if (!existsSync(join(root, "node_modules", pkg, "package.json")))
    return { ok: false, why: `${pkg} is not installed (optional)` };
  if (loads(pkg).ok) return { ok: true };
  if (check) return { ok: false, why: `${pkg}'s libtensorflow is not installed; npm run setup tries to download it` };
  log(`${pkg}: downloading libtensorflow (its install script)`);
  const res = run(
    process.execPath,
    [join(root, "node_modules", pkg, "scripts", "install.js"), ...(gpu ? ["gpu", "download"] : [])],
    { quiet: true, timeout: 600_000, cwd: join(root, "node_modules", pkg) },
  );
  if (res.ok && loads(pkg).ok) return { ok: true };
  const why = (res.stderr.match(/Error: .*/) ?? [res.stderr.trim().split("\n").pop() ?? "install script failed"])[0];
  return {
    ok: false,
    why: `${why.slice(0, 200)} — using the wasm backend instead (see environment.md to install it behind a mirror)`,
  };
}

/**
 * A python3 that has nbclient, nbconvert and nbformat: COURSE_JUPYTER_PYTHON when set (and then only
 * it), else /usr/bin/python3, then python3 on PATH.
 */
export function findJupyterPython() {
  const candidates = process.env.COURSE_JUPYTER_PYTHON
    ? [process.env.COURSE_JUPYTER_PYTHON]
    : ["/usr/bin/python3", "python3"];
  for (const py of candidates) {
    const res = spawnSync(py, ["-c", "import nbclient, nbconvert, nbformat, jupyter_client"], { stdio: "ignore" });
    if (res.status === 0) return py;
  }
  return undefined;
}

function jupyter(check) {
  let py = findJupyterPython();
  if (py) return { ok: true, python: py };
  const res =
    process.platform === "linux" && !check
      ? aptInstall(APT_JUPYTER, "Jupyter (nbclient, nbconvert)")
      : { ok: false, cmd: aptCommand(APT_JUPYTER) };
  py = findJupyterPython();
  if (py) return { ok: true, python: py };
  const how = res.cmd ?? "python3 -m pip install --user nbclient nbconvert nbformat notebook";
  const which = process.env.COURSE_JUPYTER_PYTHON
    ? `COURSE_JUPYTER_PYTHON=${process.env.COURSE_JUPYTER_PYTHON}`
    : "python3";
  return {
    ok: false,
    why: `Jupyter's nbclient/nbconvert not found for ${which}; run: ${how} (or set COURSE_JUPYTER_PYTHON to a python that has them)`,
  };
}

/** Writes the kernelspec that starts tslab from the repository root, so that cells can `import ... from "./src/..."`. */
export function writeKernelspec() {
  const dir = join(root, "jupyter", "kernels", KERNEL_NAME);
  mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, join(root, "scripts", "kernel.cjs"), "{connection_file}"],
    display_name: "TypeScript (course)",
    language: "typescript",
    metadata: { note: "written by npm run setup; starts tslab with the repository root as working directory" },
  };
  const tmp = join(dir, "kernel.json.tmp");
  writeFileSync(tmp, JSON.stringify(spec, null, 2) + "\n");
  renameSync(tmp, join(dir, "kernel.json"));
  return dir;
}

/** The Notebook UI for `jupyter notebook`: not needed to run the course headless, so never a failure. */
function notebookUi(python) {
  const has = spawnSync(python, ["-c", "import notebook"], { stdio: "ignore" }).status === 0;
  if (has) return "ok";
  if (process.platform === "linux" && aptInstall(APT_NOTEBOOK_UI, "the Jupyter Notebook UI").ok)
    return "installed with apt";
  const how = aptCommand(APT_NOTEBOOK_UI) ?? "python3 -m pip install --user notebook (or jupyterlab)";
  return `not installed (needed only to open the notebooks interactively): ${how}`;
}

function registerUserKernel(python, dir) {
  const res = run(
    python,
    ["-m", "jupyter_client.kernelspecapp", "install", "--user", "--replace", "--name", KERNEL_NAME, dir],
    { quiet: true },
  );
  return res.ok ? { ok: true } : { ok: false, why: res.stderr.trim().split("\n").pop() };
}

export function setup(argv = []) {
  const gpu = argv.includes("--gpu");
  const check = argv.includes("--check");
  checkNode();
  const problems = [];
  const npmProblem = npmDependencies(check);
  if (npmProblem) {
    console.error(`[setup] MISSING: ${npmProblem}`);
    return { ok: false, python: undefined };
  }
  const f = faiss(check);
  log(
    f.ok
      ? `faiss-node: ok (${f.how})`
      : `faiss-node: NOT available — exact search uses the TypeScript fallback. ${f.why}`,
  );
  const n = nativeMatMul(check);
  log(
    n.ok
      ? `native BLAS matrix products: ok (${n.how})`
      : `native BLAS matrix products: NOT available — slower wasm/cpu products. ${n.why}`,
  );
  const t = tfjsNative(gpu, check);
  log(t.ok ? `tfjs native backend: ok` : `tfjs native backend: not available (${t.why})`);
  const j = jupyter(check);
  if (!j.ok) problems.push(j.why);
  else if (check) log(`jupyter: ok (${j.python})`);
  else {
    log(`jupyter: ok (${j.python})`);
    const dir = writeKernelspec();
    log(`kernelspec: ${dir}`);
    if (!argv.includes("--headless")) log(`jupyter notebook UI: ${notebookUi(j.python)}`);
    if (!argv.includes("--no-user-kernel")) {
      const r = registerUserKernel(j.python, dir);
      log(
        r.ok
          ? `kernel "${KERNEL_NAME}" registered for this user (jupyter notebook / lab / VS Code)`
          : `could not register the kernel for this user: ${r.why}`,
      );
    }
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`[setup] MISSING: ${p}`);
    return { ok: false, python: undefined };
  }
  return { ok: true, python: j.python };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const res = setup(process.argv.slice(2));
    process.exit(res.ok ? 0 : 1);
  } catch (err) {
    console.error(`[setup] ${err.message}`);
    process.exit(1);
  }
}
