// The command line: --help for every command, exit codes (0 ok, 1 failure, 2 bad usage) from a spawned
// process, and one real short run of each step in order: generate -> review export/import -> split -> train
// (2 steps) -> mine -> eval (CSV report, results JSON) -> compare -> publish (loopback stand-in Hub). The steps run
// in-process through main() (one tfjs start-up instead of eight); serve is exercised by serve-load.test.ts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main";

const ROOT = join(__dirname, "..");
const COMMANDS = [
  "generate",
  "review",
  "split",
  "train",
  "mine",
  "eval",
  "compare",
  "serve",
  "export-onnx",
  "publish",
  "bench",
];
let work = "";

function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const res = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Spawned without blocking this process (the stand-in Hub below answers from it). */
function spawnCliAsync(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs main() in this process, capturing stdout / stderr. */
async function run(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; json: Record<string, any> }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  const stdout = out.join("");
  let json: Record<string, any> = {};
  if (args.includes("--json") && stdout.trim()) json = JSON.parse(stdout.trim().split("\n").pop() as string);
  return { code, stdout, stderr: err.join(""), json };
}

before(() => {
  work = mkdtempSync(join(tmpdir(), "cli-"));
  mkdirSync(join(work, "docs"));
  const src = join(ROOT, "data", "policy-handbook", "source");
  for (const f of readdirSync(src).sort().slice(0, 8)) cpSync(join(src, f), join(work, "docs", f));
});

