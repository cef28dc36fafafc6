/**
 * npm run bench -- serve-soak [--json] [--seconds 600] [--concurrency 16] [--model offline] [--reranker <dir>]
 *
 * The server as an operator runs it (`ts-embed serve`, its own process) under --seconds of mixed traffic from
 * --concurrency clients (the serve bench's default concurrency), then stopped with SIGTERM as systemd or
 * Kubernetes would. The mix, per 21 requests: 13 good ones (1 to 4 texts, some base64, some `dimensions`),
 * and one each of malformed JSON (400), an input over the token limit (400 input_too_long), a body over the
 * limit (413), an unknown model (404), a client that disconnects mid-request, a burst that overflows the
 * bounded queue (429 with Retry-After, or 200 where it fits), and a re-rank request (POST /v1/rerank, 2 to 9
 * documents, some with top_n and return_documents; 200 with the results sorted, or 429 under the bursts) to the
 * cross-encoder the server also serves (`serve --reranker`: --reranker, or by default a random-weight BERT
 * cross-encoder folder of test/fixtures/rerank/folder.ts written to a temporary folder). Slow clients only wait, so they are left to the
 * unit tests (test/serve-faults.test.ts). Every answer is checked against what its kind of request must get;
 * anything else counts as an error of its class.
 *
 * Reports: requests sent, answers by status, errors by class (unexpected status, wrong body, network error),
 * resident memory of the server (its /metrics) after the warm-up and at the end, p50 / p99 latency of the
 * good requests, whether RSS stayed within 10% (rss_flat), and the server's exit code after SIGTERM. A
 * SIGTERM / SIGINT / SIGHUP to the bench itself ends the traffic early and reports what ran (interrupted).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { metricValue } from "../src/serve/metrics";
import { writeCrossEncoderFolder } from "../test/fixtures/rerank/folder";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const json = process.argv.includes("--json");
const seconds = Number(arg("seconds", "600"));
const concurrency = Number(arg("concurrency", "16"));
const spec = arg("model", "offline");
/** The temporary folder of the default re-ranker (removed at the end), when --reranker is not given. */
const madeReranker = arg("reranker", "") ? undefined : mkdtempSync(join(tmpdir(), "serve-soak-"));
const rerankerDir = ((): string => {
  if (!madeReranker) return arg("reranker", "");
  const dir = join(madeReranker, "reranker");
  writeCrossEncoderFolder(dir);
  return dir;
})();
const RERANKER = "soak-reranker";
if (!(seconds > 0) || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error("serve-soak: --seconds must be > 0 and --concurrency a positive integer");
  process.exit(2);
}
const MAX_INPUT_TOKENS = 64;
const MAX_BODY = 64 * 1024;
const MAX_QUEUE = 96;

const WORDS =
  "leave vacation payroll benefits dental insurance parental policy remote work expense travel laptop security training overtime"
    .split(" ")
    .filter(Boolean);
const text = (i: number, k: number) =>
  `${WORDS[(i + k) % WORDS.length]} ${WORDS[(i * 7 + k) % WORDS.length]} ${WORDS[(i * 13 + k) % WORDS.length]} question ${i}`;

/** Document k of re-rank request i, and the request: 2 to 9 documents, top_n 3 on every third, texts on every second. */
const rerankDoc = (i: number, k: number) => `${text(i, k)} ${WORDS[(i + 3 * k) % WORDS.length]} policy details`;
function rerankBody(i: number): string {
  const documents = Array.from({ length: 2 + (i % 8) }, (_, k) => rerankDoc(i, k));
  return JSON.stringify({
    model: RERANKER,
    query: text(i, 5),
    documents,
    ...(i % 3 === 0 ? { top_n: 3 } : {}),
    ...(i % 2 === 0 ? { return_documents: true } : {}),
  });
}

type Kind = "good" | "malformed" | "too_long" | "too_large" | "unknown_model" | "disconnect" | "burst" | "rerank";
const MIX: Kind[] = [
  ...Array<Kind>(13).fill("good"),
  "malformed",
  "too_long",
  "too_large",
  "unknown_model",
  "disconnect",
  "burst",
  "good",
  "rerank",
];

