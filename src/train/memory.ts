/**
 * How much memory one training step needs, decided before the first step, so that training never dies of the heap.
 *
 * Why: tfjs keeps every forward intermediate a gradient needs, and every gradient it computes, alive until the
 * gradient call returns. On the wasm backend all of it lives in one WebAssembly heap of at most 4 GiB (wasm32), and
 * running out is not a catchable error: the process aborts ("memory access out of bounds"). A MiniLM-L6-shaped model
 * at batch 16 with passages of 256 tokens does not fit; the same batch in GradCache form (the Cached losses: the
 * batch is embedded without a tape, then re-run mini-batch by mini-batch) does, with the same loss and gradients.
 *
 * The estimate, in float32 values (4 bytes each). One forward + backward under one gradient tape of n texts padded to
 * S tokens (T = n S tokens) through a BERT-style encoder with L layers, hidden size H, `heads` attention heads and
 * intermediate (feed-forward) size I:
 *
 *   tape(n, S) = T x [ L x (a H + b I + c heads S) + d H ]
 *
 *   a H        per token and layer: Q, K, V, the attention output, residual sums, LayerNorm inputs/outputs and
 *              their gradients (all [T, H])
 *   b I        per token and layer: the feed-forward's inner activation before and after GELU and their gradients
 *   c heads S  per token and layer: attention scores, softmax probabilities and their gradients ([heads, S, S] per text)
 *   d H        per token, once: the embedding sum, its LayerNorm and gradients
 *
 * a, b, c, d were fitted by least squares to measured peaks (bench/train-step-memory.ts --fit: the peak bytes of live
 * tensor buffers during one MultipleNegativesRankingLoss gradient, on the wasm backend with the BLAS kernels, for 9
 * plain-loss cases: 1-3 layers, hidden 64-128, 2-8 heads, intermediate 256-1024, and MiniLM-L6's shape at B 4 / S 64
 * and B 8 / S 128); the table of measured vs estimated is in bench/TRAIN-NOTES.md (within 8% for every plain case,
 * 1-2% for MiniLM-L6). Besides the tape a step holds copies of the trained parameters' size P (GRADIENT_COPIES,
 * fitted too: the gradients, the word-embedding gradient's dense scatter, their sums; GradCache: the running sum and
 * one mini-batch's gradients) and the AdamW moments (2 P, allocated at the first step):
 *
 *   plain loss  (every column under one tape)          sum over columns c of tape(B, S_c) + 3.5 P
 *   GradCache   (mini-batch m, one column at a time)   max over columns c of tape(min(m, B), S_c) + 3 P
 *
 * with B the batch size and S_c the longest tokenized text of column c in the training data (a batch is padded to
 * its longest text, so the longest text anywhere bounds every batch). The step fits when that, plus the AdamW
 * moments, plus the tensors already alive (the model's weights, any other model the process holds), is below the
 * backend's limit times SAFETY (the heap also holds allocator slack: in a fresh process the wasm heap grew 1006 MiB for
 * a step whose live buffers peaked at 909 MiB, +11%).
 *
 * Limits (memoryLimit): wasm 4 GiB (the wasm32 heap); cpu and tfjs-node on the CPU: the machine's free memory;
 * tfjs-node-gpu: the GPU's free memory as nvidia-smi reports it (src/backend.ts deviceMemory).
 */
import { freemem } from "node:os";
import { type BackendInfo, backendInfo, deviceMemory, type DeviceMemory, tf } from "../backend";
import type { SentenceTransformer } from "../model/sentence-transformer";
import type { Loss } from "./losses/types";

/** Fitted coefficients of tape(n, S) (header), in float32 values. */
export const TAPE_COEFFICIENTS = { a: 62, b: 14, c: 9, d: 14 } as const;

/**
 * Copies of the trained parameters' size a loss + gradient computation holds besides the tape (fitted with the tape:
 * the gradients, the word-embedding gradient's dense scatter, their sums; GradCache: the running sum and one
 * mini-batch's gradients).
 */
export const GRADIENT_COPIES = { plain: 3.5, cached: 3 } as const;

/** The share of the limit a step may plan to use (the rest: allocator slack, what the process allocates besides). */
export const SAFETY = 0.8;

const GiB = 1024 ** 3;
export const WASM_HEAP_LIMIT = 4 * GiB;

/** What the estimate needs to know about the encoder. */
export interface EncoderShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  /** Trained parameters (values). */
  parameters: number;
}

/** The shape of a Transformer model's encoder; undefined for a static embedding model (its step is small). */
export function encoderShapeOf(model: SentenceTransformer, trainedParameters?: number): EncoderShape | undefined {
  const c = model.transformerConfig;
  if (!c) return undefined;
  return {
    layers: c.numHiddenLayers,
    hidden: c.hiddenSize,
    heads: c.numAttentionHeads,
    intermediate: c.intermediateSize,
    parameters: trainedParameters ?? model.trainableVariables().reduce((s, v) => s + v.size, 0),
  };
}

