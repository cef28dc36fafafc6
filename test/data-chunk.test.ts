import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chunkDocument, chunkFolder, markdownSections, windows } from "../src/data/chunk";

const DOCS = join(__dirname, "fixtures", "data", "docs");

test("windows: size and overlap in units, every window adds a new word", () => {
  const ones = new Array(10).fill(1);
  assert.deepEqual(windows(ones, 4, 1), [
    [0, 4],
    [3, 7],
    [6, 10],
  ]);
  assert.deepEqual(windows(ones, 4, 2), [
    [0, 4],
    [2, 6],
    [4, 8],
    [6, 10],
  ]);
  assert.deepEqual(windows(ones, 4, 0), [
    [0, 4],
    [4, 8],
    [8, 10],
  ]);
  // Token costs: a 5-token word larger than size 4 is a chunk of its own; no window repeats an older one.
  assert.deepEqual(windows([1, 3, 1, 1, 5, 1], 4, 1), [
    [0, 2],
    [2, 4],
    [4, 5],
    [5, 6],
  ]);
});

test("markdown sections: front matter dropped, code fences are not headings, setext headings count", () => {
  const sections = markdownSections(
    "---\nowner: x\n---\nintro\n# A\n\ntext a\n```\n# code\n```\n## B #\nb\n\nC\n---\nc\nd\n---\n",
  );
  assert.deepEqual(sections, [
    { path: [], body: "intro" },
    { path: ["A"], body: "\ntext a\n```\n# code\n```" },
    { path: ["A", "B"], body: "b\n" },
    // "---" right under a text line that follows text is a thematic break here, not a heading.
    { path: ["A", "C"], body: "c\nd\n---\n" },
  ]);
});

test("a chunk never spans two sections; titles are heading paths; ids are <doc>#<k>", () => {
  const chunks = chunkDocument("t.md", "# T\none two three four five six\n## S\nseven eight", { size: 4, overlap: 1 });
  assert.deepEqual(chunks, [
    { _id: "t.md#0", doc_id: "t.md", title: "T", text: "one two three four" },
    { _id: "t.md#1", doc_id: "t.md", title: "T", text: "four five six" },
    { _id: "t.md#2", doc_id: "t.md", title: "T > S", text: "seven eight" },
  ]);
  // By tokens: a word costs what the counter says (here: its length in characters, as a stand-in tokenizer).
  const byTokens = chunkDocument("u.txt", "aa bbbb c dd", {
    markdown: false,
    unit: "tokens",
    countTokens: (w) => w.length,
    size: 6,
    overlap: 2,
  });
  assert.deepEqual(
    byTokens.map((c) => c.text),
    ["aa bbbb", "c dd"],
  );
  assert.throws(() => chunkDocument("x", "a", { unit: "tokens" }), /needs options.countTokens/);
  assert.throws(() => chunkDocument("x", "a", { size: 4, overlap: 4 }), /overlap must be an integer in \[0, size\)/);
});

test("chunkFolder: stable ids, original text kept, empty and non-UTF-8 documents reported", () => {
  const dir = mkdtempSync(join(tmpdir(), "docs-"));
  cpSync(DOCS, dir, { recursive: true });
  writeFileSync(join(dir, "latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]));
  const { chunks, report } = chunkFolder(dir, { size: 8, overlap: 2 });
  assert.deepEqual(chunks, [
    {
      _id: "handbook/travel.md#0",
      doc_id: "handbook/travel.md",
      title: "Travel policy",
      text: "Book every trip through the travel portal.",
    },
    {
      _id: "handbook/travel.md#1",
      doc_id: "handbook/travel.md",
      title: "Travel policy > Per diem",
      text: "Meals abroad are covered by a daily per",
    },
    {
      _id: "handbook/travel.md#2",
      doc_id: "handbook/travel.md",
      title: "Travel policy > Per diem",
      text: "daily per diem of 60 USD.\n\n```bash\n#",
    },
    {
      _id: "handbook/travel.md#3",
      doc_id: "handbook/travel.md",
      title: "Travel policy > Per diem",
      text: "```bash\n# not a heading: a comment in",
    },
    {
      _id: "handbook/travel.md#4",
      doc_id: "handbook/travel.md",
      title: "Travel policy > Per diem",
      text: "comment in a code block\necho ok\n```",
    },
    {
      _id: "handbook/travel.md#5",
      doc_id: "handbook/travel.md",
      title: "Expenses",
      text: "Submit receipts within 30 days.",
    },
    { _id: "notes.txt#0", doc_id: "notes.txt", title: "notes", text: "one two three four five six seven eight" },
    { _id: "notes.txt#1", doc_id: "notes.txt", title: "notes", text: "seven eight nine ten\n eleven twelve" },
  ]);
  assert.deepEqual(
    {
      ...report,
      emptyDocuments: report.emptyDocuments.map((i) => i.file.slice(dir.length)),
      unreadable: report.unreadable.map((i) => `${i.file.slice(dir.length)}:${i.line}`),
      ignored: report.ignored.map((f) => f.slice(dir.length)),
    },
    {
      files: 5,
      documents: 2,
      chunks: 8,
      emptyDocuments: ["/handbook/empty.md"],
      unreadable: ["/latin1.txt:2"],
      ignored: ["/logo.png"],
    },
  );
});
