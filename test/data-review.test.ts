import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCsv, toCsv } from "../src/data/csv";
import { exampleDecisions, exportForReview, importReview, writeDecisions } from "../src/data/review";
import { DataError, type PairRow } from "../src/data/types";

test("CSV: RFC 4180 quoting round-trips; records know the line they start on", () => {
  const rows = [
    { a: 'say "hi", then go', b: "two\nlines" },
    { a: " edge ", b: "é ü 中" },
    { a: "", b: "x" },
  ];
  const text = toCsv(["a", "b"], rows);
  assert.equal(text, 'a,b\r\n"say ""hi"", then go","two\nlines"\r\n" edge ",é ü 中\r\n,x\r\n');
  const parsed = parseCsv(text, "f.csv");
  assert.deepEqual(parsed.header, ["a", "b"]);
  assert.deepEqual(parsed.records, [
    { line: 2, fields: ['say "hi", then go', "two\nlines"] },
    { line: 4, fields: [" edge ", "é ü 中"] },
    { line: 5, fields: ["", "x"] },
  ]);
  // What a spreadsheet in a comma-decimal locale saves: BOM, ";" delimiter, no final newline.
  assert.deepEqual(parseCsv("\ufeffa;b\n1,5;x", "g.csv").records, [{ line: 2, fields: ["1,5", "x"] }]);
  assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n', "h.csv"), /h\.csv line 2: a quoted field is never closed/);
});

const generated: PairRow[] = [
  {
    anchor: "how much pto per month",
    positive: "Leave\nStaff accrue 1.5 days of PTO per month.",
    positive_id: "leave#0",
    doc_id: "leave",
    generator: "llm:m",
  },
  {
    anchor: "sso what",
    positive: "IT\nSSO is required, with MFA.",
    positive_id: "it#0",
    doc_id: "it",
    generator: "llm:m",
  },
  {
    anchor: "per diem, meals",
    positive: 'Travel\nPer diem is 60 USD ("meals").',
    positive_id: "travel#0",
    doc_id: "travel",
    generator: "llm:m",
  },
  {
    anchor: "irrelevant",
    positive: "Travel\nBook 14 days ahead.",
    positive_id: "travel#1",
    doc_id: "travel",
    generator: "llm:m",
  },
];

function review(decisions: [string, string][]): string {
  const dir = mkdtempSync(join(tmpdir(), "review-"));
  const file = join(dir, "review.csv");
  const columns = exportForReview(generated, file);
  assert.deepEqual(columns, ["decision", "edited_anchor", "anchor", "positive", "positive_id", "doc_id", "generator"]);
  // The reviewer's edits, as a spreadsheet would save them.
  const { header, records } = parseCsv(readFileSync(file, "utf8"), file);
  const edited = records.map((r, i) => {
    const row = Object.fromEntries(header.map((h, k) => [h, r.fields[k]]));
    return { ...row, decision: decisions[i][0], edited_anchor: decisions[i][1] };
  });
  writeFileSync(file, toCsv(header, edited));
  return file;
}

test("review round trip: accept, fix (edit applied, original kept), reject, pending", () => {
  const file = review([
    ["accept", ""],
    ["Fix ", "how do i set up single sign-on"],
    ["reject", ""],
    ["", ""],
  ]);
  const result = importReview(file);
  assert.deepEqual(result.counts, { accept: 1, reject: 1, fix: 1, pending: 1 });
  assert.deepEqual(result.accepted, [
    { ...generated[0], review: "accept" },
    { ...generated[1], anchor: "how do i set up single sign-on", original_anchor: "sso what", review: "fix" },
  ]);
  assert.deepEqual(result.rejected, [generated[2]]);
  assert.deepEqual(result.pending, [generated[3]]);
});

test("invalid decisions are all reported with their line numbers", () => {
  // Every positive holds a line break (title, then text) inside quotes, so records start on lines 2, 4, 6, 8.
  const file = review([
    ["maybe", ""],
    ["fix", ""],
    ["accept", "edited anyway"],
    ["", "an edit"],
  ]);
  try {
    importReview(file);
    assert.fail("expected an error");
  } catch (err) {
    assert.ok(err instanceof DataError);
    assert.deepEqual(
      err.issues.map((i) => `${i.line}: ${i.reason}`),
      [
        '2: unknown decision "maybe"; use accept, reject or fix (or leave it empty)',
        "4: decision fix needs the corrected question in edited_anchor",
        '6: edited_anchor is filled but decision is accept; write "fix" to use the edit',
        '8: edited_anchor is filled but decision is empty; write "fix" to use the edit',
      ],
    );
  }
  const noHeader = join(mkdtempSync(join(tmpdir(), "review-")), "r.csv");
  writeFileSync(noHeader, "anchor,positive\nq,p\n");
  assert.throws(() => importReview(noHeader), /r\.csv line 1: missing column\(s\) "decision", "edited_anchor"/);
});

test("exporting over a sheet that holds decisions (a reviewer's work) is refused; an untouched sheet is replaced", () => {
  const file = review([
    ["accept", ""],
    ["", ""],
    ["reject", ""],
    ["", ""],
  ]);
  const before = readFileSync(file, "utf8");
  assert.throws(
    () => exportForReview(generated, file),
    /already holds 2 review decisions, which exporting would overwrite\. Import it first \(importReview\), choose another path, or pass \{ overwrite: true \}/,
  );
  assert.equal(readFileSync(file, "utf8"), before);
  exportForReview(generated, file, { overwrite: true });
  assert.equal(importReview(file).counts.pending, 4);
  exportForReview(generated.slice(0, 2), file); // all pending: nothing to lose
  assert.equal(importReview(file).counts.pending, 2);
  const other = join(mkdtempSync(join(tmpdir(), "review-")), "notes.csv");
  writeFileSync(other, "my,own\ncsv,file\n");
  assert.throws(() => exportForReview(generated, other), /exists and is not a review sheet/);
});

test("a reviewer's first decisions: fix a swapped-letter typo from the passage, reject an ambiguous question", () => {
  const rows = [
    { anchor: "who qaulifies for the bonus", positive: "Employees who qualifies for the bonus...", positive_id: "p1" },
    { anchor: "parking rules", positive: "Park in lot B.", positive_id: "p2" },
    { anchor: "Parking rules?", positive: "Visitors park in lot A.", positive_id: "p3" },
  ];
  const d = exampleDecisions(rows);
  assert.deepEqual(
    d.map((x) => [x.row, x.decision, x.edited ?? ""]),
    [
      [0, "fix", "who qualifies for the bonus"],
      [2, "reject", ""],
    ],
  );
  // Written into a copy of the sheet, importReview applies them; the sheet itself stays undecided.
  const dir = mkdtempSync(join(tmpdir(), "decisions-"));
  const [sheet, copy] = [join(dir, "sheet.csv"), join(dir, "reviewed-example.csv")];
  exportForReview(rows, sheet);
  writeDecisions(sheet, d, copy);
  const back = importReview(copy);
  assert.deepEqual(back.counts, { accept: 0, reject: 1, fix: 1, pending: 1 });
  assert.equal(back.accepted[0].anchor, "who qualifies for the bonus");
  assert.equal(importReview(sheet).counts.pending, 3);
});
