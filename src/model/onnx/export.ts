/**
 * exportOnnx(folder): adds onnx/model.onnx to an existing sentence-transformers folder (BERT / RoBERTa), so that
 * transformers.js loads it (`pipeline("feature-extraction", folder, { local_files_only: true })`) and our
 * encode can start from it. The step the CLI and the notebooks call after training or downloading a model.
 *
 *   fresh file already there   nothing written (unless force)
 *   stale file (other weights) rebuilt
 *   file by other tooling      refused unless overwriteForeign (it is not ours to replace)
 *   StaticEmbedding model      refused (a table lookup and a mean; fast on tfjs already)
 *   other architectures        refused when config.json is read, naming the model_type
 *
 * Before writing, the graph is checked: sample texts go through our tfjs forward pass and through ONNX Runtime,
 * and the file is written only when the embeddings agree within 1e-4.
 *
 * `{ quantize: "int8" }` also writes onnx/model_quantized.onnx (quantize.ts: what transformers.js loads with
 * `dtype: "q8"`), checked first against the fp32 graph on a fixed text set (mean cosine >= 0.99, worst >= 0.97,
 * printed); when the check fails, nothing is written. The same fresh / stale / foreign rules apply to it.
 *
 * A folder with only vocab.txt (older BERT checkpoints) also gets tokenizer.json, built from vocab.txt as Python's
 * BertTokenizerFast does, because transformers.js needs it to load the folder.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { initBackend } from "../../backend";
import { writeFileAtomic } from "../../files";
import { readModelFolder } from "../folder";
import { buildOnnxModel, weightsChecksum } from "./graph";
import { type FusedFile, ONNX_FUSED_FILE, ONNX_FUSED_QUANTIZED_FILE, fusedFiles, isFusedGraph } from "./fused";
import { ONNX_FILE, ONNX_QUANTIZED_FILE, onnxFileStatus, type OnnxFileState, type OnnxModelParts } from "./folder";
import { describeQuantizedCheck, quantizeVerified, type QuantizeOptions, type QuantizedCheck } from "./quantize";
import { OnnxEncoder } from "./session";
import { fromModelFolder, onnxForFolder } from "../sentence-transformer";
import { pooledDimension } from "../pooling";
import type { PoolingConfig, TokenizedBatch } from "../types";

/** Largest |tfjs - ONNX Runtime| allowed on the check texts. */
export const ONNX_TOLERANCE = 1e-4;

/** Short, long, with punctuation, non-ASCII and empty: different lengths in one padded batch. */
const CHECK_TEXTS = [
  "How many PTO days do I get after five years?",
  "Expense reports are due within thirty days of travel; receipts over $25 need an itemised invoice.",
  "wfh",
  "Café, naïve résumé — 日本語",
  "",
];

export interface ExportOnnxOptions {
  /** Write a new file even when the one there is fresh. */
  force?: boolean;
  /** Replace an onnx/model.onnx written by other tooling (without our checksum). Default: refuse. */
  overwriteForeign?: boolean;
  /** Compare tfjs and ONNX Runtime on a few texts before writing (default true). */
  verify?: boolean;
  /** Also write onnx/model_quantized.onnx, int8 dynamic quantization (transformers.js' dtype "q8"). */
  quantize?: "int8";
  /** How to quantize (quantize.ts); default: per column, 7-bit weights, int8 embedding table. */
  quantizeOptions?: QuantizeOptions;
  /**
   * Also write onnx/model_fused.onnx (fused.ts: ONNX Runtime's transformer kernels; with quantize, also
   * onnx/model_fused_quantized.onnx), which our encode prefers; checked against the plain graph first.
   */
  fused?: boolean;
  /** Print what was done (the quantization check's figures); default true. */
  log?: boolean;
}

export interface ExportQuantizedResult {
  path: string;
  written: boolean;
  before: OnnxFileState;
  bytes: number;
  /** The check against fp32 (when the file was written). */
  check?: QuantizedCheck;
}

