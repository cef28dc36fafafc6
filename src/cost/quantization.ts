/**
 * fp32 against int8 for one saved model, measured on one split: what dynamic int8 quantization
 * (src/model/onnx/quantize.ts, transformers.js' dtype "q8") buys in speed and size, and what it costs in retrieval
 * quality.
 *
 *   speed     encode() of the split's passages, fp32 then int8 then int8 then fp32 (so that a shared machine slows
 *             both alike), each after a warm-up batch; texts/s of each is the mean of its two runs
 *   size      onnx/model.onnx and onnx/model_quantized.onnx on disk
 *   agreement cosine of each passage's int8 embedding to its fp32 one (mean and worst)
 *   quality   NDCG@10 of both, evaluated by InformationRetrievalEvaluator on the same queries, and the paired bootstrap
 *             interval of the difference (compareSystems): a loss is claimed only when the interval excludes 0
 *
 * The folder gets onnx/model_quantized.onnx when it lacks it (exportOnnx(folder, { quantize: "int8" }), checked
 * against fp32 before it is written). A StaticEmbedding model (a table lookup and a mean, no matrix products), or a
 * machine without ONNX Runtime, gives `applicable: false` with the reason instead of numbers.
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import type { IRSplit } from "../data/types";
import { InformationRetrievalEvaluator } from "../eval/ir-evaluator";
import { mean } from "../math";
import { compareSystems, type MetricDifference } from "../eval/compare";
import { exportOnnx } from "../model/onnx/export";
import { ONNX_FILE, ONNX_QUANTIZED_FILE } from "../model/onnx/folder";
import { type QuantizedCheck, rowCosines } from "../model/onnx/quantize";
import { defaultOnnxThreads, onnxRuntimeInfo } from "../model/onnx/session";
import { loadModel, type SentenceTransformer } from "../model/sentence-transformer";
import { encodePath, sizeOnDisk } from "./measure";
import { formatSigned } from "../display/format";

export interface QuantizationRow {
  dtype: "fp32" | "q8";
  /** Mean texts per second of the two timed runs, and the runs. */
  textsPerSecond: number;
  runs: number[];
  fileBytes: number;
  ndcgAt10: number;
  /** The encode path that ran (encodePath). */
  path: string;
}

/**
 * The result: `measured` holds the numbers, or is undefined with `reason` saying why int8 does not apply. (One
 * interface rather than a union: the notebook kernel type-checks without strict mode, where unions do not narrow.)
 */
export interface QuantizationComparison {
  model: string;
  /** Why nothing was measured; empty when `measured` is there. */
  reason: string;
  measured?: QuantizationMeasurement;
}

export interface QuantizationMeasurement {
  folder: string;
  passages: number;
  queries: number;
  threads: number;
  batchSize: number;
  fp32: QuantizationRow;
  q8: QuantizationRow;
  /** int8 texts/s over fp32 texts/s. */
  speedup: number;
  /** fp32 file size over int8 file size. */
  sizeRatio: number;
  cosineMean: number;
  cosineMin: number;
  /** NDCG@10 of int8 minus fp32, with its paired bootstrap interval. */
  ndcgDifference: MetricDifference;
  /** The check made when the int8 file was written now (undefined when it was there already). */
  exportCheck?: QuantizedCheck;
}

export interface QuantizationOptions {
  batchSize?: number;
  /** Seed and resamples of the bootstrap interval. */
  seed?: number;
  resamples?: number;
  /** Label of the model in the result (default: the folder's model name). */
  name?: string;
}

/** Passages as the course embeds them: title, newline, text. */
function passagesOf(split: IRSplit): string[] {
  return [...split.corpus.values()].map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
}

/** Texts per second of one encode() of `texts` after a warm-up batch. */
async function timedEncode(model: SentenceTransformer, texts: string[], batchSize: number): Promise<number> {
  await model.encode(texts.slice(0, batchSize), { batchSize });
  const t0 = performance.now();
  await model.encode(texts, { batchSize });
  return texts.length / ((performance.now() - t0) / 1000);
}

