// The app's search, examples and runs API on a small fixture (BM25, the embedded offline model and a copy of it
// fine-tuned for a few steps), and its safety: tokens, the Host check, the files it serves and the ones it never does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findModels, resolveAppDataset } from "../src/app/catalog";
import { Explorer, normalizeQuestion } from "../src/app/explorer";
import { createAppServer, type AppServer } from "../src/app/server";
import { startApp } from "../src/app/start";
import { buildAppFixture, DATASET, QUESTIONS, XSS_TEXT, XSS_TITLE, type AppFixture } from "./app-fixture";

let fx: AppFixture;
let explorer: Explorer;
let server: AppServer;

before(async () => {
  fx = await buildAppFixture(mkdtempSync(join(tmpdir(), "app-api-")));
  const dataset = resolveAppDataset(DATASET, { runsDir: fx.runsDir, dataDir: join(fx.root, "no-shipped") });
  explorer = await Explorer.open(dataset, findModels(dataset.runsDir, "offline"));
  server = createAppServer({ explorer, reportsDir: fx.reportsDir });
});
after(() => server.app.close());

test("the catalog finds the course dataset and the fine-tuned model under runs/", () => {
  const dataset = resolveAppDataset(DATASET, { runsDir: fx.runsDir, dataDir: join(fx.root, "none") });
  assert.equal(dataset.source, "course");
  assert.equal(dataset.beir.corpus.size, 12);
  const models = findModels(dataset.runsDir, "offline");
  assert.equal(models.base.model, "offline (embedded default)");
  assert.deepEqual(
    models.tuned.map((t) => [t.system, t.spec, t.modelKey]),
    [["fine-tuned", fx.tunedDir, "abcdef123456"]],
  );
  assert.throws(
    () => resolveAppDataset("no-such-dataset", { runsDir: fx.runsDir, dataDir: join(fx.root, "none") }),
    /--dataset no-such-dataset: not a dataset the course built.*Run notebook 01/s,
  );
});

test("GET /api/search: BM25, base and every fine-tuned model, top k with id, score, title and text", async () => {
  const res = await server.app.inject({ method: "GET", url: "/api/search?q=working%20from%20home&k=3" });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.query, "working from home");
  assert.deepEqual(
    body.systems.map((s: { name: string; model: string }) => [s.name, s.model]),
    [
      ["BM25", "-"],
      ["base", "offline (embedded default)"],
      ["fine-tuned", `${DATASET}/offline/models/mnrl-abcdef123456/final`],
    ],
  );
  for (const s of body.systems) {
    assert.equal(s.hits.length, 3);
    for (const h of s.hits) {
      assert.deepEqual(Object.keys(h).sort(), ["id", "rank", "relevant", "score", "text", "title"]);
      assert.equal(typeof h.score, "number");
    }
    const scores = s.hits.map((h: { score: number }) => h.score);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
      `${s.name}: best first`,
    );
  }
  assert.equal(body.systems[0].hits[0].id, "remote", "BM25 finds the passage that shares the words");
  assert.equal(body.known, undefined, "not one of the dataset's questions");
  assert.equal(body.systems[0].rank, undefined);
});

test("a dataset question gets its relevant passage marked and its rank in each system", async () => {
  const q = QUESTIONS.find((x) => x.id === "q6") as (typeof QUESTIONS)[number];
  const res = await server.app.inject({
    method: "GET",
    url: `/api/search?q=${encodeURIComponent(`  ${q.text.toUpperCase()}? `)}&k=12`,
  });
  const body = res.json();
  assert.deepEqual(body.known, { queryId: "q6", split: "test", text: q.text, relevant: ["expenses"] });
  for (const s of body.systems) {
    const at = s.hits.findIndex((h: { id: string }) => h.id === "expenses");
    assert.equal(s.rank, at + 1, `${s.name}: rank = position of the relevant passage`);
    assert.ok(s.hits[at].relevant);
    assert.equal(s.hits.filter((h: { relevant: boolean }) => h.relevant).length, 1);
  }
  assert.equal(body.systems[2].rank, 1, "the fine-tuned model learned this question");
  assert.ok(body.systems[1].rank > 1, "the base model did not rank it first");
  assert.equal(normalizeQuestion(" What?? "), "what");
});

test("paging: offset gives the next ranks of the same ranking; bad k / offset / q are 400", async () => {
  const get = (qs: string) => server.app.inject({ method: "GET", url: `/api/search?${qs}` });
  const all = (await get("q=vacation%20days&k=10")).json();
  const second = (await get("q=vacation%20days&k=5&offset=5")).json();
  for (let s = 0; s < all.systems.length; s++) {
    assert.deepEqual(
      second.systems[s].hits.map((h: { id: string; rank: number }) => [h.id, h.rank]),
      all.systems[s].hits.slice(5, 10).map((h: { id: string; rank: number }) => [h.id, h.rank]),
    );
  }
  for (const [qs, msg] of [
    ["q=", /q is empty/],
    ["q=x&k=0", /k=0: expected an integer from 1 to 100/],
    ["q=x&k=abc", /k=abc/],
    ["q=x&offset=12", /offset=12: expected an integer from 0 to 11/],
  ] as const) {
    const res = await get(qs);
    assert.equal(res.statusCode, 400, qs);
    assert.match(res.json().error, msg);
  }
});

