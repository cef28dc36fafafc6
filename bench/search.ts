/**
 * npm run bench -- search [--json] [--docs 10000] [--queries 1000] [--dim 384] [--seed 42]
 *
 * Exact top-10 search of 1,000 queries over 10,000 x 384 vectors with faiss-node (IndexFlatIP) and
 * with the plain TypeScript fallback, through VectorIndex (so the timings include copying vectors
 * into the number[] faiss-node requires and the tie-rule re-sort); whether both return the same ids;
 * HNSW32 build time, and search time and recall@10 against exact search at faiss's defaults
 * (efConstruction 40, efSearch 16; the JSON's hnsw_recall_at_10) and at efSearch 32, 64, 128; and
 * the whole evaluator (1,000 queries, depth 100, all default metrics).
 *
 * Vectors: no trained model is available to this benchmark, so it uses a seeded synthetic stand-in
 * shaped like sentence embeddings (described in the JSON's "vectors" field): unit vectors
 * v = normalise(0.3 m + 0.7 c_t + 0.65 n), with m one shared direction (the anisotropy of real
 * embedding spaces: unrelated texts have cosine ~0.1), c_t one of 100 topic directions with
 * Zipf-distributed topic sizes, and n isotropic noise; a query's noise is 0.15 x its source
 * document's plus fresh noise, and the source is its relevant document. The mean cosines (query to
 * source, to another document of its topic, between random documents) are measured and printed. Noise in all 384 dimensions makes the intrinsic dimension higher than
 * that of real embeddings, which makes HNSW's task harder: treat its recall as a lower estimate.
 */
import { performance } from "node:perf_hooks";
import type { Embedder, Embeddings } from "../src/model/types";
import { mulberry32 } from "../src/random";
import { VectorIndex } from "../src/retrieval/vector-index";
import { loadFaiss } from "../src/retrieval/faiss";
import { DenseRetriever } from "../src/retrieval/dense";
import { InformationRetrievalEvaluator } from "../src/eval/ir-evaluator";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const json = process.argv.includes("--json");
const nDocs = arg("docs", 10000);
const nQueries = arg("queries", 1000);
const dim = arg("dim", 384);
const seed = arg("seed", 42);
const k = 10;
const TOPICS = 100;
/** Weight of the source document's noise in a query's noise (the rest is fresh noise). */
const QUERY_SHARE = 0.15;

