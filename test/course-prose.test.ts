// The course's prose agrees with its results: every hand-written claim in a notebook's markdown
// (`<!-- claim: ... -->`) and every figure a cell showed through nb.recordFact holds against results.json (see
// ./course-claims for the syntax). With an executed course under reports/ (npm run course) it checks those
// notebooks against reports/results.json; otherwise the notebooks in notebooks/ against a committed run's results
// (test/fixtures/notebooks/prose/results.json). Fast: it reads JSON only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readResults, type ResultsFile } from "../src/course/results";
import { checkClaim, checkNotebook } from "./course-claims";

const root = join(__dirname, "..");
const fixtures = join(__dirname, "fixtures", "notebooks", "prose");
const reports = process.env.COURSE_REPORTS_DIR ?? join(root, "reports");
const executed =
  existsSync(join(reports, "results.json")) && (readResults(join(reports, "results.json")).facts ?? []).length > 0;
const folder = executed ? reports : join(root, "notebooks");
const fixture: ResultsFile = readResults(join(fixtures, "results.json"));
const results: ResultsFile = executed ? readResults(join(reports, "results.json")) : fixture;
const notebooks = readdirSync(folder)
  .filter((f) => /^\d\d_.*\.ipynb$/.test(f))
  .sort();

test(`the notebooks' claims hold against ${executed ? "reports/results.json" : "the fixture run"}`, () => {
  assert.ok(notebooks.length > 0, `no notebooks in ${folder}`);
  const checks = notebooks.flatMap((f) => checkNotebook(f, JSON.parse(readFileSync(join(folder, f), "utf8")), results));
  // The course does make claims: the questions per passage (01), the base model against BM25 (02), the training
  // runs and the fine-tuned model against BM25 (03).
  assert.ok(checks.length >= 4, `only ${checks.length} claims found`);
  const failed = checks.filter((c) => !c.ok).map((c) => `${c.notebook} cell ${c.cell}: ${c.claim}: ${c.why}`);
  assert.deepEqual(failed, []);
});

test("a claim or a figure that disagrees with the results fails, naming what the results say", () => {
  const nb = JSON.parse(readFileSync(join(fixtures, "wrong.ipynb"), "utf8"));
  const checks = checkNotebook("wrong.ipynb", nb, fixture);
  const by = (claim: RegExp) => checks.find((c) => claim.test(c.claim));
  assert.match(
    by(/chosen\.questions/)?.why ?? "",
    /says "\+ generated questions \+ domain pairs", results say .*"training questions only"/,
  );
  assert.match(by(/questionsPerChunk = 5/)?.why ?? "", /results say .*"3"/);
  assert.match(by(/verdict test/)?.why ?? "", /says "up", results say .*"down"/);
  assert.match(by(/figure training\.questions\.seconds/)?.why ?? "", /shows "9", recorded "\d+(\.\d)?"/);
  assert.equal(checks.filter((c) => c.ok).length, 1, "the one true claim of the fixture holds");
});

test("claims read their conditions: another dataset's claim is not applicable, an unknown subject is an error", () => {
  assert.equal(checkClaim(fixture, "claim when dataset=nowhere: fact chosen.questions = x").ok, true);
  assert.match(checkClaim(fixture, "claim when colour=red: fact x = y").why, /unknown condition "colour"/);
  assert.match(checkClaim(fixture, "claim no colon here").why, /cannot read the claim/);
  assert.throws(() => checkClaim(fixture, "claim: size of it = 3"), /unknown claim subject "size of it"/);
});
