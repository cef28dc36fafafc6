/**
 * Independent reference for tests only: BERT / RoBERTa forward pass in plain TypeScript, float64,
 * explicit loops, one token and one head at a time, no tfjs. Written from Hugging Face's
 * BertModel / RobertaModel math (embeddings + LayerNorm, N x (self-attention, add & norm, FFN,
 * add & norm)); it shares no code with src/model/encoder.ts.
 */
import type { TokenizedBatch, TransformerConfig, WeightMap } from "../../src/model/types";

/** erf in float64: Taylor series for |x| < 3, continued fraction for erfc beyond (error < 1e-13). */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated bottom-up
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

function w(weights: WeightMap, name: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return t.data;
}

/** out[o] = b[o] + sum_i W[o, i] x[i], W stored [out, in]. */
function dense(x: Float64Array, W: Float32Array, b: Float32Array, outDim: number): Float64Array {
  const inDim = x.length;
  const out = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let s = b[o];
    for (let i = 0; i < inDim; i++) s += W[o * inDim + i] * x[i];
    out[o] = s;
  }
  return out;
}

function layerNorm(x: Float64Array, g: Float32Array, b: Float32Array, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  v /= n;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((x[i] - mean) / Math.sqrt(v + eps)) * g[i] + b[i];
  return out;
}

function act(name: TransformerConfig["hiddenAct"], x: number): number {
  if (name === "relu") return Math.max(0, x);
  if (name === "gelu_new") return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  return 0.5 * x * (1 + erf64(x / Math.SQRT2));
}

/** last_hidden_state [B][S] -> Float64Array(H), computed one sequence at a time. */
export function referenceForward(
  config: TransformerConfig,
  weights: WeightMap,
  batch: TokenizedBatch,
): Float64Array[][] {
  const H = config.hiddenSize;
  const heads = config.numAttentionHeads;
  const d = H / heads;
  const eps = config.layerNormEps;
  const out: Float64Array[][] = [];
  for (let b = 0; b < batch.batchSize; b++) {
    const S = batch.seqLen;
    const ids = Array.from(batch.inputIds.subarray(b * S, (b + 1) * S));
    const mask = Array.from(batch.attentionMask.subarray(b * S, (b + 1) * S));
    const types = Array.from(batch.tokenTypeIds.subarray(b * S, (b + 1) * S));
    // Position ids.
    const pos: number[] = [];
    if (config.architecture === "roberta") {
      let c = 0;
      for (const id of ids) {
        if (id !== config.padTokenId) {
          c += 1;
          pos.push(config.padTokenId + c);
        } else pos.push(config.padTokenId);
      }
    } else for (let s = 0; s < S; s++) pos.push(s);
    const word = w(weights, "embeddings.word_embeddings.weight");
    const posE = w(weights, "embeddings.position_embeddings.weight");
    const typeE = w(weights, "embeddings.token_type_embeddings.weight");
    let h: Float64Array[] = [];
    for (let s = 0; s < S; s++) {
      const e = new Float64Array(H);
      for (let j = 0; j < H; j++) e[j] = word[ids[s] * H + j] + posE[pos[s] * H + j] + typeE[types[s] * H + j];
      h.push(layerNorm(e, w(weights, "embeddings.LayerNorm.weight"), w(weights, "embeddings.LayerNorm.bias"), eps));
    }
    for (let l = 0; l < config.numHiddenLayers; l++) {
      const p = `encoder.layer.${l}.`;
      const q = h.map((x) =>
        dense(x, w(weights, p + "attention.self.query.weight"), w(weights, p + "attention.self.query.bias"), H),
      );
      const k = h.map((x) =>
        dense(x, w(weights, p + "attention.self.key.weight"), w(weights, p + "attention.self.key.bias"), H),
      );
      const v = h.map((x) =>
        dense(x, w(weights, p + "attention.self.value.weight"), w(weights, p + "attention.self.value.bias"), H),
      );
      const ctx = h.map(() => new Float64Array(H));
      for (let hd = 0; hd < heads; hd++) {
        for (let i = 0; i < S; i++) {
          const scores: number[] = [];
          for (let j = 0; j < S; j++) {
            if (mask[j] === 0) {
              scores.push(-Infinity); // padded key: weight exactly 0
              continue;
            }
            let dot = 0;
            for (let t = 0; t < d; t++) dot += q[i][hd * d + t] * k[j][hd * d + t];
            scores.push(dot / Math.sqrt(d));
          }
          const m = Math.max(...scores);
          const ex = scores.map((s) => Math.exp(s - m));
          const z = ex.reduce((a, c) => a + c, 0);
          for (let j = 0; j < S; j++) {
            const pj = ex[j] / z;
            for (let t = 0; t < d; t++) ctx[i][hd * d + t] += pj * v[j][hd * d + t];
          }
        }
      }
      const next: Float64Array[] = [];
      for (let s = 0; s < S; s++) {
        const ao = dense(
          ctx[s],
          w(weights, p + "attention.output.dense.weight"),
          w(weights, p + "attention.output.dense.bias"),
          H,
        );
        for (let j = 0; j < H; j++) ao[j] += h[s][j];
        const a = layerNorm(
          ao,
          w(weights, p + "attention.output.LayerNorm.weight"),
          w(weights, p + "attention.output.LayerNorm.bias"),
          eps,
        );
        const inter = dense(
          a,
          w(weights, p + "intermediate.dense.weight"),
          w(weights, p + "intermediate.dense.bias"),
          config.intermediateSize,
        ).map((x) => act(config.hiddenAct, x));
        const o = dense(inter, w(weights, p + "output.dense.weight"), w(weights, p + "output.dense.bias"), H);
        for (let j = 0; j < H; j++) o[j] += a[j];
        next.push(
          layerNorm(o, w(weights, p + "output.LayerNorm.weight"), w(weights, p + "output.LayerNorm.bias"), eps),
        );
      }
      h = next;
    }
    out.push(h);
  }
  return out;
}
