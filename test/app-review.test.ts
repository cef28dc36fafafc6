// The Review page's API and its sheet: decisions written at once in importReview's format, other cells kept as
// they were, version conflicts between tabs, a sheet changed on disk reloaded (not overwritten), bad input.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCsv } from "../src/data/csv";
import { exportForReview, importReview } from "../src/data/review";
import type { DataError } from "../src/data/types";
import { writeJsonl } from "../src/data/jsonl";
import { resolveReviewSource } from "../src/app/catalog";
import { ReviewStore } from "../src/app/review-store";
import { createAppServer, type AppServer } from "../src/app/server";
import { buildAppFixture, XSS_QUESTION, type AppFixture } from "./app-fixture";

let fx: AppFixture;

before(async () => {
  fx = await buildAppFixture(mkdtempSync(join(tmpdir(), "app-review-")), { tune: false });
});

function serverFor(sheet: string): AppServer {
  const titles = new Map(fx.corpus.map((c) => [c._id, c.title]));
  return createAppServer({ review: { sheet, from: sheet }, reportsDir: fx.reportsDir, titles: (id) => titles.get(id) });
}

/** POST a decision for `item` as a page does, naming the version it saw. */
function decideAs(app: AppServer["app"], item: { id: string; version: string }, decision: string) {
  return app.inject({ method: "POST", url: `/api/review/${item.id}`, payload: { decision, version: item.version } });
}

function freshSheet(name: string): string {
  const path = join(fx.root, name);
  copyFileSync(fx.sheet, path);
  return path;
}

test("GET /api/review lists every pair with its passage, title, generator and the quality filters' flags", async () => {
  const { app } = serverFor(freshSheet("list.csv"));
  const res = await app.inject({ method: "GET", url: "/api/review" });
  assert.equal(res.statusCode, 200);
  const page = res.json();
  assert.equal(page.counts.total, fx.pairs.length);
  assert.equal(page.counts.pending, fx.pairs.length);
  const first = page.items[0];
  assert.equal(first.anchor, fx.pairs[0].anchor);
  assert.equal(first.title, fx.corpus[0].title);
  assert.equal(first.passage, fx.corpus[0].text, "the passage without its title line");
  assert.equal(first.generator, "llm:test-model");
  assert.equal(first.extra.template, "says_about");
  // The repeated question and the one-word question are flagged by the filters that would remove them.
  const dup = page.items[fx.pairs.length - 2];
  assert.deepEqual(dup.flags, [{ filter: "exact_duplicate", level: "fails" }]);
  const short = page.items[fx.pairs.length - 1];
  assert.ok(short.flags.some((f: { filter: string }) => f.filter === "too_short"));
  assert.equal(page.counts.flagged, page.items.filter((i: { flags: unknown[] }) => i.flags.length > 0).length);
  // The XSS question comes back as the text it is (the page sets it with textContent).
  assert.ok(page.items.some((i: { anchor: string }) => i.anchor === XSS_QUESTION));
});

test("filters: pending / flagged / by generator / text search, with paging", async () => {
  const { app } = serverFor(freshSheet("filters.csv"));
  const get = async (q: string) => (await app.inject({ method: "GET", url: `/api/review?${q}` })).json();
  const all = await get("");
  const flagged = await get("status=flagged");
  assert.ok(flagged.matching >= 2 && flagged.matching < all.matching);
  const llm = await get("generator=llm%3Atest-model");
  assert.equal(llm.matching, 4 + 1); // passages 0, 3, 6, 9 and the duplicate of row 0
  assert.ok(llm.items.every((i: { generator: string }) => i.generator === "llm:test-model"));
  const text = await get("q=PARENTAL");
  assert.equal(text.matching, 1);
  assert.equal(text.items[0].positiveId, "parental");
  const paged = await get("offset=3&limit=2");
  assert.deepEqual(
    paged.items.map((i: { id: string }) => i.id),
    all.items.slice(3, 5).map((i: { id: string }) => i.id),
  );
  const id = all.items[0].id;
  await app.inject({ method: "POST", url: `/api/review/${id}`, payload: { decision: "accept" } });
  const pending = await get("status=pending");
  assert.equal(pending.matching, all.matching - 1);
  assert.ok(!pending.items.some((i: { id: string }) => i.id === id));
  const bad = await app.inject({ method: "GET", url: "/api/review?status=done" });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error, /status=done/);
});