/** One text column of a step: how many texts, padded to how many tokens. */
export interface ColumnLength {
  texts: number;
  seqLen: number;
}

/** How a loss runs its backward pass: everything under one tape, or GradCache mini-batches. */
export type LossMemoryPlan = { kind: "plain" } | { kind: "cached"; miniBatchSize: number };

/**
 * The plan of `loss`, from what it declares (losses/types.ts): a loss with a miniBatchSize runs GradCache; a wrapper
 * (MatryoshkaLoss) without one plans as its inner loss; everything else runs under one tape.
 */
export function lossMemoryPlan(loss: Loss): LossMemoryPlan {
  if (typeof loss.miniBatchSize === "number") return { kind: "cached", miniBatchSize: loss.miniBatchSize };
  if (loss.inner && loss.inner !== loss) return lossMemoryPlan(loss.inner);
  return { kind: "plain" };
}

/** Bytes of one forward + backward under one tape: n texts of S tokens (the header's tape(n, S)). */
export function tapeBytes(shape: EncoderShape, texts: number, seqLen: number): number {
  const { a, b, c, d } = TAPE_COEFFICIENTS;
  const { layers: L, hidden: H, heads, intermediate: I } = shape;
  const tokens = texts * seqLen;
  return 4 * tokens * (L * (a * H + b * I + c * heads * seqLen) + d * H);
}

export interface LossMemory {
  /** Peak bytes of the loss + gradient computation (activations and gradients of the step). */
  bytes: number;
  /** Of which: the tape(s). */
  tapeBytes: number;
}

/** The peak of one loss + gradient computation (header's formula). */
export function estimateLossMemory(shape: EncoderShape, columns: ColumnLength[], plan: LossMemoryPlan): LossMemory {
  const grads = 4 * shape.parameters;
  if (plan.kind === "plain") {
    const tape = columns.reduce((s, c) => s + tapeBytes(shape, c.texts, c.seqLen), 0);
    return { bytes: tape + GRADIENT_COPIES.plain * grads, tapeBytes: tape };
  }
  const tape = Math.max(...columns.map((c) => tapeBytes(shape, Math.min(plan.miniBatchSize, c.texts), c.seqLen)));
  return { bytes: tape + GRADIENT_COPIES.cached * grads, tapeBytes: tape };
}

/**
 * The longest tokenized text of each column of `rows` (row-major, as TrainingData.rows), special tokens included and
 * cut to the model's max_seq_length, as the tokenizer pads a batch: the padded length of the worst batch.
 */
export function longestTokenized(model: SentenceTransformer, rows: readonly string[][], columns: number): number[] {
  const longest = new Array<number>(columns).fill(0);
  for (let c = 0; c < columns; c++) {
    const seen = new Set<string>();
    for (const row of rows) {
      const text = row[c];
      if (seen.has(text)) continue;
      seen.add(text);
      longest[c] = Math.max(longest[c], model.tokenizer.encode(text).ids.length);
    }
  }
  return longest;
}

/** The memory a step may use, and where the number comes from. */
export interface MemoryLimit {
  /** The backend's limit (bytes). */
  limitBytes: number;
  /** Tensor bytes alive now (weights of every model the process holds, ...), counted against the limit. */
  inUseBytes: number;
  /** In words: "the wasm heap (4 GiB, wasm32)", "GPU memory (nvidia-smi: ...)". */
  source: string;
}

/**
 * The memory limit of the backend in use: wasm's 4 GiB heap; on a GPU (tfjs-node-gpu) the device's free memory plus
 * what tfjs holds there already; on the CPU (cpu backend, tfjs-node) the machine's free memory plus the tensors alive.
 */
export function memoryLimit(
  backend: BackendInfo | undefined = backendInfo(),
  device: () => DeviceMemory | undefined = deviceMemory,
): MemoryLimit {
  const inUseBytes = tf.memory().numBytes;
  const name = backend?.name ?? "cpu";
  if (name === "wasm")
    return { limitBytes: WASM_HEAP_LIMIT, inUseBytes, source: "the wasm heap (4 GiB at most: wasm32)" };
  const gpu = name === "tensorflow" ? device() : undefined;
  if (gpu)
    // nvidia-smi's "used" already includes what tfjs holds: the limit is what is free plus our own tensors.
    return { limitBytes: gpu.freeBytes + inUseBytes, inUseBytes, source: `GPU memory (${gpu.source})` };
  return {
    limitBytes: freemem() + inUseBytes,
    inUseBytes,
    source: `the machine's free memory (${backend?.package ?? "@tensorflow/tfjs"} on the CPU)`,
  };
}

