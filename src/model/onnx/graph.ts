/**
 * The encoder of encoder.ts written out as an ONNX graph (opset 17), op by op, so that ONNX Runtime
 * (onnxruntime-node, and transformers.js, which runs on it) computes what our tfjs forward pass computes:
 *
 *   inputs   input_ids, attention_mask, token_type_ids     int64 [batch_size, sequence_length]
 *   h0       LayerNormalization(Gather(word, ids) + Gather(position, pos) + Gather(token_type, types))
 *   layer    q, k, v = MatMul(h, W^T) + b, Reshape [B, S, heads, d], Transpose to heads
 *            Softmax(MatMul(q, k^T) * 1/sqrt(d) + (1 - mask) * -1e9) . v, back to [B, S, H]
 *            h' = LayerNormalization(h + MatMul(ctx, W_o^T) + b_o)
 *            h  = LayerNormalization(h' + MatMul(act(MatMul(h', W_i^T) + b_i), W_2^T) + b_2)
 *   outputs  last_hidden_state  float [batch_size, sequence_length, hidden]   (what transformers.js reads)
 *            sentence_embedding float [batch_size, dim]   (the model's Pooling, then Normalize when it has one)
 *
 * GELU is written in its erf form, x * 0.5 * (1 + erf(x / sqrt 2)) ("gelu"), or the tanh form ("gelu_new");
 * ONNX Runtime fuses both patterns into its Gelu / FastGelu kernels. RoBERTa's position ids are
 * padding_idx + cumsum(ids != pad) for real tokens and padding_idx for pads, as transformers computes them.
 * Pooling follows pooling.ts mode by mode (cls, max, mean, mean_sqrt_len, weightedmean, lasttoken, concatenated).
 *
 * The file is a protobuf ModelProto written with onnx-proto (protobufjs); weights are initializers stored as
 * raw little-endian bytes, Linear weights transposed to [in, out] for MatMul. Two metadata entries say what it was
 * made from: the SHA-256 of the weights (weightsChecksum) and the graph spec (config, pooling, exporter version),
 * so that a file next to other weights is detected as stale (folder.ts) instead of being used.
 */
import { createHash } from "node:crypto";
import { onnx } from "onnx-proto";
import type { Architecture, PoolingConfig, TransformerConfig, WeightMap } from "../types";
import { poolingModes } from "../pooling";

export const ONNX_OPSET = 17;
/** Bumped when the graph this module writes changes, so that files made by an older exporter count as stale. */
export const ONNX_EXPORTER_VERSION = 1;
export const ONNX_PRODUCER = "ts-embedding-finetune";
/** metadata_props keys. */
export const WEIGHTS_CHECKSUM_KEY = "ts_embedding_finetune.weights_sha256";
export const GRAPH_SPEC_KEY = "ts_embedding_finetune.graph";
/** Architectures the exporter writes a graph for. */
export const ONNX_ARCHITECTURES: readonly Architecture[] = ["bert", "roberta"];
/** protobuf messages cannot exceed 2 GiB; larger models would need ONNX external data, which we do not write. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;
/** Same constant as encoder.ts: added to the attention scores of padded keys. */
const MASKED_SCORE = -1e9;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

/** What a graph computes, apart from the weight values: stored in the file and compared when it is reused. */
export interface OnnxGraphSpec {
  exporter: number;
  opset: number;
  architecture: Architecture;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  pad_token_id: number;
  pooling: string[];
  normalize: boolean;
}

export function onnxGraphSpec(config: TransformerConfig, pooling: PoolingConfig, normalize: boolean): OnnxGraphSpec {
  return {
    exporter: ONNX_EXPORTER_VERSION,
    opset: ONNX_OPSET,
    architecture: config.architecture,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.hiddenAct,
    max_position_embeddings: config.maxPositionEmbeddings,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    pad_token_id: config.padTokenId,
    pooling: poolingModes(pooling),
    normalize,
  };
}

/**
 * SHA-256 of a weight map, independent of how it was stored: for each tensor in name order, its name, its
 * shape and its float32 values (little-endian). A safetensors file in fp16 and the same weights widened give
 * the same checksum as long as they widen to the same floats.
 */
export function weightsChecksum(weights: WeightMap): string {
  const hash = createHash("sha256");
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    hash.update(`${name}\0${t.shape.join(",")}\0`);
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return hash.digest("hex");
}

/** An attribute: an integer, a list of integers, or a float written as { float: x }. */
type Attr = number | number[] | { float: number };

