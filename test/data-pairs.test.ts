import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { negativeColumns, pairsToDataFrame, readPairs, writePairs } from "../src/data/pairs";
import type { PairRow } from "../src/data/types";

const dir = mkdtempSync(join(tmpdir(), "pairs-"));
const triplets: PairRow[] = [
  {
    anchor: "how much pto do I get",
    positive: "Staff accrue 1.5 days of PTO per month.",
    negative_1: "Per diem is 60 USD.",
    negative_2: "Book flights 14 days ahead.",
    doc_id: "leave",
  },
  {
    anchor: "sso setup",
    positive: "Single sign-on is required.",
    negative_1: "PTO carries over.",
    negative_2: "Lost laptops: call the desk.",
    doc_id: "it",
    generator: "offline template generator",
  },
];

test("JSONL: written with anchor/positive/negatives first, read back identically", () => {
  const file = join(dir, "t.jsonl");
  writePairs(file, triplets);
  assert.equal(
    readFileSync(file, "utf8").split("\n")[1],
    '{"anchor":"sso setup","positive":"Single sign-on is required.","negative_1":"PTO carries over.","negative_2":"Lost laptops: call the desk.","doc_id":"it","generator":"offline template generator"}',
  );
  const back = readPairs(file);
  assert.deepEqual(back.rows, triplets);
  assert.deepEqual(back.negatives, ["negative_1", "negative_2"]);
});

test("Parquet through polars: same rows back, optional columns null where absent", () => {
  const file = join(dir, "t.parquet");
  writePairs(file, triplets);
  const df = pl.readParquet(file);
  assert.deepEqual(df.columns, ["anchor", "positive", "negative_1", "negative_2", "doc_id", "generator"]);
  assert.deepEqual(df.getColumn("generator").toArray(), [null, "offline template generator"]);
  assert.deepEqual(readPairs(file).rows, triplets);
  writePairs(join(dir, "empty.parquet"), []);
  assert.equal(readPairs(join(dir, "empty.parquet")).rows.length, 0);
});

test("bad rows are listed with their lines, or skipped and reported", () => {
  const file = join(dir, "bad.jsonl");
  writeFileSync(
    file,
    [
      '{"anchor": "a", "positive": "p"}',
      '{"anchor": "a"}',
      '{"anchor": " ", "positive": 3}',
      "{oops",
      '{"anchor": "b", "positive": "q"}',
    ].join("\n"),
  );
  assert.throws(
    () => readPairs(file),
    (err: Error) => {
      const lines = err.message.split("\n");
      assert.deepEqual(
        lines.map((l) => l.replace(/ line (\d+):.*/, " $1")),
        [`${file} 2`, `${file} 3`, `${file} 4`],
      );
      assert.match(lines[2], /line 4: malformed JSON \(Expected property name/);
      return true;
    },
  );
  const skipped = readPairs(file, { onInvalid: "skip" });
  assert.deepEqual(
    skipped.rows.map((r) => r.positive),
    ["p", "q"],
  );
  assert.deepEqual(
    skipped.skipped.map((i) => `${i.line}: ${i.reason.replace(/ \(Expected.*/, "")}`),
    [
      '2: missing field "positive"',
      '3: field "anchor" is empty; field "positive" must be a string, got number',
      "4: malformed JSON",
    ],
  );
});

test("negative columns must be `negative` or negative_1..n, and a Parquet file needs anchor/positive", () => {
  assert.deepEqual(negativeColumns(["anchor", "negative_2", "negative_1", "negative_10"].slice(0, 3)), [
    "negative_1",
    "negative_2",
  ]);
  assert.throws(
    () => negativeColumns(["negative_1", "negative_3"]),
    /column "negative_2" is missing before "negative_3"/,
  );
  assert.throws(() => negativeColumns(["negative", "negative_1"]), /both "negative" and "negative_1"/);
  const file = join(dir, "nopos.parquet");
  pl.DataFrame({ anchor: ["a"], text: ["b"] }).writeParquet(file);
  assert.throws(() => readPairs(file), /nopos\.parquet: missing column "positive" \(columns: anchor, text\)/);
  assert.throws(
    () => writePairs(join(dir, "x.jsonl"), [{ anchor: "a", positive: "" }]),
    /rows line 1: field "positive" is empty \(not written to/,
  );
  assert.equal(pairsToDataFrame(triplets).height, 2);
});