export interface ExportOnnxResult {
  path: string;
  /** Whether a file was written. */
  written: boolean;
  /** What was there before. */
  before: OnnxFileState;
  /** SHA-256 of the weights the graph is made from (stored in the file). */
  weightsChecksum: string;
  bytes: number;
  seconds: number;
  /** Largest |tfjs - ONNX Runtime| over the check texts' sentence embeddings (when verified). */
  maxAbsDiff?: number;
  /** onnx/model_quantized.onnx, when `quantize` was asked for. */
  quantized?: ExportQuantizedResult;
  /** tokenizer.json was written (the folder had only vocab.txt). */
  tokenizerJsonWritten: boolean;
  /** The fused files written (fused: true), with their checks. */
  fused?: { path: string; bytes: number; maxAbsDiff?: number; check?: QuantizedCheck }[];
}

/** Adds (or refreshes) onnx/model.onnx in the sentence-transformers folder `folder`. */
export async function exportOnnx(folder: string, options: ExportOnnxOptions = {}): Promise<ExportOnnxResult> {
  const started = performance.now();
  const dir = resolve(folder);
  const data = readModelFolder(dir); // refuses unsupported architectures, naming config.json's model_type
  const path = join(dir, ONNX_FILE);
  const first = data.first;
  if (first.kind !== "transformer")
    throw new Error(
      `${dir}: a StaticEmbedding model has no ONNX export (it is a table lookup and a mean, fast on tfjs already).`,
    );
  const checksum = weightsChecksum(first.weights);
  const parts = {
    config: first.config,
    weights: first.weights,
    pooling: data.pooling as PoolingConfig,
    normalize: data.normalize,
  };
  const status = onnxFileStatus(dir, parts, checksum);
  const quantizedStatus = options.quantize ? onnxFileStatus(dir, parts, checksum, ONNX_QUANTIZED_FILE) : undefined;
  if (options.quantize !== undefined && options.quantize !== "int8")
    throw new Error(`exportOnnx: quantize "${String(options.quantize)}" is not supported; use "int8" (dtype "q8").`);
  const seconds = () => (performance.now() - started) / 1000;
  for (const s of [status, quantizedStatus])
    if (s?.state === "foreign" && !options.overwriteForeign)
      throw new Error(
        `${s.reason}. exportOnnx does not replace it; pass { overwriteForeign: true } to write ours in its place.`,
      );
  const needFp32 = status.state !== "fresh" || options.force === true;
  const needQuantized = quantizedStatus !== undefined && (quantizedStatus.state !== "fresh" || options.force === true);
  // Everything is computed and checked before anything is written.
  const bytes = needFp32 || needQuantized ? onnxForFolder(data, dir) : undefined;
  let maxAbsDiff: number | undefined;
  if (bytes && needFp32 && (options.verify ?? true)) maxAbsDiff = await compareWithTfjs(data, bytes, dir);
  let quantized: ExportQuantizedResult | undefined;
  let quantizedBytes: Uint8Array | undefined;
  if (quantizedStatus) {
    quantized = { path: quantizedStatus.path, written: false, before: quantizedStatus.state, bytes: 0 };
    if (needQuantized) {
      const q = await quantizeVerified(
        bytes as Uint8Array,
        (texts) => first.tokenizer.encodeBatch(texts),
        pooledDim(data),
        join(dir, ONNX_QUANTIZED_FILE),
        options.quantizeOptions,
      );
      if (options.log ?? true) console.log(`${join(dir, ONNX_QUANTIZED_FILE)}: ${describeQuantizedCheck(q)}`);
      quantizedBytes = q.bytes;
      quantized = { ...quantized, written: true, bytes: q.bytes.length, check: q.check };
    }
  }
  const fused = await fusedFilesToWrite(dir, { ...parts, checksum }, options, (texts) =>
    first.tokenizer.encodeBatch(texts),
  );
  const tokenizerJsonWritten = !existsSync(join(dir, "tokenizer.json"));
  if (tokenizerJsonWritten) first.tokenizer.save(dir, { jsonOnly: true }); // built from vocab.txt on load
  if (bytes && needFp32) writeFileAtomic(path, bytes);
  if (quantizedBytes && quantized) writeFileAtomic(quantized.path, quantizedBytes);
  for (const f of fused ?? []) writeFileAtomic(f.path, f.bytes);
  return {
    path,
    written: needFp32,
    before: status.state,
    weightsChecksum: checksum,
    bytes: needFp32 ? (bytes as Uint8Array).length : 0,
    seconds: seconds(),
    maxAbsDiff,
    quantized,
    tokenizerJsonWritten,
    fused: fused?.map(({ path, bytes, maxAbsDiff, check }) => ({ path, bytes: bytes.length, maxAbsDiff, check })),
  };
}

