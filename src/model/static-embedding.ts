/**
 * sentence-transformers' StaticEmbedding (the architecture of model2vec and static-retrieval-mrl
 * models): a sentence embedding is the mean of the table rows of its tokens,
 *
 *   e(text) = (1 / n) sum_{i=1..n} E[id_i]      (torch.nn.EmbeddingBag, mode "mean")
 *
 * where id_1..id_n are the ids of the text tokenized WITHOUT special tokens ([CLS]/[SEP] are not
 * added) and E is the weight "embedding.weight" [vocab, dim]. A text with no tokens (the empty string)
 * gets the zero vector, as EmbeddingBag gives for an empty bag. No attention, no position: word order
 * does not matter, which makes it fast and a lexical baseline. The table is a tf.Variable so the model
 * can be fine-tuned.
 */
import { tf } from "../backend";
import type { HostTensor, WeightMap } from "./types";
import { embeddingLookup } from "./layers";

export const STATIC_EMBEDDING_WEIGHT = "embedding.weight";

export class StaticEmbedding {
  private static readonly CHUNK = 256;
  readonly vocabSize: number;
  readonly dim: number;
  readonly embedding: tf.Variable;
  private disposed = false;

  /** `weights` must hold "embedding.weight" [vocab, dim] (0_StaticEmbedding/model.safetensors). */
  constructor(weights: WeightMap | HostTensor) {
    const table = "shape" in weights ? (weights as HostTensor) : (weights as WeightMap).get(STATIC_EMBEDDING_WEIGHT);
    if (table === undefined) {
      const names = [...(weights as WeightMap).keys()].slice(0, 5).join(", ");
      throw new Error(
        `StaticEmbedding: missing weight "${STATIC_EMBEDDING_WEIGHT}" [vocab, dim] (found: ${names || "nothing"})`,
      );
    }
    if (table.shape.length !== 2 || table.data.length !== table.shape[0] * table.shape[1]) {
      throw new Error(
        `StaticEmbedding: weight "${STATIC_EMBEDDING_WEIGHT}" must be 2-D [vocab, dim], got [${table.shape}]`,
      );
    }
    [this.vocabSize, this.dim] = table.shape;
    this.embedding = tf.variable(tf.tensor2d(table.data, [this.vocabSize, this.dim], "float32"), true);
  }

  /** Sentence embeddings [texts, dim] for token ids tokenized without special tokens. */
  forward(tokenIds: ArrayLike<number>[]): tf.Tensor2D {
    if (this.disposed) throw new Error("StaticEmbedding.forward: the model was disposed");
    if (tokenIds.length > StaticEmbedding.CHUNK) {
      // The averaging matrix below is texts x tokens: keep it small by going through long lists in chunks.
      const parts: tf.Tensor2D[] = [];
      for (let i = 0; i < tokenIds.length; i += StaticEmbedding.CHUNK)
        parts.push(this.forward(tokenIds.slice(i, i + StaticEmbedding.CHUNK)));
      const out = tf.concat(parts, 0);
      parts.forEach((t) => t.dispose());
      return out;
    }
    const total = tokenIds.reduce((n, ids) => n + ids.length, 0);
    const flat = new Int32Array(total);
    // Averaging matrix [texts, total]: row b holds 1/n_b over the columns of text b's tokens.
    const average = new Float32Array(tokenIds.length * total);
    let offset = 0;
    tokenIds.forEach((ids, b) => {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
          throw new RangeError(
            `StaticEmbedding: text ${b}, token ${i} has id ${id}, outside the vocabulary of ${this.vocabSize}`,
          );
        }
        flat[offset + i] = id;
        average[b * total + offset + i] = 1 / ids.length;
      }
      offset += ids.length;
    });
    if (total === 0) return tf.zeros([tokenIds.length, this.dim]) as tf.Tensor2D;
    return tf.tidy(() =>
      tf.matMul(tf.tensor2d(average, [tokenIds.length, total]), embeddingLookup(this.embedding as tf.Tensor2D, flat)),
    );
  }

  toWeightMap(): WeightMap {
    return new Map([
      [
        STATIC_EMBEDDING_WEIGHT,
        { shape: [this.vocabSize, this.dim], data: Float32Array.from(this.embedding.dataSync()) },
      ],
    ]);
  }

  trainableVariables(): tf.Variable[] {
    return [this.embedding];
  }

  dispose(): void {
    if (this.disposed) return;
    this.embedding.dispose();
    this.disposed = true;
  }
}
