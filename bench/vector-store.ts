/**
 * npm run bench -- vector-store [--json] [--sizes 100000,1000000] [--queries 200] [--dim 384] [--seed 31]
 *                               [--stores faiss-exact,faiss-hnsw,lancedb-flat,lancedb-ivf] [--no-course]
 *
 * Every VectorStore (src/retrieval/vector-store) at 10^5 and 10^6 vectors: faiss exact (IndexFlatIP), faiss HNSW32
 * (efSearch 64), LanceDB without an index (exact scan) and LanceDB with its IVF-PQ index (the store's defaults:
 * rows / 4096 partitions, dim / 4 sub-vectors, nprobes and refine factor as LanceDBStore sets them; the JSON's
 * `sweep` shows recall and latency at other nprobes / refine factors). Per store and size:
 *   build_s       adding the vectors (and for LanceDB, persist(): compaction and index)
 *   disk_mb       the saved index file (faiss: VectorIndex.save) or the table's folder (LanceDB)
 *   rss_mb        the process's resident memory after its searches (each store runs in its own child process,
 *                 so stores never share a heap; the vectors the child generated are part of it)
 *   p50_ms / p99_ms   one query at a time, k = 10, after 5 warm-up queries
 *   recall_at_10  mean |top-10 ∩ exact top-10| / 10 against faiss exact (itself 1 by definition)
 * then the same for the course corpus (the shipped policy-handbook split embedded by the offline model, its test
 * queries), as key "course-<passages>", where the LanceDB index is forced (threshold 1) to see IVF-PQ's recall
 * on real embeddings.
 *
 * Vectors: seeded unit vectors around 1,000 random centres (x = normalise(c + 0.6 g / sqrt(dim)), g standard
 * normal), queries drawn the same way. Embeddings cluster by topic; uniformly random vectors have no neighbours
 * worth the name (all cosines ~ N(0, 1/dim)), on which no partitioned index finds anything faster than a scan.
 * The bench prints `uptime` before and after: on a shared machine the timings are as loaded as it was.
 */
import { spawnSync, execSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Embeddings } from "../src/model/types";
import { mulberry32 } from "../src/random";
import { l2NormalizeRows, quantile } from "../src/math";
import { loadFaiss } from "../src/retrieval/faiss";
import { LanceDBStore } from "../src/retrieval/lancedb-store";
import { VectorIndex } from "../src/retrieval/vector-index";
import type { VectorStore } from "../src/retrieval/vector-store";

const STORES = ["faiss-exact", "faiss-hnsw", "lancedb-flat", "lancedb-ivf"] as const;
type StoreName = (typeof STORES)[number];
const K = 10;
const CENTRES = 1000;
const SPREAD = 0.6;
/** Rows per add() call (LanceDB: one commit each; faiss HNSW: one number[] conversion each). */
const CHUNK = 50_000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Seeded clustered unit vectors (see the header); the same seed gives the same centres. */
function clustered(n: number, dim: number, seed: number, stream: number): Embeddings {
  const centreRng = mulberry32(seed);
  const gaussOf = (rng: () => number) => () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const g0 = gaussOf(centreRng);
  const centres = l2NormalizeRows(Float32Array.from({ length: CENTRES * dim }, g0), dim);
  const rng = mulberry32(seed * 7919 + stream);
  const g = gaussOf(rng);
  const data = new Float32Array(n * dim);
  const scale = SPREAD / Math.sqrt(dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng() * CENTRES) * dim;
    for (let t = 0; t < dim; t++) data[i * dim + t] = centres[c + t] + scale * g();
  }
  return { count: n, dim, data: l2NormalizeRows(data, dim) };
}

function rows(e: Embeddings, from: number, to: number): Embeddings {
  return { count: to - from, dim: e.dim, data: e.data.subarray(from * e.dim, to * e.dim) };
}

function folderBytes(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + folderBytes(join(path, name)), 0);
}

interface Measured {
  build_s: number;
  disk_mb: number;
  rss_mb: number;
  p50_ms: number;
  p99_ms: number;
  recall_at_10: number;
  describe: string;
  sweep?: { nprobes: number; refine_factor: number; recall_at_10: number; p50_ms: number }[];
}

