import type { SentenceTransformer } from "../model/index";
import { DEFAULT_SEED, FINE_TUNE_DEFAULTS, MNRL_SCALE } from "../defaults";
import { noDuplicatesBatches } from "../train/sampler";
import { getConfig } from "../env";

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

/** Negatives notebook 4 compares (see compareNegatives). */
export type PlannedNegatives = readonly ("in-batch" | "random" | "hard-no-margin" | "hard" | "semi-hard")[];

/** How much the course trains for a model: what notebook 3's ablation and notebook 4's comparison run. */
export interface CoursePlan {
  /** Training-data variants notebook 3 trains per setting: every one (the ablation) or the first only. */
  variants: "all" | "first";
  /** Negatives notebook 4 compares, per setting (A: questions, B: documents). */
  negatives: { questions: PlannedNegatives; documents: PlannedNegatives };
  /** Notebook 4's optimizer steps per run at most (undefined: notebook 3's steps for the setting). */
  negativeSteps?: number;
  /** One sentence per choice, for the notebooks to show. */
  notes: string[];
}

/**
 * What the course trains for `model`. A static model (the offline default) trains in seconds: notebook 3 runs the
 * whole training-data ablation (up to 3 variants x 2 settings) and notebook 4 compares four kinds of negatives in
 * setting A and in-batch against hard in setting B, every run with notebook 3's steps. A Transformer step takes
 * seconds on a CPU (MiniLM-L6 ~4 s at batch 16, bge-small about twice that; environment.md), so there notebook 3
 * trains one variant per setting (its training questions only) and notebook 4 four runs of
 * TRANSFORMER_NEGATIVE_STEPS steps: in-batch and hard in each setting. `COURSE_ABLATION=all` runs the full plan on
 * a Transformer too (on a GPU, or with time to spare).
 */
export function coursePlan(model: SentenceTransformer, options: { full?: boolean } = {}): CoursePlan {
  const full = options.full ?? getConfig().course.fullPlan;
  if (model.staticEmbedding || full)
    return {
      variants: "all",
      negatives: {
        questions: ["in-batch", "hard-no-margin", "hard", "semi-hard"],
        documents: ["in-batch", "hard"],
      },
      notes: [
        `${model.staticEmbedding ? "A static model trains in seconds, so" : "COURSE_ABLATION=all:"} notebook 3 trains every training-data variant of both settings, and notebook 4 compares four kinds of negatives in setting A and in-batch against hard in setting B, each run with notebook 3's steps.`,
      ],
    };
  return {
    variants: "first",
    negatives: { questions: ["in-batch", "hard"], documents: ["in-batch", "hard"] },
    negativeSteps: TRANSFORMER_NEGATIVE_STEPS,
    notes: [
      `A Transformer's training step takes seconds on a CPU, so notebook 3 trains one variant per setting (its training questions only) instead of the whole ablation, and notebook 4 runs in-batch against hard negatives in each setting for ${TRANSFORMER_NEGATIVE_STEPS} steps per run. Set COURSE_ABLATION=all to run the static model's full plan (about 3x the training time).`,
    ],
  };
}

/** Notebook 4's steps per run for a Transformer (see coursePlan). */
export const TRANSFORMER_NEGATIVE_STEPS = 16;

/**
 * 2e-5 for a Transformer (sentence-transformers' usual fine-tuning rate); 1e-3 for a static embedding model, whose
 * token vectors need larger steps. Measured on policy-handbook with the pretrained offline model (30 steps of
 * batch 32, bench/HARD-NEGATIVES.md): 1e-3 raised NDCG@10 0.582 -> 0.593 with in-batch negatives, 5e-3 lowered
 * it to 0.555 (a few hundred pairs, many steps per token: larger rates forget what pretraining learned).
 */
export function defaultLearningRate(model: SentenceTransformer): number {
  return model.encoder ? FINE_TUNE_DEFAULTS.learningRate : OFFLINE_FINETUNE_RECIPE.learningRate;
}

