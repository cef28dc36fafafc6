// The failure analysis of src/eval/failures (notebook 2's tables) and mostChanged (notebook 3's side-by-side queries).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mostChanged, queryTraits, textAbbreviations } from "../src/eval/failures";
import type { IRResult } from "../src/eval/ir-evaluator";

test("abbreviations count in lower case too: dcfsa, w4, i9, 401k", () => {
  const ab = textAbbreviations("The dependent care FSA (DCFSA), forms W-4 and I-9, the 401(k) plan. We Also");
  for (const a of ["dcfsa", "fsa", "w4", "i9", "401k"]) assert.ok(ab.has(a), a);
  assert.ok(!ab.has("we") && !ab.has("also"));
  const has = (q: string) => queryTraits(q, "", new Set(), ab).includes("abbreviation");
  for (const q of ["dcfsa limit", "w4", "i9 documents", "401k match", "how many ptos left"]) assert.ok(has(q), q);
  assert.ok(!has("how much maternity leave"));
});

function result(ranks: (number | null)[]): IRResult {
  return {
    system: "x",
    values: {},
    perQuery: ranks.map((r, i) => ({ queryId: `q${i}`, firstRelevantRank: r })),
  } as unknown as IRResult;
}

test("queryTraits: abbreviation, paraphrase, word not in the corpus, short", () => {
  const vocab = new Set(["paid", "time", "off", "accrual", "days", "year", "pto", "vacation"]);
  assert.deepEqual(queryTraits("PTO days", "paid time off PTO accrual days", vocab), [
    "abbreviation",
    "short (3 words or fewer)",
  ]);
  assert.deepEqual(queryTraits("vacaton days accrual per year", "paid time off accrual days year", vocab), [
    "word not in the corpus (typo, slang)",
  ]);
  assert.deepEqual(queryTraits("holiday leave allowance for my first year", "paid time off accrual days year", vocab), [
    "paraphrase (little word overlap)",
    "word not in the corpus (typo, slang)",
  ]);
});

test("mostChanged lists top-hit flips first: became right, then became wrong", () => {
  //            q0: 5->1 flip up, q1: 1->3 flip down, q2: 9->2 (deep move), q3: 2->1 flip up, q4 unchanged
  const base = result([5, 1, 9, 2, 4]);
  const tuned = result([1, 3, 2, 1, 4]);
  assert.deepEqual(mostChanged(base, tuned, 3), ["q0", "q3", "q1"]);
  // Fewer flips than asked: the largest other moves fill the list.
  assert.deepEqual(mostChanged(base, tuned, 4), ["q0", "q3", "q1", "q2"]);
});
