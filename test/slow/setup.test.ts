import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jupyterReady, root } from "./helpers";

test("setup --check names a missing Jupyter and the command that installs it", () => {
  const fake = join(mkdtempSync(join(tmpdir(), "py-")), "python3");
  writeFileSync(fake, "#!/bin/sh\nexit 1\n");
  chmodSync(fake, 0o755);
  const res = spawnSync(process.execPath, [join(root, "scripts", "setup.mjs"), "--check"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, COURSE_JUPYTER_PYTHON: fake },
  });
  assert.equal(res.status, 1);
  assert.match(
    res.stderr,
    new RegExp(`MISSING: Jupyter's nbclient/nbconvert not found for COURSE_JUPYTER_PYTHON=${fake}`),
  );
  if (existsSync("/usr/bin/apt-get"))
    assert.match(res.stderr, /apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient/);
});

test("setup registers the kernel for the user, so Jupyter UIs list it", async () => {
  const python = await jupyterReady();
  const dataDir = mkdtempSync(join(tmpdir(), "jupyter-data-"));
  const env = { ...process.env, JUPYTER_DATA_DIR: dataDir };
  const res = spawnSync(process.execPath, [join(root, "scripts", "setup.mjs")], { cwd: root, encoding: "utf8", env });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  const spec = JSON.parse(readFileSync(join(dataDir, "kernels", "tslab-course", "kernel.json"), "utf8")) as {
    argv: string[];
    display_name: string;
  };
  assert.equal(spec.display_name, "TypeScript (course)");
  assert.deepEqual(spec.argv.slice(1), [join(root, "scripts", "kernel.cjs"), "{connection_file}"]);
  const list = spawnSync(python, ["-m", "jupyter_client.kernelspecapp", "list"], { encoding: "utf8", env });
  assert.match(list.stdout, new RegExp(`tslab-course\\s+${dataDir}`));
});

test("npm run course exits non-zero and names the failing notebook and cell", async () => {
  await jupyterReady();
  const reports = mkdtempSync(join(tmpdir(), "reports-"));
  const res = spawnSync(
    process.execPath,
    [join(root, "scripts", "course.mjs"), "--no-user-kernel", "--no-html", "test/fixtures/notebooks/fail.ipynb"],
    {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, COURSE_REPORTS_DIR: reports },
    },
  );
  assert.equal(res.status, 1);
  assert.match(res.stderr, /FAILED: .*fixtures\/notebooks\/fail\.ipynb, code cell \[2\]/);
  assert.match(res.stderr, /deliberate failure 1/);
  assert.ok(existsSync(join(reports, "fail.ipynb")), "the partly executed notebook is kept for inspection");
});