const rng = mulberry32(seed);
/** Approximately standard normal: the sum of 12 uniforms minus 6 (Irwin-Hall). */
const gauss = () => {
  let s = -6;
  for (let i = 0; i < 12; i++) s += rng();
  return s;
};
const unit = (v: Float64Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const randomUnit = () => unit(Float64Array.from({ length: dim }, gauss));
const noise = () => Float64Array.from({ length: dim }, () => gauss() / Math.sqrt(dim));

const shared = randomUnit();
const topics = Array.from({ length: TOPICS }, randomUnit);
// Zipf topic sizes: P(topic t) proportional to 1 / (t + 1).
const zipf = Array.from({ length: TOPICS }, (_, t) => 1 / (t + 1));
const zipfTotal = zipf.reduce((a, b) => a + b, 0);
function drawTopic(): number {
  let u = rng() * zipfTotal;
  for (let t = 0; t < TOPICS; t++) if ((u -= zipf[t]) <= 0) return t;
  return TOPICS - 1;
}
function mix(topic: number, n: Float64Array): Float64Array {
  return unit(Float64Array.from({ length: dim }, (_, i) => 0.3 * shared[i] + 0.7 * topics[topic][i] + 0.65 * n[i]));
}

const t0 = performance.now();
const docTopic = Array.from({ length: nDocs }, drawTopic);
const docNoise = docTopic.map(() => noise());
const docs: Embeddings = { count: nDocs, dim, data: new Float32Array(nDocs * dim) };
docTopic.forEach((t, i) => docs.data.set(mix(t, docNoise[i]), i * dim));
const source = Array.from({ length: nQueries }, () => Math.floor(rng() * nDocs));
const queries: Embeddings = { count: nQueries, dim, data: new Float32Array(nQueries * dim) };
source.forEach((d, i) => {
  const fresh = noise();
  const n = docNoise[d].map((x, j) => QUERY_SHARE * x + Math.sqrt(1 - QUERY_SHARE * QUERY_SHARE) * fresh[j]);
  queries.data.set(mix(docTopic[d], n), i * dim);
});
const generateSeconds = (performance.now() - t0) / 1000;

/** Mean cosine over pairs (all vectors are unit length). */
function meanCosine(pairs: [Float32Array, Float32Array][]): number {
  let s = 0;
  for (const [a, b] of pairs) for (let i = 0; i < dim; i++) s += a[i] * b[i];
  return s / pairs.length;
}
const docRow = (i: number) => docs.data.subarray(i * dim, (i + 1) * dim);
const queryRow = (i: number) => queries.data.subarray(i * dim, (i + 1) * dim);
const sample = Array.from({ length: Math.min(200, nQueries) }, (_, i) => i);
const sameTopic = (i: number) => {
  for (let j = (source[i] + 1) % nDocs; j !== source[i]; j = (j + 1) % nDocs)
    if (docTopic[j] === docTopic[source[i]]) return j;
  return source[i];
};
const cosines = {
  query_source: meanCosine(sample.map((i) => [queryRow(i), docRow(source[i])])),
  query_same_topic_doc: meanCosine(sample.map((i) => [queryRow(i), docRow(sameTopic(i))])),
  random_doc_pairs: meanCosine(sample.map((i) => [docRow(i), docRow((i * 7919 + 13) % nDocs)])),
};
const docIds = Array.from({ length: nDocs }, (_, i) => `d${i}`);

function timed<T>(fn: () => T): [T, number] {
  const s = performance.now();
  const out = fn();
  return [out, (performance.now() - s) / 1000];
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const faissStatus = loadFaiss();
const result: Record<string, unknown> = {
  docs: nDocs,
  queries: nQueries,
  dim,
  k,
  seed,
  vectors:
    "synthetic, seeded: unit vectors normalise(0.3*shared + 0.7*topic + 0.65*noise), 100 Zipf-sized topics, " +
    "query noise = 0.15 x its source document's noise + fresh noise; no trained model was used",
  mean_cosine: cosines,
  generate_s: generateSeconds,
  faiss: faissStatus.reason,
};

let exactIds: Int32Array | undefined;
if (faissStatus.module) {
  const [flat, addSeconds] = timed(() => VectorIndex.fromVectors(docIds, docs, { implementation: "faiss" }));
  const runs = [0, 1, 2].map(() => timed(() => flat.searchPositions(queries, k)));
  exactIds = runs[0][0].indices;
  result.faiss_add_s = addSeconds;
  result.faiss_s = median(runs.map((r) => r[1]));
  result.faiss_runs_s = runs.map((r) => r[1]);
} else {
  result.faiss_s = null;
}

const fallback = VectorIndex.fromVectors(docIds, docs, { implementation: "typescript" });
const [fallbackResult, fallbackSeconds] = timed(() => fallback.searchPositions(queries, k));
result.fallback_s = fallbackSeconds;
if (exactIds) {
  let same = 0;
  for (let q = 0; q < nQueries; q++) {
    const a = exactIds.subarray(q * k, (q + 1) * k).join();
    if (a === fallbackResult.indices.subarray(q * k, (q + 1) * k).join()) same++;
  }
  result.identical_queries = same;
}

/** Mean |found ∩ exact| / k over queries. */
function recall(found: Int32Array, exact: Int32Array): number {
  let total = 0;
  for (let q = 0; q < nQueries; q++) {
    const truth = new Set(exact.subarray(q * k, (q + 1) * k));
    for (let j = 0; j < k; j++) if (truth.has(found[q * k + j])) total++;
  }
  return total / (nQueries * k);
}

if (faissStatus.module && exactIds) {
  const [hnsw, buildSeconds] = timed(() => VectorIndex.fromVectors(docIds, docs, { kind: "hnsw" }));
  result.hnsw = "HNSW32,Flat via Index.fromFactory; faiss defaults efConstruction 40, efSearch 16";
  result.hnsw_build_s = buildSeconds;
  const sweep: { efSearch: number; search_s: number; recall_at_10: number }[] = [];
  for (const efSearch of [16, 32, 64, 128]) {
    hnsw.setEfSearch(efSearch);
    const [found, seconds] = timed(() => hnsw.searchPositions(queries, k));
    sweep.push({ efSearch, search_s: seconds, recall_at_10: recall(found.indices, exactIds) });
  }
  result.hnsw_search_s = sweep[0].search_s;
  result.hnsw_recall_at_10 = sweep[0].recall_at_10;
  result.hnsw_sweep = sweep;
} else {
  result.hnsw_recall_at_10 = null;
}

// The evaluator end to end: queries "encoded" by looking up their precomputed vectors.
const queryTexts = source.map((_, i) => `q${i}`);
const lookup: Embedder = {
  name: "precomputed",
  async encode(texts: string[]): Promise<Embeddings> {
    const data = new Float32Array(texts.length * dim);
    texts.forEach((t, i) =>
      data.set(queries.data.subarray(Number(t.slice(1)) * dim, (Number(t.slice(1)) + 1) * dim), i * dim),
    );
    return { count: texts.length, dim, data };
  },
};

async function main(): Promise<void> {
  const evaluator = new InformationRetrievalEvaluator({
    queries: queryTexts.map((text, i) => ({ _id: `q${i}`, text })),
    corpus: docIds.map((id) => ({ _id: id, text: id })),
    relevantDocs: Object.fromEntries(source.map((d, i) => [`q${i}`, [`d${d}`]])),
  });
  const retriever = DenseRetriever.fromEmbeddings(lookup, docIds, docs);
  const s = performance.now();
  const evaluation = await evaluator.evaluate(retriever);
  result.evaluate_s = (performance.now() - s) / 1000;
  result.evaluate_implementation = retriever.index.implementation;
  result.evaluate_depth = evaluation.depth;
  result["cosine_ndcg@10"] = evaluation.metrics["cosine_ndcg@10"];

  const fmt = (x: unknown) => (typeof x === "number" ? x.toFixed(3) : String(x));
  console.log(`search benchmark: ${nQueries} queries x ${nDocs} docs x ${dim} dims, top-${k} (${result.vectors})`);
  console.log(
    `  mean cosines: query-source ${fmt(cosines.query_source)}, query-same-topic doc ${fmt(cosines.query_same_topic_doc)}, random document pairs ${fmt(cosines.random_doc_pairs)}`,
  );
  console.log(`  ${faissStatus.reason}`);
  console.log(
    `  faiss IndexFlatIP   add ${fmt(result.faiss_add_s)} s, search ${fmt(result.faiss_s)} s (median of 3; runs ${((result.faiss_runs_s as number[]) ?? []).map(fmt).join(", ")})`,
  );
  console.log(
    `  TypeScript exact    search ${fmt(result.fallback_s)} s; same top-${k} ids as faiss for ${result.identical_queries ?? "n/a"} of ${nQueries} queries`,
  );
  console.log(`  HNSW32              build ${fmt(result.hnsw_build_s)} s (efConstruction 40)`);
  for (const row of (result.hnsw_sweep as { efSearch: number; search_s: number; recall_at_10: number }[]) ?? [])
    console.log(
      `    efSearch ${String(row.efSearch).padStart(3)}       search ${fmt(row.search_s)} s, recall@10 vs exact ${fmt(row.recall_at_10)}${row.efSearch === 16 ? " (faiss default)" : ""}`,
    );
  console.log(
    `  evaluator           ${fmt(result.evaluate_s)} s for ${nQueries} queries at depth ${evaluation.depth} (${result.evaluate_implementation}), cosine_ndcg@10 ${fmt(result["cosine_ndcg@10"])}`,
  );
  if (json) console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
