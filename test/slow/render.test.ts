// The HTML export of an executed notebook, opened in headless Chromium, really draws the chart:
// plotly's SVG and the bars are in the DOM after the page's scripts ran (not just a script tag).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumPath, jupyterReady, root, runNotebooks } from "./helpers";

function chromium(binary: string, args: string[]) {
  return spawnSync(
    binary,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${mkdtempSync(join(tmpdir(), "chromium-"))}`,
      "--virtual-time-budget=10000",
      ...args,
    ],
    { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
}

test("an exported notebook's chart and table render in headless Chromium", async (t) => {
  const binary = chromiumPath();
  if (!binary) {
    if (process.env.CI) assert.fail("chromium is not installed (.ci/run installs it: apt-get install chromium)");
    t.skip("chromium not installed (apt-get install chromium)");
    return;
  }
  const python = await jupyterReady();
  const out = mkdtempSync(join(tmpdir(), "render-"));
  const res = runNotebooks(python, out, [join(root, "test", "fixtures", "notebooks", "pass.ipynb")]);
  assert.equal(res.status, 0, res.stderr);
  const page = `file://${join(out, "pass.html")}`;
  const dom = chromium(binary, ["--dump-dom", page]).stdout;
  assert.ok(readFileSync(join(out, "pass.html"), "utf8").includes("Plotly.newPlot"));
  assert.match(dom, /class="main-svg"/, "plotly drew its SVG");
  const bars = dom.match(/<g class="point"><path d="M[^"]+"/g) ?? [];
  assert.equal(bars.length, 2, "two bars drawn with a path each");
  assert.match(dom, /<text[^>]*class="gtitle"[^>]*>fixture chart<\/text>/, "chart title rendered");
  assert.match(dom, /<table class="course-table">/);
  const shot = join(out, "pass.png");
  chromium(binary, ["--window-size=1000,1200", `--screenshot=${shot}`, page]);
  assert.ok(statSync(shot).size > 10_000, "screenshot has content");
});
