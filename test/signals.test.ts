// One SIGTERM to the process an operator started stops every long-running entry point cleanly (issue 21):
// the `ts-embed` bin and `npm run cli -- serve` (the server is that very process: it drains and exits 0),
// `npm run bench -- serve-soak` (ends its traffic, stops its server, reports) and `npm test` (the test runner
// gets the signal). Each under load; then: the exit status, every request in flight answered, the port
// closed, and no process of the run left (found by a marker in their environment, which children inherit).
// The notebook runner and kernel are covered in test/slow/course-stop.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { metricValue } from "../src/serve/metrics";

const ROOT = join(__dirname, "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** Pids of live processes whose environment holds MARK=<mark> (Linux /proc). */
function processesWithMark(mark: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(`SIGNALS_TEST_MARK=${mark}`))
        found.push(Number(name));
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...rest } = env;
  return rest;
}

interface Started {
  child: ChildProcess;
  mark: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  lines: AsyncIterable<string>;
}

function start(cmd: string, args: string[], env: Record<string, string> = {}): Started {
  const mark = randomUUID();
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // Without NODE_TEST_CONTEXT: an inner `npm test` must run as a test runner of its own, not as our child.
    env: { ...withoutTestContext(process.env), ...env, SIGNALS_TEST_MARK: mark },
  });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal })),
  );
  return {
    child,
    mark,
    exited,
    output: () => out,
    lines: createInterface({ input: child.stdout as NodeJS.ReadableStream }),
  };
}

async function readyUrl(s: Started): Promise<string> {
  for await (const line of s.lines) {
    if (!line.startsWith("{")) continue; // npm's banner
    const msg = JSON.parse(line) as { event?: string; url?: string };
    if (msg.event === "ready" && msg.url) return msg.url;
  }
  throw new Error(`the server ended before it was ready:\n${s.output()}`);
}

const bigBody = (i: number) =>
  JSON.stringify({
    model: "offline",
    input: Array.from({ length: 256 }, (_, k) => `leave policy ${"handbook text ".repeat(8)} ${i} ${k}`),
  });

/**
 * Sends `n` large requests and resolves once the server holds some of them: the outcomes (status, or the
 * network error's code) to await, and how many were in flight.
 */
async function load(url: string, n: number): Promise<{ inflight: Promise<number | string>[]; atSigterm: number }> {
  const outcome = (i: number) =>
    fetch(`${url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: bigBody(i),
    }).then(
      async (r) => (await r.arrayBuffer(), r.status),
      (e: { cause?: { code?: string } }) => e.cause?.code ?? "error",
    );
  const inflight = Array.from({ length: n }, (_, i) => outcome(i));
  let atSigterm = 0;
  await until(
    async () => {
      atSigterm = metricValue(await (await fetch(`${url}/metrics`)).text(), "embed_requests_in_flight") ?? 0;
      return atSigterm > 0;
    },
    60_000,
    "requests in flight",
  );
  return { inflight, atSigterm };
}

/** SIGTERM to the started process while the server holds requests; the checks every entry point shares. */
async function sigtermUnderLoad(s: Started): Promise<void> {
  const url = await readyUrl(s);
  const { inflight, atSigterm } = await load(url, 8);
  assert.equal(s.child.kill("SIGTERM"), true);
  const results = await Promise.all(inflight);
  const { code, signal } = await s.exited;
  assert.equal(signal, null, s.output());
  assert.equal(code, 0, s.output());
  // Every request the server had read got its 200; the others were refused before being read.
  assert.ok(results.filter((r) => r === 200).length >= atSigterm, JSON.stringify(results));
  assert.ok(
    results.every((r) => r === 200 || r === 503 || r === "ECONNREFUSED" || r === "ECONNRESET"),
    JSON.stringify(results),
  );
  await assert.rejects(fetch(`${url}/health`), "the port is closed");
  await until(() => processesWithMark(s.mark).length === 0, 5000, "no process of the run left");
}

const serveArgs = ["serve", "--model", "offline", "--port", "0", "--json", "--max-batch-size", "8"];

test("ts-embed serve (the bin itself, no wrapper): SIGTERM under load drains, exits 0, closes the port", {
  timeout: 120_000,
}, async () => {
  await sigtermUnderLoad(start(join(ROOT, "scripts", "cli.mjs"), serveArgs));
});

test("npm run cli -- serve: SIGTERM to npm reaches the server, which drains; npm exits 0", {
  timeout: 120_000,
}, async () => {
  await sigtermUnderLoad(start(npm, ["run", "cli", "--", ...serveArgs]));
});

test("npm run bench -- serve-soak: SIGTERM ends the traffic, stops its server, reports, exits 0", {
  timeout: 180_000,
}, async () => {
  const s = start(npm, ["run", "bench", "--", "serve-soak", "--json", "--seconds", "120", "--concurrency", "4"]);
  await until(() => s.output().includes("serve-soak: traffic for"), 90_000, "the bench's traffic");
  await new Promise((r) => setTimeout(r, 3000));
  s.child.kill("SIGTERM");
  const { code, signal } = await s.exited;
  assert.equal(signal, null, s.output());
  const report = JSON.parse(
    s
      .output()
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .pop() ?? "{}",
  ) as Record<string, unknown>;
  assert.equal(report.interrupted, true, s.output());
  assert.equal(report.server_exit_after_sigterm, 0);
  assert.equal(report.errors, 0, JSON.stringify(report.error_examples));
  assert.ok((report.requests as number) > 0);
  assert.equal(code, 0, s.output());
  await until(() => processesWithMark(s.mark).length === 0, 5000, "no process of the bench left");
});

test("npm test: SIGTERM to npm reaches the test runner; the test's own server drains; nothing is left", {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "signals-npm-test-"));
  const urlFile = join(dir, "url");
  writeFileSync(urlFile, "");
  const s = start(npm, ["test", "--", "test/fixtures/signals/serving.test.ts"], { SIGNALS_TEST_URL_FILE: urlFile });
  await until(() => readFileSync(urlFile, "utf8").includes("http"), 90_000, "the fixture test's server");
  const url = readFileSync(urlFile, "utf8").trim();
  const { inflight } = await load(url, 4);
  s.child.kill("SIGTERM");
  const results = await Promise.all(inflight);
  const { code, signal } = await s.exited;
  // The runner was stopped, so the run is not a success; but it ended, and said so through its status.
  assert.ok(code !== 0 || signal !== null, s.output());
  assert.ok(results.includes(200), `requests in flight were answered: ${JSON.stringify(results)}`);
  assert.ok(
    results.every((r) => r === 200 || r === 503 || r === "ECONNREFUSED" || r === "ECONNRESET"),
    JSON.stringify(results),
  );
  await assert.rejects(fetch(`${url}/health`), "the port is closed");
  await until(() => processesWithMark(s.mark).length === 0, 5000, "no process of the test run left");
});
