/**
 * The fused variant of the exported graph (graph.ts): the same encoder written with ONNX Runtime's transformer
 * kernels (com.microsoft contrib ops, run by onnxruntime-node's CPU execution provider) instead of plain ONNX ops:
 *
 *   embeddings  EmbedLayerNormalization(int32 ids, types, word / position / type tables, gamma, beta[, position ids])
 *               (RoBERTa: the position ids of graph.ts, cast to int32; BERT: 0..S-1, the op's default)
 *   attention   Attention(h, [W_q W_k W_v]^T, [b_q b_k b_v], int32 mask [B, S]), num_heads, masked scores -1e9
 *               h' = SkipLayerNormalization(MatMul(ctx, W_o^T), h, gamma, beta, bias b_o)
 *   feed-fwd    BiasGelu(MatMul(h', W_i^T), b_i) for "gelu" (erf), FastGelu(..., b_i) for "gelu_new" (tanh),
 *               Relu(... + b_i) for "relu";  h = SkipLayerNormalization(MatMul(., W_2^T), h', gamma, beta, bias b_2)
 *   pooling, Normalize and the outputs as graph.ts writes them.
 *
 * Each kernel computes what the plain ops compute, in float32 (embeddings equal within 1e-5, test/model-onnx-fused);
 * what it saves is the intermediate tensors, the transposes and the separate passes over memory between them.
 *
 * int8 (quantize.ts on this graph): the weight MatMuls become the DynamicQuantizeLinear -> MatMulInteger chain as in
 * the plain int8 graph, and each Attention becomes DynamicQuantizeLinear -> QAttention with the fused Q/K/V weight in
 * int8 (symmetric, one scale per output column, the same bits as the other weights). The int8 graph keeps the
 * embeddings plain (Gathers, so that quantize.ts stores the word table as int8 and the file stays ~4x smaller).
 *
 * FusedGraphOptions turns each fusion off on its own (the rest stays as graph.ts writes it), for A/B measurements.
 *
 * Files: exportOnnx(folder, { fused: true }) writes onnx/model_fused.onnx (and, with quantize "int8",
 * onnx/model_fused_quantized.onnx) after checking it against the plain graph; encode runs a fresh fused file of the
 * dtype (runtime.ts), and the plain graph, warning once, when ONNX Runtime refuses it (a build without
 * the contrib ops). The plain graph stays onnx/model.onnx, the fallback and transformers.js' default; transformers.js
 * 4.3 (onnxruntime-node) also loads the fused files (`model_file_name: "model_fused"`, dtype "fp32" or "q8"; checked
 * once, same vectors). Without a fused file encode builds the plain graph: measured on the project machine
 * (bench/ONNX-NOTES.md), ONNX Runtime 1.30's CPU kernels for these ops are no faster than its own fusions of the
 * plain graph in fp32 (SkipLayerNormalization is slower than Add + LayerNormalization) and slower in int8.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type OnnxModelParts, onnxFileStatus } from "./folder";
import { QUANTIZE_CHECK_TEXTS, type QuantizeOptions, type QuantizedCheck, quantizeVerified } from "./quantize";
import { OnnxEncoder } from "./session";
import type { TokenizedBatch } from "../types";
import { onnx } from "onnx-proto";
import {
  type EncoderBodyContext,
  type GraphBuilder,
  type OnnxExportInput,
  buildOnnxModel,
  plainSelfAttention,
  robertaPositionIds,
} from "./graph";

/** The fused graph's file in a model folder (beside onnx/model.onnx). */
export const ONNX_FUSED_FILE = join("onnx", "model_fused.onnx");
/** Its int8 version (quantize.ts applied to the fused graph, Attention -> QAttention). */
export const ONNX_FUSED_QUANTIZED_FILE = join("onnx", "model_fused_quantized.onnx");
/** metadata_props key: which contrib ops the file uses ({ version, ops }). */
export const FUSED_KEY = "ts_embedding_finetune.fused";
/** Bumped when the fused graph this module writes changes. */
export const FUSED_VERSION = 1;

