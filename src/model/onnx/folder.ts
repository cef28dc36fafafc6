/**
 * onnx/model.onnx inside a model folder: the layout Hugging Face repositories use for transformers.js
 * (config.json and the tokenizer files at the top, the graph under onnx/), and whether a file found there
 * belongs to the weights beside it.
 *
 * A file we wrote carries the SHA-256 of the weights it was made from and the graph spec (graph.ts). It is
 *   fresh    when both equal what model.safetensors, config.json and the Pooling / Normalize modules give now;
 *   stale    when either differs (the weights were trained or replaced after the export): never used, and
 *            exportOnnx rebuilds it;
 *   foreign  when it has no such metadata (exported by other tooling): we cannot tell what it computes, so we
 *            do not use it, and exportOnnx does not overwrite it unless told to.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import type { ModelFolder } from "../folder";
import {
  GRAPH_SPEC_KEY,
  ONNX_PRODUCER,
  WEIGHTS_CHECKSUM_KEY,
  buildOnnxModel,
  onnxGraphSpec,
  weightsChecksum,
} from "./graph";
import type { PoolingConfig, TransformerConfig, WeightMap } from "../types";

/** Where the graph goes, relative to the model folder (the transformers.js / Hub layout). */
export const ONNX_FILE = join("onnx", "model.onnx");
/** Its int8 version (quantize.ts): the name transformers.js loads with `dtype: "q8"`. */
export const ONNX_QUANTIZED_FILE = join("onnx", "model_quantized.onnx");

export type OnnxFileState = "missing" | "fresh" | "stale" | "foreign";

export interface OnnxFileStatus {
  state: OnnxFileState;
  path: string;
  /** One sentence: why the file is in this state. */
  reason: string;
  /** Checksum of the weights in the folder (computed when the file is one of ours). */
  weightsChecksum?: string;
  /** Checksum recorded in the file, when it has one. */
  fileChecksum?: string;
}

export interface OnnxFileMetadata {
  producer: string;
  weightsChecksum?: string;
  spec?: Record<string, unknown>;
}

/** The producer and our metadata entries of a serialised ModelProto. */
export function onnxMetadata(bytes: Uint8Array, source = "model.onnx"): OnnxFileMetadata {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(
      `${source}: not an ONNX model (${(err as Error).message}); delete it or export again with exportOnnx(folder).`,
    );
  }
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  let spec: Record<string, unknown> | undefined;
  const rawSpec = props.get(GRAPH_SPEC_KEY);
  if (rawSpec !== undefined) {
    try {
      spec = JSON.parse(rawSpec) as Record<string, unknown>;
    } catch {
      spec = undefined;
    }
  }
  return { producer: model.producerName ?? "", weightsChecksum: props.get(WEIGHTS_CHECKSUM_KEY), spec };
}

export interface OnnxModelParts {
  config: TransformerConfig;
  weights: WeightMap;
  pooling: PoolingConfig;
  normalize: boolean;
}

/**
 * Whether `<dir>/onnx/model.onnx` (or `file`, e.g. ONNX_QUANTIZED_FILE) exists and was made from exactly these
 * weights, config and pooling.
 */
export function onnxFileStatus(
  dir: string,
  parts: OnnxModelParts,
  checksum?: string,
  file: string = ONNX_FILE,
): OnnxFileStatus {
  const path = join(dir, file);
  if (!existsSync(path)) return { state: "missing", path, reason: `${path} does not exist` };
  let meta: OnnxFileMetadata;
  try {
    meta = onnxMetadata(readFileSync(path), path);
  } catch (err) {
    return { state: "foreign", path, reason: (err as Error).message.replace(/; delete it.*$/, "") };
  }
  if (meta.producer !== ONNX_PRODUCER || meta.weightsChecksum === undefined || meta.spec === undefined) {
    return {
      state: "foreign",
      path,
      reason:
        `${path} was written by ${meta.producer ? `"${meta.producer}"` : "another tool"} without the checksum of the weights it ` +
        "was made from, so it cannot be checked against model.safetensors",
    };
  }
  const current = checksum ?? weightsChecksum(parts.weights);
  if (meta.weightsChecksum !== current) {
    return {
      state: "stale",
      path,
      weightsChecksum: current,
      fileChecksum: meta.weightsChecksum,
      reason:
        `${path} was made from other weights (sha256 ${meta.weightsChecksum.slice(0, 12)}…) than the folder's model.safetensors ` +
        `(sha256 ${current.slice(0, 12)}…): the model was trained or replaced after the export`,
    };
  }
  const want = onnxGraphSpec(parts.config, parts.pooling, parts.normalize) as unknown as Record<string, unknown>;
  const diff = Object.keys(want).filter((k) => JSON.stringify(want[k]) !== JSON.stringify(meta.spec?.[k]));
  if (diff.length > 0) {
    return {
      state: "stale",
      path,
      weightsChecksum: current,
      fileChecksum: meta.weightsChecksum,
      reason: `${path} was made for a different graph (${diff
        .map((k) => `${k}: ${JSON.stringify(meta.spec?.[k])} in the file, ` + `${JSON.stringify(want[k])} now`)
        .join("; ")})`,
    };
  }
  return {
    state: "fresh",
    path,
    weightsChecksum: current,
    fileChecksum: meta.weightsChecksum,
    reason: `${path} matches the weights (sha256 ${current.slice(0, 12)}…)`,
  };
}

/** onnx/model.onnx for folder data (a Transformer model; a StaticEmbedding model is refused by name). */
export function onnxForFolder(data: ModelFolder, name = "sentence-transformer"): Uint8Array {
  const first = data.first;
  if (first.kind !== "transformer")
    throw new Error(
      `${name}: a StaticEmbedding model has no ONNX export (it is a table lookup and a mean, fast on tfjs already); save it without { onnx: true }.`,
    );
  return buildOnnxModel({
    config: first.config,
    weights: first.weights,
    pooling: data.pooling as PoolingConfig,
    normalize: data.normalize,
    name,
  });
}
