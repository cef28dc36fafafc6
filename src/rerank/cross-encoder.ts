/**
 * A cross-encoder (Nogueira & Cho, 2019, "Passage Re-ranking with BERT"): query and passage go through the encoder
 * together, and a head turns the first token's vector into a relevance logit. Hugging Face's
 * BertForSequenceClassification / RobertaForSequenceClassification, which sentence-transformers' CrossEncoder wraps:
 *
 *   h      = Encoder([CLS] q [SEP] p [SEP], token_type_ids 0 | 1)           (src/model/encoder.ts)
 *   BERT:    logits = classifier(tanh(pooler.dense(h[CLS])))                (dropout: off, as at inference)
 *   RoBERTa: logits = classifier.out_proj(tanh(classifier.dense(h[<s>])))
 *   predict = sigmoid(logit) for one label (CrossEncoder's default activation), or the raw logit ("identity")
 *
 * It implements PairScorer (./types.ts), the contract the server, the CLI and the ONNX session share. The weights
 * are tf.Variables, so `logits` runs under tf.variableGrads for training (./train.ts).
 */
import { tf } from "../backend";
import { TransformerEncoder } from "../model/encoder";
import { linear } from "../model/layers";
import type { Tokenizer } from "../model/tokenizer";
import type { TokenizedBatch, TransformerConfig, WeightMap } from "../model/types";
import {
  type CrossEncoderFolder,
  headShapes,
  initHeadWeights,
  type ScoreActivation,
  writeCrossEncoderFolder,
} from "./folder";
import type { PairScorer, PredictOptions, RankedPassage, RankOptions, TextPair } from "./types";

export class CrossEncoder implements PairScorer {
  readonly name: string;
  readonly config: TransformerConfig;
  readonly tokenizer: Tokenizer;
  readonly numLabels: number;
  readonly id2label: Record<string, string>;
  /** What predict applies when no `activation` is given (config.json's sentence_transformers.activation_fn). */
  readonly defaultActivation: ScoreActivation;
  readonly encoder: TransformerEncoder;
  /** The head's parameters under their Hugging Face names (bert.pooler.dense.*, classifier.*). */
  readonly head: Map<string, tf.Variable> = new Map();
  private maxLen: number;
  private disposed = false;

  constructor(folder: CrossEncoderFolder, name: string) {
    this.name = name;
    this.config = folder.config;
    this.tokenizer = folder.tokenizer;
    this.numLabels = folder.numLabels;
    this.id2label = folder.id2label;
    this.defaultActivation = folder.activation;
    this.maxLen = folder.maxLength;
    this.encoder = new TransformerEncoder(folder.config, folder.encoderWeights);
    for (const [key, shape] of headShapes(folder.config, folder.numLabels)) {
      const t = folder.headWeights.get(key);
      if (!t) throw new Error(`CrossEncoder: head weight "${key}" is missing`);
      this.head.set(key, tf.variable(tf.tensor(t.data, shape, "float32"), true));
    }
  }

  /** Tokens per pair after truncation (CrossEncoder.max_length); settable as in Python. */
  get maxLength(): number {
    return this.maxLen;
  }

  set maxLength(value: number) {
    const positions =
      this.config.architecture === "roberta"
        ? this.config.maxPositionEmbeddings - this.config.padTokenId - 1
        : this.config.maxPositionEmbeddings;
    if (!Number.isInteger(value) || value < 4 || value > positions)
      throw new Error(
        `CrossEncoder.maxLength: ${value} must be an integer in 4..${positions} (the model's positions).`,
      );
    this.maxLen = value;
  }

  /** A padded batch of pairs, as the tokenizer gives it to the model (token types zero for RoBERTa-style models). */
  tokenizePairs(pairs: readonly TextPair[]): TokenizedBatch {
    const batch = this.tokenizer.encodePairBatch(pairs, this.maxLen);
    // RoBERTa / XLM-R have one token type; their tokenizers do not return token_type_ids, so the model sees zeros.
    if (this.config.typeVocabSize < 2) batch.tokenTypeIds.fill(0);
    return batch;
  }

  /** Raw logits [batch, numLabels] of a tokenized batch; differentiable with respect to every parameter. */
  logits(batch: TokenizedBatch): tf.Tensor2D {
    if (this.disposed) throw new Error(`CrossEncoder ${this.name}: the model was disposed`);
    const v = (name: string) => this.head.get(name) as tf.Variable;
    return tf.tidy(() => {
      const hidden = this.encoder.forward(batch); // [B, S, H]
      const H = this.config.hiddenSize;
      const first = tf.reshape(tf.slice(hidden, [0, 0, 0], [batch.batchSize, 1, H]), [
        batch.batchSize,
        H,
      ]) as tf.Tensor2D;
      const [dense, out] =
        this.config.architecture === "bert"
          ? ["bert.pooler.dense", "classifier"]
          : ["classifier.dense", "classifier.out_proj"];
      const pooled = tf.tanh(linear(first, v(`${dense}.weight`) as tf.Tensor2D, v(`${dense}.bias`) as tf.Tensor1D));
      return linear(pooled as tf.Tensor2D, v(`${out}.weight`) as tf.Tensor2D, v(`${out}.bias`) as tf.Tensor1D);
    });
  }