test("accept, reject and edit are written at once in the sheet's format; importReview returns them", async () => {
  const sheet = freshSheet("decide.csv");
  const before = parseCsv(readFileSync(sheet, "utf8"), sheet);
  const { app } = serverFor(sheet);
  const items = (await app.inject({ method: "GET", url: "/api/review" })).json().items;
  const post = (id: string, payload: object) => app.inject({ method: "POST", url: `/api/review/${id}`, payload });
  assert.equal((await post(items[0].id, { decision: "accept", version: items[0].version })).statusCode, 200);
  assert.equal((await post(items[1].id, { decision: "reject", version: items[1].version })).statusCode, 200);
  const edited = await post(items[2].id, {
    decision: "edit",
    anchor: "  how long is parental   leave? ",
    version: items[2].version,
  });
  assert.equal(edited.statusCode, 200);
  assert.equal(edited.json().item.decision, "fix");
  assert.equal(edited.json().counts.accept + edited.json().counts.reject + edited.json().counts.fix, 3);

  // On disk, now (no server left to flush anything): importReview sees the three decisions.
  const r = importReview(sheet);
  assert.deepEqual(r.counts, { accept: 1, reject: 1, fix: 1, pending: fx.pairs.length - 3 });
  assert.equal(r.accepted[0].anchor, fx.pairs[0].anchor);
  assert.equal(r.accepted[1].anchor, "how long is parental leave?");
  assert.equal(r.accepted[1].original_anchor, fx.pairs[2].anchor);
  assert.equal(r.rejected[0].anchor, fx.pairs[1].anchor);
  // Every cell but decision / edited_anchor is as exported, in the same columns.
  const after = parseCsv(readFileSync(sheet, "utf8"), sheet);
  assert.deepEqual(after.header, before.header);
  const d = after.header.indexOf("decision");
  const e = after.header.indexOf("edited_anchor");
  after.records.forEach((rec, i) => {
    const strip = (f: string[]) => f.filter((_, j) => j !== d && j !== e);
    assert.deepEqual(strip(rec.fields), strip(before.records[i].fields), `row ${i + 1}`);
  });
  assert.deepEqual(
    after.records.slice(0, 4).map((rec) => [rec.fields[d], rec.fields[e]]),
    [
      ["accept", ""],
      ["reject", ""],
      ["fix", "how long is parental leave?"],
      ["", ""],
    ],
  );

  // Undo is a decision too: back to pending clears both cells.
  const undo = await post(items[2].id, { decision: "pending" });
  assert.equal(undo.json().item.decision, "pending");
  assert.equal(importReview(sheet).counts.fix, 0);
});

test("two tabs: a stale version gets 409 with the current decision; decisions on other pairs are kept", async () => {
  const sheet = freshSheet("tabs.csv");
  const tabA = serverFor(sheet).app;
  const tabB = serverFor(sheet).app; // a second app on the same file is at least as hard as a second tab
  const items = (await tabA.inject({ method: "GET", url: "/api/review" })).json().items;
  const a = await decideAs(tabA, items[0], "accept");
  assert.equal(a.statusCode, 200);
  // Tab B still shows the old version of pair 0.
  const b = await decideAs(tabB, items[0], "reject");
  assert.equal(b.statusCode, 409);
  assert.match(b.json().error, /changed elsewhere.*now accepted/);
  assert.equal(b.json().current.decision, "accept");
  // Tab B decides another pair: tab A's decision survives.
  const c = await decideAs(tabB, items[1], "reject");
  assert.equal(c.statusCode, 200);
  const r = importReview(sheet);
  assert.equal(r.counts.accept, 1);
  assert.equal(r.counts.reject, 1);
});

