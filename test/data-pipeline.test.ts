// The whole user path through the public API, offline: chunk a folder, generate questions without an
// LLM, filter, review, build a leak-free BEIR dataset, load it back for evaluation and training.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as data from "../src/data";

test("folder -> chunks -> offline questions -> filter -> review -> BEIR -> evaluator form + training rows", () => {
  const docs = mkdtempSync(join(tmpdir(), "pipeline-docs-"));
  for (let d = 0; d < 10; d++) {
    const sections = Array.from(
      { length: 3 },
      (_, s) =>
        `## Rule ${s + 1}\n\nEmployees on team ${d} follow paid time off (PTO) rule ${s + 1}: requests for leave type ${d}-${s} need manager approval ${s + 2} days ahead.`,
    );
    writeFileSync(join(docs, `policy-${d}.md`), `# Team ${d} handbook\n\n${sections.join("\n\n")}\n`);
  }
  const { chunks, report } = data.chunkFolder(docs, { size: 60, overlap: 10 });
  assert.equal(report.documents, 10);
  assert.equal(chunks.length, 30);
  assert.equal(chunks[4]._id, "policy-1.md#1");
  assert.equal(chunks[4].title, "Team 1 handbook > Rule 2");

  const rows = data.generateOffline(chunks, { questionsPerChunk: 3, seed: 1 });
  assert.equal(rows.length, 90);
  const { kept, report: filterReport } = data.filterPairs(rows);
  assert.equal(filterReport.total, 90);
  assert.equal(kept.length + Object.values(filterReport.removed).reduce((a, b) => a + b, 0), 90);

  const sheet = join(mkdtempSync(join(tmpdir(), "pipeline-review-")), "review.csv");
  data.exportForReview(kept, sheet);
  // Reject the first data line; accept the rest (a reviewer's bulk edit on the CSV text).
  const lines = readFileSync(sheet, "utf8").split("\r\n");
  const firstRow = lines.findIndex((l, i) => i > 0 && l !== "" && /^,,/.test(l));
  const edited = lines.map((l, i) =>
    i === 0 || l === "" || !/^,,/.test(l) ? l : i === firstRow ? "reject" + l : "accept" + l,
  );
  writeFileSync(sheet, edited.join("\r\n"));
  const reviewed = data.importReview(sheet);
  assert.equal(reviewed.counts.reject, 1);
  assert.equal(reviewed.accepted.length, kept.length - 1);

  const out = mkdtempSync(join(tmpdir(), "pipeline-beir-"));
  data.writeBeir(
    out,
    data.buildBeir(chunks, reviewed.accepted, { fractions: { train: 0.6, dev: 0.2, test: 0.2 }, seed: 2 }),
  );
  const ds = data.loadBeirDataset(out);
  assert.deepEqual(
    ds.leaks?.splits.map((s) => s.documents),
    [2, 2, 6],
  ); // dev, test, train: 10 documents, 60/20/20
  const train = data.trainingPairs(data.toIRSplit(ds, "train"));
  const trainFile = join(out, "train.parquet");
  data.writePairs(trainFile, train);
  assert.deepEqual(data.readPairs(trainFile).rows, train);
  const testDocs = data.documentsOf(data.toIRSplit(ds, "test"));
  assert.equal(testDocs.size, 2);
  assert.ok(train.every((r) => typeof r.doc_id === "string" && !testDocs.has(r.doc_id)));
});
