import pl from "nodejs-polars";
import type { SentenceTransformer } from "../model/index";
import { DEFAULT_SEED, FINE_TUNE_DEFAULTS, MNRL_SCALE } from "../defaults";

/**
 * The course recipe for fine-tuning the embedded offline model (loadModel("offline"), a StaticEmbedding
 * pretrained on WordNet) on a shipped dataset's train pairs with train() and MultipleNegativesRankingLoss.
 * Found by a small sweep on the dev splits only (`npm run bench -- offline-model --sweep`; the numbers are in
 * assets/offline-model/README.md); the test splits and the independent queries were not looked at to choose it.
 *
 *   const model = await loadModel("offline");
 *   await train(model, trainingPairs(loadShippedSplit("policy-handbook", "train")), {
 *     loss: new MultipleNegativesRankingLoss({ scale: OFFLINE_FINETUNE_RECIPE.scale }), ...OFFLINE_FINETUNE_RECIPE });
 */
export interface OfflineFinetuneRecipe {
  learningRate: number;
  epochs: number;
  batchSize: number;
  warmupRatio: number;
  weightDecay: number;
  /** MultipleNegativesRankingLoss scale. */
  scale: number;
  seed: number;
}

export const OFFLINE_FINETUNE_RECIPE: Readonly<OfflineFinetuneRecipe> = Object.freeze({
  learningRate: 1e-3,
  epochs: 2,
  batchSize: 32,
  warmupRatio: 0.1,
  weightDecay: 0,
  scale: MNRL_SCALE,
  seed: DEFAULT_SEED,
});

/** Fine-tuning settings the course passes to train(). */
export interface FineTuneRecipe {
  epochs: number;
  batchSize: number;
  learningRate: number;
  warmupRatio: number;
  /** MNRL scale (20 = temperature 0.05). */
  scale: number;
  /** Evaluate on the dev split every N steps (and at the end). */
  evalSteps: number;
  maxSteps?: number;
  weightDecay?: number;
  seed?: number;
}

/** The recipe as a two-column table. */
export function recipeTable(recipe: FineTuneRecipe, rows: number): pl.DataFrame {
  const entries = Object.entries(recipe).filter(([, v]) => v !== undefined);
  const steps = Math.floor(rows / recipe.batchSize) * recipe.epochs;
  return pl.DataFrame({
    setting: ["loss", "training pairs", ...entries.map(([k]) => k), "optimizer steps (about)"],
    value: [
      "MultipleNegativesRankingLoss (cosine)",
      String(rows),
      ...entries.map(([, v]) => String(v)),
      String(recipe.maxSteps ? Math.min(recipe.maxSteps, steps) : steps),
    ],
  });
}

/**
 * The course's fine-tuning recipe for a model.
 *
 * StaticEmbedding (the offline default): OFFLINE_FINETUNE_RECIPE (src/course/recipes: lr 1e-3, 2 epochs,
 * batch 32, chosen on the dev splits only). A larger rate undoes what pretraining taught: measured here on the
 * policy-handbook dev split, lr 1e-2 took NDCG@10 from 0.586 down to 0.536. Transformer: the usual
 * sentence-transformers settings (lr 2e-5, warm-up 10%), batches small enough for a CPU.
 */
export function courseRecipe(model: SentenceTransformer): FineTuneRecipe {
  if (model.staticEmbedding) {
    const r = OFFLINE_FINETUNE_RECIPE;
    return {
      epochs: r.epochs,
      batchSize: r.batchSize,
      learningRate: r.learningRate,
      warmupRatio: r.warmupRatio,
      weightDecay: r.weightDecay,
      scale: r.scale,
      evalSteps: 22,
    };
  }
  // Transformer (MiniLM / bge-sized): sentence-transformers' fine-tuning recipe (FINE_TUNE_DEFAULTS: lr 2e-5, 10%
  // warm-up, one epoch) at batch 16 rather than 32, so a CPU step stays a few seconds. On the wasm backend a step of
  // plain MNRL at batch 16 on the handbook's passages (up to ~150 tokens) needs ~4.1 GiB, more than the 3.2 GiB it
  // plans to use of its 4 GiB heap, so train() runs it as CachedMultipleNegativesRankingLoss (GradCache, mini-batch 8:
  // same loss and gradients, ~2.2 GiB) and says so (src/train/memory.ts); with tfjs-node or a GPU it stays plain. Dev
  // evaluation every 25 steps (an evaluation re-encodes the dev corpus: ~300 passages).
  const { epochs, learningRate, warmupRatio, scale } = FINE_TUNE_DEFAULTS;
  return { epochs, batchSize: 16, learningRate, warmupRatio, scale, evalSteps: 25 };
}

/**
 * 2e-5 for a Transformer (sentence-transformers' usual fine-tuning rate); 1e-3 for a static embedding model, whose
 * token vectors need larger steps. Measured on policy-handbook with the pretrained offline model (30 steps of
 * batch 32, bench/HARD-NEGATIVES.md): 1e-3 raised NDCG@10 0.582 -> 0.593 with in-batch negatives, 5e-3 lowered
 * it to 0.555 (a few hundred pairs, many steps per token: larger rates forget what pretraining learned).
 */
export function defaultLearningRate(model: SentenceTransformer): number {
  return model.encoder ? FINE_TUNE_DEFAULTS.learningRate : OFFLINE_FINETUNE_RECIPE.learningRate;
}