test("GET /api/examples: what fine-tuning fixed and broke on the test split, measured", async () => {
  const ex = (await server.app.inject({ method: "GET", url: "/api/examples" })).json();
  assert.equal(ex.split, "test");
  assert.equal(ex.queries, QUESTIONS.filter((q) => q.split === "test").length);
  const m = ex.models[0];
  assert.equal(m.system, "fine-tuned");
  assert.ok(m.fixed.length >= 1);
  for (const q of m.fixed) {
    assert.equal(q.tunedRank, 1);
    assert.notEqual(q.baseRank, 1);
    // The ranks are the ones a search shows.
    const s = (await server.app.inject({ method: "GET", url: `/api/search?q=${encodeURIComponent(q.text)}` })).json();
    assert.equal(s.systems[1].rank, q.baseRank);
    assert.equal(s.systems[2].rank, 1);
  }
  for (const q of m.broke) assert.equal(q.baseRank, 1);
  assert.ok(m.improved >= m.fixed.length);
});

test("texts come back as the characters they are; pages carry a CSP that allows no inline script", async () => {
  const s = (await server.app.inject({ method: "GET", url: "/api/passages/badges" })).json();
  assert.equal(s.title, XSS_TITLE);
  assert.equal(s.text, XSS_TEXT);
  for (const page of ["/review", "/explore", "/runs"]) {
    const res = await server.app.inject({ method: "GET", url: page });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] as string, /text\/html/);
    assert.match(res.headers["content-security-policy"] as string, /script-src 'self';/);
    assert.doesNotMatch(res.body, /\{\{|<script>/, "no placeholder left, no inline script");
  }
});

test("files: a fixed list of assets and the exported notebooks; nothing else, whatever the path", async () => {
  const get = (url: string) => server.app.inject({ method: "GET", url });
  assert.equal((await get("/static/app.css")).statusCode, 200);
  assert.equal((await get("/static/plotly.min.js")).statusCode, 200);
  const nb = await get("/reports/01_synthetic_data.html");
  assert.equal(nb.statusCode, 200);
  assert.match(nb.headers["content-security-policy"] as string, /^sandbox allow-scripts/);
  for (const url of [
    "/static/../../package.json",
    "/static/..%2F..%2Fpackage.json",
    "/static/page.html",
    "/reports/results.json",
    "/reports/..%2Fsecret.txt",
    "/reports/%2e%2e%2fsecret.txt",
    "/../secret.txt",
    "/secret.txt",
    "/api/passages/..%2F..%2Fsecret.txt",
  ]) {
    const res = await get(url);
    assert.equal(res.statusCode, 404, url);
    assert.match(res.headers["content-type"] as string, /application\/json/, url);
    assert.doesNotMatch(res.body, /not to be served/, url);
  }
  const unknown = await server.app.inject({ method: "DELETE", url: "/api/review/x" });
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().error, /No route DELETE \/api\/review\/x/);
});

test("GET /api/runs: results rows with and without a setting, and the exported notebooks", async () => {
  const runs = (await server.app.inject({ method: "GET", url: "/api/runs" })).json();
  assert.equal(runs.results.length, 5);
  assert.equal(runs.results.filter((r: { setting?: string }) => r.setting === "new questions").length, 2);
  assert.deepEqual(
    runs.notebooks.map((n: { href: string }) => n.href),
    ["/reports/01_synthetic_data.html"],
  );
  const empty = createAppServer({ reportsDir: join(fx.root, "no-reports") });
  const none = (await empty.app.inject({ method: "GET", url: "/api/runs" })).json();
  assert.deepEqual([none.exists, none.results, none.notebooks], [false, [], []]);
  const review = await empty.app.inject({ method: "GET", url: "/api/review" });
  assert.equal(review.statusCode, 404);
  assert.match(review.json().error, /Nothing to review.*--pairs/);
  assert.equal((await empty.app.inject({ method: "GET", url: "/api/search?q=x" })).statusCode, 404);
});

test("loopback without a token refuses a foreign Host (DNS rebinding)", async () => {
  const ok = await server.app.inject({ method: "GET", url: "/api/runs", headers: { host: "127.0.0.1:8765" } });
  assert.equal(ok.statusCode, 200);
  const evil = await server.app.inject({ method: "GET", url: "/api/runs", headers: { host: "evil.example:8765" } });
  assert.equal(evil.statusCode, 403);
  assert.match(evil.json().error, /not this machine/);
});

test("a token is checked on every request: header, or the cookie that /?token= sets", async () => {
  const app = createAppServer({ reportsDir: fx.reportsDir, token: "s3cret", host: "0.0.0.0" }).app;
  for (const url of ["/api/runs", "/review", "/static/app.css", "/reports/01_synthetic_data.html", "/nope"]) {
    const res = await app.inject({ method: "GET", url, headers: { host: "10.0.0.5:8765" } });
    assert.equal(res.statusCode, 401, url);
    assert.match(res.json().error, /needs its token/);
  }
  const wrong = await app.inject({ method: "GET", url: "/api/runs", headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().error, "Wrong token.");
  const bearer = await app.inject({ method: "GET", url: "/api/runs", headers: { authorization: "Bearer s3cret" } });
  assert.equal(bearer.statusCode, 200);
  const open = await app.inject({ method: "GET", url: "/runs?token=s3cret" });
  assert.equal(open.statusCode, 303);
  assert.equal(open.headers.location, "/runs", "the token leaves the address bar");
  const cookie = String(open.headers["set-cookie"]);
  assert.match(cookie, /HttpOnly; SameSite=Strict/);
  const withCookie = await app.inject({ method: "GET", url: "/api/runs", headers: { cookie: cookie.split(";")[0] } });
  assert.equal(withCookie.statusCode, 200);
  await assert.rejects(
    startApp({ host: "0.0.0.0", runsDir: fx.runsDir, reportsDir: fx.reportsDir, dataset: DATASET, model: "offline" }),
    /--host 0.0.0.0 serves other machines: give --token/,
  );
});
