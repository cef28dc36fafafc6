/**
 * Dynamic int8 quantization of an exported graph (graph.ts): onnx/model_quantized.onnx, the file transformers.js
 * loads with `dtype: "q8"` and the counterpart of the Hub's `model_qint8_*.onnx` (onnxruntime.quantization's
 * quantize_dynamic, as transformers.js' own scripts/quantize.py and optimum call it).
 *
 * Every MatMul whose right operand is a weight (an initializer W [K, N]) becomes
 *
 *   x_q, s_x, z_x = DynamicQuantizeLinear(x)              uint8, per tensor, computed for each batch:
 *                   s_x = (max(0, max x) - min(0, min x)) / 255,  z_x = round(-min(0, min x) / s_x),
 *                   x_q = saturate(round(x / s_x) + z_x)             (round half to even)
 *   acc            = MatMulInteger(x_q, W_q, z_x, 0)      int32: sum_k (x_q[m,k] - z_x) * W_q[k,n]
 *   y              = Cast(acc, float) * (s_x * s_W)        s_W per output column n (per channel)
 *
 * with symmetric int8 weights, one scale per output column:
 *   s_W[n] = max_k |W[k,n]| / q,   W_q[k,n] = clamp(round(W[k,n] / s_W[n]), -q, q)
 * q = 127, or 64 with reduceRange (the default, as transformers.js quantizes: without AVX-512 VNNI, x86's u8 x s8
 * multiply-add (vpmaddubsw) sums pairs in int16 and saturates when weights use the full 8 bits; 7 bits cannot).
 * The bias Add after the MatMul is left as it is; ONNX Runtime fuses the whole chain (plus the bias) into its
 * DynamicQuantizeMatMul kernel. A node input quantized once (the hidden state that feeds Q, K and V) is shared.
 * Activation x activation products (attention's Q K^T and softmax V) stay float, as in quantize_dynamic for
 * weight-only op lists. In the fused graph (fused.ts), a com.microsoft Attention node's Q/K/V weight is quantized the
 * same way and the node becomes QAttention (quantize_dynamic's AttentionQuant), fed by DynamicQuantizeLinear.
 *
 * The word-embedding table (and any float table read only by Gather) is stored as int8 with one scale per row:
 *   E_q[v, :] = round(E[v, :] / s_E[v]),  s_E[v] = max_h |E[v, h]| / 127;   Gather(E) = Cast(Gather(E_q)) * Gather(s_E)
 * which is what shrinks the file to about a quarter (the table is half of a MiniLM's weights); it is exact up to the
 * rounding of each entry and costs nothing at run time.
 *
 * The metadata of the fp32 file (the weights' checksum and the graph spec, folder.ts) is kept, and one entry more
 * says how it was quantized, so that a quantized file next to other weights is detected as stale too.
 */
import { onnx } from "onnx-proto";
import { mean } from "../../math";
import { OnnxEncoder } from "./session";
import type { TokenizedBatch } from "../types";

/** metadata_props key of the quantization spec. */
export const QUANTIZATION_KEY = "ts_embedding_finetune.quantization";
/** Bumped when the quantized graph this module writes changes. */
export const QUANTIZER_VERSION = 1;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT8 = onnx.TensorProto.DataType.INT8;
const A = onnx.AttributeProto.AttributeType;

export interface QuantizeOptions {
  /** Weights in 7 bits (q = 64) instead of 8 (q = 127), safe on CPUs without VNNI. Default true (transformers.js). */
  reduceRange?: boolean;
  /** One scale per output column (true, default) or one per weight matrix. */
  perChannel?: boolean;
  /** Store Gather tables (word embeddings) as int8 with per-row scales (default true). */
  embeddings?: boolean;
}

export interface QuantizationSpec {
  version: number;
  weights: "int8 symmetric";
  per_channel: boolean;
  reduce_range: boolean;
  activations: "uint8 dynamic per tensor";
  embeddings: "int8 per row" | "float32";
}

export interface QuantizeResult {
  bytes: Uint8Array;
  spec: QuantizationSpec;
  /** MatMul nodes rewritten to MatMulInteger. */
  matmuls: number;
  /** Gather tables stored as int8. */
  tables: number;
  /** Size of the initializers before and after. */
  weightBytesBefore: number;
  weightBytesAfter: number;
}

