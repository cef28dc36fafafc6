// The web app in a real browser (Debian's headless Chromium through puppeteer-core): three pairs reviewed by
// keyboard (accept, reject, edit) survive a reload and come back from importReview; a dataset question shows BM25,
// base and fine-tuned side by side with the relevant passage marked; questions and passages holding <script> and
// <img onerror> render as text; the runs page draws its table and chart. A screenshot of each page goes to
// reports/app-<page>.png. Builds its own small world (test/app-fixture.ts): no course run needed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { importReview } from "../../src/data/review";
import { startApp, type StartedApp } from "../../src/app/start";
import {
  buildAppFixture,
  DATASET,
  QUESTIONS,
  XSS_QUESTION,
  XSS_TEXT,
  XSS_TITLE,
  type AppFixture,
} from "../app-fixture";
import { chromiumPath, root } from "./helpers";

const chromium = chromiumPath();
const shots = join(root, "reports");
let fx: AppFixture;
let app: StartedApp;
let browser: Browser;
let page: Page;

before(async () => {
  if (!chromium) return;
  fx = await buildAppFixture(mkdtempSync(join(tmpdir(), "app-browser-")));
  app = await startApp({
    dataset: DATASET,
    model: "offline",
    runsDir: fx.runsDir,
    reportsDir: fx.reportsDir,
    port: 0,
  });
  await app.explorerReady;
  browser = await puppeteer.launch({
    executablePath: chromium,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${mkdtempSync(join(tmpdir(), "chromium-"))}`,
    ],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  page.on("pageerror", (err) => {
    throw new Error(`page error: ${err instanceof Error ? err.message : String(err)}`);
  });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await app?.server.close();
});

const skip = chromium ? false : "Chromium is not installed (apt-get install chromium)";
const text = (p: Page, selector: string) => p.$eval(selector, (n) => n.textContent ?? "");
// Page-side code as strings: this project compiles without the DOM library.
const xssFired = (p: Page) => p.evaluate("window.__xss ?? null");
/** Text a page shows that came from an object put in as text: "[object HTMLSpanElement]", "undefined". */
const garbage = async (p: Page) => /\[object |\bundefined\b|\bNaN\b/.exec(await text(p, "#page"))?.[0] ?? null;

/** The decision badge of the pair shown, once it says `want`. */
async function waitForDecision(p: Page, index: number, want: string): Promise<void> {
  await p.waitForFunction(
    `document.querySelectorAll("#list .item .dot")[${index}]?.classList.contains(${JSON.stringify(want)})`,
    { timeout: 10_000 },
  );
}

test("review: accept, reject and edit by keyboard; kept after a reload; importReview returns them", {
  skip,
}, async () => {
  await page.goto(`${app.url}/review`, { waitUntil: "networkidle0" });
  await page.waitForSelector("#question");
  assert.equal(await text(page, "#question"), fx.pairs[0].anchor);
  assert.match(await text(page, "#passage"), /Paid time off — Accrual/);
  assert.match(await text(page, "#progress"), new RegExp(`0 of ${fx.pairs.length} decided`));

  await page.keyboard.press("a"); // pair 1: accept, moves on to pair 2
  await page.keyboard.press("r"); // pair 2: reject, moves on to pair 3
  await waitForDecision(page, 1, "reject");
  await page.keyboard.press("e"); // pair 3: edit the question
  await page.waitForSelector("#edit", { visible: true }); // focused, its text selected: typing replaces it
  await page.keyboard.type("how long is paid parental leave");
  await page.keyboard.press("Enter");
  await waitForDecision(page, 2, "fix");
  await page.keyboard.press("a"); // pair 4: accept ...
  await waitForDecision(page, 3, "accept");
  await page.keyboard.press("u"); // ... and undo it: pending again, on disk too
  await waitForDecision(page, 3, "pending");
  assert.equal(await text(page, "#question"), fx.pairs[3].anchor, "undo shows the pair it changed");
  await page.waitForFunction(`/3 of \\d+ decided/.test(document.getElementById("progress")?.textContent ?? "")`);
  assert.equal(await garbage(page), null);
  await page.screenshot({ path: join(shots, "app-review.png") });

  await page.reload({ waitUntil: "networkidle0" });
  await page.waitForSelector("#list .item");
  const dots = await page.$$eval("#list .item .dot", (ns) => ns.slice(0, 4).map((n) => n.className));
  assert.deepEqual(dots, ["dot accept", "dot reject", "dot fix", "dot pending"]);
  assert.match(await text(page, "#progress"), /3 of \d+ decided/);

  const r = importReview(app.reviewSheet as string);
  assert.deepEqual([r.counts.accept, r.counts.reject, r.counts.fix], [1, 1, 1]);
  assert.equal(r.accepted[0].anchor, fx.pairs[0].anchor);
  assert.equal(r.rejected[0].anchor, fx.pairs[1].anchor);
  assert.equal(r.accepted[1].anchor, "how long is paid parental leave");
  assert.equal(r.accepted[1].original_anchor, fx.pairs[2].anchor);
});

test("review: the flagged filter shows each flag as a named badge", { skip }, async () => {
  await page.goto(`${app.url}/review?status=flagged`, { waitUntil: "networkidle0" });
  await page.waitForSelector("#question");
  const badges = await page.$$eval("#detail .badge", (ns) => ns.map((n) => n.textContent));
  assert.ok(
    badges.includes("duplicate question") || badges.some((b) => /\(borderline\)$/.test(b ?? "")),
    badges.join(" | "),
  );
  assert.equal(await garbage(page), null);
});

test("review: a question and a passage holding <script> / <img onerror> render as text", { skip }, async () => {
  await page.goto(`${app.url}/review?q=badge`, { waitUntil: "networkidle0" });
  await page.waitForSelector("#question");
  assert.equal(await text(page, "#question"), XSS_QUESTION);
  assert.match(await text(page, "#passage"), new RegExp(XSS_TITLE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  assert.equal(await page.$$eval("#question img, #passage img, #passage script, #list img", (ns) => ns.length), 0);
  assert.equal(await xssFired(page), null);
});

test("explore: a dataset question shows three columns with the relevant passage marked", { skip }, async () => {
  const q = QUESTIONS.find((x) => x.id === "q6") as (typeof QUESTIONS)[number];
  await page.goto(`${app.url}/explore`, { waitUntil: "networkidle0" });
  await page.type("#query", q.text);
  await page.keyboard.press("Enter");
  await page.waitForSelector(".column .hit");
  const columns = await page.$$eval(".column", (cs) => cs.map((c) => c.getAttribute("data-system")));
  assert.deepEqual(columns, ["BM25", "base", "fine-tuned"]);
  const marked = await page.$$eval(".column", (cs) =>
    cs.map((c) => [
      c.querySelectorAll(".hit.relevant").length,
      c.querySelector(".hit.relevant")?.getAttribute("data-id"),
    ]),
  );
  assert.deepEqual(marked, [
    [1, "expenses"],
    [1, "expenses"],
    [1, "expenses"],
  ]);
  const ranks = await page.$$eval(".column [data-rank]", (ns) => ns.map((n) => n.getAttribute("data-rank")));
  assert.equal(ranks.length, 3);
  assert.equal(ranks[2], "1", "the fine-tuned model ranks it first");
  assert.match(await text(page, "#known-banner"), /A question of the dataset \(test split, id q6\)/);
  // The examples: click a question fine-tuning fixed; it is searched.
  await page.waitForSelector("#examples li a");
  const example = await text(page, "#examples li a");
  await page.click("#examples li a");
  await page.waitForFunction(`document.getElementById("query").value === ${JSON.stringify(example)}`);
  await page.waitForFunction(`document.querySelectorAll(".column .hit.relevant").length >= 1`);
  assert.equal(await garbage(page), null);
  await page.screenshot({ path: join(shots, "app-explore.png") });
});

test("explore: a passage holding HTML renders as text", { skip }, async () => {
  await page.goto(`${app.url}/explore?q=${encodeURIComponent("badge photos upload")}`, { waitUntil: "networkidle0" });
  await page.waitForSelector('.hit[data-id="badges"]');
  const [title, body] = await page.$eval('.hit[data-id="badges"]', (h) => [
    h.querySelector(".title")?.textContent,
    h.querySelector(".text")?.textContent,
  ]);
  assert.equal(title, XSS_TITLE);
  assert.equal(body, XSS_TEXT);
  assert.equal(await page.$$eval(".hit img, .hit script", (ns) => ns.length), 0);
  assert.equal(await xssFired(page), null);
});

test("runs: results as tables and charts per setting, links to the notebooks", { skip }, async () => {
  await page.goto(`${app.url}/runs`, { waitUntil: "networkidle0" });
  await page.waitForSelector("section.group .plot-container");
  const groups = await page.$$eval("section.group h2", (hs) => hs.map((h) => h.textContent));
  assert.deepEqual(groups, [
    `${DATASET}, test split (7 queries)`,
    `${DATASET}, test split, setting new questions (7 queries)`,
  ]);
  const systems = await page.$$eval("section.group tbody tr td:first-child", (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(systems, ["BM25", "base", "fine-tuned", "BM25", "fine-tuned <b>bold</b>"]);
  assert.equal(await page.$$eval("section.group b", (ns) => ns.length), 0);
  assert.equal(await page.$$eval("section.group .plot-container", (ns) => ns.length), 2);
  const legend = await page.$$eval("section.group .legendtext", (ns) => ns.map((n) => n.textContent));
  assert.ok(legend.includes("fine-tuned <b>bold</b> · offline (embedded default)"), legend.join(" | "));
  assert.deepEqual(await page.$$eval(".notebooks a", (as) => as.map((a) => a.getAttribute("href"))), [
    "/reports/01_synthetic_data.html",
  ]);
  assert.equal(await garbage(page), null);
  await page.screenshot({ path: join(shots, "app-runs.png"), fullPage: true });
});
