/**
 * ONNX export of a cross-encoder folder, the layout Python's `CrossEncoder(path)` and Hugging Face's
 * `AutoModelForSequenceClassification` read:
 *
 *   config.json        architectures ["BertForSequenceClassification"] (model_type "bert") or
 *                      ["XLMRobertaForSequenceClassification" / "RobertaForSequenceClassification"]
 *                      (model_type "xlm-roberta" / "roberta"); id2label (or num_labels) = the number of labels
 *   model.safetensors  bert.* / roberta.* encoder weights, and the head:
 *                        BERT     bert.pooler.dense.{weight,bias} [H, H], classifier.{weight,bias} [L, H]
 *                        RoBERTa  classifier.dense.{weight,bias} [H, H], classifier.out_proj.{weight,bias} [L, H]
 *   tokenizer files    tokenizer.json (+ tokenizer_config.json, special_tokens_map.json)
 *
 * Both heads compute logits = W2 tanh(W1 h[CLS] + b1) + b2 (dropout is off at inference). The encoder's graph is
 * the project's sentence-transformer graph (src/model/onnx/graph.ts) with CLS pooling and no normalisation, whose
 * sentence_embedding is h[CLS]; this module adds the head on top of it, so onnx/model.onnx has the inputs
 * input_ids / attention_mask / token_type_ids (int64 [batch_size, sequence_length]) and the single output
 * `logits` float [batch_size, num_labels], as Optimum exports a sequence classifier and transformers.js reads it.
 * A model with a one-row token-type table (RoBERTa) reads token type 0 whatever token_type_ids says, as PyTorch
 * does when its tokenizer returns none (transformers.js sends 1s for the second segment of a RoBERTa pair).
 *
 * The file carries the weights' SHA-256 and a graph spec (encoder spec + head) as the sentence-transformer
 * export does, so a file next to other weights is stale and is rebuilt, never used. int8
 * (onnx/model_quantized.onnx, transformers.js' dtype "q8") is the existing dynamic quantization (quantize.ts) with
 * its agreement check: cosine between the fp32 and int8 pooled features (what the classifier reads) on the fixed
 * check texts, paired into (text, next text); the logits' largest difference is printed beside it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { onnx } from "onnx-proto";
import { writeFileAtomic } from "../files";
import { parseTransformerConfig } from "../model/config";
import {
  GRAPH_SPEC_KEY,
  ONNX_PRODUCER,
  WEIGHTS_CHECKSUM_KEY,
  buildOnnxModel,
  onnxGraphSpec,
  weightsChecksum,
} from "../model/onnx/graph";
import { ONNX_FILE, ONNX_QUANTIZED_FILE, onnxMetadata, type OnnxFileState } from "../model/onnx/folder";
import {
  QUANTIZE_CHECK_TEXTS,
  describeQuantizedCheck,
  quantizeVerified,
  type QuantizedCheck,
} from "../model/onnx/quantize";
import { readSafetensors } from "../model/safetensors";
import { Tokenizer, readTokenizerFiles } from "../model/tokenizer";
import type { PoolingConfig, TransformerConfig, WeightMap } from "../model/types";
import { PairEncoder } from "./pairs";
import { LogitsSession } from "./session";
import type { TextPair } from "./types";

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Bumped when the head this module adds changes. */
export const CLASSIFIER_EXPORTER_VERSION = 1;
/** Name of the extra output of the check graph: the pooled features the classifier reads. */
const POOLED_OUTPUT = "sentence_embedding";

/** A cross-encoder folder read into plain data. */
export interface CrossEncoderFolder {
  dir: string;
  /** config.json's architectures[0], e.g. "BertForSequenceClassification". */
  architectureName: string;
  config: TransformerConfig;
  numLabels: number;
  /** All tensors of model.safetensors (encoder and head), Hugging Face names. */
  weights: WeightMap;
  /** Names of the head's two layers: [dense (tanh), out]. */
  head: [string, string];
  tokenizer: Tokenizer;
  /** Tokens per pair (options.maxLength, sentence_bert_config.json max_seq_length, or the positions / tokenizer limit). */
  maxLength: number;
  /** Pair tokenization (template, longest_first truncation at maxLength). */
  pairs: PairEncoder;
  /**
   * predict()'s default activation, as CrossEncoder reads it from config.json: sentence_transformers.activation_fn
   * (v4) or sbert_ce_default_activation_function (earlier), "...Sigmoid" or "...Identity"; sigmoid when absent.
   */
  activation: "sigmoid" | "identity";
}

