/**
 * The tutorials' recipes as data: recipes/<name>.json, one file per tutorial, holding what the tutorial ran (model,
 * dataset and columns, split, loss and its parameters, epochs, learning rate, schedule, warmup, batch and effective
 * batch, evaluator, metrics), how this project runs the same thing (`ours`), the published numbers with their source,
 * and, in `differences`, everything that cannot be done the same way here. This module reads and checks them; the
 * runner (run.ts) executes them. A recipe is never code: a new tutorial is a new JSON file.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findRepoRoot } from "../env";

export type DataLayout = "pairs-train-test-split" | "triplets-with-pool" | "llamaindex-qa-json";

export interface PublishedRow {
  /** Matryoshka dimension of the row (Schmid's table), or the metric (the others' tables). */
  dim?: number;
  metric?: string;
  base: number;
  fine_tuned: number;
}

export interface Recipe {
  name: string;
  title: string;
  sources: { page: string; code: string };
  model: string;
  dataset: {
    /** Hub dataset id; absent when the data is not on the Hub (then `files` says where it is). */
    hub?: string;
    revision?: string;
    derived_from?: string;
    layout: DataLayout;
    /** Our split name -> the Hub dataset's split name. */
    splits?: Record<string, string>;
    /** Our column (anchor, positive, negative) -> the dataset's column. */
    columns?: Record<string, string>;
    files?: { where: string; train: string; val: string; format: string };
    about: string;
  };
  split: { how: string; test_size?: number; seed?: number; [k: string]: unknown };
  loss: {
    name: string;
    scale?: number;
    matryoshka_dims?: number[];
    matryoshka_weights?: number[];
    inner?: { name: string; scale: number; similarity: string };
    [k: string]: unknown;
  };
  epochs: number;
  learning_rate: number;
  schedule: "linear" | "cosine";
  warmup_ratio: number;
  /** "floor": warmup steps = floor(steps x ratio), as model.fit's callers compute them (default: transformers' ceil). */
  warmup_rounding?: "floor" | "ceil";
  weight_decay: number;
  batch_sampler: "no_duplicates" | "default";
  batch_size: number;
  gradient_accumulation_steps: number;
  effective_batch_size: number;
  /** How the trainer here runs it. */
  ours: { batch_size: number; loss: string; mini_batch_size?: number; why?: string };
  evaluator: {
    name: string;
    queries: string;
    corpus: string;
    truncate_dims?: number[];
    pool_size?: number;
    during_training?: string;
    [k: string]: unknown;
  };
  metrics: string[];
  published: {
    source: string;
    metric?: string;
    metric_names?: Record<string, string>;
    rows: PublishedRow[];
    [k: string]: unknown;
  };
  /** The slice --quick trains and evaluates on. */
  quick: { train_rows: number; eval_queries: number; corpus_size: number; epochs: number };
  differences: string[];
}

const LAYOUTS: readonly DataLayout[] = ["pairs-train-test-split", "triplets-with-pool", "llamaindex-qa-json"];

/** The folder of the recipe files: <repo>/recipes. */
export function recipesDir(): string {
  return join(findRepoRoot(), "recipes");
}