/** With { fused: true }: the fused files that are not fresh (or all, with force), computed and checked. */
async function fusedFilesToWrite(
  dir: string,
  parts: OnnxModelParts & { checksum: string },
  options: ExportOnnxOptions,
  tokenize: (texts: string[]) => TokenizedBatch,
): Promise<FusedFile[] | undefined> {
  if (!options.fused) return undefined;
  const need = (file: string) => {
    const s = onnxFileStatus(dir, parts, parts.checksum, file);
    if (s.state === "foreign" && !options.overwriteForeign)
      throw new Error(
        `${s.reason}. exportOnnx does not replace it; pass { overwriteForeign: true } to write ours in its place.`,
      );
    return s.state !== "fresh" || !isFusedGraph(readFileSync(s.path)) || options.force === true;
  };
  const want = { fp32: need(ONNX_FUSED_FILE), q8: options.quantize === "int8" && need(ONNX_FUSED_QUANTIZED_FILE) };
  if (!want.fp32 && !want.q8) return [];
  const plain = buildOnnxModel(parts);
  const files = await fusedFiles(dir, parts, plain, tokenize, pooledDimension(parts.pooling), {
    ...want,
    quantizeOptions: options.quantizeOptions,
  });
  for (const f of files)
    if (options.log ?? true)
      console.log(
        `${f.path}: ${f.check ? `int8 fused vs fp32 fused cosine mean ${f.check.cosineMean.toFixed(5)}, worst ${f.check.cosineMin.toFixed(5)}` : `fused vs plain graph: max |diff| ${f.maxAbsDiff}`}`,
      );
  return files;
}

/** Width of the sentence embedding of folder data (its Pooling's output). */
function pooledDim(data: ReturnType<typeof readModelFolder>): number {
  return pooledDimension(data.pooling as PoolingConfig);
}

/** Max |tfjs - ONNX Runtime| of the check texts' sentence embeddings; throws above ONNX_TOLERANCE. */
async function compareWithTfjs(
  data: ReturnType<typeof readModelFolder>,
  bytes: Uint8Array,
  dir: string,
): Promise<number> {
  await initBackend();
  const model = fromModelFolder(data, dir, dir);
  const session = await OnnxEncoder.create(bytes, model.dim, { threads: 1 });
  try {
    const input = model.tokenize(CHECK_TEXTS);
    if (input.kind !== "transformer") throw new Error("unreachable: a Transformer model tokenizes to a padded batch");
    const got = await session.sentenceEmbeddings(input.batch);
    const out = model.forward(input);
    const want = out.dataSync();
    out.dispose();
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[i] - want[i]));
    if (!(max <= ONNX_TOLERANCE))
      throw new Error(
        `${dir}: the exported graph differs from the tfjs model by ${max} (> ${ONNX_TOLERANCE}) on the check texts; nothing was written. Please report this.`,
      );
    return max;
  } finally {
    await session.release();
    model.dispose();
  }
}
