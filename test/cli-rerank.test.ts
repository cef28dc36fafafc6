// `rerank` and `eval --reranker` through main() in this process, on a random-weight BERT cross-encoder folder:
// ranked output equal to OnnxCrossEncoder's rank, --json, --top-k, identity scores, stdin documents, file:line
// errors (exit 2), a folder that is not a cross-encoder (exit 1); eval with a re-ranker reports the first stage and
// the same first stage re-ranked (RerankedRetriever), equal to evaluating it directly; export-onnx on a
// cross-encoder folder; `serve --reranker` spawned as an operator runs it.
import { after, before, test } from "node:test";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { main } from "../src/cli/main";
import { loadBeir } from "../src/data/index";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";
import { BM25Retriever } from "../src/retrieval/bm25";
import { OnnxCrossEncoder } from "../src/rerank/onnx-scorer";
import { RerankedRetriever } from "../src/rerank/reranked-retriever";
import { writeCrossEncoderFolder } from "./fixtures/rerank/folder";

let work = "";
let model = "";
let scorer: OnnxCrossEncoder;
const DOCS = [
  "Employees accrue twenty days of paid time off per year.",
  "The cafeteria opens at eight.",
  "Remote work needs a manager's approval.",
  "PTO requests go to your manager two weeks ahead.",
];
const QUERY = "How many PTO days do I get?";

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  const stdout = out.join("");
  // biome-ignore lint/suspicious/noExplicitAny: JSON output of the command
  const json: Record<string, any> = args.includes("--json") && stdout.trim() ? JSON.parse(stdout.trim()) : {};
  return { code, stdout, stderr: err.join(""), json };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "cli-rerank-"));
  model = join(work, "reranker");
  writeCrossEncoderFolder(model);
  scorer = await OnnxCrossEncoder.load(model, { threads: 1 });
  writeFileSync(
    join(work, "docs.jsonl"),
    `${JSON.stringify(DOCS[0])}\n{"_id": "cafe", "text": ${JSON.stringify(DOCS[1])}}\n\n${JSON.stringify({ text: DOCS[2] })}\n${JSON.stringify(DOCS[3])}\n`,
  );
});
after(async () => {
  await scorer.release();
});