/** One query at a time: per-query milliseconds and the hits. */
async function timeQueries(store: VectorStore, queries: Embeddings): Promise<{ ms: number[]; hits: string[][] }> {
  for (let q = 0; q < Math.min(5, queries.count); q++) await store.search(rows(queries, q, q + 1), K);
  const ms: number[] = [];
  const hits: string[][] = [];
  for (let q = 0; q < queries.count; q++) {
    const t0 = performance.now();
    const [row] = await store.search(rows(queries, q, q + 1), K);
    ms.push(performance.now() - t0);
    hits.push(row.map((h) => h.id));
  }
  return { ms: ms.sort((a, b) => a - b), hits };
}

function recallAt10(hits: string[][], truth: string[][]): number {
  let total = 0;
  hits.forEach((row, q) => {
    const t = new Set(truth[q]);
    total += row.filter((id) => t.has(id)).length / K;
  });
  return total / hits.length;
}

/** Child: builds one store over the vectors, measures it, prints one JSON line. */
async function child(): Promise<void> {
  const store = arg("child", "") as StoreName;
  const source = arg("source", "random");
  const dir = arg("dir", "");
  const truthFile = arg("truth", "");
  let docs: Embeddings;
  let queries: Embeddings;
  if (source === "random") {
    const n = Number(arg("n", "100000"));
    const dim = Number(arg("dim", "384"));
    const seed = Number(arg("seed", "31"));
    docs = clustered(n, dim, seed, 1);
    queries = clustered(Number(arg("queries", "200")), dim, seed, 2);
  } else {
    const saved = JSON.parse(readFileSync(source, "utf8")) as { dim: number; docs: number[]; queries: number[] };
    docs = { count: saved.docs.length / saved.dim, dim: saved.dim, data: Float32Array.from(saved.docs) };
    queries = { count: saved.queries.length / saved.dim, dim: saved.dim, data: Float32Array.from(saved.queries) };
  }
  const ids = Array.from({ length: docs.count }, (_, i) => String(i));
  const t0 = performance.now();
  let built: VectorStore;
  let diskPath: string;
  if (store === "faiss-exact" || store === "faiss-hnsw") {
    const index =
      store === "faiss-exact"
        ? VectorIndex.fromVectors(ids, docs)
        : VectorIndex.create(docs.dim, { kind: "hnsw", efSearch: 64 });
    if (store === "faiss-hnsw")
      for (let i = 0; i < docs.count; i += CHUNK)
        index.add(ids.slice(i, i + CHUNK), rows(docs, i, Math.min(docs.count, i + CHUNK)));
    built = index;
    diskPath = join(dir, "index.vindex");
  } else {
    const lance = await LanceDBStore.open({
      uri: dir,
      table: "bench",
      dim: docs.dim,
      modelKey: "bench",
      indexThreshold: store === "lancedb-ivf" ? 1 : Number.MAX_SAFE_INTEGER,
    });
    for (let i = 0; i < docs.count; i += CHUNK)
      await lance.add(ids.slice(i, i + CHUNK), rows(docs, i, Math.min(docs.count, i + CHUNK)));
    await lance.persist();
    built = lance;
    diskPath = join(dir, "bench.lance");
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  if (store.startsWith("faiss")) (built as VectorIndex).save(diskPath);
  const { ms, hits } = await timeQueries(built, queries);
  const rss = process.memoryUsage().rss;
  let recall = 1;
  if (store === "faiss-exact") writeFileSync(truthFile, JSON.stringify(hits));
  else recall = recallAt10(hits, JSON.parse(readFileSync(truthFile, "utf8")) as string[][]);
  const out: Measured = {
    build_s: buildSeconds,
    disk_mb: folderBytes(diskPath) / 2 ** 20,
    rss_mb: rss / 2 ** 20,
    p50_ms: quantile(ms, 0.5),
    p99_ms: quantile(ms, 0.99),
    recall_at_10: recall,
    describe: built.describe(),
  };
  if (store === "lancedb-ivf") {
    const lance = built as LanceDBStore;
    const truth = JSON.parse(readFileSync(truthFile, "utf8")) as string[][];
    const defaults = { nprobes: lance.nprobes, refineFactor: lance.refineFactor };
    out.sweep = [];
    for (const [nprobes, refineFactor] of [
      [10, 10],
      [20, 10],
      [20, 30],
      [40, 30],
      [20, 60],
      [40, 60],
    ]) {
      lance.nprobes = nprobes;
      lance.refineFactor = refineFactor;
      const r = await timeQueries(lance, rows(queries, 0, Math.min(100, queries.count)));
      out.sweep.push({
        nprobes,
        refine_factor: refineFactor,
        recall_at_10: recallAt10(r.hits, truth.slice(0, r.hits.length)),
        p50_ms: quantile(r.ms, 0.5),
      });
    }
    Object.assign(lance, { nprobes: defaults.nprobes, refineFactor: defaults.refineFactor });
  }
  console.log(`RESULT ${JSON.stringify(out)}`);
}

/** Runs one store in its own process; undefined (with the reason printed) when it fails or runs out of time. */
function runChild(store: StoreName, extra: string[], truthFile: string): Measured | undefined {
  const dir = mkdtempSync(join(tmpdir(), `bench-vs-${store}-`));
  try {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", __filename, "--child", store, "--dir", dir, "--truth", truthFile, ...extra],
      { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] },
    );
    const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (r.status !== 0 || !line) {
      console.error(
        `${store} ${extra.join(" ")}: failed (status ${r.status}, ${r.signal ?? "no signal"}): ${r.stderr.slice(-600)}`,
      );
      return undefined;
    }
    return JSON.parse(line.slice(7)) as Measured;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The course corpus and test queries embedded by the offline model, written for the children. */
async function courseVectors(file: string): Promise<number> {
  const { loadModel } = await import("../src/model");
  const { loadShippedSplit } = await import("../src/data");
  const { documentText } = await import("../src/retrieval/types");
  const split = loadShippedSplit("policy-handbook", "test");
  const model = await loadModel("offline");
  const corpus = [...split.corpus].map(([_id, d]) => ({ _id, title: d.title, text: d.text }));
  const docs = await model.encode(corpus.map(documentText), { normalize: true });
  const queries = await model.encode([...split.queries.values()], { normalize: true });
  writeFileSync(file, JSON.stringify({ dim: docs.dim, docs: [...docs.data], queries: [...queries.data] }));
  return docs.count;
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const sizes = arg("sizes", "100000,1000000").split(",").map(Number);
  const stores = arg("stores", STORES.join(",")).split(",") as StoreName[];
  for (const s of stores)
    if (!STORES.includes(s)) throw new Error(`--stores: "${s}" is not one of ${STORES.join(", ")}.`);
  if (!loadFaiss().module) throw new Error("vector-store bench: faiss-node does not load; it is the exact reference.");
  const common = ["--dim", arg("dim", "384"), "--seed", arg("seed", "31"), "--queries", arg("queries", "200")];
  const loadBefore = execSync("uptime").toString().trim();
  console.log(`uptime before: ${loadBefore}`);
  const result: Record<string, Record<string, Measured>> = {};
  const work = mkdtempSync(join(tmpdir(), "bench-vs-"));
  try {
    const runs: { key: string; extra: string[] }[] = sizes.map((n) => ({
      key: String(n),
      extra: ["--n", String(n), ...common],
    }));
    if (!process.argv.includes("--no-course")) {
      const file = join(work, "course.json");
      const n = await courseVectors(file);
      runs.push({ key: `course-${n}`, extra: ["--source", file] });
    }
    for (const { key, extra } of runs) {
      const truth = join(work, `truth-${key}.json`);
      for (const store of ["faiss-exact" as const, ...stores.filter((s) => s !== "faiss-exact")]) {
        const t0 = performance.now();
        const m = runChild(store, extra, truth);
        if (!m) continue;
        if (stores.includes(store)) (result[store] ??= {})[key] = m;
        console.log(
          `${store.padEnd(13)} ${key.padStart(11)}: build ${m.build_s.toFixed(1)} s, disk ${m.disk_mb.toFixed(0)} MB, ` +
            `rss ${m.rss_mb.toFixed(0)} MB, p50 ${m.p50_ms.toFixed(2)} ms, p99 ${m.p99_ms.toFixed(2)} ms, ` +
            `recall@10 ${m.recall_at_10.toFixed(3)} (${m.describe}; ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
        for (const s of m.sweep ?? [])
          console.log(
            `    nprobes ${s.nprobes}, refine ${s.refine_factor}: recall@10 ${s.recall_at_10.toFixed(3)}, p50 ${s.p50_ms.toFixed(2)} ms`,
          );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const loadAfter = execSync("uptime").toString().trim();
  console.log(`uptime after: ${loadAfter}`);
  if (json) console.log(JSON.stringify({ uptime_before: loadBefore, uptime_after: loadAfter, stores: result }));
}

if (process.argv.includes("--child")) void child();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