interface Tally {
  requests: number;
  byStatus: Record<string, number>;
  errors: Record<string, number>;
  latencies: number[];
  rerankLatencies: number[];
  examples: string[];
}

function error(t: Tally, cls: string, detail: string): void {
  t.errors[cls] = (t.errors[cls] ?? 0) + 1;
  if (t.examples.length < 5) t.examples.push(`${cls}: ${detail.slice(0, 200)}`);
}

async function startServer(): Promise<{
  url: string;
  exited: Promise<number | null>;
  kill: (s: NodeJS.Signals) => void;
}> {
  const child = spawn(
    process.execPath,
    [
      join(__dirname, "..", "scripts", "cli.mjs"),
      "serve",
      "--model",
      spec,
      "--port",
      "0",
      "--json",
      "--max-inputs",
      "32",
      "--max-input-tokens",
      String(MAX_INPUT_TOKENS),
      "--max-body-bytes",
      String(MAX_BODY),
      "--max-queue",
      String(MAX_QUEUE),
      "--max-batch-size",
      "32",
      "--reranker",
      rerankerDir,
      "--reranker-name",
      RERANKER,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const msg = JSON.parse(line) as { event?: string; url?: string };
      if (msg.event === "ready" && msg.url) resolve(msg.url);
    });
    child.on("exit", (code) => reject(new Error(`the server exited (${code}) before it was ready: ${stderr}`)));
  });
  return { url, exited, kill: (s) => child.kill(s) };
}

// A stop signal ends the traffic early; the report covers what ran. Installed first, so that a signal during
// the start-up or the warm-up is handled the same way.
let stop = false;
for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const)
  process.on(s, () => {
    stop = true;
  });

