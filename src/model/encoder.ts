/**
 * The Transformer encoder of BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional
 * Transformers") and RoBERTa (Liu et al., 2019), computing what Hugging Face's BertModel /
 * RobertaModel return as last_hidden_state: one vector per token.
 *
 *   embeddings  h0 = LayerNorm(word[id] + position[p] + token_type[t])
 *   N x layer   a  = MultiHeadSelfAttention(h)            softmax(Q K^T / sqrt(d_head) + mask) V
 *               h' = LayerNorm(h + a W_o^T + b_o)           ("attention.output": add & norm)
 *               f  = act(h' W_i^T + b_i) W_2^T + b_2        ("intermediate" then "output": FFN)
 *               h  = LayerNorm(h' + f)                      (add & norm)
 *
 * Position ids: BERT uses 0..seq-1; RoBERTa uses padding_idx + 1 + (running count of non-pad
 * tokens) for real tokens and padding_idx for pads (transformers' create_position_ids_from_input_ids).
 * The attention mask adds -1e9 to the scores of padded keys, so padded tokens never influence real ones.
 *
 * Weights use Hugging Face names without the "bert." / "roberta." prefix (a prefixed map is accepted
 * too and given back with the same names); Linear weights are [out, in] as PyTorch stores them. They
 * live in tf.Variables, so `forward` can run inside tf.variableGrads for fine-tuning.
 * Constructing an encoder changes nothing global: the BLAS matrix product and fused kernels
 * (src/native/kernels.ts) are the backend's, turned on by initBackend() when it picks wasm or cpu.
 */
import { tf } from "../backend";
import type { HostTensor, TokenizedBatch, TransformerConfig, WeightMap } from "./types";
import { activation, embeddingLookup, layerNorm, linear } from "./layers";
import { nativeMatMulActive } from "../native/kernels";

/** Added to the attention scores of padded keys (exp underflows to exactly 0 in float32). */
const MASKED_SCORE = -1e9;

interface LayerWeights {
  query: [tf.Variable, tf.Variable];
  key: [tf.Variable, tf.Variable];
  value: [tf.Variable, tf.Variable];
  attentionOutput: [tf.Variable, tf.Variable];
  attentionNorm: [tf.Variable, tf.Variable];
  intermediate: [tf.Variable, tf.Variable];
  output: [tf.Variable, tf.Variable];
  outputNorm: [tf.Variable, tf.Variable];
}

/** The weights an encoder with this config must have, with their shapes (Hugging Face names, no prefix). */
export function expectedWeightShapes(config: TransformerConfig): Map<string, number[]> {
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const shapes = new Map<string, number[]>([
    ["embeddings.word_embeddings.weight", [config.vocabSize, H]],
    ["embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, H]],
    ["embeddings.token_type_embeddings.weight", [config.typeVocabSize, H]],
    ["embeddings.LayerNorm.weight", [H]],
    ["embeddings.LayerNorm.bias", [H]],
  ]);
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const m of ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]) {
      shapes.set(`${p}${m}.weight`, [H, H]);
      shapes.set(`${p}${m}.bias`, [H]);
    }
    shapes.set(`${p}attention.output.LayerNorm.weight`, [H]);
    shapes.set(`${p}attention.output.LayerNorm.bias`, [H]);
    shapes.set(`${p}intermediate.dense.weight`, [I, H]);
    shapes.set(`${p}intermediate.dense.bias`, [I]);
    shapes.set(`${p}output.dense.weight`, [H, I]);
    shapes.set(`${p}output.dense.bias`, [H]);
    shapes.set(`${p}output.LayerNorm.weight`, [H]);
    shapes.set(`${p}output.LayerNorm.bias`, [H]);
  }
  return shapes;
}

