/**
 * A recipe's data -> the project's BEIR layout (src/data/beir.ts: corpus.jsonl, queries.jsonl, qrels/<split>.tsv) plus
 * the training rows, with the split the tutorial used:
 *
 *   pairs-train-test-split  (Schmid)      one split of (question, context) pairs; datasets' train_test_split(test_size):
 *                                         a seeded permutation, its first ceil(n * test_size) rows are the test split.
 *                                         Corpus: every row's context (c<i>), queries q<i>, qrels train and test.
 *   triplets-with-pool      (job search)  the dataset's own train / validation / test splits of (query, positive,
 *                                         negative); train rows are the train triplets; the corpus is a pool of
 *                                         pool_size documents: every test positive, then negatives of train and
 *                                         validation (deduplicated, never a test positive) in a seeded shuffle.
 *                                         Documents are matched by text, as the tutorial's script does.
 *   llamaindex-qa-json      (LlamaIndex)  train_dataset.json / val_dataset.json ({queries, corpus, relevant_docs});
 *                                         train rows are (query, its chunk) of train; the BEIR folder is val's.
 *
 * A Hub dataset's BEIR folder is written to <runs>/hf/<owner>--<name>/ (what COURSE_DATASET=hf:owner/name reads);
 * files given with --data go to the run's own folder.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadBeir, type QrelRow, writeBeir } from "../data/beir";
import type { CorpusRow, IRSplit } from "../data/types";
import { type CourseConfig, getConfig } from "../env";
import { rngFor, shuffled } from "../random";
import { type HubDatasetOptions, loadHubDataset } from "./hub-dataset";
import type { Recipe } from "./recipes";

/** One training row: anchor, positive and, for triplet data, a hard negative. */
export type TrainRow = { anchor: string; positive: string; negative?: string };

export interface RecipeData {
  train: TrainRow[];
  /** The split the published numbers are measured on, loaded back from the BEIR folder. */
  evaluation: IRSplit;
  beirDir: string;
  /** "hub:owner/name@<commit> (repository | parquet-conversion)" or the --data folder. */
  source: string;
}

export interface RecipeDataOptions {
  /** Folder of the tutorial's files (layouts without a Hub id, or to use local copies). */
  dataDir?: string;
  /** Where the BEIR folder goes when the data comes from dataDir. */
  workDir: string;
  hub?: HubDatasetOptions;
}

/** <runs>/hf/<owner>--<name>: the BEIR folder of a Hub dataset (COURSE_DATASET=hf:owner/name). */
export function hubBeirDir(repo: string, cfg: CourseConfig = getConfig()): string {
  const runs = cfg.course.runsDir ?? join(cfg.repoRoot, "runs");
  return join(runs, "hf", repo.replace(/^hf:/, "").split("@")[0].split("/").join("--"));
}

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

/** datasets' train_test_split: (train, test) row indices of a seeded permutation; n_test = ceil(n * test_size). */
export function trainTestSplit(n: number, testSize: number, seed: number): { train: number[]; test: number[] } {
  if (!(testSize > 0 && testSize < 1)) throw new RangeError(`test_size ${testSize} must be between 0 and 1.`);
  const nTest = Math.ceil(n * testSize);
  if (nTest >= n) throw new RangeError(`test_size ${testSize} of ${n} rows leaves no training row.`);
  const perm = shuffled(
    Array.from({ length: n }, (_, i) => i),
    rngFor(seed, "train_test_split"),
  );
  return { test: perm.slice(0, nTest), train: perm.slice(nTest) };
}

/** Pairs (anchor, positive) -> BEIR with a train / test split of the rows. */
function pairsToBeir(anchors: string[], positives: string[], testSize: number, seed: number) {
  const { train, test } = trainTestSplit(anchors.length, testSize, seed);
  const corpus: CorpusRow[] = positives.map((t, i) => ({ _id: `c${i}`, doc_id: `c${i}`, title: "", text: t }));
  const queries = anchors.map((t, i) => ({ _id: `q${i}`, text: t }));
  const qrels = (rows: number[]): QrelRow[] => rows.map((i) => ({ queryId: `q${i}`, corpusId: `c${i}`, score: 1 }));
  return {
    files: { corpus, queries, qrels: { train: qrels(train), test: qrels(test) } },
    train: train.map((i) => ({ anchor: anchors[i], positive: positives[i] })),
  };
}

