// What notebooks 5 and 6 share: finding notebook 3's fine-tuned model, notebook 5's FaissStore cell (LangChain's
// FaissStore.fromDocuments wrapped in RagVectorStore), the answer options from the course's LLM setting, and where
// reports go.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadShippedSplit } from "../src/data";
import { loadModel } from "../src/model";
import { Document } from "@langchain/core/documents";
import { FaissStore } from "@langchain/community/vectorstores/faiss";
import {
  corpusEntries,
  courseAnswerOptions,
  courseReportPath,
  loadFineTuned,
  type Course,
  type CourseData,
} from "../src/course";
import { loadFaiss } from "../src/retrieval/faiss";
import { RagVectorStore, SentenceTransformerEmbeddings } from "../src/rag";

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

test("notebook 5's store cell: FaissStore.fromDocuments wrapped in RagVectorStore answers as RagVectorStore.build", {
  skip: !loadFaiss().module && "faiss-node not built",
}, async () => {
  const embeddings = new SentenceTransformerEmbeddings({ model: await loadModel("offline") });
  const docs = corpusEntries(split).map(
    (d) =>
      new Document({
        pageContent: d.title ? `${d.title}\n${d.text}` : d.text,
        metadata: { id: d._id, title: d.title },
      }),
  );
  const inCell = new RagVectorStore("base", await FaissStore.fromDocuments(docs, embeddings), embeddings);
  const built = await RagVectorStore.build(embeddings, split.corpus, { name: "base" });
  assert.equal(inCell.size, split.corpus.size);
  const q = [...split.queries.values()].slice(0, 5);
  const [a, b] = [await inCell.search(q, 3), await built.search(q, 3)];
  assert.deepEqual(
    a.map((row) => row.map((h) => [h.id, h.rank, h.text])),
    b.map((row) => row.map((h) => [h.id, h.rank, h.text])),
  );
  assert.ok(a.flat().every((h) => Math.abs(h.score - (1 - (h.distance as number) / 2)) < 1e-9));
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
