import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfig } from "../src/env";
import { checkLlm, courseModel, courseSetup, modelLabel, slug } from "../src/course/setup";
import { inputsKey, reuseOrBuild } from "../src/course/artefacts";
import { readResults, recordResults, recordTiming, resultsTable, type ResultRow } from "../src/course/results";

const tmp = () => mkdtempSync(join(tmpdir(), "course-"));
// No shared settings file unless a test writes one: the defaults are the code's.
const NO_FILE = { COURSE_CONFIG: join(tmpdir(), "no-such-course.config.json") };
const cfg = (env: Record<string, string> = {}) => readConfig({ ...NO_FILE, ...env });

test("courseSetup: defaults, the cell's choices, and the environment overriding them", () => {
  const base = courseSetup({}, cfg({}));
  assert.equal(base.dataset.name, "policy-handbook");
  assert.equal(base.dataset.kind, "shipped");
  assert.equal(base.model, "offline");
  assert.equal(base.llm, null);
  assert.equal(base.seed, 42);
  assert.deepEqual(base.sources, { dataset: "default", model: "default", llm: "default", seed: "default" });
  assert.ok(base.runDir.endsWith(join("runs", "policy-handbook", "offline")));

  const cell = courseSetup({ dataset: "vet-clinic", model: "BAAI/bge-small-en-v1.5", seed: 7 }, cfg({}));
  assert.equal(cell.dataset.name, "vet-clinic");
  assert.equal(cell.sources.model, "notebook");
  assert.ok(cell.runDir.endsWith(join("vet-clinic", "BAAI--bge-small-en-v1.5")));

  const env = cfg({
    COURSE_DATASET: "policy-handbook",
    COURSE_MODEL: "sentence-transformers/all-MiniLM-L6-v2",
    OPENAI_BASE_URL: "http://localhost:11434/v1",
    COURSE_LLM_MODEL: "llama3.1",
    COURSE_SEED: "5",
  });
  const over = courseSetup({ dataset: "vet-clinic", model: "offline", llm: "none" }, env);
  assert.equal(over.dataset.name, "policy-handbook");
  assert.equal(over.model, "sentence-transformers/all-MiniLM-L6-v2");
  assert.deepEqual(over.llm, { baseUrl: "http://localhost:11434/v1", model: "llama3.1", apiKey: undefined });
  assert.equal(over.seed, 5);
  assert.equal(over.sources.dataset, "environment");
  const off = courseSetup({}, cfg({ OPENAI_API_KEY: "k", COURSE_LLM_MODEL: "gpt-4o-mini", COURSE_LLM: "none" }));
  assert.equal(off.llm, null);
});

test("course.config.json: shared by every notebook, below the cell and the environment; bad keys named", () => {
  const dir = tmp();
  const file = join(dir, "course.config.json");
  writeFileSync(
    file,
    JSON.stringify({
      "//": "comment",
      dataset: "vet-clinic",
      model: "BAAI/bge-small-en-v1.5",
      llm: { baseUrl: "http://localhost:11434/v1", model: "llama3.1" },
    }),
  );
  const fromFile = courseSetup({}, readConfig({ COURSE_CONFIG: file }));
  assert.equal(fromFile.dataset.name, "vet-clinic");
  assert.equal(fromFile.model, "BAAI/bge-small-en-v1.5");
  assert.deepEqual(fromFile.llm, { baseUrl: "http://localhost:11434/v1", model: "llama3.1", apiKey: undefined });
  assert.deepEqual(fromFile.sources, {
    dataset: "config file",
    model: "config file",
    llm: "config file",
    seed: "default",
  });
  const cellWins = courseSetup({ model: "offline", llm: "none" }, readConfig({ COURSE_CONFIG: file }));
  assert.equal(cellWins.model, "offline");
  assert.equal(cellWins.llm, null);
  const envWins = courseSetup(
    {},
    readConfig({ COURSE_CONFIG: file, COURSE_DATASET: "policy-handbook", COURSE_LLM: "none" }),
  );
  assert.equal(envWins.dataset.name, "policy-handbook");
  assert.equal(envWins.llm, null);
  writeFileSync(file, JSON.stringify({ datset: "vet-clinic" }));
  assert.throws(
    () => courseSetup({}, readConfig({ COURSE_CONFIG: file })),
    /course.config.json: unknown setting "datset"/,
  );
  writeFileSync(file, "{ not json");
  assert.throws(() => courseSetup({}, readConfig({ COURSE_CONFIG: file })), /not valid JSON/);
});

test("courseSetup: a bad dataset names the setting and the fix", () => {
  assert.throws(
    () => courseSetup({}, cfg({ COURSE_DATASET: "no-such-dataset" })),
    /COURSE_DATASET=no-such-dataset.*neither a shipped dataset.*Fix: set COURSE_DATASET/s,
  );
  const empty = tmp();
  writeFileSync(join(empty, "slides.pdf"), "x");
  assert.throws(
    () => courseSetup({ dataset: empty }, cfg({})),
    /dataset: ".*" in the first cell: the folder .* holds no documents .*found 1 other file.*Fix/s,
  );
  const docs = tmp();
  mkdirSync(join(docs, "hr"));
  for (const f of ["a.md", "b.txt", "hr/c.md"]) writeFileSync(join(docs, f), "# T\nsome text here\n");
  const ok = courseSetup({ dataset: docs }, cfg({}));
  assert.equal(ok.dataset.kind, "documents");
  assert.deepEqual(ok.dataset.files, ["a.md", "b.txt", "hr/c.md"]);
  assert.throws(() => courseSetup({}, cfg({ OPENAI_BASE_URL: "http://x/v1" })), /COURSE_LLM_MODEL/);
});