/** What planStepMemory decided. */
export interface StepMemoryPlan {
  /** The loss to train with: the one given, or its Cached form with a mini-batch that fits. */
  loss: Loss;
  /** Estimated peak bytes of a step with that loss (tensors alive before included). */
  estimatedBytes: number;
  /** Bytes the step may use (limit x SAFETY). */
  budgetBytes: number;
  limit: MemoryLimit;
  /** Set when the loss was switched (say it once). */
  switched?: string;
}

const fmtGiB = (bytes: number) => `${(bytes / GiB).toFixed(bytes < GiB ? 2 : 1)} GiB`;

/** Mini-batch sizes to try, largest first: the batch size, then powers of two below it. */
function miniBatchCandidates(batchSize: number): number[] {
  const out = [batchSize];
  for (let m = 2 ** Math.floor(Math.log2(batchSize)); m >= 1; m /= 2) if (m < batchSize) out.push(m);
  return out;
}

/**
 * Decides, before the first step, whether a step of `loss` at this batch fits the backend's memory (header). It
 * fits: the loss is kept. It does not, and the loss declares a GradCache form (`cachedForm`: MultipleNegativesRankingLoss
 * and its symmetric variant, or a Cached one whose mini-batch is too large): the Cached form with the largest mini-batch
 * that fits is returned, with the sentence to say once. Nothing fits: throws, naming the setting to change.
 */
export function planStepMemory(input: {
  shape: EncoderShape;
  columns: ColumnLength[];
  loss: Loss;
  batchSize: number;
  maxSeqLength: number;
  limit: MemoryLimit;
}): StepMemoryPlan {
  const { shape, columns, loss, limit, batchSize } = input;
  const budgetBytes = SAFETY * limit.limitBytes;
  const fixed = limit.inUseBytes + 8 * shape.parameters; // + AdamW's two moments
  const total = (plan: LossMemoryPlan) => fixed + estimateLossMemory(shape, columns, plan).bytes;
  const plan = lossMemoryPlan(loss);
  const need = total(plan);
  if (need <= budgetBytes) return { loss, estimatedBytes: need, budgetBytes, limit };

  const longest = Math.max(...columns.map((c) => c.seqLen));
  const what =
    `one step of ${loss.name} at batchSize ${batchSize}` +
    `${plan.kind === "cached" ? ` (miniBatchSize ${plan.miniBatchSize})` : ""} on texts of up to ${longest} tokens ` +
    `(${shape.layers} layers, hidden ${shape.hidden}) needs about ${fmtGiB(need)}`;
  const room =
    `${fmtGiB(budgetBytes)} usable of ${limit.source}` +
    (limit.inUseBytes > 0 ? `, ${fmtGiB(limit.inUseBytes)} of it already held by tensors` : "");
  for (const m of miniBatchCandidates(batchSize)) {
    if (plan.kind === "cached" && m >= plan.miniBatchSize) continue;
    const cached = loss.cachedForm?.(m);
    if (!cached) break;
    const needCached = total({ kind: "cached", miniBatchSize: m });
    if (needCached > budgetBytes) continue;
    const switched =
      `train: ${what}, more than the ${room}. Training with ${cached.name} (miniBatchSize ${m}) instead: ` +
      `GradCache computes the same loss and gradients, so the results do not change, in about ${fmtGiB(needCached)} ` +
      `(one extra forward pass per step, about +1/3 time). Pass it yourself to choose the mini-batch.`;
    return { loss: cached, estimatedBytes: needCached, budgetBytes, limit, switched };
  }
  // Nothing fits: name the settings that would.
  const fits = (b: number, seq: number, p: LossMemoryPlan) =>
    fixed +
      estimateLossMemory(
        shape,
        columns.map((c) => ({ texts: b, seqLen: Math.min(c.seqLen, seq) })),
        p,
      ).bytes <=
    budgetBytes;
  const fixes: string[] = [];
  const canCache = loss.cachedForm?.(1) !== undefined;
  let b = batchSize - 1;
  while (b >= 2 && !fits(b, Number.POSITIVE_INFINITY, plan)) b--;
  if (b >= 2 && !canCache) fixes.push(`batchSize ${b} or less`);
  let seq = longest - 1;
  const seqPlan: LossMemoryPlan = canCache ? { kind: "cached", miniBatchSize: 1 } : plan;
  while (seq >= 16 && !fits(batchSize, seq, seqPlan)) seq = Math.floor(seq * 0.9);
  if (seq >= 16)
    fixes.push(`a max_seq_length of ${seq} or less (model.tokenizer's maxSeqLength; now ${input.maxSeqLength})`);
  if (!canCache && plan.kind === "plain")
    fixes.push("a loss with a GradCache form (CachedMultipleNegativesRankingLoss) if the task allows");
  fixes.push("a backend with more memory (tfjs-node on the CPU or a GPU; see environment.md)");
  throw new Error(
    `train: ${what}, more than the ${room}${canCache ? ", even in GradCache form with a mini-batch of 1" : ""}. ` +
      `Refusing before the first step (running out would abort the process). Use ${fixes.join(", or ")}.`,
  );
}
