// The server as users run it (`cli serve`, a separate process) under load on loopback: 2,000 good requests at
// concurrency 32 with malformed and oversized requests interleaved; zero errors on the good ones, RSS flat from
// the 500th to the 2,000th request, throughput and p50 / p99 printed. Then SIGTERM while requests are in
// flight: they all finish and the process exits 0. Model: the embedded "offline" one, so this is quick.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { metricValue } from "../src/serve/metrics";

const ROOT = join(__dirname, "..");
const TOTAL = 2000;
const CONCURRENCY = 32;

function startServer(
  args: string[] = [],
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src", "cli", "main.ts"),
      "serve",
      "--model",
      "offline",
      "--port",
      "0",
      "--json",
      ...args,
    ],
    {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 90 s; stderr: ${stderr}`)), 90_000);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const msg = JSON.parse(line) as { event?: string; url?: string };
      if (msg.event === "ready" && msg.url) {
        clearTimeout(timer);
        resolve({ child, url: msg.url, exited });
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code} before it was ready; stderr: ${stderr}`)));
  });
}

const WORDS =
  "leave vacation payroll benefits dental insurance parental policy remote work expense travel laptop security training".split(
    " ",
  );

function goodBody(i: number): unknown {
  const n = 1 + (i % 4);
  const texts = Array.from(
    { length: n },
    (_, k) => `${WORDS[(i + k) % WORDS.length]} ${WORDS[(i * 7 + k) % WORDS.length]} question ${i}`,
  );
  return { model: "offline", input: n === 1 ? texts[0] : texts, ...(i % 5 === 0 ? { encoding_format: "base64" } : {}) };
}

const BAD: { body: string; status: number }[] = [
  { body: '{"model": "offline", "input": ', status: 400 },
  { body: JSON.stringify({ model: "offline", input: "" }), status: 400 },
  { body: JSON.stringify({ model: "offline", input: [1.5, "x"] }), status: 400 },
  { body: JSON.stringify({ model: "nope", input: "x" }), status: 404 },
  { body: JSON.stringify({ model: "offline", input: "x".repeat(300 * 1024) }), status: 413 },
  { body: JSON.stringify({ model: "offline", input: Array(40).fill("x") }), status: 400 },
];

async function postRaw(url: string, body: string): Promise<Response> {
  return fetch(`${url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body });
}

test("2,000 requests at concurrency 32: zero errors, malformed ones interleaved, RSS flat, latency printed", {
  timeout: 240_000,
}, async () => {
  const { child, url, exited } = await startServer(["--max-inputs", "32", "--max-body-bytes", String(256 * 1024)]);
  try {
    const latencies: number[] = [];
    const failures: string[] = [];
    let rssAt500: number | undefined;
    let next = 0;
    let badSent = 0;
    const readRss = async () =>
      metricValue(await (await fetch(`${url}/metrics`)).text(), "process_resident_memory_bytes");
    // Warm-up (JIT, first batch) before anything is timed.
    for (let i = 0; i < 20; i++) await postRaw(url, JSON.stringify(goodBody(i)));
    const started = performance.now();
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= TOTAL) return;
        if (i % 10 === 3) {
          const bad = BAD[badSent++ % BAD.length];
          const r = await postRaw(url, bad.body);
          const j = (await r.json()) as { error?: { message?: string } };
          if (r.status !== bad.status || typeof j.error?.message !== "string")
            failures.push(`bad request got ${r.status}: ${JSON.stringify(j).slice(0, 200)}`);
        }
        const body = goodBody(i);
        const t0 = performance.now();
        const r = await postRaw(url, JSON.stringify(body));
        const j = (await r.json()) as { data?: unknown[] };
        latencies.push(performance.now() - t0);
        const want = Array.isArray((body as { input: unknown }).input)
          ? (body as { input: unknown[] }).input.length
          : 1;
        if (r.status !== 200 || j.data?.length !== want)
          failures.push(`request ${i}: ${r.status} ${JSON.stringify(j).slice(0, 200)}`);
        if (i === 500) rssAt500 = await readRss();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const rssAt2000 = await readRss();
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    console.log(
      `load: ${TOTAL} requests (+${badSent} malformed) at concurrency ${CONCURRENCY} in ${seconds.toFixed(1)} s = ${(TOTAL / seconds).toFixed(0)} req/s; ` +
        `p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms; RSS ${((rssAt500 ?? 0) / 2 ** 20).toFixed(0)} MiB at #500 -> ${((rssAt2000 ?? 0) / 2 ** 20).toFixed(0)} MiB at #2000 (shared 2-core machine: timings are noisy)`,
    );
    assert.deepEqual(failures.slice(0, 5), []);
    assert.equal(latencies.length, TOTAL);
    assert.ok(badSent >= 190);
    assert.ok(rssAt500 && rssAt2000);
    assert.ok(Math.abs(rssAt2000 - rssAt500) / rssAt500 <= 0.1, `RSS ${rssAt500} -> ${rssAt2000} moved more than 10%`);
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.equal(metricValue(m, 'embed_requests_total{route="/v1/embeddings",status="200"}'), TOTAL + 20);
    assert.ok(
      (metricValue(m, "embed_batch_size_count") ?? Infinity) < TOTAL,
      "concurrent requests were merged into fewer batches",
    );
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  }
});

test("SIGTERM: requests in flight finish with 200, then the process exits 0", { timeout: 180_000 }, async () => {
  // Small model batches: the server yields between them, so it answers the /metrics polls below while busy.
  const { child, url, exited } = await startServer(["--max-batch-size", "8"]);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const body = (i: number) =>
    JSON.stringify({
      model: "offline",
      input: Array.from(
        { length: 256 },
        (_, k) => `${WORDS[(i + k) % WORDS.length]} ${"policy text ".repeat(8)} ${i} ${k}`,
      ),
    });
  // Read each body fully, so that a finished response is not held back by the client.
  const outcome = (p: Promise<Response>) =>
    p.then(
      async (r) => (await r.arrayBuffer(), r.status),
      (e: { cause?: { code?: string } }) => e.cause?.code ?? "error",
    );
  const inflight = Array.from({ length: 12 }, (_, i) => outcome(postRaw(url, body(i))));
  // SIGTERM while the server holds requests it has read and not yet answered.
  let atSigterm = 0;
  for (let t = 0; t < 3000 && atSigterm === 0; t++) {
    atSigterm = metricValue(await (await fetch(`${url}/metrics`)).text(), "embed_requests_in_flight") ?? 0;
    if (atSigterm === 0) await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGTERM");
  const results = await Promise.all(inflight);
  assert.equal(await exited, 0);
  const ok = results.filter((r) => r === 200).length;
  console.log(`SIGTERM with ${atSigterm} requests in flight: ${JSON.stringify(results)}`);
  assert.ok(atSigterm >= 1);
  // Everything the server had read finished with 200; a request that arrived after SIGTERM got 503, or found
  // the listening socket closed (refused / reset before it was read), as with any server that stops.
  assert.ok(ok >= atSigterm, JSON.stringify(results));
  assert.ok(
    results.every(
      (r) => r === 200 || r === 503 || r === "ECONNREFUSED" || r === "ECONNRESET" || r === "UND_ERR_SOCKET",
    ),
  );
  const stopped = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event?: string; successfulRequests?: number })
    .find((m) => m.event === "stopped");
  assert.equal(stopped?.successfulRequests, ok);
  await assert.rejects(fetch(`${url}/health`));
});
