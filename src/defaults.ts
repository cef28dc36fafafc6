/**
 * Every default the library and the CLI share, written once and imported (nothing below restates a number).
 *
 * Three learning rates, different on purpose:
 *   TRAIN_DEFAULTS.learningRate      5e-5  train()'s API default, the one of transformers' TrainingArguments (and so
 *                                          of SentenceTransformerTrainer): code ported from Python behaves the same.
 *   FINE_TUNE_DEFAULTS.learningRate  2e-5  the recipe for fine-tuning a pretrained Transformer that sentence-transformers'
 *                                          training examples use (with 10% linear warm-up); the CLI's `train` and the
 *                                          course's Transformer recipe start from it.
 *   1e-3 (course/recipes.ts OFFLINE_FINETUNE_RECIPE) a StaticEmbedding model (the offline default) has no Transformer
 *                                          below its token vectors and needs larger steps; chosen by a sweep on the
 *                                          dev splits (assets/offline-model/README.md). The shipped offline model's own
 *                                          pretraining recipe (offline/pretrain.ts) is a fourth, 1e-2, over 120k pairs.
 */

/** Seed of every seeded choice (splits, samplers, bootstrap resamples, mining, generators) when none is given. */
export const DEFAULT_SEED = 42;

/** Resamples of the paired bootstrap (eval/compare.ts) behind every confidence interval. */
export const BOOTSTRAP_RESAMPLES = 1000;

/**
 * MultipleNegativesRankingLoss scale (and its cached / symmetric variants): logits = 20 x cosine, temperature 0.05,
 * sentence-transformers' default.
 */
export const MNRL_SCALE = 20;

/** train()'s defaults: transformers' TrainingArguments, except weightDecay (see train/options.ts). */
export const TRAIN_DEFAULTS = Object.freeze({
  learningRate: 5e-5,
  batchSize: 16,
  epochs: 1,
  /** No warm-up. */
  warmupRatio: 0,
  /** sentence-transformers' model.fit() default (TrainingArguments has 0.0). */
  weightDecay: 0.01,
  /** Gradient clipping at this global L2 norm (0 = none). */
  maxGradNorm: 1,
  seed: DEFAULT_SEED,
});

/** Fine-tuning a pretrained Transformer on (anchor, positive) pairs: sentence-transformers' training examples. */
export const FINE_TUNE_DEFAULTS = Object.freeze({
  learningRate: 2e-5,
  /** In-batch negatives: batch size - 1 per anchor. */
  batchSize: 32,
  epochs: 1,
  warmupRatio: 0.1,
  scale: MNRL_SCALE,
  seed: DEFAULT_SEED,
});