export interface Int8Weights {
  /** Quantized values, same layout as the input ([rows, cols] row-major). */
  q: Int8Array;
  /** One scale per column (perChannel) or a single scale. */
  scale: Float32Array;
}

/**
 * Symmetric int8 quantization of a row-major [rows, cols] matrix, one scale per column (or one in all):
 * scale = max |w| / qmax (1 for an all-zero column, whose values stay 0), q = clamp(round(w / scale), -qmax, qmax).
 */
export function quantizeSymmetric(
  w: Float32Array,
  rows: number,
  cols: number,
  options: { qmax: number; perColumn: boolean },
): Int8Weights {
  const { qmax, perColumn } = options;
  if (w.length !== rows * cols) throw new RangeError(`quantizeSymmetric: ${w.length} values, expected ${rows}x${cols}`);
  const absMax = new Float32Array(perColumn ? cols : 1);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const j = perColumn ? c : 0;
      const a = Math.abs(w[r * cols + c]);
      if (a > absMax[j]) absMax[j] = a;
    }
  const scale = absMax.map((m) => (m > 0 ? m / qmax : 1));
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = Math.round(w[r * cols + c] / scale[perColumn ? c : 0]);
      q[r * cols + c] = Math.min(qmax, Math.max(-qmax, v));
    }
  return { q, scale };
}

/** Float32 values of an initializer (raw_data or float_data). */
function floatValues(t: onnx.ITensorProto): Float32Array | undefined {
  if (t.dataType !== FLOAT) return undefined;
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData);
  return undefined;
}

function int8Tensor(name: string, dims: number[], q: Int8Array): onnx.ITensorProto {
  return { name, dims, dataType: INT8, rawData: new Uint8Array(q.buffer, q.byteOffset, q.byteLength) };
}