/** A graph under construction: nodes in order, initializers, unique value names. */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** Adds a node and returns the name of its (first) output. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string, domain?: string): string {
    const name = `${opType}_${this.counter++}`;
    const out = output ?? `${name}_out`;
    const attribute = Object.entries(attrs).map(([key, v]): onnx.IAttributeProto => {
      if (Array.isArray(v)) return { name: key, type: A.INTS, ints: v };
      if (typeof v === "object") return { name: key, type: A.FLOAT, f: v.float };
      return { name: key, type: A.INT, i: v };
    });
    this.nodes.push({ name, opType, input: inputs, output: [out], attribute, ...(domain ? { domain } : {}) });
    return out;
  }

  floatTensor(name: string, dims: number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: bytes });
    return name;
  }

  int64Tensor(name: string, dims: number[], values: number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** A shared scalar (or 1-D int64 vector) constant. */
  scalar(value: number): string {
    const key = `f:${value}`;
    if (!this.constants.has(key))
      this.constants.set(key, this.floatTensor(`const_f${this.constants.size}`, [], Float32Array.of(value)));
    return this.constants.get(key)!;
  }

  ints(values: number[]): string {
    const key = `i:${values.join(",")}`;
    if (!this.constants.has(key))
      this.constants.set(key, this.int64Tensor(`const_i${this.constants.size}`, [values.length], values));
    return this.constants.get(key)!;
  }

  intScalar(value: number): string {
    const key = `is:${value}`;
    if (!this.constants.has(key))
      this.constants.set(key, this.int64Tensor(`const_is${this.constants.size}`, [], [value]));
    return this.constants.get(key)!;
  }
}

/** W [out, in] (PyTorch Linear) -> W^T [in, out], the right operand of MatMul. */
export function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

function tensorInfo(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export interface OnnxExportInput {
  config: TransformerConfig;
  /** Hugging Face names, with or without the "bert." / "roberta." prefix (as TransformerEncoder takes them). */
  weights: WeightMap;
  pooling: PoolingConfig;
  normalize: boolean;
  /** Written into the file's doc string, e.g. the model's name. */
  name?: string;
  /** Precomputed weightsChecksum(weights), when the caller already has it. */
  checksum?: string;
}

/** The ONNX ModelProto for a BERT / RoBERTa sentence-transformer, serialised. */
export function buildOnnxModel(input: OnnxExportInput, variant?: OnnxGraphVariant): Uint8Array {
  const { config, weights, pooling, normalize } = input;
  if (!(ONNX_ARCHITECTURES as readonly string[]).includes(config.architecture)) {
    throw new Error(
      `ONNX export: architecture "${config.architecture}" is not supported by the exporter; it writes ` +
        `${ONNX_ARCHITECTURES.join(", ")} encoders. Encode this model on tfjs (encode(texts, { runtime: "tfjs" })).`,
    );
  }
  const H = config.hiddenSize;
  const eps = config.layerNormEps;
  const prefix = [...weights.keys()].some((k) => k.startsWith(`${config.architecture}.embeddings.`))
    ? `${config.architecture}.`
    : "";
  const weight = (name: string, shape: number[]) => {
    const legacy = name.endsWith("LayerNorm.weight")
      ? name.replace(/weight$/, "gamma")
      : name.endsWith("LayerNorm.bias")
        ? name.replace(/bias$/, "beta")
        : undefined;
    const t = weights.get(prefix + name) ?? (legacy === undefined ? undefined : weights.get(prefix + legacy));
    if (t === undefined)
      throw new Error(
        `ONNX export: missing weight "${prefix}${name}" (expected shape [${shape}]); check that config.json matches model.safetensors.`,
      );
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i]))
      throw new Error(
        `ONNX export: weight "${prefix}${name}" has shape [${t.shape}], expected [${shape}]; check that config.json matches model.safetensors.`,
      );
    return t.data;
  };
  const g = new GraphBuilder();
  const init = (name: string, shape: number[]) => g.floatTensor(name, shape, weight(name, shape));
  const linearInit = (name: string, out: number, inp: number) => {
    g.floatTensor(`${name}.weight_t`, [inp, out], transposed(weight(`${name}.weight`, [out, inp]), out, inp));
    return { w: `${name}.weight_t`, b: init(`${name}.bias`, [out]) };
  };
  const layerNorm = (x: string, name: string, output?: string) =>
    g.op(
      "LayerNormalization",
      [x, init(`${name}.weight`, [H]), init(`${name}.bias`, [H])],
      { axis: -1, epsilon: { float: eps } },
      output,
    );
  let hidden = (variant?.body ?? plainBody)({ g, config, weight, init, linearInit, layerNorm });
  if (hidden !== "last_hidden_state") hidden = g.op("Identity", [hidden], {}, "last_hidden_state");

  let sentence = poolingNodes(g, hidden, pooling, H);
  if (normalize) {
    // x / max(||x||_2, 1e-12), torch.nn.functional.normalize.
    const norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [sentence, sentence]), g.ints([1])], { keepdims: 1 })]);
    sentence = g.op("Div", [sentence, g.op("Max", [norm, g.scalar(1e-12)])]);
  }
  g.op("Identity", [sentence], {}, "sentence_embedding");

  const checksum = input.checksum ?? weightsChecksum(weights);
  const spec = onnxGraphSpec(config, pooling, normalize);
  const dim = H * poolingModes(pooling).length;
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: ONNX_OPSET }, ...(variant?.opsets ?? [])],
    producerName: ONNX_PRODUCER,
    producerVersion: String(ONNX_EXPORTER_VERSION),
    docString:
      `${input.name ?? "sentence-transformer"}: ${config.architecture} encoder, ${config.numHiddenLayers} layers, hidden ${H}, ` +
      `pooling ${spec.pooling.join("+")}${normalize ? ", normalized" : ""}${variant?.docSuffix ?? ""}`,
    graph: {
      name: "sentence_transformer",
      node: g.nodes,
      initializer: g.initializers,
      input: ["input_ids", "attention_mask", "token_type_ids"].map((n) =>
        tensorInfo(n, INT64, ["batch_size", "sequence_length"]),
      ),
      output: [
        tensorInfo("last_hidden_state", FLOAT, ["batch_size", "sequence_length", H]),
        tensorInfo("sentence_embedding", FLOAT, ["batch_size", dim]),
      ],
    },
    metadataProps: [
      { key: WEIGHTS_CHECKSUM_KEY, value: checksum },
      { key: GRAPH_SPEC_KEY, value: JSON.stringify(spec) },
      ...(variant?.metadata ?? []),
    ],
  };
  const initializerBytes = g.initializers.reduce((s, t) => s + (t.rawData?.length ?? 0), 0);
  if (initializerBytes > MAX_PROTO_BYTES - 1e7)
    throw new Error(
      `ONNX export: the weights take ${(initializerBytes / 2 ** 30).toFixed(2)} GiB, more than one protobuf file can hold (2 GiB); ` +
        "models this large need ONNX external data, which this exporter does not write. Encode on tfjs instead.",
    );
  return onnx.ModelProto.encode(model).finish();
}

