// The executed notebook opened in the classic Jupyter Notebook UI: it is trusted (so its scripts run)
// and its plotly chart is drawn from the saved outputs, with the course kernel selected.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { chromiumPath, jupyterReady, root, runNotebooks } from "./helpers";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitFor(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

test("the Notebook UI shows an executed notebook as trusted with its chart drawn", async (t) => {
  const python = await jupyterReady();
  const browser = chromiumPath();
  const hasUi = spawnSync(python, ["-c", "import notebook"]).status === 0;
  if (!browser || !hasUi) {
    if (process.env.CI) assert.fail("chromium and jupyter-notebook are needed (.ci/run installs both)");
    t.skip("needs chromium and the jupyter-notebook package (npm run setup installs it)");
    return;
  }
  mkdirSync(join(root, "reports"), { recursive: true });
  // Not a hidden folder: the Notebook server refuses to open hidden files.
  const out = mkdtempSync(join(root, "reports", "ui-test-"));
  const res = runNotebooks(python, out, [join(root, "test", "fixtures", "notebooks", "pass.ipynb")], ["--no-html"]);
  assert.equal(res.status, 0, res.stderr);
  const port = await freePort();
  const token = "course-ui-test";
  const server = spawn(
    python,
    [
      "-m",
      "notebook",
      "--no-browser",
      "--allow-root",
      "--ip=127.0.0.1",
      `--port=${port}`,
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${root}`,
    ],
    { env: { ...process.env, JUPYTER_PATH: join(root, "jupyter") }, stdio: "ignore" },
  );
  try {
    await waitFor(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`, 30_000);
    const specs = (await (await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`)).json()) as {
      kernelspecs: Record<string, unknown>;
    };
    assert.ok("tslab-course" in specs.kernelspecs, "the course kernel is offered");
    const url = `http://127.0.0.1:${port}/notebooks/${relative(root, join(out, "pass.ipynb"))}?token=${token}`;
    const dom = spawnSync(
      browser,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        `--user-data-dir=${mkdtempSync(join(tmpdir(), "chromium-"))}`,
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
      ],
      { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    ).stdout;
    // assert.ok, not assert.match: a failure must not print the multi-megabyte page.
    assert.ok(
      /id="notification_trusted"[^>]*>\s*<span[^>]*>Trusted</.test(dom),
      "the UI reports the notebook as trusted",
    );
    assert.ok(/class="main-svg"/.test(dom), "plotly drew the chart from the saved output");
    assert.ok(/TypeScript \(course\)/.test(dom), "the course kernel is selected");
  } finally {
    server.kill("SIGTERM");
    spawnSync("rm", ["-rf", out]);
  }
});