function floatTensor(name: string, dims: number[], data: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function tensorBytes(t: onnx.ITensorProto): number {
  return t.rawData?.length ?? 4 * (t.floatData?.length ?? 0);
}

/** The quantized graph of a serialised fp32 ModelProto (graph.ts's output, or any graph with weight MatMuls). */
export function quantizeOnnxModel(bytes: Uint8Array, options: QuantizeOptions = {}): QuantizeResult {
  const reduceRange = options.reduceRange ?? true;
  const perChannel = options.perChannel ?? true;
  const withTables = options.embeddings ?? true;
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new Error("quantize: the ONNX model has no graph");
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const nodes = graph.node ?? [];
  const uses = new Map<string, onnx.INodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) uses.set(i, [...(uses.get(i) ?? []), n]);
  const weightBytesBefore = [...inits.values()].reduce((s, t) => s + tensorBytes(t), 0);

  const out: onnx.INodeProto[] = [];
  const quantizedInputs = new Map<string, [string, string, string]>(); // x -> [x_q, s_x, z_x]
  const replaced = new Set<string>();
  let matmuls = 0;
  let tables = 0;
  let counter = 0;
  const node = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []) => {
    out.push({ name: `${opType}_q${counter++}`, opType, input, output, attribute });
  };
  const qmax = reduceRange ? 64 : 127;
  /** DynamicQuantizeLinear of a node input, written once and shared: [x_q, s_x, z_x]. */
  const qx = (x: string): [string, string, string] => {
    let q = quantizedInputs.get(x);
    if (!q) {
      q = [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`];
      node("DynamicQuantizeLinear", [x], q);
      quantizedInputs.set(x, q);
    }
    return q;
  };

  for (const n of nodes) {
    const [x, wName] = n.input ?? [];
    const w = wName === undefined ? undefined : inits.get(wName);
    const attention = w && quantizedAttention(n, w, () => qx(x), { qmax, perColumn: perChannel });
    if (attention) {
      for (const t of attention.inits) inits.set(t.name as string, t);
      replaced.add(wName as string);
      out.push(...attention.nodes);
      matmuls++;
      continue;
    }
    if (n.opType === "MatMul" && w && w.dims?.length === 2 && w.dataType === FLOAT) {
      const values = floatValues(w);
      if (values) {
        const [K, N] = (w.dims ?? []).map((d) => Number(d));
        const { q, scale } = quantizeSymmetric(values, K, N, { qmax, perColumn: perChannel });
        const base = wName as string;
        inits.set(`${base}_quantized`, int8Tensor(`${base}_quantized`, [K, N], q));
        inits.set(`${base}_scale`, floatTensor(`${base}_scale`, perChannel ? [N] : [], scale));
        inits.set(
          `${base}_zero_point`,
          int8Tensor(`${base}_zero_point`, perChannel ? [N] : [], new Int8Array(perChannel ? N : 1)),
        );
        replaced.add(base);
        const [xq, xs, xz] = qx(x);
        const y = (n.output ?? [])[0];
        node("MatMulInteger", [xq, `${base}_quantized`, xz, `${base}_zero_point`], [`${y}_int32`]);
        node("Cast", [`${y}_int32`], [`${y}_int32_float`], [{ name: "to", type: A.INT, i: FLOAT }]);
        node("Mul", [xs, `${base}_scale`], [`${y}_scales`]);
        node("Mul", [`${y}_int32_float`, `${y}_scales`], [y]);
        matmuls++;
        continue;
      }
    }
    const table = n.opType === "Gather" ? inits.get(x) : undefined;
    const onlyGathered = (uses.get(x) ?? []).every(
      (u) =>
        u.opType === "Gather" &&
        u.input?.[0] === x &&
        !(u.attribute ?? []).some((a) => a.name === "axis" && Number(a.i) !== 0),
    );
    if (withTables && table && table.dims?.length === 2 && onlyGathered) {
      const values = floatValues(table);
      if (values) {
        const [V, H] = (table.dims ?? []).map((d) => Number(d));
        if (!inits.has(`${x}_quantized`)) {
          // Per row = per column of the transposed table: quantize E^T's columns without materialising it.
          const { q, scale } = quantizeRows(values, V, H);
          inits.set(`${x}_quantized`, int8Tensor(`${x}_quantized`, [V, H], q));
          inits.set(`${x}_row_scale`, floatTensor(`${x}_row_scale`, [V, 1], scale));
          replaced.add(x);
          tables++;
        }
        const y = (n.output ?? [])[0];
        const ids = (n.input ?? [])[1];
        node("Gather", [`${x}_quantized`, ids], [`${y}_int8`], [{ name: "axis", type: A.INT, i: 0 }]);
        node("Cast", [`${y}_int8`], [`${y}_int8_float`], [{ name: "to", type: A.INT, i: FLOAT }]);
        node("Gather", [`${x}_row_scale`, ids], [`${y}_row_scale`], [{ name: "axis", type: A.INT, i: 0 }]);
        node("Mul", [`${y}_int8_float`, `${y}_row_scale`], [y]);
        continue;
      }
    }
    out.push(n);
  }
  for (const name of replaced) inits.delete(name);
  graph.node = out;
  graph.initializer = [...inits.values()];
  const spec: QuantizationSpec = {
    version: QUANTIZER_VERSION,
    weights: "int8 symmetric",
    per_channel: perChannel,
    reduce_range: reduceRange,
    activations: "uint8 dynamic per tensor",
    embeddings: tables > 0 ? "int8 per row" : "float32",
  };
  model.metadataProps = [
    ...(model.metadataProps ?? []).filter((p) => p.key !== QUANTIZATION_KEY),
    { key: QUANTIZATION_KEY, value: JSON.stringify(spec) },
  ];
  model.docString = `${model.docString ?? ""} (int8 dynamic quantization: weights ${perChannel ? "per column" : "per tensor"}, ${reduceRange ? "7" : "8"} bits)`;
  if (matmuls === 0)
    throw new Error("quantize: the graph has no MatMul with a weight initializer; nothing to quantize");
  const weightBytesAfter = graph.initializer.reduce((s, t) => s + tensorBytes(t), 0);
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    spec,
    matmuls,
    tables,
    weightBytesBefore,
    weightBytesAfter,
  };
}

/**
 * A com.microsoft Attention node of the fused graph (fused.ts) whose [H, 3H] Q/K/V weight is an initializer, as
 * QAttention: input quantized as for MatMulInteger (`xq` = DynamicQuantizeLinear's outputs), the weight symmetric
 * int8 with one scale per output column (or one in all), zero points 0. Undefined for any other node.
 */
function quantizedAttention(
  n: onnx.INodeProto,
  w: onnx.ITensorProto,
  xq: () => [string, string, string],
  options: { qmax: number; perColumn: boolean },
): { nodes: onnx.INodeProto[]; inits: onnx.ITensorProto[] } | undefined {
  if (n.opType !== "Attention" || n.domain !== "com.microsoft" || w.dataType !== FLOAT || w.dims?.length !== 2)
    return undefined;
  const values = floatValues(w);
  if (!values) return undefined;
  const [K, N] = w.dims.map((d) => Number(d));
  const { q, scale } = quantizeSymmetric(values, K, N, options);
  const base = w.name as string;
  const cols = options.perColumn ? [N] : [];
  const [, bias, mask] = (n.input ?? []).slice(1);
  const [x_q, s_x, z_x] = xq();
  return {
    inits: [
      int8Tensor(`${base}_quantized`, [K, N], q),
      floatTensor(`${base}_scale`, cols, scale),
      int8Tensor(`${base}_zero_point`, cols, new Int8Array(options.perColumn ? N : 1)),
    ],
    nodes: [
      {
        name: `${n.name}_quantized`,
        opType: "QAttention",
        domain: "com.microsoft",
        // input, weight, bias, input scale, weight scale, mask, input zero point, weight zero point
        input: [x_q, `${base}_quantized`, bias, s_x, `${base}_scale`, mask ?? "", z_x, `${base}_zero_point`],
        output: n.output,
        attribute: n.attribute,
      },
    ],
  };
}

/** Symmetric int8 per row (127 levels: a table lookup has no int16 accumulation to saturate). */
function quantizeRows(values: Float32Array, rows: number, cols: number): Int8Weights {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = quantizeSymmetric(values.subarray(r * cols, (r + 1) * cols), 1, cols, { qmax: 127, perColumn: false });
    q.set(row.q, r * cols);
    scale[r] = row.scale[0];
  }
  return { q, scale };
}

/** The quantization spec stored in a serialised ModelProto, or undefined for an unquantized file. */
export function quantizationSpec(bytes: Uint8Array): QuantizationSpec | undefined {
  const model = onnx.ModelProto.decode(bytes);
  const raw = (model.metadataProps ?? []).find((p) => p.key === QUANTIZATION_KEY)?.value;
  if (raw === undefined || raw === null) return undefined;
  try {
    return JSON.parse(raw) as QuantizationSpec;
  } catch {
    return undefined;
  }
}

/** The quantized graph must give, on QUANTIZE_CHECK_TEXTS, at least this mean cosine to the fp32 graph ... */
export const QUANTIZED_MIN_MEAN_COSINE = 0.99;
/** ... and at least this cosine on every text. */
export const QUANTIZED_MIN_COSINE = 0.97;

/**
 * The fixed text set the quantized graph is checked on before it is written: questions and passages of different
 * lengths and domains (HR policy, IT, science, everyday), punctuation, numbers, non-ASCII, one word.
 */
export const QUANTIZE_CHECK_TEXTS: readonly string[] = [
  "How many PTO days do I get after five years?",
  "Expense reports are due within thirty days of travel; receipts over $25 need an itemised invoice.",
  "wfh",
  "Café, naïve résumé — 日本語",
  "Can I carry unused vacation days over to next year?",
  "Employees may work remotely up to three days per week with their manager's approval.",
  "Who approves overtime for hourly staff?",
  "Parental leave: 16 weeks at full pay for the primary caregiver, 6 weeks for the secondary caregiver.",
  "What is the reimbursement rate for using my own car for business trips?",
  "Safety glasses must be worn at all times in the laboratory, including by visitors.",
  "How do I reset my VPN password?",
  "Laptops must be encrypted and locked when left unattended; report a lost device to IT within 24 hours.",
  "The quarterly security training is mandatory for all contractors with network access.",
  "Is there a dress code for client meetings?",
  "Photosynthesis converts light energy into chemical energy stored in glucose.",
  "The mitochondria is the powerhouse of the cell.",
  "What causes the seasons on Earth?",
  "Water boils at 100 degrees Celsius at sea level, and at lower temperatures at higher altitudes.",
  "A binary search runs in logarithmic time on a sorted array.",
  "How do I merge two branches in git without losing my local changes?",
  "TypeScript adds static types to JavaScript and compiles to plain JavaScript.",
  "Add the flour gradually and whisk until the batter is smooth.",
  "The train to Berlin leaves at 7:45 from platform 3.",
  "Best hiking trails near the lake with a view of the mountains",
  "The patient reported mild headaches and dizziness after the second dose.",
  "Interest rates rose by 0.25 percentage points in March.",
  "refund policy",
  "Why is the sky blue?",
  "Les congés payés sont accordés après un mois de présence.",
  "¿Dónde está la estación de tren más cercana?",
  "She sells sea shells by the sea shore.",
  "Invoices from suppliers are paid within 45 days of receipt unless the contract says otherwise, and disputed " +
    "invoices are held until the purchasing team resolves the dispute with the supplier in writing.",
];

export interface QuantizedCheck {
  texts: number;
  cosineMean: number;
  cosineMin: number;
  /** The text with the lowest cosine. */
  worstText: string;
}

/** Cosine of row r of a and b ([rows, dim] row-major); 1 when both rows are zero (an empty text). */
export function rowCosines(a: Float32Array, b: Float32Array, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / dim; r++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let h = r * dim; h < (r + 1) * dim; h++) {
      ab += a[h] * b[h];
      aa += a[h] * a[h];
      bb += b[h] * b[h];
    }
    out.push(aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb || 1e-30));
  }
  return out;
}

/**
 * Quantizes `fp32` and checks it: QUANTIZE_CHECK_TEXTS (tokenized by `tokenize`) through both graphs on ONNX Runtime,
 * cosine per text. Throws, naming `source` and the figures, when the mean is below QUANTIZED_MIN_MEAN_COSINE or the
 * worst below QUANTIZED_MIN_COSINE (the caller then writes nothing).
 */
export async function quantizeVerified(
  fp32: Uint8Array,
  tokenize: (texts: string[]) => TokenizedBatch,
  dim: number,
  source: string,
  options: QuantizeOptions = {},
): Promise<QuantizeResult & { check: QuantizedCheck }> {
  const result = quantizeOnnxModel(fp32, options);
  const batch = tokenize([...QUANTIZE_CHECK_TEXTS]);
  const embed = (bytes: Uint8Array) => OnnxEncoder.embedOnce(bytes, dim, batch);
  const cos = rowCosines(await embed(fp32), await embed(result.bytes), dim);
  const worst = cos.indexOf(Math.min(...cos));
  const check: QuantizedCheck = {
    texts: cos.length,
    cosineMean: mean(cos),
    cosineMin: cos[worst],
    worstText: QUANTIZE_CHECK_TEXTS[worst],
  };
  if (!(check.cosineMean >= QUANTIZED_MIN_MEAN_COSINE && check.cosineMin >= QUANTIZED_MIN_COSINE))
    throw new Error(
      `${source}: int8 quantization changes the embeddings too much (cosine to fp32 on ${check.texts} check texts: ` +
        `mean ${check.cosineMean.toFixed(4)}, worst ${check.cosineMin.toFixed(4)} on ${JSON.stringify(check.worstText)}; ` +
        `required mean >= ${QUANTIZED_MIN_MEAN_COSINE} and worst >= ${QUANTIZED_MIN_COSINE}); nothing was written. ` +
        (result.spec.reduce_range
          ? "Try { reduceRange: false } (8-bit weights, which do not saturate on CPUs with AVX-512 VNNI or AVX-VNNI, nor on ARM), or keep fp32."
          : "Keep fp32 for this model."),
    );
  return { ...result, check };
}

/** One line for the log: what the check measured. */
export function describeQuantizedCheck(r: QuantizeResult & { check: QuantizedCheck }): string {
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  return (
    `int8 vs fp32 cosine on ${r.check.texts} check texts: mean ${r.check.cosineMean.toFixed(5)}, worst ` +
    `${r.check.cosineMin.toFixed(5)} (required >= ${QUANTIZED_MIN_MEAN_COSINE} / >= ${QUANTIZED_MIN_COSINE}); ` +
    `${r.matmuls} MatMuls and ${r.tables} embedding table(s) quantized, weights ${mb(r.weightBytesAfter)} MB ` +
    `(fp32 ${mb(r.weightBytesBefore)} MB)`
  );
}