const MS = "com.microsoft";
const INT32 = onnx.TensorProto.DataType.INT32;
/** Same constant as graph.ts / encoder.ts: added to the attention scores of padded keys. */
const MASKED_SCORE = -1e9;

export interface FusedGraphOptions {
  /** Embeddings as one EmbedLayerNormalization (default true); false keeps graph.ts's Gathers (the int8 graph). */
  embedLayerNormalization?: boolean;
  /** Self-attention as one Attention node (default true); false keeps graph.ts's plain ops. */
  attention?: boolean;
  /** Residual + bias + LayerNorm as SkipLayerNormalization (default true); false: Add, Add, LayerNormalization. */
  skipLayerNormalization?: boolean;
}

/** The fused ModelProto of a BERT / RoBERTa sentence-transformer, serialised (same inputs, outputs and metadata). */
export function buildFusedOnnxModel(input: OnnxExportInput, options: FusedGraphOptions = {}): Uint8Array {
  const use = {
    embedLayerNormalization: options.embedLayerNormalization ?? true,
    attention: options.attention ?? true,
    skipLayerNormalization: options.skipLayerNormalization ?? true,
  };
  const act = { gelu: "BiasGelu", gelu_new: "FastGelu", relu: "Relu" }[input.config.hiddenAct];
  const ops = [
    ...(use.embedLayerNormalization ? ["EmbedLayerNormalization"] : []),
    ...(use.attention ? ["Attention"] : []),
    ...(use.skipLayerNormalization ? ["SkipLayerNormalization"] : []),
    act,
  ];
  return buildOnnxModel(input, {
    body: (ctx) => fusedBody(ctx, use),
    opsets: [{ domain: MS, version: 1 }],
    metadata: [{ key: FUSED_KEY, value: JSON.stringify({ version: FUSED_VERSION, ops }) }],
    docSuffix: ` (fused: ${ops.join(", ")})`,
  });
}

/** Whether a serialised ModelProto is a fused graph of this module's FUSED_VERSION (its FUSED_KEY entry). */
export function isFusedGraph(bytes: Uint8Array): boolean {
  const raw = (onnx.ModelProto.decode(bytes).metadataProps ?? []).find((p) => p.key === FUSED_KEY)?.value;
  try {
    return raw !== undefined && raw !== null && JSON.parse(raw).version === FUSED_VERSION;
  } catch {
    return false;
  }
}

function ms(g: GraphBuilder, opType: string, inputs: string[], attrs: Record<string, number | { float: number }>) {
  return g.op(opType, inputs, attrs, undefined, MS);
}