/** Older TensorFlow-converted checkpoints name LayerNorm parameters gamma/beta instead of weight/bias. */
function legacyName(name: string): string | undefined {
  if (name.endsWith("LayerNorm.weight")) return name.slice(0, -"weight".length) + "gamma";
  if (name.endsWith("LayerNorm.bias")) return name.slice(0, -"bias".length) + "beta";
  return undefined;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class TransformerEncoder {
  readonly config: TransformerConfig;
  /** Every trainable parameter, keyed by the name it had in the weight map it was built from. */
  readonly variables: Map<string, tf.Variable> = new Map();
  /** Weights the encoder does not use (pooler.*, position_ids buffers): given back unchanged by toWeightMap. */
  private readonly extras: WeightMap = new Map();
  private readonly headDim: number;
  private readonly wordEmbeddings: tf.Variable;
  private readonly positionEmbeddings: tf.Variable;
  private readonly tokenTypeEmbeddings: tf.Variable;
  private readonly embeddingNorm: [tf.Variable, tf.Variable];
  private readonly layers: LayerWeights[] = [];
  private disposed = false;

  constructor(config: TransformerConfig, weights: WeightMap) {
    this.config = config;
    const { hiddenSize: H, numAttentionHeads: heads } = config;
    if (!Number.isInteger(H / heads)) {
      throw new Error(`config.json: hidden_size ${H} is not a multiple of num_attention_heads ${heads}`);
    }
    this.headDim = H / heads;
    const prefix = [...weights.keys()].some((k) => k.startsWith(`${config.architecture}.embeddings.`))
      ? `${config.architecture}.`
      : "";
    const used = new Set<string>();
    const take = (name: string, shape: number[]): tf.Variable => {
      let key = prefix + name;
      let tensor = weights.get(key);
      const legacy = legacyName(name);
      if (tensor === undefined && legacy !== undefined && weights.has(prefix + legacy)) {
        key = prefix + legacy;
        tensor = weights.get(key);
      }
      if (tensor === undefined) {
        throw new Error(
          `TransformerEncoder: missing weight "${key}" (expected shape [${shape}]) for a ${config.architecture} model ` +
            `with ${config.numHiddenLayers} layers; check that config.json matches model.safetensors.`,
        );
      }
      if (!sameShape(tensor.shape, shape)) {
        throw new Error(
          `TransformerEncoder: weight "${key}" has shape [${tensor.shape}], expected [${shape}] ` +
            `(from config.json: hidden_size ${H}, intermediate_size ${config.intermediateSize}, ` +
            `vocab_size ${config.vocabSize}); check that config.json matches model.safetensors.`,
        );
      }
      if (tensor.data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw new Error(`TransformerEncoder: weight "${key}" holds ${tensor.data.length} values, not [${shape}]`);
      }
      used.add(key);
      const v = tf.variable(tf.tensor(tensor.data, shape, "float32"), true);
      this.variables.set(key, v);
      return v;
    };
    const shapes = expectedWeightShapes(config);
    const get = (name: string): tf.Variable => take(name, shapes.get(name)!);
    const pair = (name: string): [tf.Variable, tf.Variable] => [get(`${name}.weight`), get(`${name}.bias`)];
    try {
      this.wordEmbeddings = get("embeddings.word_embeddings.weight");
      this.positionEmbeddings = get("embeddings.position_embeddings.weight");
      this.tokenTypeEmbeddings = get("embeddings.token_type_embeddings.weight");
      this.embeddingNorm = pair("embeddings.LayerNorm");
      for (let l = 0; l < config.numHiddenLayers; l++) {
        const p = `encoder.layer.${l}.`;
        this.layers.push({
          query: pair(`${p}attention.self.query`),
          key: pair(`${p}attention.self.key`),
          value: pair(`${p}attention.self.value`),
          attentionOutput: pair(`${p}attention.output.dense`),
          attentionNorm: pair(`${p}attention.output.LayerNorm`),
          intermediate: pair(`${p}intermediate.dense`),
          output: pair(`${p}output.dense`),
          outputNorm: pair(`${p}output.LayerNorm`),
        });
      }
    } catch (err) {
      for (const v of this.variables.values()) v.dispose();
      throw err;
    }
    for (const [name, tensor] of weights) {
      if (!used.has(name)) this.extras.set(name, { shape: [...tensor.shape], data: tensor.data.slice() });
    }
  }

  /** Token embeddings [batch, seq, hidden] (Hugging Face's last_hidden_state) for a padded batch. */
  forward(batch: TokenizedBatch): tf.Tensor3D {
    if (this.disposed) throw new Error("TransformerEncoder.forward: the encoder was disposed");
    const { batchSize: B, seqLen: S } = batch;
    const H = this.config.hiddenSize;
    for (const [field, arr] of [
      ["inputIds", batch.inputIds],
      ["attentionMask", batch.attentionMask],
      ["tokenTypeIds", batch.tokenTypeIds],
    ] as const) {
      if (arr.length !== B * S) {
        throw new Error(
          `TransformerEncoder.forward: batch.${field} has ${arr.length} entries, expected batchSize*seqLen = ${B * S}`,
        );
      }
    }
    if (B * S === 0) return tf.zeros([B, S, H]) as tf.Tensor3D; // an empty batch
    const positionIds = this.positionIds(batch);
    return tf.tidy(() => {
      const embedded = this.embed(batch, positionIds);
      let hidden = layerNorm(
        embedded,
        this.embeddingNorm[0] as tf.Tensor1D,
        this.embeddingNorm[1] as tf.Tensor1D,
        this.config.layerNormEps,
      );
      // [B, 1, 1, S]: 0 for real keys, MASKED_SCORE for padded keys; broadcast over heads and queries.
      const maskBias = tf.mul(tf.sub(1, tf.tensor(batch.attentionMask, [B, 1, 1, S], "float32")), MASKED_SCORE);
      // One tidy per layer: a layer's intermediates are freed when it is done, so a forward pass without a gradient
      // tape (encoding) holds one layer's at a time, not all layers' (~4x less for 6 layers). Under a tape, what the
      // backward pass needs is kept by tfjs regardless.
      for (const layer of this.layers) {
        const input = hidden;
        hidden = tf.tidy(() => this.encoderLayer(layer, input, maskBias, B, S));
      }
      return tf.reshape(hidden, [B, S, H]) as tf.Tensor3D;
    });
  }

  /**
   * Embeddings before LayerNorm: word[id] + position[p] + token_type[t] per token, [B*S, H].
   * tfjs-wasm's gather is slow (1280 rows of 384: 25.7 ms, against 0.19 ms for adding a scalar to
   * as many values; bench/NOTES.md), so two common cases look up one row's worth only: positions
   * that are the same run p0, p0+1, ... in every row (BERT always; RoBERTa without padding) are
   * looked up once and broadcast over the batch, and all-zero token types are row 0 broadcast.
   */
  private embed(batch: TokenizedBatch, positionIds: Int32Array): tf.Tensor2D {
    const { batchSize: B, seqLen: S } = batch;
    const H = this.config.hiddenSize;
    const words = tf.reshape(embeddingLookup(this.wordEmbeddings as tf.Tensor2D, batch.inputIds), [B, S, H]);
    const p0 = positionIds[0];
    const samePositions = positionIds.every((p, i) => p === p0 + (i % S));
    const positions = samePositions
      ? tf.reshape(embeddingLookup(this.positionEmbeddings as tf.Tensor2D, positionIds.subarray(0, S)), [1, S, H])
      : tf.reshape(embeddingLookup(this.positionEmbeddings as tf.Tensor2D, positionIds), [B, S, H]);
    const types = batch.tokenTypeIds.every((t) => t === 0)
      ? tf.reshape(embeddingLookup(this.tokenTypeEmbeddings as tf.Tensor2D, new Int32Array(1)), [1, 1, H])
      : tf.reshape(embeddingLookup(this.tokenTypeEmbeddings as tf.Tensor2D, batch.tokenTypeIds), [B, S, H]);
    return tf.reshape(tf.add(tf.add(words, positions), types), [B * S, H]) as tf.Tensor2D;
  }

  /** One Transformer layer on hidden [B*S, H]: self-attention, add & norm, feed-forward, add & norm. */
  private encoderLayer(w: LayerWeights, hidden: tf.Tensor2D, maskBias: tf.Tensor, B: number, S: number): tf.Tensor2D {
    const eps = this.config.layerNormEps;
    const attended = this.selfAttention(w, hidden, maskBias, B, S);
    const attentionOut = layerNorm(
      tf.add(linear(attended, w.attentionOutput[0] as tf.Tensor2D, w.attentionOutput[1] as tf.Tensor1D), hidden),
      w.attentionNorm[0] as tf.Tensor1D,
      w.attentionNorm[1] as tf.Tensor1D,
      eps,
    ) as tf.Tensor2D;
    const inner = activation(
      this.config.hiddenAct,
      linear(attentionOut, w.intermediate[0] as tf.Tensor2D, w.intermediate[1] as tf.Tensor1D),
    );
    return layerNorm(
      tf.add(linear(inner, w.output[0] as tf.Tensor2D, w.output[1] as tf.Tensor1D), attentionOut),
      w.outputNorm[0] as tf.Tensor1D,
      w.outputNorm[1] as tf.Tensor1D,
      eps,
    ) as tf.Tensor2D;
  }

  /** Multi-head scaled dot-product attention; returns the heads concatenated again, [B*S, H]. */
  private selfAttention(w: LayerWeights, hidden: tf.Tensor2D, maskBias: tf.Tensor, B: number, S: number): tf.Tensor2D {
    const heads = this.config.numAttentionHeads;
    const d = this.headDim;
    // [B*S, H] -> [B, heads, S, d]
    const split = (x: tf.Tensor2D) => tf.transpose(tf.reshape(x, [B, S, heads, d]), [0, 2, 1, 3]);
    const q = split(linear(hidden, w.query[0] as tf.Tensor2D, w.query[1] as tf.Tensor1D));
    const v = split(linear(hidden, w.value[0] as tf.Tensor2D, w.value[1] as tf.Tensor1D));
    const kRows = tf.reshape(linear(hidden, w.key[0] as tf.Tensor2D, w.key[1] as tf.Tensor1D), [B, S, heads, d]);
    // Q K^T per (row, head). The wasm kernel is fast only for un-transposed operands, so K is
    // transposed explicitly to [B, heads, d, S] unless the BLAS matMul (src/native/kernels.ts) is in use.
    const qk = nativeMatMulActive()
      ? tf.matMul(
          tf.reshape(q, [B * heads, S, d]),
          tf.reshape(tf.transpose(kRows, [0, 2, 1, 3]), [B * heads, S, d]),
          false,
          true,
        )
      : tf.matMul(tf.reshape(q, [B * heads, S, d]), tf.reshape(tf.transpose(kRows, [0, 2, 3, 1]), [B * heads, d, S]));
    const scores = tf.add(tf.mul(tf.reshape(qk, [B, heads, S, S]), 1 / Math.sqrt(d)), maskBias);
    const probs = tf.softmax(scores, -1);
    const context = tf.matMul(tf.reshape(probs, [B * heads, S, S]), tf.reshape(v, [B * heads, S, d])); // [B*heads, S, d]
    return tf.reshape(tf.transpose(tf.reshape(context, [B, heads, S, d]), [0, 2, 1, 3]), [
      B * S,
      heads * d,
    ]) as tf.Tensor2D;
  }

  /** Position ids per token, [B*S] row-major; RoBERTa's count only non-pad tokens and start after padding_idx. */
  positionIds(batch: TokenizedBatch): Int32Array {
    const { batchSize: B, seqLen: S, inputIds } = batch;
    const ids = new Int32Array(B * S);
    const max = this.config.maxPositionEmbeddings;
    if (this.config.architecture === "roberta") {
      const pad = this.config.padTokenId;
      for (let b = 0; b < B; b++) {
        let count = 0;
        for (let s = 0; s < S; s++) {
          const i = b * S + s;
          if (inputIds[i] !== pad) {
            count++;
            ids[i] = pad + count;
          } else ids[i] = pad;
        }
        if (pad + count >= max) {
          throw new Error(
            `TransformerEncoder: row ${b} has ${count} tokens but this RoBERTa model has positions only up to ${max - pad - 1} ` +
              `(max_position_embeddings ${max}, padding_idx ${pad}); lower max_seq_length.`,
          );
        }
      }
    } else {
      if (S > max) {
        throw new Error(
          `TransformerEncoder: sequence length ${S} exceeds max_position_embeddings ${max}; lower max_seq_length.`,
        );
      }
      for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) ids[b * S + s] = s;
    }
    return ids;
  }

  /** All weights (trained values, Hugging Face names and [out, in] layout) plus the unused extras, unchanged. */
  toWeightMap(): WeightMap {
    const out: WeightMap = new Map();
    for (const [name, v] of this.variables) {
      const host: HostTensor = { shape: [...v.shape], data: Float32Array.from(v.dataSync()) };
      out.set(name, host);
    }
    for (const [name, t] of this.extras) out.set(name, { shape: [...t.shape], data: t.data.slice() });
    return out;
  }

  /** The trainable parameters, for tf.variableGrads / an optimizer. */
  trainableVariables(): tf.Variable[] {
    return [...this.variables.values()];
  }

  /** Number of trainable parameters. */
  parameterCount(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.variables.values()) v.dispose();
    this.disposed = true;
  }
}
