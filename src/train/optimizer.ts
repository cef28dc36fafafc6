/**
 * AdamW (Loshchilov & Hutter, 2019, "Decoupled Weight Decay Regularization") exactly as
 * torch.optim.AdamW updates one parameter p with gradient g at its step t = 1, 2, ...:
 *
 *   p   <- p * (1 - lr * weight_decay)                    (decoupled decay, before the Adam step)
 *   m   <- beta1 * m + (1 - beta1) * g
 *   v   <- beta2 * v + (1 - beta2) * g * g
 *   p   <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * Defaults are PyTorch's betas (0.9, 0.999) and eps 1e-8, with weight decay 0.01 (sentence-transformers'
 * fit() default). As in transformers' Trainer, biases and LayerNorm weights are not decayed: which ones is
 * decided by their Hugging Face parameter names (`noWeightDecay`). A parameter that received no gradient
 * in a step is left alone, its step count unchanged, as PyTorch skips parameters whose .grad is None.
 *
 * Gradient clipping follows torch.nn.utils.clip_grad_norm_: the global norm is the 2-norm of the
 * per-tensor 2-norms; every gradient is multiplied by min(1, max_norm / (norm + 1e-6)); the norm before
 * clipping is returned (and logged as "grad_norm", as transformers does).
 *
 * The moments live in tfjs tensors and the arithmetic runs in float32 in PyTorch's order, so updates
 * agree with torch to float32 rounding (test/train-optimizer.test.ts checks against a torch fixture).
 * (A fused host loop over Float32Arrays with Math.fround was tried: 1.2 s against 0.43 s for these tfjs
 * ops on wasm for 11.7 M parameters, bench/TRAIN-NOTES.md.)
 */
import { tf } from "../backend";
import type { HostTensor } from "../model/types";

/** A trainable parameter with its Hugging Face name, e.g. "encoder.layer.0.attention.self.query.weight". */
export interface NamedParameter {
  name: string;
  variable: tf.Variable;
}

export interface AdamWOptions {
  /** (beta1, beta2); default (0.9, 0.999). */
  betas?: [number, number];
  /** Added to the denominator; default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; default 0.01. */
  weightDecay?: number;
  /** Which parameters get no weight decay; default `noWeightDecay` (biases and LayerNorm). */
  excludeFromDecay?: (name: string) => boolean;
}

/** Biases and LayerNorm parameters (any casing; legacy gamma/beta names too) are not decayed. */
export function noWeightDecay(name: string): boolean {
  return /(^|\.)bias$/.test(name) || /layer_?norm/i.test(name) || /(^|\.)(gamma|beta)$/.test(name);
}

/** The optimizer state of one parameter as host data (for checkpoints). */
export interface AdamWParamState {
  step: number;
  expAvg: HostTensor;
  expAvgSq: HostTensor;
}

interface Slot {
  name: string;
  variable: tf.Variable;
  decay: boolean;
  step: number;
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly slots: Slot[];
  private readonly byVariable = new Map<tf.Variable, Slot>();

  constructor(params: NamedParameter[], options: AdamWOptions = {}) {
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    for (const [k, b] of [
      ["beta1", this.beta1],
      ["beta2", this.beta2],
    ] as const)
      if (!(b >= 0 && b < 1)) throw new RangeError(`AdamW: ${k} ${b} must be in [0, 1).`);
    if (!(this.eps >= 0)) throw new RangeError(`AdamW: eps ${this.eps} must be >= 0.`);
    if (!(this.weightDecay >= 0)) throw new RangeError(`AdamW: weightDecay ${this.weightDecay} must be >= 0.`);
    const exclude = options.excludeFromDecay ?? noWeightDecay;
    const names = new Set<string>();
    this.slots = params.map(({ name, variable }) => {
      if (names.has(name)) throw new Error(`AdamW: parameter name "${name}" appears twice; give each parameter once.`);
      names.add(name);
      const slot: Slot = {
        name,
        variable,
        decay: !exclude(name),
        step: 0,
        expAvg: tf.variable(tf.zerosLike(variable), false),
        expAvgSq: tf.variable(tf.zerosLike(variable), false),
      };
      this.byVariable.set(variable, slot);
      return slot;
    });
  }

  /** Names of the parameters that are decayed / not decayed. */
  decayGroups(): { decay: string[]; noDecay: string[] } {
    return {
      decay: this.slots.filter((s) => s.decay).map((s) => s.name),
      noDecay: this.slots.filter((s) => !s.decay).map((s) => s.name),
    };
  }