test("spawned: --help exits 0, bad usage exits 2, a failed run exits 1", () => {
  const help = spawnCli(["--help"]);
  assert.equal(help.code, 0);
  for (const c of COMMANDS) assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`));
  const unknown = spawnCli(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const badOpt = spawnCli(["train", "--data", "policy-handbook", "--epochs", "zero"]);
  assert.equal(badOpt.code, 2);
  assert.match(badOpt.stderr, /--epochs must be a positive integer, got "zero"/);
  const missing = spawnCli(["eval", "--data", join(work, "no-such-dataset"), "--json"]);
  assert.equal(missing.code, 2);
  assert.equal(JSON.parse(missing.stdout).ok, false);
  const failed = spawnCli(["generate", join(work, "empty-folder-that-exists")], {});
  assert.equal(failed.code, 2); // a folder that does not exist is bad usage
  mkdirSync(join(work, "empty"), { recursive: true });
  const empty = spawnCli(["generate", join(work, "empty"), "--out", join(work, "x")]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no text found/);
  assert.equal(spawnCli([]).code, 2);
});

test("every command has --help (exit 0) naming its options", async () => {
  for (const c of [...COMMANDS, "review export", "review import"]) {
    const r = await run([...c.split(" "), "--help"]);
    assert.equal(r.code, 0, c);
    assert.match(r.stdout, new RegExp(`Usage: ts-embed ${c}`), c);
    if (c !== "bench" && c !== "review") assert.match(r.stdout, /--json/, c);
  }
});

let hub: Server;
let hubUrl = "";
const hubCalls: string[] = [];
before(async () => {
  hub = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      hubCalls.push(`${req.method} ${req.url}`);
      const send = (s: number, j: unknown) => {
        res.writeHead(s, { "content-type": "application/json" });
        res.end(JSON.stringify(j));
      };
      if (req.headers.authorization !== "Bearer hf_cli_test") return send(401, { error: "bad token" });
      if (req.url === "/api/whoami-v2") return send(200, { name: "tester", type: "user", auth: {} });
      if (req.url === "/api/repos/create") return send(200, { url: `${hubUrl}/tester/cli-model` });
      if (req.url?.includes("/preupload/"))
        return send(200, {
          files: (JSON.parse(body) as { files: { path: string }[] }).files.map((f) => ({
            path: f.path,
            uploadMode: "regular",
          })),
        });
      if (req.url?.includes("/commit/"))
        return send(200, { commitOid: "abc123", commitUrl: `${hubUrl}/tester/cli-model/commit/abc123` });
      send(404, { error: "no route" });
    });
  });
  hub.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => hub.listen(0, "127.0.0.1", r));
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => hub.close(() => r())));

test("the pipeline, one short real run per command", { timeout: 600_000 }, async () => {
  const gen = await run(["generate", join(work, "docs"), "--out", join(work, "gen"), "--questions", "2", "--json"]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(gen.json.documents, 8);
  assert.equal(gen.json.pairs, gen.json.chunks * 2);

  const exp = await run(["review", "export", gen.json.pairsPath, "--out", join(work, "review.csv"), "--json"]);
  assert.equal(exp.code, 0, exp.stderr);
  assert.equal(exp.json.rows, gen.json.pairs);
  // Accept every row but reject the first: the sheet's first column is `decision`.
  const lines = readFileSync(join(work, "review.csv"), "utf8").split("\n");
  const csv = readFileSync(join(work, "review.csv"), "utf8")
    .replace(/\n,/g, "\naccept,")
    .replace("\naccept,", "\nreject,");
  writeFileSync(join(work, "review.csv"), csv);
  assert.ok(lines.length > 3);
  const pending = await run([
    "review",
    "import",
    join(work, "review.csv"),
    "--out",
    join(work, "reviewed.jsonl"),
    "--json",
  ]);
  assert.equal(pending.code, 0, pending.stderr);
  assert.equal(pending.json.counts.reject, 1);
  assert.equal(pending.json.written, gen.json.pairs - 1);

  const split = await run([
    "split",
    "--chunks",
    gen.json.chunksPath,
    "--pairs",
    join(work, "reviewed.jsonl"),
    "--out",
    join(work, "ds"),
    "--json",
  ]);
  assert.equal(split.code, 0, split.stderr);
  for (const f of ["corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "qrels/dev.tsv", "qrels/test.tsv"])
    assert.ok(existsSync(join(work, "ds", f)), f);
  assert.equal(split.json.queries.train + split.json.queries.dev + split.json.queries.test, gen.json.pairs - 1);

  const bad = await run([
    "split",
    "--chunks",
    gen.json.chunksPath,
    "--pairs",
    join(work, "reviewed.jsonl"),
    "--train",
    "0.9",
    "--json",
  ]);
  assert.equal(bad.code, 2);

  const tr = await run([
    "train",
    "--model",
    "offline",
    "--data",
    join(work, "ds"),
    "--out",
    join(work, "run"),
    "--max-steps",
    "2",
    "--batch-size",
    "8",
    "--lr",
    "0.05",
    "--json",
  ]);
  assert.equal(tr.code, 0, tr.stderr);
  assert.equal(tr.json.steps, 2);
  assert.ok(Number.isFinite(tr.json.trainLoss));
  assert.ok(existsSync(join(work, "run", "final", "modules.json")));
  const summary = JSON.parse(readFileSync(join(work, "run", "final", "training_summary.json"), "utf8"));
  assert.equal(summary.loss.name, "MultipleNegativesRankingLoss");
  assert.equal(summary.hyperparameters.learning_rate, 0.05);

  const mined = await run([
    "mine",
    "--model",
    join(work, "run", "final"),
    "--data",
    join(work, "ds"),
    "--num-negatives",
    "1",
    "--out",
    join(work, "mined.jsonl"),
    "--json",
  ]);
  assert.equal(mined.code, 0, mined.stderr);
  assert.deepEqual(mined.json.columns, ["anchor", "positive", "negative"]);
  const minedRows = readFileSync(join(work, "mined.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, string>);
  assert.equal(minedRows.length, mined.json.rows);
  assert.ok(minedRows.length > 0 && minedRows.every((r) => r.negative && r.negative !== r.positive));
  const badMine = await run(["mine", "--data", join(work, "ds"), "--format", "quadruplet"]);
  assert.equal(badMine.code, 2);

  const ev = await run([
    "eval",
    "--model",
    "offline",
    join(work, "run", "final"),
    "bm25",
    "--data",
    join(work, "ds"),
    "--report",
    join(work, "eval.csv"),
    "--results",
    join(work, "eval.json"),
    "--json",
  ]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.deepEqual(
    ev.json.systems.map((s: { system: string }) => s.system),
    ["offline", "run/final", "bm25"],
  );
  const header = readFileSync(join(work, "eval.csv"), "utf8").split("\n")[0];
  assert.equal(
    header,
    "query_id,query,relevant_ids,offline top-5,offline rank,run/final top-5,run/final rank,bm25 top-5,bm25 rank",
  );
  assert.equal(readFileSync(join(work, "eval.csv"), "utf8").trim().split("\n").length, ev.json.queries + 1);
  const ndcg = ev.json.systems[2].metrics["ndcg@10"];
  assert.ok(ndcg > 0 && ndcg <= 1);

  const cmp = await run([
    "compare",
    "--baseline",
    "offline",
    "--candidate",
    join(work, "run", "final"),
    "--data",
    join(work, "ds"),
    "--report",
    join(work, "cmp.csv"),
    "--resamples",
    "200",
    "--json",
  ]);
  assert.equal(cmp.code, 0, cmp.stderr);
  assert.equal(cmp.json.improved + cmp.json.worsened + cmp.json.unchanged, cmp.json.queries);
  assert.match(readFileSync(join(work, "cmp.csv"), "utf8").split("\n")[0], /,change$/);
  const same = await run(["compare", "--baseline", "bm25", "--candidate", "bm25", "--data", join(work, "ds")]);
  assert.equal(same.code, 2);

  const bench = await run(["bench", "no-such-bench"]);
  assert.equal(bench.code, 2);

  // publish reads HF_TOKEN at start-up, so it runs in its own process.
  const noToken = spawnCli(["publish", join(work, "run", "final"), "--repo", "tester/cli-model", "--hub-url", hubUrl], {
    HF_TOKEN: "",
    HF_HOME: join(work, "hf"),
  });
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /No Hugging Face token/);
  assert.equal(hubCalls.length, 0);
  const pub = await spawnCliAsync(
    [
      "publish",
      join(work, "run", "final"),
      "--repo",
      "tester/cli-model",
      "--eval",
      join(work, "eval.json"),
      "--eval-system",
      "run/final",
      "--json",
    ],
    {
      HF_TOKEN: "hf_cli_test",
      HF_ENDPOINT: hubUrl,
    },
  );
  assert.equal(pub.code, 0, pub.stderr);
  const p = JSON.parse(pub.stdout.trim());
  assert.equal(p.commit.oid, "abc123");
  assert.ok(p.files.includes("README.md") && p.files.includes("modules.json"));
  assert.deepEqual(
    hubCalls.map((c) => c.split(" ")[1].split("/").slice(0, 3).join("/")),
    ["/api/whoami-v2", "/api/repos", "/api/models", "/api/models"],
  );
});
