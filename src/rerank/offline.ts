/**
 * The offline re-ranker: there is no pretrained cross-encoder on this machine, so one is built from what ships,
 * deterministically, in seconds to a minute:
 *
 *   shape       BERT-Tiny (2 layers, hidden 128, 2 heads, FFN 512: the offline BERT's), 128 tokens per pair
 *   embeddings  the shipped offline static model's token table (assets/offline-model, 256-d, WordNet-trained), put
 *               through a seeded Gaussian projection to 128-d (dot products kept in expectation, Johnson-Lindenstrauss)
 *               and scaled to Hugging Face's initializer_range (std 0.02); every other weight Hugging Face's init
 *   pretraining BinaryCrossEntropyLoss on WordNet pairs (src/offline/wordnet: lemma -> definition, synonym, example
 *               -> definition, lemma -> hypernym), each positive with one random other pair's passage as negative
 *
 * What it is: a small cross-encoder that has seen general-English word relations, never a retrieval query; it is
 * the "base" re-ranker of the offline course, and what fine-tuning on the course's questions starts from. What it
 * does is measured (bench/reranker.ts, notebook 05b), not assumed. Built once per recipe and cached as a folder
 * (`cacheDir`), in CrossEncoder's layout.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initBackend, tf } from "../backend";
import { DEFAULT_SEED } from "../defaults";
import { parseTransformerConfig, transformerConfigToJson } from "../model/config";
import { initBertWeights, normalSampler, offlineBertConfig } from "../model/embedded";
import { readOfflineModelFile } from "../model/offline-file";
import { offlineBertTokenizer } from "../model/tokenizer";
import { offlinePretrainPairs } from "../offline/pretrain";
import { mulberry32, rngFor } from "../random";
import { CrossEncoder, crossEncoderFromEncoder } from "./cross-encoder";
import { readCrossEncoderFolder } from "./folder";
import { BinaryCrossEntropyLoss, type RerankExample } from "./losses";
import { trainCrossEncoder } from "./train";

export interface OfflineRerankerRecipe {
  seed: number;
  /** WordNet positive pairs (each also gives one random negative). */
  pairs: number;
  batchSize: number;
  learningRate: number;
  epochs: number;
  warmupRatio: number;
  /** Tokens per pair. */
  maxLength: number;
}

export const OFFLINE_RERANKER_RECIPE: Readonly<OfflineRerankerRecipe> = Object.freeze({
  seed: DEFAULT_SEED,
  pairs: 1500,
  batchSize: 32,
  learningRate: 1e-3,
  epochs: 1,
  warmupRatio: 0.1,
  maxLength: 128,
});

/** The untrained offline cross-encoder: BERT-Tiny with the static table's projected rows as token embeddings. */
export function offlineRerankerStart(recipe: OfflineRerankerRecipe = { ...OFFLINE_RERANKER_RECIPE }): CrossEncoder {
  const base = offlineBertConfig();
  const config = parseTransformerConfig(
    { ...transformerConfigToJson(base), architectures: ["BertForSequenceClassification"] },
    "offline re-ranker config",
  );
  const weights = initBertWeights(config, recipe.seed);
  const { table } = readOfflineModelFile();
  const [vocab, dim] = table.shape;
  const H = config.hiddenSize;
  const normal = normalSampler(mulberry32(recipe.seed + 1));
  const projection = Float32Array.from({ length: dim * H }, () => normal() / Math.sqrt(dim));
  const words = tf.tidy(() => {
    const projected = tf.matMul(tf.tensor2d(table.data, [vocab, dim]), tf.tensor2d(projection, [dim, H]));
    const rms = tf.sqrt(tf.mean(tf.square(projected)));
    return tf.mul(projected, tf.div(0.02, rms));
  });
  const data = words.dataSync() as Float32Array;
  words.dispose();
  weights.set("embeddings.word_embeddings.weight", { shape: [vocab, H], data });
  return crossEncoderFromEncoder(config, weights, offlineBertTokenizer(recipe.maxLength), {
    seed: recipe.seed,
    maxLength: recipe.maxLength,
    name: "offline-reranker",
  });
}

/** The WordNet training examples of a recipe: each pair labeled 1, plus its anchor with a random other passage, 0. */
export function offlineRerankerExamples(recipe: OfflineRerankerRecipe): RerankExample[] {
  const pairs = offlinePretrainPairs({ seed: recipe.seed, pairs: recipe.pairs });
  const rng = rngFor(recipe.seed, "offline-reranker-negatives");
  return pairs.flatMap((p, i) => {
    let j = Math.floor(rng() * (pairs.length - 1));
    if (j >= i) j++;
    return [
      { kind: "labeled-pair" as const, query: p.anchor, passage: p.positive, label: 1 },
      { kind: "labeled-pair" as const, query: p.anchor, passage: pairs[j].positive, label: 0 },
    ];
  });
}

/**
 * How the model orders WordNet pairs it never trained on (the `held` pairs after the recipe's): the share of
 * anchors for which the true passage scores above the random one (0.5 = chance).
 */
export async function offlineRerankerHeldOut(
  model: CrossEncoder,
  recipe: OfflineRerankerRecipe,
  held = 200,
): Promise<number> {
  const all = offlineRerankerExamples({ ...recipe, pairs: recipe.pairs + held }).slice(2 * recipe.pairs);
  const scores = await model.predict(all.map((e) => (e.kind === "labeled-pair" ? [e.query, e.passage] : ["", ""])));
  let wins = 0;
  for (let i = 0; i + 1 < scores.length; i += 2) if (scores[i] > scores[i + 1]) wins++;
  return wins / (scores.length / 2);
}

/** Short hash of the recipe and the shipped table's checksum: the cache folder's name. */
function recipeKey(recipe: OfflineRerankerRecipe): string {
  const { metadata } = readOfflineModelFile();
  return createHash("sha256")
    .update(JSON.stringify({ recipe, table: metadata.table_sha256 ?? "" }))
    .digest("hex")
    .slice(0, 12);
}

/**
 * The offline re-ranker, pretrained on WordNet pairs (see the header): read from `cacheDir` when it was built there
 * with the same recipe, else built (deterministic) and saved there.
 */
export async function offlineCrossEncoder(
  options: { cacheDir?: string; recipe?: Partial<OfflineRerankerRecipe>; log?: (line: string) => void } = {},
): Promise<CrossEncoder> {
  await initBackend();
  const recipe = { ...OFFLINE_RERANKER_RECIPE, ...options.recipe };
  const folder = options.cacheDir ? join(options.cacheDir, `offline-reranker-${recipeKey(recipe)}`) : undefined;
  if (folder && existsSync(join(folder, "model.safetensors")))
    return new CrossEncoder(readCrossEncoderFolder(folder), "offline-reranker");
  const model = offlineRerankerStart(recipe);
  const examples = offlineRerankerExamples(recipe);
  const t0 = performance.now();
  const result = await trainCrossEncoder(model, examples, {
    loss: new BinaryCrossEntropyLoss(),
    epochs: recipe.epochs,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    warmupRatio: recipe.warmupRatio,
    seed: recipe.seed,
  });
  options.log?.(
    `offline re-ranker: ${result.steps} steps on ${examples.length} WordNet pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
      `mean loss ${result.trainLoss.toFixed(3)}; held-out WordNet pairs ordered right: ${(100 * (await offlineRerankerHeldOut(model, recipe))).toFixed(0)}%`,
  );
  if (folder) model.save(folder, { overwrite: true });
  return model;
}