/** The columns of a Hub dataset split, renamed to ours (anchor, positive, negative). */
async function hubColumns(recipe: Recipe, split: string, hub: HubDatasetOptions | undefined) {
  const d = recipe.dataset;
  const columns = d.columns ?? {};
  const ds = await loadHubDataset(d.hub as string, {
    ...hub,
    revision: hub?.revision ?? d.revision,
    split: d.splits?.[split] ?? split,
    columns: Object.values(columns),
  });
  const out: Record<string, string[]> = {};
  for (const [ours, theirs] of Object.entries(columns)) out[ours] = ds.frame.getColumn(theirs).toArray().map(text);
  return { columns: out, label: `hub:${ds.repo}@${ds.commit} (${ds.source})` };
}

/** The job-search pool: every test positive, then train / validation negatives (unique, not a positive) shuffled. */
function poolToBeir(
  test: { anchor: string[]; positive: string[] },
  negatives: string[],
  poolSize: number,
  seed: number,
) {
  const positives = [...new Set(test.positive)];
  const positiveSet = new Set(positives);
  const unique = [...new Set(negatives)].filter((t) => !positiveSet.has(t));
  const need = Math.max(0, poolSize - positives.length);
  if (need > unique.length)
    throw new Error(
      `The pool of ${poolSize} documents needs ${need} negatives besides the ${positives.length} test positives, but the data has ${unique.length} distinct ones; lower the pool size.`,
    );
  const pool = shuffled(
    [...positives, ...shuffled(unique, rngFor(seed, "pool negatives")).slice(0, need)],
    rngFor(seed, "pool order"),
  );
  const idOf = new Map(pool.map((t, i) => [t, `d${i}`]));
  return {
    corpus: pool.map((t, i) => ({ _id: `d${i}`, doc_id: `d${i}`, title: "", text: t })),
    queries: test.anchor.map((t, i) => ({ _id: `q${i}`, text: t })),
    qrels: { test: test.positive.map((t, i) => ({ queryId: `q${i}`, corpusId: idOf.get(t) as string, score: 1 })) },
  };
}

interface QaJson {
  queries: Record<string, string>;
  corpus: Record<string, string>;
  relevant_docs: Record<string, string[]>;
}

function readQaJson(file: string): QaJson {
  if (!existsSync(file))
    throw new Error(
      `${file} is missing: the LlamaIndex recipe's data is not on the Hub; download train_dataset.json and val_dataset.json from https://github.com/run-llama/finetune-embedding/tree/main/data and pass their folder with --data <dir>.`,
    );
  let v: QaJson;
  try {
    v = JSON.parse(readFileSync(file, "utf8")) as QaJson;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}).`);
  }
  for (const k of ["queries", "corpus", "relevant_docs"] as const)
    if (!v || typeof v[k] !== "object" || v[k] === null)
      throw new Error(
        `${file}: field "${k}" is missing; expected LlamaIndex's {"queries", "corpus", "relevant_docs"}.`,
      );
  for (const [q, docs] of Object.entries(v.relevant_docs))
    if (!Array.isArray(docs) || docs.length === 0 || !docs.every((d) => d in v.corpus))
      throw new Error(`${file}: relevant_docs["${q}"] must list corpus ids of "corpus" (got ${JSON.stringify(docs)}).`);
  return v;
}

