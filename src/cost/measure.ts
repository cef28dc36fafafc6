/**
 * Numbers notebook 6 measures in this run, each with what it measured:
 *
 * - encodeThroughput: texts per second through model.encode (after one warm-up batch, so start-up costs
 *   such as backend initialisation and kernel compilation are not counted), and the encode path that ran
 *   (the tfjs backend, native BLAS matrix products or not, static lookup or Transformer);
 * - searchLatency: one query at a time against the index (the online case), median and 95th percentile
 *   in milliseconds, plus the batched throughput; for any VectorStore (an in-memory index answers at once,
 *   a LanceDB table through a Promise);
 * - sizeOnDisk: bytes of a file or of every file under a folder;
 * - trainingTime: wall-clock seconds and steps of a fine-tuning run, from its history.json.
 * Timings on a shared machine are noisy; the notebook says so next to them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { backendInfo } from "../backend";
import { quantile } from "../math";
import { TFJS_ENCODE_SPEED, type SentenceTransformer } from "../model/sentence-transformer";
import { nativeMatMulInfo } from "../native/kernels";
import type { Embeddings } from "../model/types";
import type { VectorIndex } from "../retrieval/vector-index";
import type { VectorStore } from "../retrieval/vector-store";
import type { HistoryEntry } from "../train/history";

/**
 * Which code computed the embeddings: the runtime of the model's latest encode (ONNX Runtime fp32 / int8, with the
 * graph it ran), else the tfjs path: model kind, tfjs backend, BLAS or not, and what that path costs.
 */
export function encodePath(model: SentenceTransformer): string {
  const last = model.lastEncodeStats;
  const choice = model.staticEmbedding ? undefined : model.encodeRuntime();
  if (last ? last.runtime === "onnxruntime" : choice?.runtime === "onnxruntime") {
    const graph = last?.onnxGraph ? `, graph: ${last.onnxGraph}` : "";
    return `Transformer on ONNX Runtime, ${model.dtype === "q8" ? "int8 (dtype q8)" : "fp32"}${graph}`;
  }
  const b = backendInfo();
  const backend = b ? `tfjs ${b.name} backend (${b.package})` : "tfjs backend not initialised";
  if (model.staticEmbedding) return `StaticEmbedding: token-vector lookup and mean on the ${backend}`;
  const native = b && b.name !== "tensorflow" ? nativeMatMulInfo() : undefined;
  const blas = native
    ? native.active
      ? `, matrix products on native BLAS (${native.threads ?? "?"} threads)`
      : ", matrix products in tfjs"
    : "";
  return `Transformer forward pass on the ${backend}${blas} (ONNX Runtime not used: ${choice?.reason}; ${TFJS_ENCODE_SPEED})`;
}

export interface EncodeThroughput {
  texts: number;
  seconds: number;
  textsPerSecond: number;
  /** Real (non-padding) tokens per second, as encode() counted them. */
  tokensPerSecond: number;
  batchSize: number;
  path: string;
}

/** Times model.encode(texts) after a warm-up batch. */
export async function encodeThroughput(
  model: SentenceTransformer,
  texts: string[],
  options: { batchSize?: number } = {},
): Promise<EncodeThroughput> {
  if (texts.length === 0) throw new Error("encodeThroughput: give at least one text.");
  const batchSize = options.batchSize ?? 32;
  await model.encode(texts.slice(0, batchSize), { batchSize });
  const t0 = performance.now();
  await model.encode(texts, { batchSize });
  const seconds = (performance.now() - t0) / 1000;
  const tokens = model.lastEncodeStats?.tokens ?? 0;
  return {
    texts: texts.length,
    seconds,
    textsPerSecond: texts.length / seconds,
    tokensPerSecond: tokens / seconds,
    batchSize,
    path: encodePath(model),
  };
}

export interface SearchLatency {
  queries: number;
  k: number;
  /** Per single-query search, milliseconds. */
  medianMs: number;
  p95Ms: number;
  /** All queries in one call, queries per second. */
  batchQueriesPerSecond: number;
  implementation: string;
}

