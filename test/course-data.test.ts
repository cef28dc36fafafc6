// The course pipeline on a folder of the user's own documents (chunk, generate offline, filter, review
// round trip, split by document with no shared document, load back), the LLM cost arithmetic, the failure
// traits, and the in-batch heat map's loss against the library's MultipleNegativesRankingLoss.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfig } from "../src/env";
import { tf } from "../src/backend";
import { filterPairs } from "../src/data/index";
import { loadModel } from "../src/model/index";
import { multipleNegativesRankingFromEmbeddings } from "../src/train/losses/multiple-negatives-ranking";
import { courseSetup } from "../src/course/setup";
import { buildCourseData, courseCorpus, loadCourseData } from "../src/course/data";
import { estimateGenerationCost, generateCourseQuestions } from "../src/course/generation";
import { reviewRoundTrip } from "../src/course/review";
import { inBatchFigure, sampleBatch } from "../src/course/evaluation";
import { queryTraits } from "../src/course/failures";

const TOPICS = ["Parking", "Travel", "Laptops", "Holidays", "Payroll", "Badges", "Printing", "Lockers"];

function documentsFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "docs-"));
  mkdirSync(join(dir, "hr"));
  TOPICS.forEach((t, i) => {
    const body = [1, 2]
      .map(
        (k) =>
          `## ${t} rule ${k}\nThe ${t.toLowerCase()} policy section ${k} says employees file a ${t.toLowerCase()} request in the portal within ${k + i} business days, and their manager approves it or asks for changes.\n`,
      )
      .join("\n");
    writeFileSync(join(dir, i % 2 ? "hr" : ".", `${t.toLowerCase()}.md`), `# ${t} policy\n\n${body}`);
  });
  return dir;
}

test("a documents folder goes through the whole notebook-1 pipeline without leaks, and notebook 2 can load it", async () => {
  const runs = mkdtempSync(join(tmpdir(), "runs-"));
  const course = courseSetup(
    { dataset: documentsFolder() },
    readConfig({ COURSE_CONFIG: join(runs, "none.json"), COURSE_RUNS_DIR: runs }),
  );
  const corpus = courseCorpus(course);
  assert.equal(corpus.documents.length, 8);
  assert.equal(corpus.chunks.length, 16);
  assert.equal(corpus.human, undefined);
  const gen = await generateCourseQuestions(course, corpus, { questionsPerChunk: 3 });
  assert.equal(gen.generator, "offline template generator");
  assert.equal(gen.cost.basis, "estimated");
  assert.ok(gen.rows.length > 16);
  const again = await generateCourseQuestions(course, corpus, { questionsPerChunk: 3 });
  assert.equal(again.artefact.reused, true);
  assert.deepEqual(again.rows, gen.rows);

  const kept = filterPairs(gen.rows).kept;
  const first = reviewRoundTrip(course, kept);
  assert.equal(first.reviewed, false);
  assert.equal(first.result.counts.pending, kept.length);
  assert.equal(first.rows.length, kept.length);
  // The participant rejects the first row and fixes the second.
  // Records start with the two empty columns decision, edited_anchor (positives span several lines in quotes).
  const lines = readFileSync(first.sheet, "utf8").split("\n");
  const starts = lines.map((l, i) => (l.startsWith(",,") ? i : -1)).filter((i) => i > 0);
  lines[starts[0]] = `reject${lines[starts[0]]}`;
  lines[starts[1]] = `fix,where do i file it${lines[starts[1]].slice(1)}`;
  writeFileSync(first.reviewedPath, lines.join("\n"));
  const second = reviewRoundTrip(course, kept);
  assert.equal(second.reviewed, true);
  assert.deepEqual(
    [second.result.counts.reject, second.result.counts.fix, second.result.counts.pending],
    [1, 1, kept.length - 2],
  );
  assert.equal(second.rows.length, kept.length - 1);
  assert.ok(second.rows.some((r) => r.anchor === "where do i file it"));
  assert.equal(second.readFrom, second.reviewedPath);

  const built = await buildCourseData(course, corpus, second.rows, { generator: gen.generator });
  const total = built.info.splits.reduce((s, x) => s + x.queries, 0);
  assert.equal(total, second.rows.length);
  for (const s of built.info.splits) {
    assert.equal(s.sharedDocuments, 0, `split ${s.split} shares a document`);
    assert.ok(s.queries > 0, `split ${s.split} is empty`);
  }
  const data = loadCourseData(course);
  assert.equal(data.train.length, built.info.splits.find((s) => s.split === "train")?.queries);
  const trainDocs = new Set(data.train.map((r) => r.doc_id));
  for (const ids of data.test.relevant.values())
    for (const id of ids) assert.ok(!trainDocs.has(data.test.corpus.get(id)?.doc_id), "a test document is in train");
});