/** Downloads (or reads) the recipe's data, writes its BEIR folder and returns the training rows and evaluation split. */
export async function recipeData(recipe: Recipe, options: RecipeDataOptions): Promise<RecipeData> {
  const d = recipe.dataset;
  const seed = recipe.split.seed ?? 42;
  if (d.layout === "pairs-train-test-split") {
    const { columns, label } = await hubColumns(recipe, "train", options.hub);
    const mapped = pairsToBeir(columns.anchor, columns.positive, recipe.split.test_size ?? 0.1, seed);
    const beirDir = hubBeirDir(d.hub as string);
    writeBeir(beirDir, mapped.files);
    return { train: mapped.train, evaluation: loadBeir(beirDir, "test"), beirDir, source: label };
  }
  if (d.layout === "triplets-with-pool") {
    const train = await hubColumns(recipe, "train", options.hub);
    const validation = await hubColumns(recipe, "validation", options.hub);
    const test = await hubColumns(recipe, "test", options.hub);
    const files = poolToBeir(
      { anchor: test.columns.anchor, positive: test.columns.positive },
      [...train.columns.negative, ...validation.columns.negative],
      recipe.evaluator.pool_size ?? 800,
      seed,
    );
    const beirDir = hubBeirDir(d.hub as string);
    writeBeir(beirDir, files);
    const rows = train.columns.anchor.map((anchor, i) => ({
      anchor,
      positive: train.columns.positive[i],
      negative: train.columns.negative[i],
    }));
    return { train: rows, evaluation: loadBeir(beirDir, "test"), beirDir, source: train.label };
  }
  const dir = options.dataDir;
  if (!dir)
    throw new Error(
      `Recipe ${recipe.name}: its data is not on the Hub (${d.files?.where}); download ${d.files?.train} and ${d.files?.val} and pass their folder with --data <dir>.`,
    );
  const trainJson = readQaJson(join(dir, d.files?.train ?? "train_dataset.json"));
  const val = readQaJson(join(dir, d.files?.val ?? "val_dataset.json"));
  const train = Object.entries(trainJson.queries)
    .filter(([q]) => trainJson.relevant_docs[q]?.length)
    .map(([q, anchor]) => ({ anchor, positive: trainJson.corpus[trainJson.relevant_docs[q][0]] }));
  const beirDir = join(options.workDir, "beir");
  writeBeir(beirDir, {
    corpus: Object.entries(val.corpus).map(([_id, t]) => ({ _id, doc_id: _id, title: "", text: t })),
    queries: Object.entries(val.queries).map(([_id, t]) => ({ _id, text: t })),
    qrels: {
      test: Object.entries(val.relevant_docs).flatMap(([queryId, docs]) =>
        docs.map((corpusId) => ({ queryId, corpusId, score: 1 })),
      ),
    },
  });
  return { train, evaluation: loadBeir(beirDir, "test"), beirDir, source: dir };
}

/**
 * The --quick slice of an evaluation split: its first `queries` queries, and a corpus of `corpusSize` passages that
 * holds every relevant passage of those queries, filled up with others in a seeded order.
 */
export function sliceSplit(split: IRSplit, queries: number, corpusSize: number, seed: number): IRSplit {
  const kept = [...split.relevant.keys()].slice(0, queries);
  const relevant = new Map(kept.map((q) => [q, split.relevant.get(q) as Set<string>]));
  const needed = new Set(kept.flatMap((q) => [...(relevant.get(q) as Set<string>)]));
  const others = shuffled(
    [...split.corpus.keys()].filter((id) => !needed.has(id)),
    rngFor(seed, "quick corpus"),
  ).slice(0, Math.max(0, corpusSize - needed.size));
  const ids = new Set([...needed, ...others]);
  return {
    split: split.split,
    queries: new Map(kept.map((q) => [q, split.queries.get(q) as string])),
    corpus: new Map([...split.corpus].filter(([id]) => ids.has(id))),
    relevant,
  };
}

/** Column pairs tried, in order, for a Hub dataset no recipe describes (COURSE_DATASET=hf:owner/name). */
const PAIR_COLUMNS: readonly [string, string][] = [
  ["anchor", "positive"],
  ["question", "context"],
  ["query", "positive"],
  ["query", "document"],
  ["query", "passage"],
  ["question", "answer"],
  ["sentence1", "sentence2"],
];

/**
 * The BEIR folder of a Hub dataset for the course (hubBeirDir): through the recipe that names the dataset when there
 * is one, else its train split's first known pair of columns (PAIR_COLUMNS) split 90/10 with a seed. Returns the folder.
 */
export async function prepareHubBeir(
  spec: string,
  recipes: readonly Recipe[],
  hub?: HubDatasetOptions,
): Promise<string> {
  const id = spec.replace(/^hf:/, "");
  const [repo, revision] = id.split("@");
  const recipe = recipes.find((r) => r.dataset.hub === repo);
  if (recipe) {
    const withRevision = revision ? { ...recipe, dataset: { ...recipe.dataset, revision } } : recipe;
    return (await recipeData(withRevision, { workDir: hubBeirDir(repo), hub })).beirDir;
  }
  const ds = await loadHubDataset(id, { ...hub, split: "train" });
  const pair = PAIR_COLUMNS.find(([a, p]) => ds.frame.columns.includes(a) && ds.frame.columns.includes(p));
  if (!pair)
    throw new Error(
      `Hub dataset "${repo}": no pair of columns the course knows (${PAIR_COLUMNS.map((p) => p.join("/")).join(", ")}); its columns are ${ds.frame.columns.join(", ")}. Rename them, or write a recipe for it (recipes/).`,
    );
  const col = (c: string) => ds.frame.getColumn(c).toArray().map(text);
  const mapped = pairsToBeir(col(pair[0]), col(pair[1]), 0.1, 42);
  const dir = hubBeirDir(repo);
  writeBeir(dir, mapped.files);
  return dir;
}