/** A recipe fitted to the training rows at hand, with what was changed and why. */
export interface FittedRecipe {
  recipe: FineTuneRecipe;
  /** Full batches per epoch under the no-duplicates sampler with dropLast. */
  batchesPerEpoch: number;
  /** Rows per epoch left out of every full batch (they wait for the next epoch's shuffle). */
  leftover: number;
  steps: number;
  /** One sentence per choice, for the notebook to show. */
  notes: string[];
}

/**
 * Fits a recipe to the size of the data. The course trains with the no-duplicates batch sampler and dropLast: a
 * batch never holds the same passage twice (it would be a false negative), and only full batches train. With few
 * passages, or many questions per passage, a large batch cannot be filled, and a few hundred rows give only a
 * handful of steps. So: the batch shrinks until an epoch holds at least `minBatches` full batches (never below 4
 * pairs: fewer in-batch negatives teach little), then the epochs grow until there are `minSteps` optimizer steps
 * (at most `maxEpochs`). evalSteps is kept below the number of steps so the dev curve has points.
 */
export function fitRecipe(
  recipe: FineTuneRecipe,
  rows: readonly { anchor: string; positive: string; negative?: string }[],
  options: { minBatches?: number; minSteps?: number; maxEpochs?: number } = {},
): FittedRecipe {
  const minBatches = options.minBatches ?? 4;
  const minSteps = options.minSteps ?? 40;
  const maxEpochs = options.maxEpochs ?? 12;
  const texts = rows.map((r) => (r.negative ? [r.anchor, r.positive, r.negative] : [r.anchor, r.positive]));
  if (rows.length < 8)
    throw new Error(
      `fitRecipe: ${rows.length} training pairs are too few to fine-tune (at least 8 needed). Fix: add documents, or generate more questions per passage in notebook 01.`,
    );
  const full = (batchSize: number) =>
    noDuplicatesBatches(texts, 0, { batchSize, seed: recipe.seed ?? 42, dropLast: true }).length;
  const notes: string[] = [];
  let batchSize = recipe.batchSize;
  while (batchSize > 4 && full(batchSize) < minBatches) batchSize = Math.max(4, Math.floor(batchSize / 2));
  const batches = full(batchSize);
  if (batches === 0)
    throw new Error(
      `fitRecipe: ${rows.length} training pairs cannot fill one batch of 4 different passages. Fix: add documents (more passages).`,
    );
  if (batchSize !== recipe.batchSize)
    notes.push(
      `batch size ${recipe.batchSize} -> ${batchSize}: ${rows.length} pairs fill only ${full(recipe.batchSize)} batch(es) of ${recipe.batchSize} different passages; ${batchSize} gives ${batches} per epoch.`,
    );
  let epochs = recipe.epochs;
  while (epochs < maxEpochs && epochs * batches < minSteps) epochs++;
  if (epochs !== recipe.epochs)
    notes.push(
      `epochs ${recipe.epochs} -> ${epochs}: ${batches} batches per epoch; ${epochs} epochs give ${epochs * batches} optimizer steps (aiming at ${minSteps}).`,
    );
  const steps = recipe.maxSteps ? Math.min(recipe.maxSteps, epochs * batches) : epochs * batches;
  const evalSteps = Math.max(1, Math.min(recipe.evalSteps, Math.ceil(steps / 4)));
  if (evalSteps !== recipe.evalSteps)
    notes.push(`dev evaluation every ${evalSteps} steps (not ${recipe.evalSteps}), so the curve has points.`);
  const leftover = rows.length - batches * batchSize;
  notes.push(
    leftover > 0
      ? `${leftover} of ${rows.length} pairs per epoch fit no full batch (the no-duplicates sampler keeps a passage out of a batch that already has it; dropLast skips the last partial batch); the next epoch's shuffle uses them.`
      : `all ${rows.length} pairs fit full batches.`,
  );
  return { recipe: { ...recipe, batchSize, epochs, evalSteps }, batchesPerEpoch: batches, leftover, steps, notes };
}