test("rerank --json: the documents best first, as OnnxCrossEncoder.rank gives them, ids from the file", async () => {
  const r = await run([
    "rerank",
    "--model",
    model,
    "--query",
    QUERY,
    "--documents",
    join(work, "docs.jsonl"),
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const want = await scorer.rank(QUERY, DOCS);
  assert.equal(r.json.documents, 4);
  assert.deepEqual(
    r.json.results.map((x: { index: number }) => x.index),
    want.map((w) => w.corpusId),
  );
  r.json.results.forEach((x: { rank: number; score: number; text: string; id?: string; index: number }, i: number) => {
    assert.equal(x.rank, i + 1);
    assert.ok(Math.abs(x.score - want[i].score) < 1e-6);
    assert.equal(x.text, DOCS[x.index]);
    assert.equal(x.id, x.index === 1 ? "cafe" : undefined);
  });
  const top = await run([
    ...["rerank", "-m", model, "-q", QUERY, "--documents", join(work, "docs.jsonl")],
    ...["--top-k", "2", "--activation", "identity"],
  ]);
  assert.equal(top.code, 0, top.stderr);
  const lines = top.stdout.trim().split("\n");
  assert.match(lines[0], /^4 documents re-ranked by .* \(identity\)/);
  assert.equal(lines.length, 3);
  const logits = await scorer.predict(
    DOCS.map((d) => [QUERY, d] as const),
    { activation: "identity" },
  );
  assert.ok(lines[1].includes(`  1. ${Math.max(...logits).toFixed(4)}  [`), lines[1]);
});

test("rerank --documents - reads stdin", async () => {
  const saved = Object.getOwnPropertyDescriptor(process, "stdin") as PropertyDescriptor;
  Object.defineProperty(process, "stdin", {
    value: Readable.from([Buffer.from(DOCS.map((d) => JSON.stringify(d)).join("\n"))]),
    configurable: true,
  });
  try {
    const r = await run(["rerank", "-m", model, "-q", QUERY, "--documents", "-", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.documents, 4);
  } finally {
    Object.defineProperty(process, "stdin", saved);
  }
});

test("rerank: a bad line names file:line (exit 2); a folder that is not a cross-encoder fails (exit 1)", async () => {
  const bad = join(work, "bad.jsonl");
  writeFileSync(bad, `"fine"\n{"title": "no text"}\n`);
  const r = await run(["rerank", "-m", model, "-q", QUERY, "--documents", bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.jsonl:2: expected a JSON string or an object with a string "text" field/);
  const notJson = join(work, "notjson.jsonl");
  writeFileSync(notJson, "plain text line\n");
  assert.match(
    (await run(["rerank", "-m", model, "-q", QUERY, "--documents", notJson])).stderr,
    /notjson\.jsonl:1: not JSON/,
  );
  assert.equal((await run(["rerank", "-m", join(work, "nope"), "-q", QUERY, "--documents", bad])).code, 2);
  const plain = join(work, "plain");
  mkdirSync(plain);
  writeFileSync(join(plain, "config.json"), JSON.stringify({ model_type: "bert", architectures: ["BertModel"] }));
  const r2 = await run(["rerank", "-m", plain, "-q", QUERY, "--documents", join(work, "docs.jsonl")]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /is not a sequence classifier/);
});

test("eval --reranker: the first stage and the same first stage re-ranked, as RerankedRetriever evaluates", async () => {
  const beir = join(work, "beir");
  mkdirSync(join(beir, "qrels"), { recursive: true });
  const corpus = [
    "Employees accrue twenty vacation days per year.",
    "Unused vacation days carry over up to five days.",
    "The cafeteria opens at eight and closes at three.",
    "Laptops must be encrypted and locked.",
    "Report a lost laptop to IT within a day.",
    "Parking permits renew every year in January.",
  ];
  writeFileSync(
    join(beir, "corpus.jsonl"),
    corpus.map((text, i) => JSON.stringify({ _id: `d${i}`, title: "", text })).join("\n"),
  );
  const queries = ["how many vacation days", "lost laptop", "when does the cafeteria open"];
  writeFileSync(
    join(beir, "queries.jsonl"),
    queries.map((text, i) => JSON.stringify({ _id: `q${i}`, text })).join("\n"),
  );
  writeFileSync(join(beir, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\nq0\td0\t1\nq1\td4\t1\nq2\td2\t1\n");
  const r = await run([
    ...["eval", "-m", "bm25", "-d", beir, "-s", "test", "--reranker", model, "--rerank-top-k", "4"],
    ...["--report", join(work, "eval.csv"), "--json"],
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.json.systems.map((s: { system: string }) => s.system),
    ["bm25", "bm25 + reranker@4"],
  );
  const split = loadBeir(beir, "test");
  const evaluator = InformationRetrievalEvaluator.fromSplit(split, { name: "beir-test" });
  const first = new BM25Retriever(split.corpus);
  const direct = await evaluator.evaluate(new RerankedRetriever(first, scorer, split.corpus, { topK: 4 }));
  assert.deepEqual(r.json.systems[1].metrics, direct.values);
  assert.deepEqual(r.json.systems[0].metrics, (await evaluator.evaluate(first)).values);
  assert.equal(r.json.systems[1].scoreFunction, "rerank");
});

test("export-onnx on a cross-encoder folder writes the classifier graph (logits), fp32 and int8", async () => {
  const dir = join(work, "export");
  writeCrossEncoderFolder(dir);
  const r = await run(["export-onnx", dir, "--quantize", "int8", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.written, true);
  assert.equal(r.json.quantized.written, true);
  assert.ok(r.json.quantized.check.cosineMean >= 0.99);
  for (const dtype of ["fp32", "q8"] as const) {
    const s = await OnnxCrossEncoder.load(dir, { dtype, threads: 1 });
    assert.match(s.reason, /fresh/);
    await s.release();
  }
  const again = await run(["export-onnx", dir, "--json"]);
  assert.deepEqual([again.json.before, again.json.written], ["fresh", false]);
});

test("serve --reranker: the spawned server announces the re-ranker when ready and answers POST /v1/rerank", async () => {
  const child = spawn(
    process.execPath,
    [join(__dirname, "..", "scripts", "cli.mjs"), "serve", "--model", "offline", "--port", "0", "--json"].concat([
      "--reranker",
      model,
      "--reranker-name",
      "tiny",
    ]),
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    const ready = await new Promise<{ url: string; reranker?: string }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        const msg = line.startsWith("{") ? (JSON.parse(line) as { event?: string; url: string }) : undefined;
        if (msg?.event === "ready") resolve(msg);
      });
      child.on("exit", (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
    });
    assert.equal(ready.reranker, "tiny");
    const res = await fetch(`${ready.url}/v1/rerank`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", query: QUERY, documents: DOCS, top_n: 2 }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { results: { index: number; relevance_score: number }[] };
    const want = await scorer.rank(QUERY, DOCS, { topK: 2 });
    assert.deepEqual(
      body.results.map((r) => r.index),
      want.map((w) => w.corpusId),
    );
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, stderr);
});