test("a sheet edited on disk underneath (a spreadsheet) is reloaded, not overwritten", async () => {
  const sheet = freshSheet("underneath.csv");
  const { app } = serverFor(sheet);
  const items = (await app.inject({ method: "GET", url: "/api/review" })).json().items;
  // Someone else rejects row 5 in the file itself.
  const other = new ReviewStore(sheet);
  other.decide(items[5].id, { decision: "reject" });
  const res = await decideAs(app, items[0], "accept");
  assert.equal(res.statusCode, 200);
  const r = importReview(sheet);
  assert.equal(r.counts.accept, 1);
  assert.equal(r.counts.reject, 1, "the decision made on disk is still there");
  const list = (await app.inject({ method: "GET", url: "/api/review" })).json();
  assert.equal(list.items[5].decision, "reject");
  assert.notEqual(list.revision, undefined);
});

test("unknown ids are 404 JSON; bad decisions are 400 with what to send", async () => {
  const { app } = serverFor(freshSheet("bad.csv"));
  const items = (await app.inject({ method: "GET", url: "/api/review" })).json().items;
  for (const res of [
    await app.inject({ method: "GET", url: "/api/review/nope" }),
    await app.inject({ method: "POST", url: "/api/review/nope", payload: { decision: "accept" } }),
  ]) {
    assert.equal(res.statusCode, 404);
    assert.match(res.headers["content-type"] as string, /application\/json/);
    assert.match(res.json().error, /no pair with id "nope"/);
  }
  const post = (payload: unknown, type = "application/json") =>
    app.inject({
      method: "POST",
      url: `/api/review/${items[0].id}`,
      payload: payload as string,
      headers: { "content-type": type },
    });
  assert.match((await post({ decision: "maybe" })).json().error, /decision "maybe": use accept, reject, edit/);
  assert.equal((await post({ decision: "edit" })).statusCode, 400);
  assert.match((await post({ decision: "edit", anchor: "   " })).json().error, /needs "anchor"/);
  assert.match((await post({ decision: "accept", anchor: "x" })).json().error, /goes with decision "edit"/);
  assert.equal((await post({ decision: "accept", anchor: 3 })).statusCode, 400);
  assert.equal((await post([1, 2])).statusCode, 400);
  // A cross-site form can only send text/plain: not a JSON object, refused.
  assert.equal((await post("decision=accept", "text/plain")).statusCode, 400);
  assert.equal(importReview(join(fx.root, "bad.csv")).counts.pending, fx.pairs.length, "nothing was written");
});

test("a spreadsheet's ';' sheet with a BOM keeps its delimiter and BOM; a line with missing fields blocks writing", () => {
  const path = join(fx.root, "semicolon.csv");
  writeFileSync(
    path,
    "\uFEFFdecision;edited_anchor;anchor;positive;note\r\n;;q one;passage one;x\r\n;;q two;passage, two;y\r\n",
  );
  const store = new ReviewStore(path);
  const [one] = store.list().items;
  store.decide(one.id, { decision: "accept" });
  const text = readFileSync(path, "utf8");
  assert.equal(
    text,
    "\uFEFFdecision;edited_anchor;anchor;positive;note\r\naccept;;q one;passage one;x\r\n;;q two;passage, two;y\r\n",
  );
  assert.equal(importReview(path).counts.accept, 1);
  // A line with 6 fields for 5 columns: writing could shift its cells, so the app refuses and names the line.
  writeFileSync(path, `${text};;q two;passage; two;y\r\n`);
  assert.match(store.list().items[2].problem, /6 fields, the header has 5/);
  assert.throws(() => store.decide(one.id, { decision: "reject" }), /line 4: 6 fields.*Fix that line/);
});