function fusedBody(
  { g, config, weight, init, linearInit, layerNorm }: EncoderBodyContext,
  use: Required<FusedGraphOptions>,
): string {
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const epsilon = { float: config.layerNormEps };
  const ln = (name: string) => [init(`${name}.weight`, [H]), init(`${name}.bias`, [H])];
  const tables = [
    init("embeddings.word_embeddings.weight", [config.vocabSize, H]),
    init("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, H]),
    init("embeddings.token_type_embeddings.weight", [config.typeVocabSize, H]),
  ];
  const roberta = config.architecture === "roberta";
  let hidden: string;
  if (use.embedLayerNormalization) {
    const int32 = (x: string) => g.op("Cast", [x], { to: INT32 });
    const positions = roberta ? [int32(robertaPositionIds(g, config.padTokenId))] : [];
    // Inputs: ids, segment ids, word, position, segment tables, gamma, beta, mask (none), position ids.
    const inputs = [int32("input_ids"), int32("token_type_ids"), ...tables, ...ln("embeddings.LayerNorm")];
    hidden = ms(g, "EmbedLayerNormalization", roberta ? [...inputs, "", ...positions] : inputs, { epsilon });
    // Its second output (mask_index) is required by the schema; unnamed, ONNX Runtime does not compute it.
    g.nodes[g.nodes.length - 1].output = [hidden, ""];
  } else {
    const words = g.op("Gather", [tables[0], "input_ids"], { axis: 0 });
    const types = g.op("Gather", [tables[2], "token_type_ids"], { axis: 0 });
    const positions = roberta
      ? g.op("Gather", [tables[1], robertaPositionIds(g, config.padTokenId)], { axis: 0 })
      : g.op("Slice", [
          tables[1],
          g.ints([0]),
          g.op("Gather", [g.op("Shape", ["input_ids"]), g.ints([1])], { axis: 0 }),
          g.ints([0]),
        ]);
    hidden = layerNorm(g.op("Add", [g.op("Add", [words, positions]), types]), "embeddings.LayerNorm");
  }
  const plainAttention = plainSelfAttention(g, config, linearInit);
  let mask: string | undefined; // [B, S] int32, 1 = attend: Attention's raw mask
  const attend = (h: string, p: string) => {
    if (!use.attention) return plainAttention(h, `${p}attention.self`);
    mask ??= g.op("Cast", ["attention_mask"], { to: INT32 });
    // [W_q^T W_k^T W_v^T]: [H, 3H], row k holds input k's weights for q's, then k's, then v's columns.
    const w = new Float32Array(H * 3 * H);
    const b = new Float32Array(3 * H);
    ["query", "key", "value"].forEach((n, j) => {
      const wj = weight(`${p}attention.self.${n}.weight`, [H, H]); // [out, in]
      for (let o = 0; o < H; o++) for (let k = 0; k < H; k++) w[k * 3 * H + j * H + o] = wj[o * H + k];
      b.set(weight(`${p}attention.self.${n}.bias`, [H]), j * H);
    });
    const qkvW = g.floatTensor(`${p}attention.self.qkv.weight_t`, [H, 3 * H], w);
    const qkvB = g.floatTensor(`${p}attention.self.qkv.bias`, [3 * H], b);
    return ms(g, "Attention", [h, qkvW, qkvB, mask], {
      num_heads: config.numAttentionHeads,
      mask_filter_value: { float: MASKED_SCORE },
    });
  };
  /** LayerNorm(xw + bias + skip): one SkipLayerNormalization, or Add, Add, LayerNormalization as graph.ts. */
  const residual = (xw: string, bias: string, skip: string, name: string) =>
    use.skipLayerNormalization
      ? ms(g, "SkipLayerNormalization", [xw, skip, ...ln(name), bias], { epsilon })
      : layerNorm(g.op("Add", [g.op("Add", [xw, bias]), skip]), name);
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const p = `encoder.layer.${l}.`;
    const out = linearInit(`${p}attention.output.dense`, H, H);
    const projected = g.op("MatMul", [attend(hidden, p), out.w]);
    const attentionOut = residual(projected, out.b, hidden, `${p}attention.output.LayerNorm`);
    const inter = linearInit(`${p}intermediate.dense`, I, H);
    const pre = g.op("MatMul", [attentionOut, inter.w]);
    const inner =
      config.hiddenAct === "relu"
        ? g.op("Relu", [g.op("Add", [pre, inter.b])])
        : ms(g, config.hiddenAct === "gelu" ? "BiasGelu" : "FastGelu", [pre, inter.b], {});
    const down = linearInit(`${p}output.dense`, H, I);
    hidden = residual(g.op("MatMul", [inner, down.w]), down.b, attentionOut, `${p}output.LayerNorm`);
  }
  return hidden;
}

/** A graph and where it came from (in words, for lastEncodeStats.onnxGraph). */
export interface GraphSource {
  bytes: Uint8Array;
  source: string;
}

