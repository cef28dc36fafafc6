/**
 * npm run bench -- reproduce-estimate [--recipe NAME] [--steps N] [--query-words Q] [--passage-words P] [--rows R]
 *                                     [--probe PAIRS] [--mini-batch M] [--memory-limit-gib G] [--json]
 *
 * What `npm run reproduce -- <recipe>` would print as its time estimate, on a machine without the Hub: the recipe's
 * loss (recipes/<NAME>.json, as the runner builds it: e.g. MatryoshkaLoss over GradCache MNRL, mini-batch 32) trained
 * for N steps (default 3) on probe batches of min(batch, 64) pairs by a randomly initialised BERT of the recipe model's
 * shape (test/fixtures/shaped-model.ts; the step time depends on the shape, not the weights), on seeded texts of about Q
 * and P words (defaults 16 and 64, roughly a question and a 10-K context of the Schmid dataset), then extrapolated to R
 * training rows (default: the dataset's) and the recipe's batch and epochs exactly as the runner does (src/reproduce/run.ts).
 * --probe sets the probe's pairs (default 64); --mini-batch the GradCache mini-batch (it changes memory, not the
 * result); --memory-limit-gib overrides the trainer's memory budget (memoryLimit), e.g. to time a base-size step on the
 * wasm heap that the planner's 20% safety margin would refuse. --json prints one JSON object on the last line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { backendInfo } from "../src/backend";
import { loadModel } from "../src/model/sentence-transformer";
import { loadRecipe } from "../src/reproduce/recipes";
import { estimateRun, formatDuration } from "../src/reproduce/run";
import { type ModelShape, MODEL_SHAPES, seededWordTexts, writeShapedModelFolder } from "../test/fixtures/shaped-model";

const { values: flags } = parseArgs({
  options: {
    recipe: { type: "string", default: "schmid-bge-base-10k" },
    steps: { type: "string", default: "3" },
    "query-words": { type: "string", default: "16" },
    "passage-words": { type: "string", default: "64" },
    rows: { type: "string" },
    probe: { type: "string" },
    "mini-batch": { type: "string" },
    "memory-limit-gib": { type: "string" },
    json: { type: "boolean", default: false },
  },
});

/** The recipes' models, by shape (BERT-style encoders; RoBERTa's compute per token is the same as BERT's). */
const SHAPES: Record<string, ModelShape & { trainRows: number }> = {
  "BAAI/bge-base-en-v1.5": {
    standsFor: "BAAI/bge-base-en-v1.5",
    layers: 12,
    hidden: 768,
    heads: 12,
    intermediate: 3072,
    maxSeqLength: 512,
    pooling: "cls",
    trainRows: 6300,
  },
  "sentence-transformers/all-distilroberta-v1": {
    standsFor: "sentence-transformers/all-distilroberta-v1",
    layers: 6,
    hidden: 768,
    heads: 12,
    intermediate: 3072,
    maxSeqLength: 512,
    pooling: "mean",
    trainRows: 812,
  },
  "BAAI/bge-small-en": { ...MODEL_SHAPES["bge-small"], standsFor: "BAAI/bge-small-en", trainRows: 670 },
};

async function main(): Promise<void> {
  const loaded = loadRecipe(flags.recipe);
  const recipe = flags["mini-batch"]
    ? { ...loaded, ours: { ...loaded.ours, mini_batch_size: Number(flags["mini-batch"]) } }
    : loaded;
  const shape = SHAPES[recipe.model];
  if (!shape) throw new Error(`no shape for ${recipe.model}; add it to SHAPES`);
  const steps = Number(flags.steps);
  const rows = Number(flags.rows ?? shape.trainRows);
  const dir = mkdtempSync(join(tmpdir(), "reproduce-estimate-"));
  try {
    writeShapedModelFolder(dir, shape);
    const qWords = Number(flags["query-words"]);
    const pWords = Number(flags["passage-words"]);
    // seededWordTexts(n, t) gives t + 8 words.
    const anchors = seededWordTexts(rows, Math.max(1, qWords - 8), 1);
    const positives = seededWordTexts(rows, Math.max(1, pWords - 8), 2);
    const negatives = seededWordTexts(rows, Math.max(1, pWords - 8), 3);
    const train = anchors.map((anchor, i) => ({
      anchor,
      positive: positives[i],
      ...(recipe.dataset.columns?.negative ? { negative: negatives[i] } : {}),
    }));
    const dims = recipe.loss.name === "MatryoshkaLoss" ? recipe.loss.matryoshka_dims : undefined;
    const started = performance.now();
    const model = await loadModel(dir);
    const e = await estimateRun(recipe, model, train, dims, recipe.epochs, steps, {
      probePairs: flags.probe ? Number(flags.probe) : undefined,
      memoryLimit: flags["memory-limit-gib"] ? Math.round(Number(flags["memory-limit-gib"]) * 1024 ** 3) : undefined,
    });
    const wall = (performance.now() - started) / 1000;
    const perStep = e.seconds_per_pair * e.pairs_per_step;
    const info = backendInfo();
    console.log(
      `${recipe.name}: a ${shape.layers}-layer, ${shape.hidden}-wide BERT shaped like ${recipe.model} (random weights), ` +
        `${recipe.ours.loss}${dims ? " inside MatryoshkaLoss" : ""}${recipe.ours.mini_batch_size ? ` (mini-batch ${recipe.ours.mini_batch_size})` : ""}, ${steps} steps of ${e.probe_pairs} pairs ` +
        `(~${qWords} / ${pWords} words) on ${info?.name} (${info?.package}), measured in ${formatDuration(wall)}:`,
    );
    console.log(
      `  ${e.seconds_per_pair.toFixed(3)} s per pair -> ${formatDuration(perStep)} per step of ${e.pairs_per_step} pairs x ` +
        `${e.steps} steps (${rows} rows, ${recipe.epochs} epochs) = ${formatDuration(e.train_seconds)} of training`,
    );
    if (flags.json)
      console.log(
        JSON.stringify({
          recipe: recipe.name,
          model_shape: shape,
          backend: info?.name,
          query_words: qWords,
          passage_words: pWords,
          mini_batch: recipe.ours.mini_batch_size ?? null,
          ...e,
          seconds_per_step: perStep,
          measured_seconds: wall,
        }),
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
