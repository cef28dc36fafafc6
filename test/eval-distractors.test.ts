import { test } from "node:test";
import assert from "node:assert/strict";
import { addDistractors } from "../src/eval/distractors";

const corpus = [
  { _id: "p1", text: "Annual leave is 25 days." },
  { _id: "p2", text: "Remote work needs approval." },
];
const source = Array.from({ length: 50 }, (_, i) => ({
  _id: `s${i}`,
  title: `t${i}`,
  text: `unrelated text number ${i}`,
}));

test("adds n seeded distractors after the corpus, ids prefixed, never repeating a corpus text", () => {
  const padded = addDistractors(corpus, [...source, { _id: "dup", text: "Annual leave is 25 days. " }], 20, {
    seed: 1,
  });
  assert.equal(padded.length, 22);
  assert.deepEqual(padded.slice(0, 2), corpus);
  const extra = padded.slice(2);
  assert.ok(
    extra.every((d) => d._id.startsWith("distractor:s")),
    "prefixed ids from the source",
  );
  assert.equal(new Set(extra.map((d) => d._id)).size, 20, "drawn without replacement");
  assert.deepEqual(
    addDistractors(corpus, source, 20, { seed: 1 })
      .slice(2)
      .map((d) => d._id),
    extra.map((d) => d._id),
    "same seed, same draw",
  );
  assert.notDeepEqual(
    addDistractors(corpus, source, 20, { seed: 2 }).map((d) => d._id),
    padded.map((d) => d._id),
  );
  for (const d of extra) {
    const i = d._id.slice("distractor:s".length);
    assert.deepEqual(
      [d.title, d.text],
      [`t${i}`, `unrelated text number ${i}`],
      "title and text copied from the source",
    );
  }
  // all 50 usable: the exact-text duplicate of p1 is excluded, so 51 sources give 50 candidates
  assert.equal(addDistractors(corpus, [...source, { _id: "dup", text: "Annual leave is 25 days." }], 50).length, 52);
  assert.throws(
    () => addDistractors(corpus, [...source, { _id: "dup", text: "Annual leave is 25 days." }], 51),
    /asked for 51 distractors but the source has 50 usable documents \(1 of 51 repeat a corpus text\)/,
  );
  assert.throws(
    () => addDistractors([{ _id: "x:s1", text: "a" }], source, 50, { idPrefix: "x:" }),
    /distractor id "x:s1" already exists/,
  );
  assert.throws(() => addDistractors(corpus, source, -1), /n=-1/);
});