  /** One update with learning rate `lr`. Gradients of variables this optimizer does not hold are an error. */
  step(grads: Map<tf.Variable, tf.Tensor>, lr: number): void {
    for (const v of grads.keys())
      if (!this.byVariable.has(v))
        throw new Error(
          `AdamW.step: got a gradient for a variable ("${v.name}") that is not among the optimizer's ${this.slots.length} parameters.`,
        );
    for (const slot of this.slots) {
      const g = grads.get(slot.variable);
      if (g === undefined) continue;
      slot.step += 1;
      const t = slot.step;
      // Math.pow as torch's formula reads; kept so that resumed runs stay bit-identical to older checkpoints.
      // biome-ignore lint/style/useExponentiationOperator: see above
      const stepSize = lr / (1 - Math.pow(this.beta1, t));
      // biome-ignore lint/style/useExponentiationOperator: see above
      const bc2Sqrt = Math.sqrt(1 - Math.pow(this.beta2, t));
      // Three tidies, so that at most a few parameter-sized temporaries are alive at once (the wasm heap
      // never shrinks, and the word-embedding matrix alone is 47 MB for MiniLM).
      tf.tidy(() => slot.expAvg.assign(tf.add(tf.mul(slot.expAvg, this.beta1), tf.mul(g, 1 - this.beta1))));
      tf.tidy(() =>
        slot.expAvgSq.assign(tf.add(tf.mul(slot.expAvgSq, this.beta2), tf.mul(tf.mul(g, g), 1 - this.beta2))),
      );
      tf.tidy(() => {
        const p =
          slot.decay && this.weightDecay !== 0 ? tf.mul(slot.variable, 1 - lr * this.weightDecay) : slot.variable;
        const denom = tf.add(tf.div(tf.sqrt(slot.expAvgSq), bc2Sqrt), this.eps);
        slot.variable.assign(tf.sub(p, tf.mul(tf.div(slot.expAvg, denom), stepSize)));
      });
    }
  }

  /** Host copies of every parameter's state, keyed by name. */
  state(): Map<string, AdamWParamState> {
    const out = new Map<string, AdamWParamState>();
    for (const s of this.slots) {
      out.set(s.name, {
        step: s.step,
        expAvg: { shape: [...s.expAvg.shape], data: Float32Array.from(s.expAvg.dataSync()) },
        expAvgSq: { shape: [...s.expAvgSq.shape], data: Float32Array.from(s.expAvgSq.dataSync()) },
      });
    }
    return out;
  }

  /** Restores state saved by state(); every parameter must be present with its shape. */
  loadState(state: Map<string, AdamWParamState>, source = "optimizer state"): void {
    for (const s of this.slots) {
      const st = state.get(s.name);
      if (!st)
        throw new Error(`${source}: no state for parameter "${s.name}"; the checkpoint belongs to a different model.`);
      for (const [k, h] of [
        ["exp_avg", st.expAvg],
        ["exp_avg_sq", st.expAvgSq],
      ] as const)
        if (h.shape.join(",") !== s.variable.shape.join(","))
          throw new Error(
            `${source}: ${k} of "${s.name}" has shape [${h.shape}], the parameter has [${s.variable.shape}].`,
          );
      s.step = st.step;
      s.expAvg.assign(tf.tensor(st.expAvg.data, st.expAvg.shape, "float32"));
      s.expAvgSq.assign(tf.tensor(st.expAvgSq.data, st.expAvgSq.shape, "float32"));
    }
  }

  dispose(): void {
    for (const s of this.slots) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    }
  }
}

/**
 * torch.nn.utils.clip_grad_norm_: scales the gradients in place of the map (old tensors disposed) so that
 * their global 2-norm is at most maxNorm; returns the norm before clipping (NaN or Infinity when a gradient
 * is not finite; then nothing is scaled).
 */
export function clipGradNorm(grads: Map<tf.Variable, tf.Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm ${maxNorm} must be > 0.`);
  if (grads.size === 0) return 0;
  const [total, coef] = tf.tidy(() => {
    // sqrt(sum_i ||g_i||^2) = ||(||g_1||, ..., ||g_n||)||; tf.norm goes through abs and pow, ~5x slower on wasm.
    const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
    const totalNorm = tf.sqrt(tf.addN(squares));
    const clipCoef = tf.minimum(tf.div(maxNorm, tf.add(totalNorm, 1e-6)), 1);
    return [totalNorm, clipCoef];
  });
  const totalNorm = total.dataSync()[0];
  const c = coef.dataSync()[0];
  total.dispose();
  if (Number.isFinite(totalNorm) && c < 1) {
    for (const [v, g] of grads) {
      grads.set(
        v,
        tf.tidy(() => tf.mul(g, coef)),
      );
      g.dispose();
    }
  }
  coef.dispose();
  return totalNorm;
}

/** The global 2-norm of the gradients (what clipGradNorm returns), without clipping. */
export function gradNormOf(grads: Map<tf.Variable, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  const total = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))));
  const value = total.dataSync()[0];
  total.dispose();
  return value;
}