async function main(): Promise<void> {
  const server = await startServer();
  console.error(`serve-soak: server ready at ${server.url}; warming up`);
  const post = (body: string, signal?: AbortSignal, route = "/v1/embeddings") =>
    fetch(`${server.url}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal,
    });
  const rss = async () =>
    metricValue(await (await fetch(`${server.url}/metrics`)).text(), "process_resident_memory_bytes") ?? Number.NaN;

  // Warm-up (JIT, first batches, allocator) before the first RSS reading.
  for (let i = 0; i < 200 && !stop; i++)
    await (await post(JSON.stringify({ model: spec, input: [text(i, 0), text(i, 1)] }))).text();
  const rssStart = await rss();
  for (let i = 0; i < 20 && !stop; i++) await (await post(rerankBody(i), undefined, "/v1/rerank")).text();
  const t: Tally = { requests: 0, byStatus: {}, errors: {}, latencies: [], rerankLatencies: [], examples: [] };
  console.error(`serve-soak: traffic for ${seconds} s at concurrency ${concurrency}`);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;

  const one = async (i: number): Promise<void> => {
    const kind = MIX[i % MIX.length];
    t.requests++;
    const count = (status: number) => (t.byStatus[status] = (t.byStatus[status] ?? 0) + 1);
    try {
      if (kind === "disconnect") {
        // Gone after 2 ms: usually while its inputs wait or are being embedded.
        const body = JSON.stringify({ model: spec, input: Array.from({ length: 16 }, (_, k) => text(i, k)) });
        await post(body, AbortSignal.timeout(2)).then(
          async (r) => count((await r.arrayBuffer(), r.status)),
          (e: Error) => {
            if (e.name !== "TimeoutError" && e.name !== "AbortError") error(t, "network", e.message);
            else count(0); // status 0: the client left
          },
        );
        return;
      }
      if (kind === "burst") {
        // 8 requests of 24 texts at once: more than the queue holds while a batch runs.
        const rs = await Promise.all(
          Array.from({ length: 8 }, (_, k) =>
            post(JSON.stringify({ model: spec, input: Array.from({ length: 24 }, (_, j) => text(i + k, j)) })),
          ),
        );
        for (const r of rs) {
          count(r.status);
          const body = (await r.json()) as { data?: unknown[]; error?: { type?: string } };
          if (r.status === 200 && body.data?.length !== 24) error(t, "wrong_body", JSON.stringify(body));
          else if (r.status === 429 && (!r.headers.get("retry-after") || body.error?.type !== "rate_limit_error"))
            error(t, "wrong_body", `429 without Retry-After or OpenAI shape: ${JSON.stringify(body)}`);
          else if (r.status !== 200 && r.status !== 429) error(t, "unexpected_status", `burst got ${r.status}`);
        }
        return;
      }
      if (kind === "rerank") {
        const t0 = performance.now();
        const r = await post(rerankBody(i), undefined, "/v1/rerank");
        const answer = (await r.json()) as {
          results?: { index: number; relevance_score: number; document?: { text: string } }[];
          usage?: { total_tokens?: number };
        };
        count(r.status);
        if (r.status === 429) return; // overload from the bursts, as for the good embedding requests
        t.rerankLatencies.push(performance.now() - t0);
        const docs = 2 + (i % 8);
        const want = i % 3 === 0 ? Math.min(3, docs) : docs;
        const res = answer.results ?? [];
        if (r.status !== 200) error(t, "unexpected_status", `rerank got ${r.status}: ${JSON.stringify(answer)}`);
        else if (
          res.length !== want ||
          res.some((x, k) => k > 0 && x.relevance_score > res[k - 1].relevance_score) ||
          new Set(res.map((x) => x.index)).size !== res.length ||
          res.some((x) => (i % 2 === 0) !== (x.document?.text === rerankDoc(i, x.index))) ||
          !((answer.usage?.total_tokens ?? 0) > 0)
        )
          error(t, "wrong_body", `rerank: ${JSON.stringify(answer)}`);
        return;
      }
      const [body, want] = ((): [string, number] => {
        switch (kind) {
          case "malformed":
            return ['{"model": "offline", "input": ', 400];
          case "too_long":
            return [JSON.stringify({ model: spec, input: "leave ".repeat(MAX_INPUT_TOKENS * 2) }), 400];
          case "too_large":
            return [JSON.stringify({ model: spec, input: "x".repeat(MAX_BODY + 1024) }), 413];
          case "unknown_model":
            return [JSON.stringify({ model: "no-such-model", input: "x" }), 404];
          default: {
            const n = 1 + (i % 4);
            const input = Array.from({ length: n }, (_, k) => text(i, k));
            const extra = i % 5 === 0 ? { encoding_format: "base64" } : i % 7 === 0 ? { dimensions: 16 } : {};
            return [JSON.stringify({ model: spec, input, ...extra }), 200];
          }
        }
      })();
      const t0 = performance.now();
      const r = await post(body);
      const answer = (await r.json()) as { data?: unknown[]; error?: { message?: string } };
      count(r.status);
      if (kind === "good") {
        if (r.status === 429) return; // overload from the bursts is an allowed answer, with its own check there
        t.latencies.push(performance.now() - t0);
        if (r.status !== 200) error(t, "unexpected_status", `good request got ${r.status}: ${JSON.stringify(answer)}`);
        else if (answer.data?.length !== 1 + (i % 4)) error(t, "wrong_body", JSON.stringify(answer));
      } else if (r.status !== want) error(t, "unexpected_status", `${kind} got ${r.status}, expected ${want}`);
      else if (typeof answer.error?.message !== "string") error(t, "wrong_body", `${kind}: ${JSON.stringify(answer)}`);
    } catch (e) {
      error(t, "network", `${kind}: ${(e as Error).message}`);
    }
  };

  // RSS sampled 60 times over the run (at most every 10 s); start and end are the medians of the first and
  // the last fifth of the samples, so that one garbage collection does not decide the verdict.
  const rssSeries: number[] = [];
  const sampler = setInterval(
    () => {
      rss().then(
        (v) => rssSeries.push(v),
        () => undefined,
      );
    },
    Math.min(10_000, Math.max(1000, (seconds * 1000) / 60)),
  );
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stop && performance.now() < deadline) await one(next++);
    }),
  );
  clearInterval(sampler);
  const ran = (performance.now() - started) / 1000;
  // Let the server drop the inputs of the last disconnected clients, then read its memory and counters.
  await new Promise((r) => setTimeout(r, 500));
  const rssEnd = await rss();
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  server.kill("SIGTERM");
  const serverExit = await server.exited;
  if (madeReranker) rmSync(madeReranker, { recursive: true, force: true });

  t.latencies.sort((a, b) => a - b);
  t.rerankLatencies.sort((a, b) => a - b);
  const p = (q: number, xs = t.latencies) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  const fifth = Math.max(1, Math.floor(rssSeries.length / 5));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rssFirst = rssSeries.length >= 5 ? median(rssSeries.slice(0, fifth)) : rssStart;
  const rssLast = rssSeries.length >= 5 ? median(rssSeries.slice(-fifth)) : rssEnd;
  const change = (rssLast - rssFirst) / rssFirst;
  const out = {
    bench: "serve-soak",
    model: spec,
    seconds: Math.round(ran),
    concurrency,
    interrupted: stop,
    requests: t.requests,
    requests_per_s: Math.round((t.requests / ran) * 10) / 10,
    by_status: t.byStatus,
    errors: Object.values(t.errors).reduce((a, b) => a + b, 0),
    errors_by_class: t.errors,
    error_examples: t.examples,
    client_disconnects_seen_by_server: metricValue(metrics, "embed_client_disconnects_total"),
    // Minus the /metrics request that read it.
    open_requests_at_end: (metricValue(metrics, "embed_open_requests") ?? 1) - 1,
    queue_depth_at_end: metricValue(metrics, "embed_queue_depth"),
    rss_after_warmup_mb: mb(rssStart),
    rss_start_mb: mb(rssFirst),
    rss_end_mb: mb(rssLast),
    rss_final_mb: mb(rssEnd),
    rss_samples: rssSeries.length,
    rss_max_mb: mb(Math.max(rssStart, rssEnd, ...rssSeries)),
    rss_change: Math.round(change * 1000) / 1000,
    rss_flat: Math.abs(change) <= 0.1,
    p50_ms: Math.round(p(0.5) * 10) / 10,
    p99_ms: Math.round(p(0.99) * 10) / 10,
    rerank_requests_ok: metricValue(metrics, 'embed_requests_total{route="/v1/rerank",status="200"}') ?? 0,
    rerank_p50_ms: Math.round(p(0.5, t.rerankLatencies) * 10) / 10,
    rerank_p99_ms: Math.round(p(0.99, t.rerankLatencies) * 10) / 10,
    server_exit_after_sigterm: serverExit,
  };
  if (!json) {
    console.log(
      `serve-soak: ${out.requests} requests in ${out.seconds} s at concurrency ${concurrency} (${out.requests_per_s}/s)${stop ? ", interrupted" : ""}`,
    );
    console.log(`  answers by status: ${JSON.stringify(out.by_status)} (0 = the client left on purpose)`);
    console.log(`  errors: ${out.errors} ${JSON.stringify(out.errors_by_class)}`);
    for (const e of out.error_examples) console.log(`    ${e}`);
    console.log(
      `  server RSS (median of the first / last fifth of ${out.rss_samples} samples) ${out.rss_start_mb} -> ${out.rss_end_mb} MiB (${(change * 100).toFixed(1)}%, max ${out.rss_max_mb}, ${out.rss_after_warmup_mb} after warm-up, ${out.rss_final_mb} at the end); flat within 10%: ${out.rss_flat}`,
    );
    console.log(`  good requests: p50 ${out.p50_ms} ms, p99 ${out.p99_ms} ms`);
    console.log(
      `  re-rank requests: ${out.rerank_requests_ok} answered 200, p50 ${out.rerank_p50_ms} ms, p99 ${out.rerank_p99_ms} ms`,
    );
    console.log(`  server after SIGTERM: exit ${serverExit}; open requests at the end ${out.open_requests_at_end}`);
  }
  console.log(JSON.stringify(out));
  process.exitCode = out.errors === 0 && out.rss_flat && serverExit === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(`serve-soak: ${(err as Error).message}`);
  process.exit(1);
});