/** The recipes' names, sorted. */
export function listRecipes(dir: string = recipesDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Checks a parsed recipe; every problem names the file and the field. */
function checkRecipe(value: unknown, file: string): Recipe {
  const problems: string[] = [];
  const r = value as Record<string, unknown>;
  if (!r || typeof r !== "object" || Array.isArray(r)) throw new Error(`${file}: a recipe must be a JSON object.`);
  const need = (path: string, ok: (v: unknown) => boolean, what: string) => {
    const v = path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r);
    if (!ok(v)) problems.push(`"${path}" must be ${what} (got ${JSON.stringify(v)})`);
  };
  const str = (v: unknown) => typeof v === "string" && v.trim() !== "";
  const pos = (v: unknown) => typeof v === "number" && v > 0 && Number.isFinite(v);
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  for (const k of ["name", "title", "sources.page", "sources.code", "model", "dataset.about", "loss.name", "ours.loss"])
    need(k, str, "a non-empty string");
  need("dataset.layout", (v) => LAYOUTS.includes(v as DataLayout), `one of ${LAYOUTS.join(", ")}`);
  need(
    "dataset",
    (v) => str((v as Recipe["dataset"])?.hub) || (v as Recipe["dataset"])?.files !== undefined,
    'a "hub" id or "files"',
  );
  for (const k of ["epochs", "batch_size", "gradient_accumulation_steps", "effective_batch_size", "ours.batch_size"])
    need(k, posInt, "a positive integer");
  for (const k of ["quick.train_rows", "quick.eval_queries", "quick.corpus_size", "quick.epochs"])
    need(k, posInt, "a positive integer");
  need("learning_rate", pos, "a positive number");
  need("warmup_ratio", (v) => typeof v === "number" && v >= 0 && v <= 1, "a number in 0..1");
  need("weight_decay", (v) => typeof v === "number" && v >= 0, "a number >= 0");
  need("schedule", (v) => v === "linear" || v === "cosine", '"linear" or "cosine"');
  need("warmup_rounding", (v) => v === undefined || v === "floor" || v === "ceil", '"floor" or "ceil" when given');
  need("batch_sampler", (v) => v === "no_duplicates" || v === "default", '"no_duplicates" or "default"');
  need("metrics", (v) => Array.isArray(v) && v.length > 0 && v.every(str), "a non-empty list of metric names");
  need("published.source", str, "a URL");
  need(
    "published.rows",
    (v) =>
      Array.isArray(v) &&
      v.length > 0 &&
      v.every((x) => typeof x?.base === "number" && typeof x?.fine_tuned === "number"),
    "a list of {base, fine_tuned} rows",
  );
  need("differences", (v) => Array.isArray(v) && v.every(str), "a list of sentences");
  if (r.loss && (r.loss as Recipe["loss"]).matryoshka_dims !== undefined)
    need(
      "loss.matryoshka_dims",
      (v) => Array.isArray(v) && v.length > 0 && v.every(posInt),
      "a list of positive integers",
    );
  if (posInt(r.batch_size) && posInt(r.gradient_accumulation_steps) && posInt(r.effective_batch_size)) {
    const product = (r.batch_size as number) * (r.gradient_accumulation_steps as number);
    if (product !== r.effective_batch_size)
      problems.push(
        `"effective_batch_size" ${r.effective_batch_size} is not batch_size x gradient_accumulation_steps (${product})`,
      );
  }
  if (problems.length > 0) throw new Error(`${file}: ${problems.join("; ")}. Fix the recipe file.`);
  return value as Recipe;
}

/** Reads and checks recipes/<name>.json; an unknown name lists the recipes there are. */
export function loadRecipe(name: string, dir: string = recipesDir()): Recipe {
  const file = join(dir, `${name}.json`);
  if (!/^[\w.-]+$/.test(name) || !existsSync(file))
    throw new Error(
      `No recipe "${name}" in ${dir}; the recipes are ${listRecipes(dir).join(", ") || "none"} (npm run reproduce -- --list).`,
    );
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}).`);
  }
  const recipe = checkRecipe(value, file);
  if (recipe.name !== name)
    throw new Error(`${file}: "name" is "${recipe.name}"; it must be the file's name, "${name}".`);
  return recipe;
}

/** The loss as one string: "MatryoshkaLoss(MultipleNegativesRankingLoss)". */
export function lossLabel(recipe: Recipe): string {
  return recipe.loss.inner ? `${recipe.loss.name}(${recipe.loss.inner.name})` : recipe.loss.name;
}

/** Where the data comes from, in one string: the Hub id, or the files' location. */
export function datasetLabel(recipe: Recipe): string {
  const d = recipe.dataset;
  if (d.hub) return d.hub;
  return `${d.files?.where} (${d.files?.train}, ${d.files?.val}; not on the Hub: --data <dir>)`;
}

/** What --dry-run --json prints: the recipe in the shape. */
export function dryRun(recipe: Recipe): Record<string, unknown> {
  return {
    model: recipe.model,
    dataset: datasetLabel(recipe),
    loss: lossLabel(recipe),
    matryoshka_dims: recipe.loss.matryoshka_dims ?? null,
    epochs: recipe.epochs,
    learning_rate: recipe.learning_rate,
    effective_batch_size: recipe.effective_batch_size,
    published: recipe.published,
  };
}
