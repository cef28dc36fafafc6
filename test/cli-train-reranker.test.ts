// `train-reranker`: mined rows in, a cross-encoder folder out that the ONNX scorer (and Python's CrossEncoder)
// reads; the loss falls on a tiny model; rows of the wrong form for the loss and bad files are refused with the fix.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main";
import { loadCrossEncoder } from "../src/rerank/load";
import { writeCrossEncoderFolder } from "./fixtures/rerank/folder";

let work = "";
let base = "";
// Negatives that are never a positive, so a tiny model can learn the task in a few steps (the test is of the
// command and the training loop, not of what a re-ranker can learn).
const OFF_TOPIC = ["The weather was sunny all week.", "Bananas are rich in potassium.", "The train left at noon."];
const QUESTIONS = [
  ["how many pto days do i get", "Employees accrue twenty days of paid time off per year."],
  ["when does the cafeteria open", "The cafeteria opens at eight in the morning."],
  ["can i work from home", "Remote work needs a manager's approval."],
  ["how do i request leave", "Leave requests go to your manager two weeks ahead."],
];

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  const stdout = out.join("");
  const json = args.includes("--json") && stdout.trim() ? JSON.parse(stdout.trim()) : {};
  return { code, stdout, stderr: err.join(""), json };
}

before(() => {
  work = mkdtempSync(join(tmpdir(), "cli-train-reranker-"));
  base = join(work, "base");
  writeCrossEncoderFolder(base);
  // Labeled pairs as `mine --format labeled-pair` writes them: each question's passage (1) and another's (0).
  const labeled = QUESTIONS.flatMap(([q, p], i) => [
    { anchor: q, positive: p, label: 1 },
    { anchor: q, positive: OFF_TOPIC[i % OFF_TOPIC.length], label: 0 },
  ]);
  writeFileSync(join(work, "pairs.jsonl"), labeled.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const tuples = QUESTIONS.map(([q, p], i) => ({
    anchor: q,
    positive: p,
    negative_1: OFF_TOPIC[i % OFF_TOPIC.length],
  }));
  writeFileSync(join(work, "tuples.jsonl"), tuples.map((r) => JSON.stringify(r)).join("\n") + "\n");
});

test("train-reranker --loss bce: trains, the training loss falls, final/ loads as a cross-encoder", async () => {
  const out = join(work, "bce");
  const args = ["train-reranker", "-m", base, "-d", join(work, "pairs.jsonl"), "-o", out, "--json"];
  const r = await run([...args, "--epochs", "10", "--batch-size", "4", "--lr", "1e-3", "--random-negatives", "0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.loss, "BinaryCrossEntropyLoss");
  assert.equal(r.json.examples, 8);
  assert.equal(r.json.steps, 20);
  const history = (JSON.parse(readFileSync(join(out, "history.json"), "utf8")) as { entries: { loss?: number }[] })
    .entries;
  const losses = history.map((h) => h.loss).filter((l): l is number => typeof l === "number");
  const head = losses.slice(0, 2).reduce((a, b) => a + b, 0) / 2;
  const tail = losses.slice(-2).reduce((a, b) => a + b, 0) / 2;
  assert.ok(tail < head, `the loss did not fall: first steps ${head}, last ${tail}`);
  assert.ok(existsSync(join(out, "final", "model.safetensors")));
  const tuned = await loadCrossEncoder(join(out, "final"));
  const [pos, neg] = await tuned.predict([
    [QUESTIONS[0][0], QUESTIONS[0][1]],
    [QUESTIONS[0][0], OFF_TOPIC[0]],
  ]);
  assert.ok(pos > neg, `the trained model scores the question's own passage (${pos}) below another's (${neg})`);
});

test("train-reranker --loss mnrl on n-tuples, with random negatives mixed in", async () => {
  const out = join(work, "mnrl");
  const r = await run([
    "train-reranker",
    ...["-m", base, "-d", join(work, "tuples.jsonl"), "-o", out, "--loss", "mnrl", "--batch-size", "2", "--json"],
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(r.json.loss, "MultipleNegativesRankingLoss");
  assert.equal(r.json.steps, 2);
});

test("train-reranker refuses rows of the wrong form for the loss, a missing file and an unknown loss", async () => {
  const wrong = await run(["train-reranker", "-m", base, "-d", join(work, "tuples.jsonl"), "-o", join(work, "x")]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--loss bce takes labeled pairs .* mine with --format labeled-pair/);
  const wrong2 = await run([
    "train-reranker",
    "-m",
    base,
    "-d",
    join(work, "pairs.jsonl"),
    "-o",
    join(work, "y"),
    "--loss",
    "listnet",
  ]);
  assert.equal(wrong2.code, 2);
  assert.match(wrong2.stderr, /takes n-tuples/);
  const missing = await run(["train-reranker", "-m", base, "-d", join(work, "nope.jsonl"), "-o", join(work, "z")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.jsonl/);
  const loss = await run([
    "train-reranker",
    "-m",
    base,
    "-d",
    join(work, "pairs.jsonl"),
    "-o",
    join(work, "w"),
    "--loss",
    "mse",
  ]);
  assert.equal(loss.code, 2);
  assert.match(loss.stderr, /--loss mse: expected one of bce, mnrl, listnet/);
});