/** What an encoder body (the embeddings and the layers) writes with: buildOnnxModel's builder and weight readers. */
export interface EncoderBodyContext {
  g: GraphBuilder;
  config: TransformerConfig;
  /** The float32 values of a weight (Hugging Face name without the architecture prefix), shape checked. */
  weight: (name: string, shape: number[]) => Float32Array;
  /** The weight as an initializer of that name. */
  init: (name: string, shape: number[]) => string;
  /** A Linear's W^T [in, out] and bias as initializers. */
  linearInit: (name: string, out: number, inp: number) => { w: string; b: string };
  /** LayerNormalization with the weights `${name}.weight` / `.bias`. */
  layerNorm: (x: string, name: string, output?: string) => string;
}

/**
 * A graph other than the plain one (fused.ts): the body from input_ids / attention_mask / token_type_ids to the
 * hidden state it returns (named "last_hidden_state", or renamed to it), the opsets its ops need, and metadata.
 */
export interface OnnxGraphVariant {
  body: (ctx: EncoderBodyContext) => string;
  opsets: onnx.IOperatorSetIdProto[];
  metadata: onnx.IStringStringEntryProto[];
  docSuffix: string;
}

/**
 * Self-attention in plain ops, as a function of the layer's input and its weights' prefix (".../attention.self"):
 * q, k, v projections split into heads, Softmax(q k^T / sqrt(d) + mask bias) v, heads merged back to [B, S, H].
 * The mask bias ([B, 1, 1, S]: 0 for real keys, -1e9 for padded keys) is written once, on the first call.
 */