test("courseModel: a bad model id names COURSE_MODEL and the fix", async () => {
  const course = courseSetup({}, cfg({ COURSE_MODEL: "./no/such/model-folder" }));
  await assert.rejects(
    courseModel(course),
    /Model setting COURSE_MODEL=\.\/no\/such\/model-folder \(environment variable\) could not be loaded.*Fix: set COURSE_MODEL/s,
  );
  assert.equal(modelLabel("offline"), "offline (embedded default)");
  assert.equal(modelLabel(await courseModel(courseSetup({}, cfg()))), "offline (embedded default)");
  assert.equal(slug("BAAI/bge-small-en-v1.5"), "BAAI--bge-small-en-v1.5");
});

test("checkLlm: unreachable endpoint and wrong key are named, no LLM is fine", async () => {
  const none = courseSetup({}, cfg({}));
  assert.match(await checkLlm(none), /offline template generator/);
  const course = courseSetup({ llm: { baseUrl: "http://127.0.0.1:9/v1", model: "m" } }, cfg({}));
  const refused: typeof fetch = async () => {
    throw new TypeError("fetch failed");
  };
  await assert.rejects(
    checkLlm(course, refused),
    /OPENAI_BASE_URL=http:\/\/127.0.0.1:9\/v1: .* is unreachable.*COURSE_LLM=none/s,
  );
  const denied: typeof fetch = async () => new Response("{}", { status: 401 });
  await assert.rejects(checkLlm(course, denied), /OPENAI_API_KEY.*HTTP 401/);
  const ok: typeof fetch = async () => new Response("{}", { status: 200 });
  assert.match(await checkLlm(course, ok), /answers \(HTTP 200\)/);
});

test("reuseOrBuild: same inputs reuse the folder and say so; other inputs build a new one", async () => {
  const root = tmp();
  let builds = 0;
  const build = (folder: string) => {
    builds++;
    writeFileSync(join(folder, "x.txt"), String(builds));
  };
  const a = await reuseOrBuild(
    { root, name: "models/mnrl", inputs: { lr: 0.01, data: "abc" }, verb: "trained", log: false },
    build,
  );
  assert.equal(a.reused, false);
  assert.equal(a.label, `models/mnrl-${inputsKey({ data: "abc", lr: 0.01 })}`);
  const b = await reuseOrBuild(
    { root, name: "models/mnrl", inputs: { data: "abc", lr: 0.01 }, verb: "trained", log: false },
    build,
  );
  assert.equal(b.reused, true);
  assert.equal(builds, 1);
  assert.match(b.message, /^reused models\/mnrl-[0-9a-f]{12} \(trained at \d\d:\d\d UTC, same data and options\)$/);
  const c = await reuseOrBuild({ root, name: "models/mnrl", inputs: { data: "abc", lr: 0.02 }, log: false }, build);
  assert.equal(c.reused, false);
  assert.notEqual(c.path, a.path);
  assert.equal(readFileSync(join(a.path, "x.txt"), "utf8"), "1"); // the earlier artefact is kept
  // An interrupted build (no manifest) is built again in the same folder.
  await assert.rejects(
    reuseOrBuild({ root, name: "x", inputs: 1, log: false }, () => {
      throw new Error("interrupted");
    }),
  );
  const d = await reuseOrBuild({ root, name: "x", inputs: 1, log: false }, (f) => {
    assert.ok(existsSync(f));
  });
  assert.equal(d.reused, false);
});

test("results.json: rows replaced by (dataset, split, system, model), timings kept, table in course order", () => {
  const path = join(tmp(), "results.json");
  const row = (system: string, model: string, ndcg: number): ResultRow => ({
    dataset: "policy-handbook",
    split: "test",
    system,
    model,
    queries: 190,
    updated: "t",
    metrics: { "ndcg@10": { estimate: ndcg, low: ndcg - 0.05, high: ndcg + 0.05 } },
  });
  recordResults([row("fine-tuned", "offline", 0.6), row("BM25", "-", 0.5)], path);
  recordResults([row("base", "offline", 0.55), row("fine-tuned", "offline", 0.65)], path);
  recordTiming("01_synthetic_data", 12.5, "ok", path);
  recordTiming("01_synthetic_data", 10, "ok", path);
  const file = readResults(path);
  assert.equal(file.results.length, 3);
  assert.equal(file.results.find((r) => r.system === "fine-tuned")?.metrics["ndcg@10"].estimate, 0.65);
  assert.deepEqual(
    file.timings.map((t) => [t.notebook, t.seconds]),
    [["01_synthetic_data", 10]],
  );
  const table = resultsTable(
    { dataset: "policy-handbook", split: "test", model: "offline" },
    { path, metrics: ["ndcg@10"] },
  );
  assert.deepEqual(table.getColumn("system").toArray(), ["BM25", "base", "fine-tuned"]);
  assert.deepEqual(table.getColumn("ndcg@10").toArray(), [
    "0.500 [0.450, 0.550]",
    "0.550 [0.500, 0.600]",
    "0.650 [0.600, 0.700]",
  ]);
  assert.ok(!existsSync(join(path, "..", ".results.json.lock")));
});