function readJson(path: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${path}: cannot read JSON (${(err as Error).message}); re-download or re-save the model.`);
  }
}

/** Reads a cross-encoder folder; every error names the file and what to do. */
export function readCrossEncoderFolder(folder: string, options: { maxLength?: number } = {}): CrossEncoderFolder {
  const dir = resolve(folder);
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath))
    throw new Error(
      `${configPath}: missing; a cross-encoder folder needs config.json, model.safetensors and tokenizer files.`,
    );
  const raw = readJson(configPath);
  const architectureName = Array.isArray(raw.architectures) ? String(raw.architectures[0]) : "";
  if (!/ForSequenceClassification$/.test(architectureName))
    throw new Error(
      `${configPath}: architectures ${JSON.stringify(raw.architectures ?? null)} is not a sequence classifier; a cross-encoder ` +
        "folder has e.g. BertForSequenceClassification or XLMRobertaForSequenceClassification (a sentence-transformer " +
        "folder embeds texts instead: load it with loadModel).",
    );
  // XLM-RoBERTa is RoBERTa's architecture with another vocabulary.
  const config = parseTransformerConfig(
    raw.model_type === "xlm-roberta" ? { ...raw, model_type: "roberta" } : raw,
    configPath,
  );
  const stPath = join(dir, "model.safetensors");
  if (!existsSync(stPath))
    throw new Error(
      `${stPath}: missing. Save the weights as safetensors (Python: model.save_pretrained(folder, safe_serialization=True)).`,
    );
  const weights = readSafetensors(stPath).tensors;
  const H = config.hiddenSize;
  const head: [string, string] =
    config.architecture === "bert" ? ["bert.pooler.dense", "classifier"] : ["classifier.dense", "classifier.out_proj"];
  const out = weights.get(`${head[1]}.weight`);
  for (const [name, shape] of [
    [`${head[0]}.weight`, [H, H]],
    [`${head[0]}.bias`, [H]],
    [`${head[1]}.weight`, [out?.shape[0] ?? 1, H]],
    [`${head[1]}.bias`, [out?.shape[0] ?? 1]],
  ] as [string, number[]][]) {
    const t = weights.get(name);
    if (!t || t.shape.join(",") !== shape.join(","))
      throw new Error(
        `${stPath}: ${t ? `"${name}" has shape [${t.shape}], expected [${shape}]` : `no tensor "${name}"`}; ` +
          `${architectureName} keeps its head in ${head.join(".* and ")}.* (hidden_size ${H} in config.json).`,
      );
  }
  const numLabels = (out as { shape: number[] }).shape[0];
  const declared =
    typeof raw.num_labels === "number"
      ? raw.num_labels
      : raw.id2label && typeof raw.id2label === "object"
        ? Object.keys(raw.id2label).length
        : undefined;
  if (declared !== undefined && declared !== numLabels)
    throw new Error(
      `${configPath}: ${declared} labels (num_labels / id2label), but ${head[1]}.weight in model.safetensors has ${numLabels} rows; the files do not belong together.`,
    );
  const tokenizer = new Tokenizer(readTokenizerFiles(dir), { maxSeqLength: Infinity, source: dir });
  const sbPath = join(dir, "sentence_bert_config.json");
  const positions =
    config.architecture === "roberta"
      ? config.maxPositionEmbeddings - config.padTokenId - 1
      : config.maxPositionEmbeddings;
  const tokMax = tokenizer.files.tokenizerConfig.model_max_length;
  const maxLength =
    options.maxLength ??
    (existsSync(sbPath) ? (readJson(sbPath).max_seq_length as number | undefined) : undefined) ??
    Math.min(positions, typeof tokMax === "number" ? tokMax : Infinity);
  if (!Number.isInteger(maxLength) || maxLength > positions)
    throw new Error(
      `${dir}: max_length ${maxLength} must be an integer no larger than the ${positions} positions of the model (config.json max_position_embeddings).`,
    );
  const pairs = new PairEncoder(tokenizer, maxLength, { typeIds: config.typeVocabSize > 1, source: dir });
  const st = raw.sentence_transformers as { activation_fn?: unknown } | undefined;
  const fn = st?.activation_fn ?? raw.sbert_ce_default_activation_function;
  let activation: "sigmoid" | "identity" = "sigmoid";
  if (typeof fn === "string" && /\.Identity$/.test(fn)) activation = "identity";
  else if (fn !== undefined && fn !== null && !(typeof fn === "string" && /\.Sigmoid$/.test(fn)))
    throw new Error(
      `${configPath}: activation function ${JSON.stringify(fn)} is not supported; this library applies torch.nn.Sigmoid or torch.nn.Identity (set "activation_fn" to one of them).`,
    );
  return { dir, architectureName, config, numLabels, weights, head, tokenizer, maxLength, pairs, activation };
}

/** The graph spec stored in a cross-encoder's ONNX file: the encoder's spec and the head. */
export function crossEncoderGraphSpec(data: CrossEncoderFolder): Record<string, unknown> {
  return {
    ...onnxGraphSpec(data.config, clsPooling(data.config.hiddenSize), false),
    head: "sequence_classification",
    head_exporter: CLASSIFIER_EXPORTER_VERSION,
    architectures: [data.architectureName],
    num_labels: data.numLabels,
  };
}

function clsPooling(H: number): PoolingConfig {
  return {
    word_embedding_dimension: H,
    pooling_mode_cls_token: true,
    pooling_mode_mean_tokens: false,
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
  };
}

function transposedTensor(name: string, t: { shape: number[]; data: Float32Array }): onnx.ITensorProto {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return { name, dims: [cols, rows], dataType: FLOAT, rawData: new Uint8Array(out.buffer) };
}

function vectorTensor(name: string, t: { shape: number[]; data: Float32Array }): onnx.ITensorProto {
  const copy = Float32Array.from(t.data);
  return { name, dims: [...t.shape], dataType: FLOAT, rawData: new Uint8Array(copy.buffer) };
}

/**
 * The serialised ModelProto of a cross-encoder: the encoder graph, then logits = W2 tanh(W1 h[CLS] + b1) + b2.
 * `pooledOutput` adds the tanh features as a second output named sentence_embedding (for the int8 check only).
 */
export function buildCrossEncoderOnnx(data: CrossEncoderFolder, options: { pooledOutput?: boolean } = {}): Uint8Array {
  const { config, weights, head, numLabels } = data;
  const H = config.hiddenSize;
  const checksum = weightsChecksum(weights);
  const base = buildOnnxModel({
    config,
    weights,
    pooling: clsPooling(H),
    normalize: false,
    name: data.dir,
    checksum,
  });
  const model = onnx.ModelProto.decode(base);
  const graph = model.graph as onnx.IGraphProto;
  const nodes = graph.node ?? [];
  // The encoder's CLS vector: rename its output so that nothing but our head reads it.
  const cls = nodes.find((n) => (n.output ?? []).includes(POOLED_OUTPUT));
  if (!cls) throw new Error("ONNX export: the encoder graph has no sentence_embedding node; please report this.");
  cls.output = ["cls_hidden"];
  const get = (name: string) => weights.get(name) as { shape: number[]; data: Float32Array };
  const init = graph.initializer ?? [];
  init.push(
    transposedTensor(`${head[0]}.weight_t`, get(`${head[0]}.weight`)),
    vectorTensor(`${head[0]}.bias`, get(`${head[0]}.bias`)),
    transposedTensor(`${head[1]}.weight_t`, get(`${head[1]}.weight`)),
    vectorTensor(`${head[1]}.bias`, get(`${head[1]}.bias`)),
  );
  const node = (opType: string, input: string[], output: string) =>
    nodes.push({ name: `head_${opType}_${nodes.length}`, opType, input, output: [output], attribute: [] });
  node("MatMul", ["cls_hidden", `${head[0]}.weight_t`], "head_dense_mm");
  node("Add", ["head_dense_mm", `${head[0]}.bias`], "head_dense");
  node("Tanh", ["head_dense"], "head_pooled");
  node("MatMul", ["head_pooled", `${head[1]}.weight_t`], "head_out_mm");
  node("Add", ["head_out_mm", `${head[1]}.bias`], "logits");
  const outputs: onnx.IValueInfoProto[] = [valueInfo("logits", ["batch_size", numLabels])];
  if (options.pooledOutput) {
    node("Identity", ["head_pooled"], POOLED_OUTPUT);
    outputs.push(valueInfo(POOLED_OUTPUT, ["batch_size", H]));
  }
  if (config.typeVocabSize === 1) {
    // One token type: read row 0 whatever the caller sends (RoBERTa's tokenizer returns no token_type_ids).
    const zero: onnx.ITensorProto = {
      name: "head_const_zero_i64",
      dims: [],
      dataType: INT64,
      rawData: new Uint8Array(new BigInt64Array([0n]).buffer),
    };
    init.push(zero);
    for (const n of nodes) n.input = (n.input ?? []).map((i) => (i === "token_type_ids" ? "token_types_zero" : i));
    nodes.unshift({
      name: "head_zero_types",
      opType: "Mul",
      input: ["token_type_ids", zero.name as string],
      output: ["token_types_zero"],
      attribute: [],
    });
  }
  graph.initializer = init;
  graph.node = nodes;
  graph.output = outputs;
  graph.name = "cross_encoder";
  model.docString = `${data.dir}: ${data.architectureName}, ${config.numHiddenLayers} layers, hidden ${H}, ${numLabels} label(s)`;
  model.metadataProps = [
    { key: WEIGHTS_CHECKSUM_KEY, value: checksum },
    { key: GRAPH_SPEC_KEY, value: JSON.stringify(crossEncoderGraphSpec(data)) },
  ];
  return onnx.ModelProto.encode(model).finish();
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** A graph built with `pooledOutput` without that output (and the node that only feeds it): `logits` alone. */
export function withoutPooledOutput(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph as onnx.IGraphProto;
  graph.node = (graph.node ?? []).filter((n) => !(n.output ?? []).includes(POOLED_OUTPUT));
  graph.output = (graph.output ?? []).filter((o) => o.name !== POOLED_OUTPUT);
  return onnx.ModelProto.encode(model).finish();
}

/** Whether `file` in the folder is a cross-encoder graph of ours made from exactly these weights and config. */
export function crossEncoderOnnxState(data: CrossEncoderFolder, file: string = ONNX_FILE): OnnxFileState {
  const path = join(data.dir, file);
  if (!existsSync(path)) return "missing";
  let meta: ReturnType<typeof onnxMetadata>;
  try {
    meta = onnxMetadata(readFileSync(path), path);
  } catch {
    return "foreign";
  }
  if (meta.producer !== ONNX_PRODUCER || meta.weightsChecksum === undefined || meta.spec === undefined)
    return "foreign";
  const want = crossEncoderGraphSpec(data);
  const same =
    meta.weightsChecksum === weightsChecksum(data.weights) &&
    Object.keys(want).every((k) => JSON.stringify(want[k]) === JSON.stringify(meta.spec?.[k]));
  return same ? "fresh" : "stale";
}

/** The check pairs of the int8 check: each fixed check text with the next one as its passage. */
export function checkPairs(texts: readonly string[]): TextPair[] {
  return texts.map((t, i) => [t, texts[(i + 1) % texts.length]] as const);
}

export interface CrossEncoderQuantized {
  bytes: Uint8Array;
  check: QuantizedCheck;
  /** Largest |fp32 logit - int8 logit| over the check pairs. */
  maxLogitDiff: number;
  /** One line for the log. */
  description: string;
}

/** int8 graph of a cross-encoder, checked against fp32 (throws, naming `source`, when it disagrees). */
export async function quantizeCrossEncoder(
  data: CrossEncoderFolder,
  source: string,
  withPooled: Uint8Array = buildCrossEncoderOnnx(data, { pooledOutput: true }),
): Promise<CrossEncoderQuantized> {
  const q = await quantizeVerified(
    withPooled,
    (texts) => data.pairs.encodeBatch(checkPairs(texts)),
    data.config.hiddenSize,
    source,
  );
  // The file itself has only `logits`.
  const bytes = withoutPooledOutput(q.bytes);
  const batch = data.pairs.encodeBatch(checkPairs(QUANTIZE_CHECK_TEXTS));
  const logits = async (b: Uint8Array) => {
    const s = await LogitsSession.create(b, data.numLabels, { threads: 1 });
    try {
      return await s.logits(batch);
    } finally {
      await s.release();
    }
  };
  const [a, b] = [await logits(withPooled), await logits(bytes)];
  let maxLogitDiff = 0;
  for (let i = 0; i < a.length; i++) maxLogitDiff = Math.max(maxLogitDiff, Math.abs(a[i] - b[i]));
  const description = `${describeQuantizedCheck(q)}; logits differ by at most ${maxLogitDiff.toPrecision(3)} on the ${q.check.texts} check pairs`;
  return { bytes, check: q.check, maxLogitDiff, description };
}

export interface ExportCrossEncoderOptions {
  /** Also write onnx/model_quantized.onnx (int8, transformers.js dtype "q8"). */
  quantize?: "int8";
  /** Write even when a fresh file is there. */
  force?: boolean;
  /** Replace a file written by other tooling (default: refuse). */
  overwriteForeign?: boolean;
  /** Print the int8 check (default true). */
  log?: boolean;
  maxLength?: number;
}

export interface ExportCrossEncoderResult {
  path: string;
  written: boolean;
  before: OnnxFileState;
  /** Size of the file written (0 when kept). */
  bytes: number;
  quantized?: {
    path: string;
    written: boolean;
    before: OnnxFileState;
    bytes: number;
    check?: QuantizedCheck;
    maxLogitDiff?: number;
  };
  /** tokenizer.json was written (the folder had only vocab.txt; transformers.js needs it). */
  tokenizerJsonWritten: boolean;
}

/** Whether a folder's config.json names a sequence classifier (a cross-encoder) in `architectures`. */
export function isCrossEncoderFolder(folder: string): boolean {
  const path = join(resolve(folder), "config.json");
  if (!existsSync(path)) return false;
  try {
    const raw = JSON.parse(readFileSync(path, "utf8")) as { architectures?: unknown };
    return Array.isArray(raw.architectures) && /ForSequenceClassification$/.test(String(raw.architectures[0]));
  } catch {
    return false;
  }
}

/**
 * Adds onnx/model.onnx (and with `quantize: "int8"` onnx/model_quantized.onnx) to a cross-encoder folder:
 * fresh files are kept, stale ones rebuilt, files by other tooling refused unless `overwriteForeign`.
 * Everything is built (and the int8 file checked) before anything is written.
 */
export async function exportCrossEncoderOnnx(
  folder: string,
  options: ExportCrossEncoderOptions = {},
): Promise<ExportCrossEncoderResult> {
  const data = readCrossEncoderFolder(folder, { maxLength: options.maxLength });
  const files = [ONNX_FILE, ...(options.quantize === "int8" ? [ONNX_QUANTIZED_FILE] : [])];
  if (options.quantize !== undefined && options.quantize !== "int8")
    throw new Error(`exportCrossEncoderOnnx: quantize "${String(options.quantize)}" is not supported; use "int8".`);
  const states = files.map((f) => crossEncoderOnnxState(data, f));
  states.forEach((s, i) => {
    if (s === "foreign" && !options.overwriteForeign)
      throw new Error(
        `${join(data.dir, files[i])} was written by other tooling (no checksum of the weights it was made from); ` +
          "it is not replaced unless you pass { overwriteForeign: true } (CLI: --overwrite-foreign).",
      );
  });
  const need = states.map((s) => s !== "fresh" || options.force === true);
  // Built once: the check graph (with the pooled features as a second output), and without that output for the files.
  const withPooled = need.some(Boolean) ? buildCrossEncoderOnnx(data, { pooledOutput: true }) : undefined;
  const fp32 = need[0] && withPooled ? withoutPooledOutput(withPooled) : undefined;
  const q =
    need[1] && withPooled
      ? await quantizeCrossEncoder(data, join(data.dir, ONNX_QUANTIZED_FILE), withPooled)
      : undefined;
  if (q && (options.log ?? true)) console.log(`${join(data.dir, ONNX_QUANTIZED_FILE)}: ${q.description}`);
  const tokenizerJsonWritten = !existsSync(join(data.dir, "tokenizer.json"));
  if (tokenizerJsonWritten) data.tokenizer.save(data.dir, { jsonOnly: true }); // built from vocab.txt on load
  if (fp32) writeFileAtomic(join(data.dir, ONNX_FILE), fp32);
  if (q) writeFileAtomic(join(data.dir, ONNX_QUANTIZED_FILE), q.bytes);
  return {
    path: join(data.dir, ONNX_FILE),
    written: need[0],
    before: states[0],
    bytes: fp32?.length ?? 0,
    tokenizerJsonWritten,
    quantized:
      files.length > 1
        ? {
            path: join(data.dir, ONNX_QUANTIZED_FILE),
            written: need[1],
            before: states[1],
            bytes: q?.bytes.length ?? 0,
            check: q?.check,
            maxLogitDiff: q?.maxLogitDiff,
          }
        : undefined,
  };
}
