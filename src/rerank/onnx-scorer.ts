/**
 * OnnxCrossEncoder: a `PairScorer` (types.ts) over ONNX Runtime, for serving and the CLI, where nothing trains.
 * `OnnxCrossEncoder.load(folder)` reads a cross-encoder folder (onnx.ts) and runs onnx/model.onnx when that file is
 * ours and fresh (made from the folder's weights), else the graph built in memory from model.safetensors (the folder
 * is not written; `reason` says which). `dtype: "q8"` runs onnx/model_quantized.onnx, or quantizes in memory with
 * the agreement check.
 *
 * Scores are CrossEncoder.predict's: sigmoid of the single logit by default (or the folder's activation_fn when
 * config.json names torch.nn.Identity, as CrossEncoder reads it), the raw logit with `activation: "identity"`. A model with several labels has no single score: `logits()` gives the rows and
 * predict / rank refuse, naming the count.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ONNX_FILE, ONNX_QUANTIZED_FILE } from "../model/onnx/folder";
import {
  buildCrossEncoderOnnx,
  crossEncoderOnnxState,
  quantizeCrossEncoder,
  readCrossEncoderFolder,
  type CrossEncoderFolder,
} from "./onnx";
import { LogitsSession } from "./session";
import type { PairScorer, PredictOptions, RankOptions, RankedPassage, TextPair } from "./types";

export interface OnnxCrossEncoderOptions {
  /** "fp32" (default) or "q8" (int8, onnx/model_quantized.onnx). */
  dtype?: "fp32" | "q8";
  /** Intra-op threads (default: one per CPU, or COURSE_ONNX_THREADS). */
  threads?: number;
  /** Tokens per pair (default: the folder's). */
  maxLength?: number;
  /** Name for tables and the API's `model` field (default: the folder path). */
  name?: string;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export class OnnxCrossEncoder implements PairScorer {
  readonly name: string;
  readonly maxLength: number;
  readonly numLabels: number;
  /** Where the graph came from, in words. */
  readonly reason: string;
  /** predict()'s activation when none is given (the folder's config.json, else sigmoid). */
  readonly defaultActivation: "sigmoid" | "identity";

  private constructor(
    private readonly data: CrossEncoderFolder,
    private readonly session: LogitsSession,
    name: string,
    reason: string,
  ) {
    this.name = name;
    this.maxLength = data.maxLength;
    this.numLabels = data.numLabels;
    this.reason = reason;
    this.defaultActivation = data.activation;
  }

  static async load(folder: string, options: OnnxCrossEncoderOptions = {}): Promise<OnnxCrossEncoder> {
    const data = readCrossEncoderFolder(folder, { maxLength: options.maxLength });
    const q8 = options.dtype === "q8";
    if (options.dtype !== undefined && options.dtype !== "fp32" && !q8)
      throw new Error(`OnnxCrossEncoder: dtype "${String(options.dtype)}" is not supported; use "fp32" or "q8".`);
    const file = q8 ? ONNX_QUANTIZED_FILE : ONNX_FILE;
    const state = crossEncoderOnnxState(data, file);
    let bytes: Uint8Array;
    let reason: string;
    if (state === "fresh") {
      bytes = readFileSync(join(data.dir, file));
      reason = `${join(data.dir, file)} (fresh)`;
    } else {
      bytes = q8 ? (await quantizeCrossEncoder(data, join(data.dir, file))).bytes : buildCrossEncoderOnnx(data);
      reason = `graph built in memory from model.safetensors (${join(data.dir, file)} is ${state})`;
    }
    const session = await LogitsSession.create(bytes, data.numLabels, { threads: options.threads });
    return new OnnxCrossEncoder(data, session, options.name ?? data.dir, reason);
  }

  tokenCounts(pairs: readonly TextPair[]): number[] {
    return this.data.pairs.tokenCounts(pairs);
  }

  /** Raw logits, one row of numLabels per pair, in the pairs' order. */
  async logits(pairs: readonly TextPair[], options: { batchSize?: number } = {}): Promise<Float32Array[]> {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`OnnxCrossEncoder: batchSize ${batchSize} must be a positive integer.`);
    const encoded = pairs.map((p) => this.data.pairs.encode(p));
    // Longest first, so that each batch pads to lengths alike; results go back to the pairs' order.
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[b].ids.length - encoded[a].ids.length || a - b);
    const rows: Float32Array[] = new Array(pairs.length);
    const L = this.numLabels;
    for (let start = 0; start < order.length; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      const out = await this.session.logits(this.data.pairs.pad(idx.map((i) => encoded[i])));
      idx.forEach((i, r) => {
        rows[i] = out.slice(r * L, (r + 1) * L);
      });
    }
    return rows;
  }

  async predict(pairs: readonly TextPair[], options: PredictOptions = {}): Promise<number[]> {
    if (this.numLabels !== 1)
      throw new Error(
        `${this.name}: the model has ${this.numLabels} labels, so a pair has no single score; use logits(pairs) (predict and rank need num_labels 1, as a re-ranker has).`,
      );
    const activation = options.activation ?? this.defaultActivation;
    if (activation !== "sigmoid" && activation !== "identity")
      throw new Error(
        `${this.name}: activation "${String(activation)}" is not supported; use "sigmoid" or "identity".`,
      );
    const rows = await this.logits(pairs, { batchSize: options.batchSize });
    return rows.map((r) => (activation === "sigmoid" ? sigmoid(r[0]) : r[0]));
  }

  async rank(query: string, passages: readonly string[], options: RankOptions = {}): Promise<RankedPassage[]> {
    const scores = await this.predict(
      passages.map((p) => [query, p] as const),
      options,
    );
    return rankByScore(scores, passages, options.topK);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Passages sorted by score, best first, ties by position; the first topK (default all). */
export function rankByScore(scores: readonly number[], passages: readonly string[], topK?: number): RankedPassage[] {
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0))
    throw new RangeError(`rank: topK ${topK} must be a non-negative integer.`);
  return scores
    .map((score, corpusId) => ({ corpusId, score, text: passages[corpusId] }))
    .sort((a, b) => b.score - a.score || a.corpusId - b.corpusId)
    .slice(0, topK ?? scores.length);
}
