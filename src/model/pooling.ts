/**
 * Pooling: token embeddings [batch, seq, dim] -> one sentence embedding per row, with
 * sentence-transformers' `Pooling` semantics (1_Pooling/config.json). With m = attention mask:
 *
 *   cls            x[:, 0]
 *   max            max over tokens, padded tokens first set to -1e9
 *   mean           sum_t m_t x_t / max(sum_t m_t, 1e-9)
 *   mean_sqrt_len  sum_t m_t x_t / sqrt(max(sum_t m_t, 1e-9))
 *   weightedmean   sum_t t m_t x_t / max(sum_t t m_t, 1e-9)   with t = 1..seq (later tokens weigh more)
 *   lasttoken      x at the last position whose mask is 1 (position seq-1 when the mask is all 0)
 *
 * Several modes on -> their outputs concatenated in that order (cls, max, mean, mean_sqrt_len,
 * weightedmean, lasttoken), as sentence-transformers does. `include_prompt: false` is honoured by the
 * caller, which zeroes the prompt tokens in the mask passed here.
 *
 *   l2Normalize(x) = x / max(||x||_2, 1e-12)   (torch.nn.functional.normalize, sentence-transformers' Normalize)
 */
import { tf } from "../backend";
import type { PoolingConfig } from "./types";

/** The modes switched on, in sentence-transformers' concatenation order. */
export function poolingModes(cfg: PoolingConfig): string[] {
  const modes: string[] = [];
  if (cfg.pooling_mode_cls_token) modes.push("cls");
  if (cfg.pooling_mode_max_tokens) modes.push("max");
  if (cfg.pooling_mode_mean_tokens) modes.push("mean");
  if (cfg.pooling_mode_mean_sqrt_len_tokens) modes.push("mean_sqrt_len");
  if (cfg.pooling_mode_weightedmean_tokens) modes.push("weightedmean");
  if (cfg.pooling_mode_lasttoken) modes.push("lasttoken");
  return modes;
}

/** Output size of pooling: word_embedding_dimension times the number of modes switched on. */
export function pooledDimension(cfg: PoolingConfig): number {
  return cfg.word_embedding_dimension * poolingModes(cfg).length;
}

/** A pooling config with exactly one mode on, e.g. poolingConfig(384, "mean"). */
export function poolingConfig(
  dim: number,
  mode: "cls" | "mean" | "max" | "mean_sqrt_len" | "weightedmean" | "lasttoken",
): PoolingConfig {
  return {
    word_embedding_dimension: dim,
    pooling_mode_cls_token: mode === "cls",
    pooling_mode_mean_tokens: mode === "mean",
    pooling_mode_max_tokens: mode === "max",
    pooling_mode_mean_sqrt_len_tokens: mode === "mean_sqrt_len",
    pooling_mode_weightedmean_tokens: mode === "weightedmean",
    pooling_mode_lasttoken: mode === "lasttoken",
    include_prompt: true,
  };
}

export function pool(tokenEmbeddings: tf.Tensor3D, attentionMask: tf.Tensor2D, cfg: PoolingConfig): tf.Tensor2D {
  const [B, S, D] = tokenEmbeddings.shape;
  const modes = poolingModes(cfg);
  if (modes.length === 0) {
    throw new Error("1_Pooling/config.json: no pooling mode is true; set e.g. pooling_mode_mean_tokens to true");
  }
  if (cfg.word_embedding_dimension !== D) {
    throw new Error(
      `1_Pooling/config.json: word_embedding_dimension is ${cfg.word_embedding_dimension} but the token embeddings have ${D} dimensions`,
    );
  }
  if (attentionMask.shape[0] !== B || attentionMask.shape[1] !== S) {
    throw new Error(`pool: attention mask is [${attentionMask.shape}] but the token embeddings are [${B}, ${S}, ${D}]`);
  }
  return tf.tidy(() => {
    const mask = tf.cast(attentionMask, "float32"); // [B, S]
    const mask3 = tf.expandDims(mask, 2); // [B, S, 1]
    const outputs: tf.Tensor2D[] = [];
    for (const mode of modes) {
      if (mode === "cls") {
        outputs.push(tf.reshape(tf.slice(tokenEmbeddings, [0, 0, 0], [B, 1, D]), [B, D]));
      } else if (mode === "max") {
        const masked = tf.where(
          tf.equal(tf.broadcastTo(mask3, [B, S, D]), 0),
          tf.fill([B, S, D], -1e9),
          tokenEmbeddings,
        );
        outputs.push(tf.max(masked, 1) as tf.Tensor2D);
      } else if (mode === "mean" || mode === "mean_sqrt_len") {
        const sum = tf.sum(tf.mul(tokenEmbeddings, mask3), 1);
        const count = tf.maximum(tf.sum(mask3, 1), 1e-9); // [B, 1]
        outputs.push(tf.div(sum, mode === "mean" ? count : tf.sqrt(count)) as tf.Tensor2D);
      } else if (mode === "weightedmean") {
        const weights = tf.mul(mask3, tf.reshape(tf.range(1, S + 1, 1, "float32"), [1, S, 1])); // [B, S, 1]
        const sum = tf.sum(tf.mul(tokenEmbeddings, weights), 1);
        outputs.push(tf.div(sum, tf.maximum(tf.sum(weights, 1), 1e-9)) as tf.Tensor2D);
      } else {
        // lasttoken: the largest position whose mask is 1; argmax of mask * (1..S) finds it.
        const ranked = tf.mul(mask, tf.reshape(tf.range(1, S + 1, 1, "float32"), [1, S]));
        const last = tf.where(
          tf.equal(tf.sum(mask, 1), 0),
          tf.fill([B], S - 1, "int32"),
          tf.cast(tf.argMax(ranked, 1), "int32"),
        );
        const pick = tf.expandDims(tf.mul(tf.cast(tf.oneHot(last, S), "float32"), mask), 2); // [B, S, 1]
        outputs.push(tf.sum(tf.mul(tokenEmbeddings, pick), 1) as tf.Tensor2D);
      }
    }
    return outputs.length === 1 ? outputs[0] : (tf.concat(outputs, 1) as tf.Tensor2D);
  });
}

/** Rows scaled to unit L2 norm, as torch.nn.functional.normalize(x, p=2, dim=1, eps=1e-12). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, "euclidean", 1, true), 1e-12)) as tf.Tensor2D);
}
