/**
 * The building blocks of a BERT-style encoder, written for TensorFlow.js and for the way its
 * WebAssembly backend is fast or slow:
 *
 *   linear(x, W, b)      = x W^T + b           (PyTorch nn.Linear; W stored [out, in] as PyTorch does)
 *   layerNorm(x, g, b)   = g * (x - mean) / sqrt(var + eps) + b   (biased variance, over the last axis)
 *   gelu(x)              = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))   (Hugging Face "gelu", exact)
 *   geluTanh(x)          = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (Hugging Face "gelu_new")
 *   embeddingLookup(E, ids) = rows of E
 *
 * Why the custom gradients: the wasm backend runs a matrix product through XNNPACK (fast) only when
 * it is a plain 2-D product with neither side transposed; the "NT" and "TN" products that tfjs's own
 * matMul gradient produces, and batched 3-D products, run a scalar loop 10-20x slower. So `linear`
 * transposes explicitly and multiplies plain 2-D matrices, forward and backward. And the gradient of
 * tf.gather needs the UnsortedSegmentSum kernel, which the wasm backend lacks; `embeddingLookup`
 * scatters the incoming gradient with tf.scatterND (which sums rows of repeated ids) instead.
 * When the BLAS matMul is plugged in (src/native/kernels.ts), transposed operands are free, so the
 * explicit transposes are skipped, the bias is added inside the product (tf.fused.matMul), and
 * GELU and LayerNorm run as single native passes with the gradients written out below.
 */
import { tf } from "../backend";
import { nativeGatherRows, nativeGelu, nativeLayerNorm, nativeMatMulActive } from "../native/kernels";

/** y = x W^T + b for x [n, in], W [out, in] (PyTorch's layout), b [out]. */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  if (x.shape[1] !== weight.shape[1]) {
    throw new Error(`linear: input has ${x.shape[1]} features but the weight is [${weight.shape}] ([out, in])`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x2, w2, b1] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    save([x2, w2]);
    const native = nativeMatMulActive();
    const value = tf.tidy(() =>
      native
        ? tf.fused.matMul({ a: x2, b: w2, transposeB: true, bias: b1 })
        : tf.add(tf.matMul(x2, tf.transpose(w2)), b1),
    ) as tf.Tensor2D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [
        tf.matMul(dy2, ws), // dL/dx = dy W          [n, out] x [out, in]
        native ? tf.matMul(dy2, xs, true, false) : tf.matMul(tf.transpose(dy2), xs), // dL/dW = dy^T x  [out, n] x [n, in]
        tf.sum(dy2, 0), // dL/db = column sums of dy
      ];
    };
    return { value, gradFunc };
  });
  return op(x, weight, bias) as tf.Tensor2D;
}

/** Layer normalisation over the last axis with biased variance, as torch.nn.LayerNorm. */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): T {
  if (!nativeMatMulActive()) return layerNormOps(x, gamma, beta, eps);
  // One native pass forward; the gradient in tfjs ops. With xhat = (x - mean) r, r = 1/sqrt(var + eps):
  //   dbeta = sum dy, dgamma = sum dy xhat, dx = r (g - mean(g) - xhat mean(g xhat)) with g = dy gamma.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, gIn, bIn] = args as [T, tf.Tensor1D, tf.Tensor1D];
    (args[3] as tf.GradSaveFunc)([xIn, gIn]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, gs] = saved as [T, tf.Tensor1D];
      const axis = xs.rank - 1;
      const rows = xs.rank > 1 ? xs.shape.slice(0, -1).map((_, i) => i) : [];
      const mean = tf.mean(xs, axis, true);
      const centered = tf.sub(xs, mean);
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axis, true), eps));
      const xhat = tf.mul(centered, r);
      const g = tf.mul(dy, gs);
      const dx = tf.mul(
        r,
        tf.sub(tf.sub(g, tf.mean(g, axis, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), axis, true))),
      );
      return [dx, tf.sum(tf.mul(dy, xhat), rows), tf.sum(dy, rows)];
    };
    return { value: nativeLayerNorm(xIn, gIn, bIn, eps), gradFunc };
  });
  return op(x, gamma, beta) as T;
}

function layerNormOps<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axis, true);
    const normalized = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normalized, gamma), beta) as T;
  });
}

/** Exact GELU, x * Phi(x), Hugging Face's "gelu" (torch.nn.functional.gelu default). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (!nativeMatMulActive())
    return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T);
  // One native pass forward; gradient d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as T;
    (args[1] as tf.GradSaveFunc)([xIn]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const xs = saved[0];
      const cdf = tf.mul(tf.add(tf.erf(tf.mul(xs, Math.SQRT1_2)), 1), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return [tf.mul(dy, tf.add(cdf, tf.mul(xs, pdf)))];
    };
    return { value: nativeGelu(xIn), gradFunc };
  });
  return op(x) as T;
}

/** Tanh approximation of GELU, Hugging Face's "gelu_new" (used by GPT-2 and some BERT variants). */
export function geluTanh<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
  });
}

export type Activation = "gelu" | "gelu_new" | "relu";

export function activation<T extends tf.Tensor>(name: Activation, x: T): T {
  switch (name) {
    case "gelu":
      return gelu(x);
    case "gelu_new":
      return geluTanh(x);
    case "relu":
      return tf.relu(x);
  }
}

/**
 * Rows `ids` of the table [vocab, dim] -> [ids.length, dim]. The ids are a plain Int32Array (not a
 * tensor) so that the gradient can rebuild them without holding a tensor that tidy may dispose.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [vocab, dim] = table.shape;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw new RangeError(`embeddingLookup: id ${ids[i]} at position ${i} is outside the table's ${vocab} rows`);
    }
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const value = tf.tidy(() =>
      nativeMatMulActive()
        ? nativeGatherRows(args[0] as tf.Tensor2D, tf.tensor1d(ids, "int32"))
        : tf.gather(args[0] as tf.Tensor2D, tf.tensor1d(ids, "int32")),
    ) as tf.Tensor2D;
    // tf.scatterND sums the rows of repeated ids: exactly the gradient of a gather.
    const gradFunc = (dy: tf.Tensor) => [tf.scatterND(tf.tensor2d(ids, [ids.length, 1], "int32"), dy, [vocab, dim])];
    return { value, gradFunc };
  });
  return op(table) as tf.Tensor2D;
}