test("a line's problem on the page is the error importReview gives for it; a sheet without its columns is a 422", async () => {
  const path = join(fx.root, "problems.csv");
  writeFileSync(
    path,
    "decision,edited_anchor,anchor,positive\r\nmaybe,,q one,p one\r\nfix,,q two,p two\r\n,x,q three,p three\r\n" +
      "accept,,,p four\r\naccept,,q five,p five\r\n",
  );
  const items = new ReviewStore(path).list().items;
  const reasons = new Map<number, string>();
  try {
    importReview(path);
    assert.fail("importReview should reject the sheet");
  } catch (err) {
    for (const issue of (err as DataError).issues) reasons.set(issue.line as number, issue.reason);
  }
  assert.equal(reasons.size, 4);
  for (const item of items) assert.equal(item.problem, reasons.get(item.line) ?? "", `line ${item.line}`);
  assert.equal(items[4].decision, "accept");
  const notSheet = join(fx.root, "not-a-sheet.csv");
  writeFileSync(notSheet, "anchor,positive\r\nq,p\r\n");
  const res = await serverFor(notSheet).app.inject({ method: "GET", url: "/api/review" });
  assert.equal(res.statusCode, 422);
  assert.match(res.json().error, /not-a-sheet\.csv line 1: missing column\(s\) "decision", "edited_anchor"/);
});

test("--pairs: a pairs file gets a review sheet beside it; a CSV that is not a sheet is refused", () => {
  const pairs = join(fx.root, "my-pairs.jsonl");
  writeJsonl(pairs, fx.pairs.slice(0, 3));
  const src = resolveReviewSource(pairs, undefined);
  assert.equal(src?.sheet, join(fx.root, "my-pairs.review.csv"));
  assert.match(src?.created ?? "", /3 pairs/);
  assert.equal(importReview(src?.sheet as string).counts.pending, 3);
  // Second start: the same sheet, not exported again (decisions kept).
  new ReviewStore(src?.sheet as string).decide(new ReviewStore(src?.sheet as string).list().items[0].id, {
    decision: "reject",
  });
  assert.equal(resolveReviewSource(pairs, undefined)?.created, undefined);
  assert.equal(importReview(src?.sheet as string).counts.reject, 1);
  const notSheet = join(fx.root, "plain.csv");
  writeFileSync(notSheet, "a,b\n1,2\n");
  assert.throws(() => resolveReviewSource(notSheet, undefined), /must be a review sheet/);
  assert.throws(() => resolveReviewSource(join(fx.root, "absent.jsonl"), undefined), /no such file/);
});

test("without --pairs: notebook 01's newest sheet is copied to review/reviewed.csv, which is then kept", () => {
  const src = resolveReviewSource(undefined, fx.datasetDir);
  assert.equal(src?.sheet, join(fx.datasetDir, "review", "reviewed.csv"));
  assert.match(src?.created ?? "", /copied/);
  const store = new ReviewStore(src?.sheet as string);
  store.decide(store.list().items[0].id, { decision: "accept" });
  const again = resolveReviewSource(undefined, fx.datasetDir);
  assert.equal(again?.created, undefined);
  assert.equal(importReview(again?.sheet as string).counts.accept, 1);
  assert.equal(resolveReviewSource(undefined, join(fx.root, "no-such-run")), undefined);
  // Notebook 01 exports a newer sheet with one more pair: the review goes on in reviewed.csv, and says so.
  const newer = join(fx.datasetDir, "review", "sheet-fedcba987654.csv");
  exportForReview(
    [...fx.pairs, { anchor: "a new question about parking", positive: "Parking\nPark in lot B." }],
    newer,
  );
  utimesSync(newer, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
  const third = resolveReviewSource(undefined, fx.datasetDir);
  assert.equal(third?.sheet, again?.sheet);
  assert.match(
    third?.notice ?? "",
    /^1 pair\(s\) of .*sheet-fedcba987654\.csv .* are not in .*reviewed\.csv.*move reviewed\.csv away/,
  );
  assert.equal(importReview(third?.sheet as string).counts.accept, 1, "the review is untouched");
});
