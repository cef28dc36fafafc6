/**
 * npm run bench -- serve [--json] [--model offline] [--texts 2000] [--concurrency 16] [--per-request 1,16] [--repeats 3]
 *
 * Embeddings per second through the OpenAI-compatible server (HTTP on loopback, JSON in and out, dynamic
 * batching) against calling model.encode directly on the same texts, and the server's overhead as the ratio
 * direct / served (1.0 = no overhead). Texts: the queries and passages of the shipped policy-handbook
 * dataset, in a fixed order. Client and server share this process and its cores, as on a single machine;
 * the client's own JSON work is counted against the server. Each figure is the median of --repeats runs.
 *
 * Direct: encode(texts, { batchSize: 32 }), all texts at once. Served: --concurrency clients, each request
 * carrying --per-request texts (1 = one request per text, the worst case for overhead; 16 = a typical
 * indexing client), encoding_format float, until all texts are embedded.
 */
import { performance } from "node:perf_hooks";
import { loadShippedDataset } from "../src/data/index";
import { loadModel } from "../src/model/index";
import { createEmbeddingServer, defaultModelName, inferencePathOf } from "../src/serve/index";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const json = process.argv.includes("--json");
const spec = arg("model", "offline");
const nTexts = Number(arg("texts", "2000"));
const concurrency = Number(arg("concurrency", "16"));
const perRequest = arg("per-request", "1,16").split(",").map(Number);
const repeats = Number(arg("repeats", "3"));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const ds = loadShippedDataset("policy-handbook");
  const pool = [...ds.queries.values(), ...[...ds.corpus.values()].map((d) => d.text)];
  const texts = Array.from({ length: nTexts }, (_, i) => pool[i % pool.length]);
  const model = await loadModel(spec);
  const name = defaultModelName(spec);

  await model.encode(texts.slice(0, 64)); // warm-up
  const directRuns: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await model.encode(texts, { batchSize: 32 });
    directRuns.push((performance.now() - t0) / 1000);
  }
  const direct = nTexts / median(directRuns);

  const server = createEmbeddingServer({ model, modelName: name });
  const url = await server.listen(0);
  const served: Record<
    string,
    { embeddings_per_s: number; overhead_ratio: number; p50_ms: number; p99_ms: number; runs_s: number[] }
  > = {};
  try {
    for (const k of perRequest) {
      const bodies: string[] = [];
      for (let i = 0; i < nTexts; i += k)
        bodies.push(JSON.stringify({ model: name, input: texts.slice(i, i + k), encoding_format: "float" }));
      const runs: number[] = [];
      let lat: number[] = [];
      for (let r = 0; r < repeats + 1; r++) {
        const latencies: number[] = [];
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            for (let i = next++; i < bodies.length; i = next++) {
              const s = performance.now();
              const res = await fetch(`${url}/v1/embeddings`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: bodies[i],
              });
              const j = (await res.json()) as { data?: unknown[] };
              if (res.status !== 200 || !j.data) throw new Error(`request ${i}: HTTP ${res.status}`);
              latencies.push(performance.now() - s);
            }
          }),
        );
        if (r > 0) runs.push((performance.now() - t0) / 1000); // run 0 warms the HTTP path
        lat = latencies;
      }
      lat.sort((a, b) => a - b);
      const eps = nTexts / median(runs);
      served[`per_request_${k}`] = {
        embeddings_per_s: Math.round(eps),
        overhead_ratio: Number((direct / eps).toFixed(2)),
        p50_ms: Number(lat[Math.floor(lat.length * 0.5)].toFixed(1)),
        p99_ms: Number(lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))].toFixed(1)),
        runs_s: runs.map((x) => Number(x.toFixed(3))),
      };
    }
  } finally {
    await server.close();
  }
  const result = {
    bench: "serve",
    model: name,
    inference_path: inferencePathOf(model),
    texts: nTexts,
    concurrency,
    repeats,
    direct_embeddings_per_s: Math.round(direct),
    direct_runs_s: directRuns.map((x) => Number(x.toFixed(3))),
    served,
    batches: server.metrics.batchSize.count,
    mean_batch_size: Number((server.metrics.batchSize.sum / Math.max(1, server.metrics.batchSize.count)).toFixed(1)),
  };
  console.log(
    `serve benchmark: ${name} (${result.inference_path}), ${nTexts} texts, ${concurrency} concurrent clients, median of ${repeats}`,
  );
  console.log(`  direct encode        ${result.direct_embeddings_per_s} embeddings/s`);
  for (const [k, v] of Object.entries(served))
    console.log(
      `  server ${k.padEnd(14)} ${v.embeddings_per_s} embeddings/s  overhead x${v.overhead_ratio}  p50 ${v.p50_ms} ms  p99 ${v.p99_ms} ms`,
    );
  console.log(`  dynamic batching: ${result.batches} model batches, mean ${result.mean_batch_size} inputs per batch`);
  if (json) console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