export function plainSelfAttention(
  g: GraphBuilder,
  config: TransformerConfig,
  linearInit: EncoderBodyContext["linearInit"],
): (hidden: string, prefix: string) => string {
  const H = config.hiddenSize;
  const heads = config.numAttentionHeads;
  const d = H / heads;
  let shapes: { maskBias: string; heads: string; hidden: string } | undefined;
  const linear = (x: string, name: string) => {
    const { w, b } = linearInit(name, H, H);
    return g.op("Add", [g.op("MatMul", [x, w]), b]);
  };
  return (hidden, prefix) => {
    if (shapes === undefined) {
      const maskFloat = g.op("Cast", ["attention_mask"], { to: FLOAT });
      const maskBias = g.op("Mul", [
        g.op("Sub", [g.scalar(1), g.op("Unsqueeze", [maskFloat, g.ints([1, 2])])]),
        g.scalar(MASKED_SCORE),
      ]);
      shapes = { maskBias, heads: g.ints([0, 0, heads, d]), hidden: g.ints([0, 0, H]) };
    }
    const { maskBias, heads: headsShape, hidden: hiddenShape } = shapes;
    const split = (x: string, perm: number[]) => g.op("Transpose", [g.op("Reshape", [x, headsShape])], { perm });
    const q = split(linear(hidden, `${prefix}.query`), [0, 2, 1, 3]); // [B, heads, S, d]
    const k = split(linear(hidden, `${prefix}.key`), [0, 2, 3, 1]); // [B, heads, d, S]
    const v = split(linear(hidden, `${prefix}.value`), [0, 2, 1, 3]);
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), g.scalar(1 / Math.sqrt(d))]), maskBias]);
    const context = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), v]); // [B, heads, S, d]
    return g.op("Reshape", [g.op("Transpose", [context], { perm: [0, 2, 1, 3] }), hiddenShape]);
  };
}

/** RoBERTa's position ids, int64 [B, S]: transformers' create_position_ids_from_input_ids. */
export function robertaPositionIds(g: GraphBuilder, padTokenId: number): string {
  // mask = ids != pad; pos = cumsum(mask) * mask + pad.
  const notPad = g.op("Cast", [g.op("Not", [g.op("Equal", ["input_ids", g.intScalar(padTokenId)])])], { to: INT64 });
  const count = g.op("Mul", [g.op("CumSum", [notPad, g.intScalar(1)]), notPad]);
  return g.op("Add", [count, g.intScalar(padTokenId)]);
}

/** Embeddings and layers in plain ONNX ops (the graph transformers.js loads), as the module comment writes them. */
function plainBody({ g, config, init, linearInit, layerNorm }: EncoderBodyContext): string {
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const linear = (x: string, name: string, out: number, inp: number) => {
    const { w, b } = linearInit(name, out, inp);
    return g.op("Add", [g.op("MatMul", [x, w]), b]);
  };
  // Embeddings.
  const words = g.op("Gather", [init("embeddings.word_embeddings.weight", [config.vocabSize, H]), "input_ids"], {
    axis: 0,
  });
  const positionTable = init("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, H]);
  let positions: string;
  if (config.architecture === "roberta") {
    positions = g.op("Gather", [positionTable, robertaPositionIds(g, config.padTokenId)], { axis: 0 }); // [B, S, H]
  } else {
    // 0..S-1, the first S rows of the table, broadcast over the batch.
    const seqLen = g.op("Gather", [g.op("Shape", ["input_ids"]), g.ints([1])], { axis: 0 });
    positions = g.op("Slice", [positionTable, g.ints([0]), seqLen, g.ints([0])]); // [S, H]
  }
  const types = g.op(
    "Gather",
    [init("embeddings.token_type_embeddings.weight", [config.typeVocabSize, H]), "token_type_ids"],
    { axis: 0 },
  );
  let hidden = layerNorm(g.op("Add", [g.op("Add", [words, positions]), types]), "embeddings.LayerNorm");

  const selfAttention = plainSelfAttention(g, config, linearInit);
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const p = `encoder.layer.${l}.`;
    const merged = selfAttention(hidden, `${p}attention.self`);
    const attentionOut = layerNorm(
      g.op("Add", [linear(merged, `${p}attention.output.dense`, H, H), hidden]),
      `${p}attention.output.LayerNorm`,
    );
    const inner = activation(g, config.hiddenAct, linear(attentionOut, `${p}intermediate.dense`, I, H));
    const last = l === config.numHiddenLayers - 1 ? "last_hidden_state" : undefined;
    hidden = layerNorm(
      g.op("Add", [linear(inner, `${p}output.dense`, H, I), attentionOut]),
      `${p}output.LayerNorm`,
      last,
    );
  }
  return hidden;
}