/**
 * Opens the fused graph when there is one (`fused` undefined, or resolving to undefined: none for this case) and
 * ONNX Runtime accepts it; otherwise the plain graph. A fused graph that fails to build or load is reported once
 * through `refused` (the caller then stops asking for it) and the plain graph is opened instead.
 */
export async function openPreferringFused(
  fused: (() => Promise<GraphSource | undefined>) | undefined,
  plain: () => Promise<GraphSource>,
  open: (bytes: Uint8Array) => Promise<OnnxEncoder>,
  refused: (reason: string) => void,
): Promise<{ encoder: OnnxEncoder; source: string }> {
  if (fused) {
    try {
      const graph = await fused();
      if (graph) return { encoder: await open(graph.bytes), source: graph.source };
    } catch (err) {
      refused((err as Error).message.split("\n")[0]);
    }
  }
  const graph = await plain();
  return { encoder: await open(graph.bytes), source: graph.source };
}

/**
 * The folder's fused files (ONNX_FUSED_FILE, ONNX_FUSED_QUANTIZED_FILE) that were made from these weights by this
 * version of the fused exporter; others are not used (exportOnnx({ fused: true }) rewrites a stale one).
 */
export function freshFusedFiles(dir: string, parts: OnnxModelParts): { fp32?: string; q8?: string } {
  const fresh = (file: string) => {
    const s = onnxFileStatus(dir, parts, undefined, file);
    return s.state === "fresh" && isFusedGraph(readFileSync(s.path)) ? s.path : undefined;
  };
  return { fp32: fresh(ONNX_FUSED_FILE), q8: fresh(ONNX_FUSED_QUANTIZED_FILE) };
}

/** Largest |fused - plain| allowed on the check texts' sentence embeddings before a fused file is written. */
export const FUSED_TOLERANCE = 1e-5;

/** A fused file exportOnnx({ fused: true }) computed (written by the caller, after every check passed). */
export interface FusedFile {
  path: string;
  bytes: Uint8Array;
  /** Largest |fused - plain| on the check texts (fp32), or the int8 check against the fused fp32 graph. */
  maxAbsDiff?: number;
  check?: QuantizedCheck;
}

/**
 * The fused files of a folder (fp32, and int8 when `quantize`), each checked first: the fp32 fused graph against the
 * plain graph `plain` on QUANTIZE_CHECK_TEXTS (sentence embeddings within FUSED_TOLERANCE), the int8 one as
 * quantizeVerified checks any int8 graph. Throws, naming the folder, when a check fails; nothing is written here.
 */
export async function fusedFiles(
  dir: string,
  input: OnnxExportInput,
  plain: Uint8Array,
  tokenize: (texts: string[]) => TokenizedBatch,
  dim: number,
  want: { fp32: boolean; q8: boolean; quantizeOptions?: QuantizeOptions },
): Promise<FusedFile[]> {
  const out: FusedFile[] = [];
  if (want.fp32) {
    const bytes = buildFusedOnnxModel(input);
    const batch = tokenize([...QUANTIZE_CHECK_TEXTS]);
    const a = await OnnxEncoder.embedOnce(bytes, dim, batch);
    const b = await OnnxEncoder.embedOnce(plain, dim, batch);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    if (!(max <= FUSED_TOLERANCE))
      throw new Error(
        `${join(dir, ONNX_FUSED_FILE)}: the fused graph differs from the plain graph by ${max} (> ${FUSED_TOLERANCE}) on the check texts; nothing was written. Export without fused: true, and please report this.`,
      );
    out.push({ path: join(dir, ONNX_FUSED_FILE), bytes, maxAbsDiff: max });
  }
  if (want.q8) {
    const path = join(dir, ONNX_FUSED_QUANTIZED_FILE);
    const fp32 = buildFusedOnnxModel(input, { embedLayerNormalization: false });
    const q = await quantizeVerified(fp32, tokenize, dim, path, want.quantizeOptions);
    out.push({ path, bytes: q.bytes, check: q.check });
  }
  return out;
}