  /** One score per pair: CrossEncoder.predict (sigmoid of the logit by default for one label). */
  async predict(pairs: readonly TextPair[], options: PredictOptions = {}): Promise<number[]> {
    if (this.numLabels !== 1)
      throw new Error(
        `CrossEncoder ${this.name}: predict gives one score per pair, but this model has ${this.numLabels} labels ` +
          `(${Object.values(this.id2label).join(", ")}); use logits() for per-label outputs.`,
      );
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`CrossEncoder.predict: batchSize ${batchSize} must be a positive integer.`);
    const activation = options.activation ?? this.defaultActivation;
    if (activation !== "sigmoid" && activation !== "identity")
      throw new Error(`CrossEncoder.predict: activation "${String(activation)}" must be "sigmoid" or "identity".`);
    pairs.forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string")
        throw new Error(`CrossEncoder.predict: pair ${i} is not [query, passage] (two strings).`);
    });
    const scores: number[] = [];
    for (let start = 0; start < pairs.length; start += batchSize) {
      const batch = this.tokenizePairs(pairs.slice(start, start + batchSize));
      const out = tf.tidy(() => {
        const l = tf.reshape(this.logits(batch), [-1]);
        return activation === "sigmoid" ? tf.sigmoid(l) : l;
      });
      scores.push(...(await out.data()));
      out.dispose();
    }
    return scores;
  }

  /** The passages sorted by score for one query, best first; ties keep the earlier passage first. */
  async rank(query: string, passages: readonly string[], options: RankOptions = {}): Promise<RankedPassage[]> {
    const scores = await this.predict(
      passages.map((p) => [query, p] as const),
      options,
    );
    const ranked = scores
      .map((score, corpusId) => ({ corpusId, score, text: passages[corpusId] }))
      .sort((a, b) => b.score - a.score || a.corpusId - b.corpusId);
    return options.topK === undefined ? ranked : ranked.slice(0, Math.max(0, options.topK));
  }

  tokenCounts(pairs: readonly TextPair[]): number[] {
    return pairs.map(([q, p]) => this.tokenizer.encodePair(q, p, this.maxLen).ids.length);
  }

  /** Every trainable parameter with its Hugging Face name (bert.encoder.layer.0..., classifier.weight). */
  namedParameters(): { name: string; variable: tf.Variable }[] {
    const prefix = `${this.config.architecture}.`;
    return [
      ...[...this.encoder.variables].map(([name, variable]) => ({ name: prefix + name, variable })),
      ...[...this.head].map(([name, variable]) => ({ name, variable })),
    ];
  }

  /** The model as folder data (current weights), for save() and checkpoints. */
  toFolder(): CrossEncoderFolder {
    const headWeights: WeightMap = new Map();
    for (const [name, v] of this.head)
      headWeights.set(name, { shape: [...v.shape], data: Float32Array.from(v.dataSync()) });
    return {
      config: this.config,
      encoderWeights: this.encoder.toWeightMap(),
      headWeights,
      numLabels: this.numLabels,
      id2label: this.id2label,
      tokenizer: this.tokenizer,
      maxLength: this.maxLen,
      activation: this.defaultActivation,
      headTrained: true,
    };
  }

  /** Writes the folder Python's CrossEncoder(path) loads (atomic; refuses a folder it did not write unless overwrite). */
  save(dir: string, options: { overwrite?: boolean } = {}): void {
    writeCrossEncoderFolder(dir, this.toFolder(), options);
  }

  /** A copy with the same weights (for keep-best while training). */
  clone(name = this.name): CrossEncoder {
    return new CrossEncoder(this.toFolder(), name);
  }

  dispose(): void {
    if (this.disposed) return;
    this.encoder.dispose();
    for (const v of this.head.values()) v.dispose();
    this.disposed = true;
  }
}

/**
 * A cross-encoder on an encoder's weights with a new one-label head (Hugging Face initialisation, seeded), as Python's
 * CrossEncoder(plain_encoder) starts: the way to build a re-ranker from a SentenceTransformer's Transformer module.
 */
export function crossEncoderFromEncoder(
  config: TransformerConfig,
  encoderWeights: WeightMap,
  tokenizer: Tokenizer,
  options: { name?: string; seed?: number; maxLength?: number } = {},
): CrossEncoder {
  const maxLength = options.maxLength ?? Math.min(tokenizer.maxSeqLength, config.maxPositionEmbeddings);
  const raw = {
    ...config.raw,
    architectures: [
      config.architecture === "bert" ? "BertForSequenceClassification" : "RobertaForSequenceClassification",
    ],
  };
  return new CrossEncoder(
    {
      config: { ...config, raw },
      encoderWeights,
      headWeights: initHeadWeights(config, 1, options.seed),
      numLabels: 1,
      id2label: { "0": "LABEL_0" },
      tokenizer,
      maxLength,
      activation: "sigmoid",
      headTrained: false,
    },
    options.name ?? "cross-encoder",
  );
}