/** The searches searchLatency times, in order: 3 warm-ups, each query alone, then all queries in one call. */
function* latencyPlan(queries: Embeddings): Generator<{ rows: Embeddings; role: "warm-up" | "one" | "all" }> {
  const row = (i: number): Embeddings => ({
    count: 1,
    dim: queries.dim,
    data: queries.data.subarray(i * queries.dim, (i + 1) * queries.dim),
  });
  for (let i = 0; i < Math.min(3, queries.count); i++) yield { rows: row(i), role: "warm-up" };
  for (let i = 0; i < queries.count; i++) yield { rows: row(i), role: "one" };
  yield { rows: queries, role: "all" };
}

function latencySummary(index: VectorStore, queries: Embeddings, k: number, times: number[], batchMs: number) {
  const sortedTimes = times.sort((a, b) => a - b);
  return {
    queries: queries.count,
    k,
    medianMs: quantile(sortedTimes, 0.5),
    p95Ms: quantile(sortedTimes, 0.95),
    batchQueriesPerSecond: queries.count / Math.max(batchMs / 1000, 1e-9),
    implementation: `${index.implementation} ${index.kind}`,
  };
}

/**
 * Latency of index.search for each query alone (after 3 warm-up searches) and for all at once. An in-memory
 * VectorIndex is measured synchronously; another store (LanceDB) returns a Promise.
 */
export function searchLatency(index: VectorIndex, queries: Embeddings, k?: number): SearchLatency;
export function searchLatency(index: VectorStore, queries: Embeddings, k?: number): Promise<SearchLatency>;
export function searchLatency(index: VectorStore, queries: Embeddings, k = 10): SearchLatency | Promise<SearchLatency> {
  if (queries.count === 0) throw new Error("searchLatency: no queries.");
  const times: number[] = [];
  let batchMs = 0;
  const record = (role: string, ms: number): void => {
    if (role === "one") times.push(ms);
    else if (role === "all") batchMs = ms;
  };
  const plan = latencyPlan(queries);
  for (let step = plan.next(); !step.done; step = plan.next()) {
    const t0 = performance.now();
    const result = index.search(step.value.rows, k);
    if (result instanceof Promise) {
      // An asynchronous store: this search and the rest of the plan are awaited.
      const rest = async (first: Promise<unknown>, role: string): Promise<SearchLatency> => {
        await first;
        record(role, performance.now() - t0);
        for (let s = plan.next(); !s.done; s = plan.next()) {
          const t1 = performance.now();
          await index.search(s.value.rows, k);
          record(s.value.role, performance.now() - t1);
        }
        return latencySummary(index, queries, k, times, batchMs);
      };
      return rest(result, step.value.role);
    }
    record(step.value.role, performance.now() - t0);
  }
  return latencySummary(index, queries, k, times, batchMs);
}

/** Bytes of a file, or of all files under a folder. */
export function sizeOnDisk(path: string): number {
  if (!existsSync(path)) throw new Error(`sizeOnDisk: ${path} does not exist.`);
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOnDisk(join(path, name)), 0);
}

export interface TrainingTime {
  /** Training wall-clock seconds at the last logged step (summed over resumed runs, as the trainer counts). */
  seconds: number;
  steps: number;
  /** Examples seen (sum of batch sizes). */
  examples: number;
  evaluations: number;
}

/** The fine-tuning run's time from its history.json ({ entries: [...] }, written by train()). */
export function trainingTime(historyPath: string): TrainingTime {
  if (!existsSync(historyPath))
    throw new Error(`trainingTime: ${historyPath} is missing; fine-tune first (notebook 03).`);
  const parsed = JSON.parse(readFileSync(historyPath, "utf8")) as { entries?: HistoryEntry[] };
  const entries = parsed.entries;
  if (!Array.isArray(entries) || entries.length === 0) throw new Error(`trainingTime: ${historyPath} has no entries.`);
  const steps = entries.filter((e) => e.kind === "train");
  return {
    seconds: Math.max(...entries.map((e) => e.seconds)),
    steps: steps.length === 0 ? 0 : Math.max(...steps.map((e) => e.step)),
    examples: steps.reduce((s, e) => s + (e.kind === "train" ? e.batchSize : 0), 0),
    evaluations: entries.filter((e) => e.kind === "eval").length,
  };
}

/** Mean tokens per text as the model's tokenizer counts them (special tokens excluded). */
export function meanTokens(model: SentenceTransformer, texts: readonly string[]): number {
  if (texts.length === 0) throw new Error("meanTokens: no texts.");
  return texts.reduce((s, t) => s + model.tokenizer.encodeContent(t).length, 0) / texts.length;
}