function activation(g: GraphBuilder, name: TransformerConfig["hiddenAct"], x: string): string {
  switch (name) {
    case "gelu": {
      // x * 0.5 * (1 + erf(x / sqrt 2)), the pattern ONNX Runtime's GeluFusion recognises.
      const erf = g.op("Erf", [g.op("Div", [x, g.scalar(Math.SQRT2)])]);
      return g.op("Mul", [g.op("Mul", [x, g.op("Add", [erf, g.scalar(1)])]), g.scalar(0.5)]);
    }
    case "gelu_new": {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
      const inner = g.op("Mul", [
        g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715)])]),
        g.scalar(Math.sqrt(2 / Math.PI)),
      ]);
      return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), g.op("Add", [g.op("Tanh", [inner]), g.scalar(1)])]);
    }
    case "relu":
      return g.op("Relu", [x]);
    default:
      throw new Error(`ONNX export: hidden_act "${String(name)}" is not supported; supported: gelu, gelu_new, relu.`);
  }
}

/** Pooling of hidden [B, S, H] with the attention mask, mode by mode as pooling.ts, concatenated. */
function poolingNodes(g: GraphBuilder, hidden: string, cfg: PoolingConfig, H: number): string {
  const modes = poolingModes(cfg);
  if (modes.length === 0)
    throw new Error("1_Pooling/config.json: no pooling mode is true; set e.g. pooling_mode_mean_tokens to true");
  if (cfg.word_embedding_dimension !== H)
    throw new Error(
      `1_Pooling/config.json: word_embedding_dimension ${cfg.word_embedding_dimension} differs from config.json hidden_size ${H}.`,
    );
  const mask = g.op("Cast", ["attention_mask"], { to: FLOAT }); // [B, S]
  const mask3 = g.op("Unsqueeze", [mask, g.ints([2])]); // [B, S, 1]
  // 1..S as floats, [S]
  const seqLen = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.intScalar(1)], { axis: 0 });
  const ranks = g.op("Cast", [g.op("Range", [g.intScalar(1), g.op("Add", [seqLen, g.intScalar(1)]), g.intScalar(1)])], {
    to: FLOAT,
  });
  const outputs: string[] = [];
  for (const mode of modes) {
    if (mode === "cls") {
      outputs.push(g.op("Gather", [hidden, g.intScalar(0)], { axis: 1 }));
    } else if (mode === "max") {
      const masked = g.op("Where", [g.op("Equal", [mask3, g.scalar(0)]), g.scalar(-1e9), hidden]);
      outputs.push(g.op("ReduceMax", [masked], { axes: [1], keepdims: 0 }));
    } else if (mode === "mean" || mode === "mean_sqrt_len") {
      const sum = g.op("ReduceSum", [g.op("Mul", [hidden, mask3]), g.ints([1])], { keepdims: 0 });
      const count = g.op("Max", [g.op("ReduceSum", [mask3, g.ints([1])], { keepdims: 0 }), g.scalar(1e-9)]); // [B, 1]
      outputs.push(g.op("Div", [sum, mode === "mean" ? count : g.op("Sqrt", [count])]));
    } else if (mode === "weightedmean") {
      const w = g.op("Mul", [mask3, g.op("Unsqueeze", [ranks, g.ints([1])])]); // [B, S, 1] * [S, 1]
      const sum = g.op("ReduceSum", [g.op("Mul", [hidden, w]), g.ints([1])], { keepdims: 0 });
      outputs.push(
        g.op("Div", [sum, g.op("Max", [g.op("ReduceSum", [w, g.ints([1])], { keepdims: 0 }), g.scalar(1e-9)])]),
      );
    } else {
      // lasttoken: the largest position whose mask is 1 (position S-1 when none is), then masked as pooling.ts does.
      const ranked = g.op("Mul", [mask, ranks]); // [B, S]
      const argmax = g.op("ArgMax", [ranked], { axis: 1, keepdims: 0 }); // [B]
      const none = g.op("Equal", [g.op("ReduceSum", [mask, g.ints([1])], { keepdims: 0 }), g.scalar(0)]);
      const last = g.op("Where", [none, g.op("Sub", [seqLen, g.intScalar(1)]), argmax]); // [B]
      const positions = g.op("Range", [g.intScalar(0), seqLen, g.intScalar(1)]); // [S]
      const pick = g.op("Mul", [
        g.op("Cast", [g.op("Equal", [g.op("Unsqueeze", [last, g.ints([1])]), positions])], { to: FLOAT }),
        mask,
      ]);
      outputs.push(
        g.op("ReduceSum", [g.op("Mul", [hidden, g.op("Unsqueeze", [pick, g.ints([2])])]), g.ints([1])], {
          keepdims: 0,
        }),
      );
    }
  }
  return outputs.length === 1 ? outputs[0] : g.op("Concat", outputs, { axis: 1 });
}
