import { test } from "node:test";
import assert from "node:assert/strict";
import {
  normalizeQuestion,
  paraphraseGroups,
  questionLeakReport,
  splitByQuestion,
  wordOverlap,
} from "../src/data/split";
import type { CorpusRow, IRSplit } from "../src/data/types";
import { fitRecipe, type FineTuneRecipe } from "../src/course/recipes";

function corpus(n: number): Map<string, CorpusRow> {
  return new Map(
    Array.from({ length: n }, (_, i) => [
      `p${i}`,
      { _id: `p${i}`, doc_id: `d${i % 5}`, title: `t${i}`, text: `x${i}` },
    ]),
  );
}

function split(rows: [string, string, string][], n = 10): IRSplit {
  return {
    split: "all",
    corpus: corpus(n),
    queries: new Map(rows.map(([id, text]) => [id, text])),
    relevant: new Map(rows.map(([id, , p]) => [id, new Set([p])])),
  };
}

test("paraphrases of one passage form one group; other questions of the passage do not", () => {
  assert.equal(normalizeQuestion("  FSA roll-over, amount? "), "fsa roll over amount");
  assert.equal(wordOverlap("fsa rollover amount", "what is the fsa rollover amount"), 1);
  assert.equal(wordOverlap("fsa rollover amount", "deadline to submit receipts"), 0);
  const s = split([
    ["q1", "fsa rollover amount", "p1"],
    ["q2", "how much fsa rollover amount", "p1"],
    ["q3", "deadline to submit receipts", "p1"],
    ["q4", "fsa rollover amount", "p2"], // same text, other passage: identical texts always group
    ["q5", "parking at the office", "p3"],
  ]);
  const g = paraphraseGroups(s);
  assert.equal(g.get("q1"), g.get("q2"));
  assert.equal(g.get("q1"), g.get("q4"));
  assert.notEqual(g.get("q1"), g.get("q3"));
  assert.notEqual(g.get("q3"), g.get("q5"));
  // Group ids do not depend on the order the questions come in.
  const reversed = split([...s.queries].reverse().map(([id, t]) => [id, t, [...(s.relevant.get(id) ?? [])][0]]));
  assert.deepEqual([...paraphraseGroups(reversed)].sort(), [...g].sort());
});

test("splitByQuestion keeps paraphrase groups whole, excludes given texts, and its leak report is clean", () => {
  const rows: [string, string, string][] = [];
  for (let p = 0; p < 40; p++) {
    rows.push([`a${p}`, `topic${p} rules overview`, `p${p}`]);
    rows.push([`b${p}`, `what are the topic${p} rules overview`, `p${p}`]); // paraphrase of a
    rows.push([`c${p}`, `unrelated wording ${p} zebra`, `p${p}`]);
  }
  const all = split(rows, 40);
  const out = splitByQuestion(all, { seed: 3, excludeTexts: ["Unrelated wording 7 zebra!"] });
  assert.deepEqual(out.excluded, ["c7"]);
  const where = (id: string) => (["train", "dev", "test"] as const).find((s) => out[s].relevant.has(id)) ?? "none";
  for (let p = 0; p < 40; p++) assert.equal(where(`a${p}`), where(`b${p}`), `group of p${p} straddles splits`);
  assert.equal(where("c7"), "none");
  const total = out.train.relevant.size + out.dev.relevant.size + out.test.relevant.size;
  assert.equal(total, rows.length - 1);
  assert.ok(out.test.relevant.size >= 12 && out.test.relevant.size <= 24, `test ${out.test.relevant.size}`);
  const [dev, testRow] = questionLeakReport(out.train, [out.dev, out.test]);
  for (const r of [dev, testRow]) {
    assert.equal(r.sharedIds, 0);
    assert.equal(r.identical, 0);
    assert.equal(r.paraphrases, 0);
  }
  // Most test passages had training questions: that is the setting.
  assert.ok(testRow.passagesWithTrainingQuestions > 0.5);
  // A test set that copies training questions is caught.
  const leaky: IRSplit = { ...out.train, split: "leaky" };
  const [bad] = questionLeakReport(out.train, [leaky]);
  assert.equal(bad.sharedIds, out.train.relevant.size);
  assert.equal(bad.identical, out.train.relevant.size);
});

const RECIPE: FineTuneRecipe = {
  epochs: 2,
  batchSize: 32,
  learningRate: 1e-3,
  warmupRatio: 0.1,
  scale: 20,
  evalSteps: 22,
};

test("fitRecipe keeps the recipe for enough data and adapts it to a small folder", () => {
  const big = Array.from({ length: 800 }, (_, i) => ({ anchor: `q${i}`, positive: `p${i % 300}` }));
  const kept = fitRecipe(RECIPE, big);
  assert.equal(kept.recipe.batchSize, 32);
  assert.equal(kept.recipe.epochs, 2);
  assert.ok(kept.steps >= 40);
  // 27 passages x 3 questions: a batch of 32 different passages cannot be filled.
  const small = Array.from({ length: 81 }, (_, i) => ({ anchor: `q${i}`, positive: `p${i % 27}` }));
  const fitted = fitRecipe(RECIPE, small);
  assert.ok(fitted.recipe.batchSize < 27, `batch ${fitted.recipe.batchSize}`);
  assert.ok(fitted.batchesPerEpoch >= 4);
  assert.ok(fitted.steps >= 40 || fitted.recipe.epochs === 12);
  assert.ok(fitted.recipe.evalSteps <= fitted.steps);
  assert.ok(fitted.recipe.epochs > 2, `epochs ${fitted.recipe.epochs}`);
  assert.equal(fitted.leftover, 81 - fitted.batchesPerEpoch * fitted.recipe.batchSize);
  assert.throws(() => fitRecipe(RECIPE, small.slice(0, 5)), /too few to fine-tune/);
});
