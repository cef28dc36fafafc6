// What notebooks 5 and 6 share: finding notebook 3's fine-tuned model, the reused FaissStore artefact, the
// answer options from the course's LLM setting, and where reports go.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadShippedSplit } from "../src/data";
import { loadModel } from "../src/model";
import {
  courseAnswerOptions,
  courseFaissStore,
  courseReportPath,
  loadFineTuned,
  type Course,
  type CourseData,
} from "../src/course";
import { loadFaiss } from "../src/retrieval/faiss";
import { SentenceTransformerEmbeddings } from "../src/rag";

function fakeCourse(runDir: string, llm: Course["llm"] = null): Course {
  return {
    dataset: { name: "policy-handbook", kind: "shipped", dir: "", files: [] },
    model: "offline",
    llm,
    seed: 42,
    runsDir: runDir,
    datasetDir: runDir,
    runDir,
    resultsPath: join(runDir, "reports", "results.json"),
    sources: { dataset: "default", model: "default", llm: "default", seed: "default" },
  };
}
const split = loadShippedSplit("policy-handbook", "test");
const data = { key: "data-key-1", test: split } as unknown as CourseData;

function manifest(dir: string, inputs: object, created: string): void {
  mkdirSync(join(dir, "final"), { recursive: true });
  writeFileSync(
    join(dir, "artefact.json"),
    JSON.stringify({ name: "models/mnrl", key: "k", inputs, created, seconds: 12.5, verb: "trained" }),
  );
}

test("loadFineTuned: the newest finished artefact for this data and base model; none: run notebook 03", async () => {
  const runDir = mkdtempSync(join(tmpdir(), "course-rag-"));
  const course = fakeCourse(runDir);
  await assert.rejects(
    loadFineTuned(course, data),
    /No fine-tuned "mnrl" model.*run notebook 03_mnrl_finetuning first \(npm run course -- 03\)/,
  );
  const model = await loadModel("offline");
  manifest(join(runDir, "models", "mnrl-old"), { data: "data-key-1", base: "offline" }, "2026-01-01T00:00:00.000Z");
  manifest(
    join(runDir, "models", "mnrl-other-data"),
    { data: "data-key-2", base: "offline" },
    "2026-12-01T00:00:00.000Z",
  );
  manifest(join(runDir, "models", "mnrl-new"), { data: "data-key-1", base: "offline" }, "2026-06-01T00:00:00.000Z");
  await model.save(join(runDir, "models", "mnrl-new", "final"));
  const found = await loadFineTuned(course, data);
  assert.equal(found.label, "models/mnrl-new");
  assert.equal(found.historyPath, join(runDir, "models", "mnrl-new", "history.json"));
  assert.match(
    found.message,
    /^loaded models\/mnrl-new\/final \(fine-tuned by notebook 03 at 2026-06-01 00:00 UTC in 12\.5 s\)$/,
  );
  assert.equal(found.model.dim, model.dim);
});

test("courseFaissStore: built once, then reused with the same answers", {
  skip: !loadFaiss().module && "faiss-node not built",
}, async () => {
  const runDir = mkdtempSync(join(tmpdir(), "course-rag-"));
  const course = fakeCourse(runDir);
  const embeddings = new SentenceTransformerEmbeddings({ model: await loadModel("offline") });
  const first = await courseFaissStore(course, data, embeddings, { name: "base", modelKey: "offline" });
  assert.equal(first.artefact.reused, false);
  assert.match(first.artefact.label, /^rag\/faiss-base-[0-9a-f]{12}$/);
  const again = await courseFaissStore(course, data, embeddings, { name: "base", modelKey: "offline" });
  assert.equal(again.artefact.reused, true);
  assert.equal(again.store.size, split.corpus.size);
  const q = [...split.queries.values()].slice(0, 5);
  assert.deepEqual(await again.store.search(q, 3), await first.store.search(q, 3));
  const other = await courseFaissStore(course, data, embeddings, { name: "base", modelKey: "another-model" });
  assert.notEqual(other.artefact.label, first.artefact.label, "another model gets its own store");
});

test("answer options follow the course's LLM setting; reports are named by dataset and model", () => {
  const dir = "/tmp/x";
  assert.deepEqual(courseAnswerOptions(fakeCourse(dir)), { mode: "extractive" });
  assert.deepEqual(courseAnswerOptions(fakeCourse(dir, { baseUrl: "http://localhost:11434/v1", model: "llama3.1" })), {
    mode: "llm",
    llm: { baseUrl: "http://localhost:11434/v1", model: "llama3.1", apiKey: undefined },
  });
  const c = { ...fakeCourse(dir), model: "BAAI/bge-small-en-v1.5" };
  assert.equal(
    courseReportPath(c, "rag_compare_report"),
    "/tmp/x/reports/rag_compare_report-policy-handbook-BAAI--bge-small-en-v1.5.csv",
  );
});