test("a shipped dataset keeps its human-written dev / test queries as the held-out splits", async () => {
  const runs = mkdtempSync(join(tmpdir(), "runs-"));
  const course = courseSetup({}, readConfig({ COURSE_CONFIG: join(runs, "none.json"), COURSE_RUNS_DIR: runs }));
  const corpus = courseCorpus(course);
  const gen = await generateCourseQuestions(course, corpus, { questionsPerChunk: 1 });
  const built = await buildCourseData(course, corpus, gen.rows, { generator: gen.generator });
  const byName = Object.fromEntries(built.info.splits.map((s) => [s.split, s]));
  assert.equal(byName.dev.source, "human-written");
  assert.equal(byName.test.source, "human-written");
  assert.equal(
    byName.test.queries,
    corpus.human?.qrels.get("test")?.length !== undefined
      ? new Set(corpus.human?.qrels.get("test")?.map((q) => q.queryId)).size
      : -1,
  );
  assert.equal(built.info.trainRows.human, corpus.human?.qrels.get("train")?.length);
  assert.ok(
    built.info.trainRows.generated > 0 && built.info.trainRows.generated < gen.rows.length,
    "generated questions of dev/test documents are left out",
  );
});

test("estimateGenerationCost: tokens from characters / 4 and ~20 per question, priced per million", () => {
  const chunks = [{ _id: "a#0", doc_id: "a", title: "T", text: "x".repeat(400) }];
  const c = estimateGenerationCost(chunks, {
    questionsPerChunk: 3,
    prices: { inputPerMillion: 1, outputPerMillion: 2 },
  });
  assert.equal(c.requests, 1);
  assert.equal(c.completionTokens, 70);
  assert.ok(c.promptTokens > 100 && c.promptTokens < 400, `prompt tokens ${c.promptTokens}`);
  assert.equal(c.usd, (c.promptTokens * 1 + 70 * 2) / 1e6);
});

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

test("inBatchFigure: notebook 3's loss by hand from the heat map's matrix is MultipleNegativesRankingLoss", async () => {
  const model = await loadModel("offline-random");
  const rows = sampleBatch(
    ["pto accrual", "parking permit", "laptop refresh", "per diem", "badge lost"].map((t, i) => ({
      anchor: `question about ${t}`,
      positive: `passage ${i}: the ${t} rules`,
      doc_id: String(i),
    })),
    4,
    7,
  );
  assert.equal(rows.length, 4);
  const { similarity, figure, correct } = await inBatchFigure(model, rows);
  // The notebook's cell: scale 20, softmax per row, cross-entropy of the diagonal, mean over the batch.
  const z = similarity.map((row) => row.map((s) => 20 * s));
  const loss = z.map((zi, i) => Math.log(zi.reduce((t, x) => t + Math.exp(x), 0)) - zi[i]).reduce((t, x) => t + x) / 4;
  const a = await model.encode(rows.map((r) => r.anchor));
  const p = await model.encode(rows.map((r) => r.positive));
  const ref = tf.tidy(
    () =>
      multipleNegativesRankingFromEmbeddings(
        [tf.tensor2d(a.data, [a.count, a.dim]), tf.tensor2d(p.data, [p.count, p.dim])],
        20,
        "cos_sim",
      ).dataSync()[0],
  );
  assert.ok(Math.abs(loss - ref) < 1e-4, `heat map loss ${loss} vs MNRL ${ref}`);
  const trace = figure.data[0] as { z: number[][]; zmin: number; zmax: number };
  assert.equal(trace.z.length, 4);
  // The colour scale spans the batch's own cosines, not 0 to 1.
  assert.deepEqual([trace.zmin, trace.zmax], [Math.min(...similarity.flat()), Math.max(...similarity.flat())]);
  assert.ok(correct >= 0 && correct <= 4);
});
