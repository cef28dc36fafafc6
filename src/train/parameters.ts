/**
 * Which parameters the trainer updates. Parameters carry their Hugging Face names
 * ("encoder.layer.0.attention.self.query.weight", "embeddings.word_embeddings.weight", a static model's
 * "embedding.weight"), so freezing reads like it does in PyTorch: `requires_grad = False` on the
 * embeddings and on the lowest N Transformer layers. Frozen parameters get no gradient and no AdamW
 * state; checkpoints still hold every parameter, so a resume restores the whole model.
 */
import { tf } from "../backend";
import type { SentenceTransformer } from "../model/sentence-transformer";
import { STATIC_EMBEDDING_WEIGHT } from "../model/static-embedding";
import type { HostTensor, WeightMap } from "../model/types";
import type { NamedParameter } from "./optimizer";

export interface FreezeOptions {
  /** Freeze the embedding layer (word, position, token-type embeddings and their LayerNorm). */
  embeddings?: boolean;
  /** Freeze the lowest N Transformer layers (encoder.layer.0 .. N-1). */
  layers?: number;
}

/** Every trainable parameter of a model with its Hugging Face name. */
export function namedParameters(model: SentenceTransformer): NamedParameter[] {
  if (model.encoder) return [...model.encoder.variables].map(([name, variable]) => ({ name, variable }));
  const vars = model.trainableVariables();
  return vars.map((variable, i) => ({ name: i === 0 ? STATIC_EMBEDDING_WEIGHT : `parameter_${i}`, variable }));
}

/** Splits parameters into trained and frozen. */
export function splitFrozen(
  model: SentenceTransformer,
  params: NamedParameter[],
  freeze: FreezeOptions = {},
): { trained: NamedParameter[]; frozen: NamedParameter[] } {
  const layers = freeze.layers ?? 0;
  if (!Number.isInteger(layers) || layers < 0)
    throw new RangeError(`freeze.layers ${layers} must be a non-negative integer.`);
  if (layers > 0) {
    const n = model.encoder?.config.numHiddenLayers;
    if (n === undefined)
      throw new Error(
        "freeze.layers: this is a static model (no Transformer layers); use freeze.embeddings or nothing.",
      );
    if (layers > n) throw new RangeError(`freeze.layers ${layers}: the model has only ${n} layers.`);
  }
  const isFrozen = (name: string): boolean => {
    if (freeze.embeddings && (/(^|\.)embeddings\./.test(name) || name === STATIC_EMBEDDING_WEIGHT)) return true;
    const m = /(^|\.)encoder\.layer\.(\d+)\./.exec(name);
    return m !== null && Number(m[2]) < layers;
  };
  const trained = params.filter((p) => !isFrozen(p.name));
  const frozen = params.filter((p) => isFrozen(p.name));
  if (trained.length === 0)
    throw new Error("freeze: every parameter is frozen; nothing would train. Freeze fewer layers.");
  return { trained, frozen };
}

/** The parameters' current values as host data (for checkpoints). */
export function weightsOf(params: NamedParameter[]): WeightMap {
  const out: WeightMap = new Map();
  for (const { name, variable } of params)
    out.set(name, { shape: [...variable.shape], data: Float32Array.from(variable.dataSync()) });
  return out;
}

/** Loads `weights` (by name) into the parameters; `source` names the file in errors. */
export function assignWeights(params: NamedParameter[], weights: WeightMap, source: string): void {
  for (const { name, variable } of params) {
    const w = weights.get(name) as HostTensor | undefined;
    if (!w) throw new Error(`${source}: no weight "${name}"; it was written for a different model.`);
    if (w.shape.join(",") !== variable.shape.join(","))
      throw new Error(`${source}: "${name}" has shape [${w.shape}], the model's is [${variable.shape}].`);
    variable.assign(tf.tensor(w.data, w.shape, "float32"));
  }
}