/** Measures fp32 against int8 for the model saved in `folder` on `split` (see the header comment). */
export async function compareQuantization(
  folder: string,
  split: IRSplit,
  options: QuantizationOptions = {},
): Promise<QuantizationComparison> {
  const batchSize = options.batchSize ?? 32;
  const fp32 = await loadModel(folder);
  const name = options.name ?? fp32.name;
  if (fp32.staticEmbedding) {
    fp32.dispose();
    return {
      model: name,
      reason:
        "it is a StaticEmbedding model (a token-vector lookup and a mean): it has no matrix products for int8 to " +
        "speed up, and it encodes on tfjs at table-lookup speed already",
    };
  }
  const ort = onnxRuntimeInfo();
  if (!ort.available) {
    fp32.dispose();
    return { model: name, reason: `ONNX Runtime is not available here (${ort.reason})` };
  }
  const exported = await exportOnnx(folder, { quantize: "int8" });
  const q8 = await loadModel(folder, { dtype: "q8" });
  try {
    const texts = passagesOf(split);
    const runs = { fp32: [] as number[], q8: [] as number[] };
    runs.fp32.push(await timedEncode(fp32, texts, batchSize));
    runs.q8.push(await timedEncode(q8, texts, batchSize));
    runs.q8.push(await timedEncode(q8, texts, batchSize));
    runs.fp32.push(await timedEncode(fp32, texts, batchSize));
    const paths = { fp32: encodePath(fp32), q8: encodePath(q8) };
    const a = await fp32.encode(texts, { batchSize });
    const b = await q8.encode(texts, { batchSize });
    const cos = rowCosines(a.data, b.data, a.dim);
    const evaluator = InformationRetrievalEvaluator.fromSplit(split);
    const r32 = await evaluator.evaluate(fp32, { name: `${name} fp32` });
    const r8 = await evaluator.evaluate(q8, { name: `${name} int8` });
    const comparison = compareSystems(r32, r8, { seed: options.seed, resamples: options.resamples });
    const ndcgDifference = comparison.differences.find((d) => d.metric === "ndcg@10");
    if (!ndcgDifference) throw new Error("compareQuantization: the evaluator reported no ndcg@10.");
    const row = (dtype: "fp32" | "q8", file: string, ndcg: number): QuantizationRow => ({
      dtype,
      textsPerSecond: mean(runs[dtype]),
      runs: runs[dtype],
      fileBytes: sizeOnDisk(join(folder, file)),
      ndcgAt10: ndcg,
      path: paths[dtype],
    });
    const fp32Row = row("fp32", ONNX_FILE, r32.values["ndcg@10"]);
    const q8Row = row("q8", ONNX_QUANTIZED_FILE, r8.values["ndcg@10"]);
    const measured: QuantizationMeasurement = {
      folder,
      passages: texts.length,
      queries: comparison.queries,
      threads: defaultOnnxThreads(),
      batchSize,
      fp32: fp32Row,
      q8: q8Row,
      speedup: q8Row.textsPerSecond / fp32Row.textsPerSecond,
      sizeRatio: fp32Row.fileBytes / q8Row.fileBytes,
      cosineMean: mean(cos),
      cosineMin: Math.min(...cos),
      ndcgDifference,
      exportCheck: exported.quantized?.check,
    };
    return { model: name, reason: "", measured };
  } finally {
    fp32.dispose();
    q8.dispose();
  }
}

const fmt = (x: number, digits = 2) =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const signed = (x: number, digits = 3) => formatSigned(x, digits);

/** One row per dtype: speed, file size, NDCG@10, and the path that ran. */
export function quantizationTable(r: QuantizationComparison): pl.DataFrame {
  const c = r.measured;
  if (!c) return pl.DataFrame({ model: [r.model], "int8 quantization": [`not applicable: ${r.reason}`] });
  const rows = [c.fp32, c.q8];
  const d = c.ndcgDifference;
  const verdict = d.low > 0 ? "above fp32" : d.high < 0 ? "below fp32" : "level with fp32";
  return pl.DataFrame({
    dtype: rows.map((r) => (r.dtype === "q8" ? "int8 (q8)" : "fp32")),
    "passages/s": rows.map((r) => fmt(r.textsPerSecond, 1)),
    "timed runs (passages/s)": rows.map((r) => r.runs.map((x) => fmt(x, 1)).join(", ")),
    "speed vs fp32": ["1.0x", `${fmt(c.speedup, 2)}x`],
    "file (MB)": rows.map((r) => fmt(r.fileBytes / 2 ** 20, 1)),
    "cosine to fp32: mean (worst)": ["", `${fmt(c.cosineMean, 5)} (${fmt(c.cosineMin, 5)})`],
    "NDCG@10": rows.map((r) => fmt(r.ndcgAt10, 4)),
    [`NDCG@10 − fp32 (95% CI, ${c.queries} questions)`]: [
      "",
      `${signed(d.estimate, 4)} [${signed(d.low, 4)}, ${signed(d.high, 4)}]`,
    ],
    "NDCG@10 verdict": ["", verdict],
    "encode path": rows.map((r) => r.path),
  });
}
