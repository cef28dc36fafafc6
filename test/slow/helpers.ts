// Shared by the slow tests: the Jupyter python, the kernelspec, and running the notebook runner.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const root = join(__dirname, "..", "..");

interface SetupModule {
  findJupyterPython(): string | undefined;
  writeKernelspec(): string;
}

/** The python that has nbclient (fails the test with the install command when there is none) and a written kernelspec. */
export async function jupyterReady(): Promise<string> {
  const setup = (await import("../../scripts/setup.mjs")) as SetupModule;
  const python = setup.findJupyterPython();
  if (!python)
    throw new Error(
      "Jupyter's nbclient is not installed: run `npm run setup` (or apt-get install jupyter-nbconvert python3-nbclient).",
    );
  if (!existsSync(join(root, "jupyter", "kernels", "tslab-course", "kernel.json"))) setup.writeKernelspec();
  return python;
}

export function runNotebooks(
  python: string,
  out: string,
  notebooks: string[],
  extra: string[] = [],
): SpawnSyncReturns<string> {
  return spawnSync(python, [join(root, "scripts", "run_notebooks.py"), "--out", out, ...extra, ...notebooks], {
    cwd: root,
    encoding: "utf8",
    timeout: 30 * 60_000,
  });
}

/** Headless Chromium as the toolchain notes describe it; undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) => existsSync(p));
}
