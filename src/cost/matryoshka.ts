/**
 * Storage against embedding dimension, MEASURED: keep the first d coordinates of every embedding,
 * re-normalise (as sentence-transformers' truncate_dim + normalize, and MatryoshkaLoss's shrink), index,
 * and evaluate on the held-out split. Each dimension's metric comes with a 95% bootstrap interval over the
 * queries (src/eval/compare), and its index size is the size of the saved index file on disk.
 *
 * A model trained with MatryoshkaLoss (src/train/losses/matryoshka.ts) front-loads the information so
 * that small d loses little; a model trained without it has no reason to, and usually loses more as d
 * shrinks. Either way, this curve is what the model in hand does, not what a paper promises.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IRSplit } from "../data/types";
import { bootstrapCI, type Interval } from "../eval/compare";
import { l2NormalizeRows } from "../math";
import { InformationRetrievalEvaluator } from "../eval/ir-evaluator";
import type { Embedder, Embeddings } from "../model/types";
import { DenseRetriever } from "../retrieval/dense";
import { documentText } from "../retrieval/types";

/** The first `dim` coordinates of every row, rescaled to unit length (zero rows stay zero). */
export function truncateEmbeddings(e: Embeddings, dim: number): Embeddings {
  if (!Number.isInteger(dim) || dim < 1 || dim > e.dim)
    throw new Error(`truncateEmbeddings: dim=${dim} must be an integer in 1..${e.dim}.`);
  const data = new Float32Array(e.count * dim);
  for (let i = 0; i < e.count; i++) data.set(e.data.subarray(i * e.dim, i * e.dim + dim), i * dim);
  return { count: e.count, dim, data: l2NormalizeRows(data, dim) };
}

/** Powers of two from `from` below the model's dimension, then the full dimension: 256 -> [16, 32, 64, 128, 256]. */
export function defaultDims(full: number, from = 16): number[] {
  const dims: number[] = [];
  for (let d = from; d < full; d *= 2) dims.push(d);
  return [...dims, full];
}

export interface DimensionRow {
  dim: number;
  /** Metric -> mean over the queries with its 95% bootstrap interval. */
  metrics: Record<string, Interval>;
  /** float32 bytes per vector: 4 * dim. */
  bytesPerVector: number;
  /** Size of the saved flat index file (vectors + ids + header), measured on disk. */
  indexBytes: number;
  /** This dimension's metric (options.metric) / the full dimension's (always evaluated). */
  relativeToFull: number;
}

export interface MatryoshkaOptions {
  dims?: number[];
  /** Metric whose ratio to the full dimension is reported (default "ndcg@10"). */
  metric?: string;
  resamples?: number;
  seed?: number;
  batchSize?: number;
}

/** Evaluates the model's embeddings truncated to each dimension on `split` (encoded once, at full size). */
export async function matryoshkaCurve(
  model: Embedder,
  split: IRSplit,
  options: MatryoshkaOptions = {},
): Promise<DimensionRow[]> {
  const evaluator = InformationRetrievalEvaluator.fromSplit(split);
  const docs = await model.encode(evaluator.corpus.map(documentText), { batchSize: options.batchSize });
  const queries = await model.encode(
    evaluator.queries.map((q) => q.text),
    { batchSize: options.batchSize },
  );
  const dims = [...new Set([...(options.dims ?? defaultDims(docs.dim)), docs.dim])].sort((a, b) => a - b); // full size always included
  for (const d of dims)
    if (!Number.isInteger(d) || d < 1 || d > docs.dim)
      throw new Error(`matryoshkaCurve: dimension ${d} must be an integer in 1..${docs.dim} (the model's size).`);
  const metric = options.metric ?? "ndcg@10";
  const ids = evaluator.corpus.map((d) => d._id);
  const dir = mkdtempSync(join(tmpdir(), "matryoshka-"));
  const rows: DimensionRow[] = [];
  try {
    for (const dim of dims) {
      const retriever = DenseRetriever.fromEmbeddings(model, ids, truncateEmbeddings(docs, dim), {
        implementation: "auto",
      });
      const hits = retriever.retrieveByVectors(truncateEmbeddings(queries, dim), evaluator.depth);
      const result = evaluator.score(`${model.name} @ ${dim}d`, "cosine", hits);
      if (!(metric in result.values))
        throw new Error(`matryoshkaCurve: no metric "${metric}" (have ${result.metricNames.join(", ")}).`);
      const file = join(dir, `index-${dim}.bin`);
      retriever.index.save(file);
      rows.push({
        dim,
        metrics: bootstrapCI(result, { resamples: options.resamples, seed: options.seed }),
        bytesPerVector: 4 * dim,
        indexBytes: statSync(file).size,
        relativeToFull: 0,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const full = rows[rows.length - 1].metrics[metric].estimate;
  for (const r of rows) r.relativeToFull = full > 0 ? r.metrics[metric].estimate / full : 0;
  return rows;
}
