// The tutorials' recipes (recipes/*.json): their parameters pinned against what the tutorials' own notebooks and
// scripts set (the table below), the --dry-run --json shape, and every recipe run end to end offline: the stand-in Hub
// serves a tiny BERT under each recipe's model id and a small Parquet dataset of each tutorial's schema (the LlamaIndex
// recipe's JSON files, which are not on the Hub, come through --data), then the runner downloads, maps to BEIR,
// evaluates, estimates, trains and writes the table beside the published one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveDataset } from "../src/course/setup";
import { hubBeirDir, prepareHubBeir, trainTestSplit } from "../src/reproduce/data";
import { main } from "../src/reproduce/command";
import { dryRun, listRecipes, loadRecipe } from "../src/reproduce/recipes";
import { reproduceTutorial } from "../src/reproduce/run";
import { parquetBytes, StandInHub } from "./fixtures/hub-stand-in";
import { writeTinyBert } from "./fixtures/model-io/tiny-bert";

/**
 * What each tutorial sets, read from its own code (notebook cell or script line in the last column); the recipe
 * files must say the same.
 */
const TUTORIALS = [
  {
    recipe: "schmid-bge-base-10k",
    model: "BAAI/bge-base-en-v1.5", // model_id = "BAAI/bge-base-en-v1.5"
    dataset: "philschmid/finanical-rag-embedding-dataset", // load_dataset(..., split="train")
    columns: { anchor: "question", positive: "context" }, // select_columns(["question", "context"])
    testSize: 0.1, // dataset.train_test_split(test_size=0.1)
    loss: "MatryoshkaLoss(MultipleNegativesRankingLoss)",
    dims: [768, 512, 256, 128, 64], // matryoshka_dimensions = [768, 512, 256, 128, 64]
    epochs: 4, // num_train_epochs=4
    batch: 32, // per_device_train_batch_size=32
    accumulation: 16, // gradient_accumulation_steps=16
    effective: 512,
    lr: 2e-5, // learning_rate=2e-5
    schedule: "cosine", // lr_scheduler_type="cosine"
    warmup: 0.1, // warmup_ratio=0.1
    weightDecay: 0, // TrainingArguments' default
    sampler: "no_duplicates", // batch_sampler=BatchSamplers.NO_DUPLICATES
    // NDCG@10 base, fine-tuned at 768, 512, 256, 128, 64 dims (the notebook's last table)
    published: [0.7684, 0.8254, 0.7643, 0.8275, 0.7546, 0.823, 0.7234, 0.8184, 0.644, 0.7892],
  },
  {
    recipe: "job-search-distilroberta",
    model: "sentence-transformers/all-distilroberta-v1", // --base_model sentence-transformers/all-distilroberta-v1
    dataset: "shawhin/ai-job-embedding-finetuning", // DATASET_NAME in 1_train_embedding.py
    columns: { anchor: "query", positive: "job_description_pos", negative: "job_description_neg" },
    testSize: undefined,
    loss: "MultipleNegativesRankingLoss", // losses.MultipleNegativesRankingLoss(model)
    dims: undefined,
    epochs: 5, // --epochs 5
    batch: 8, // --bsz 8
    accumulation: 1,
    effective: 8,
    lr: 2e-5, // --lr default 2e-5
    schedule: "linear", // TrainingArguments' default
    warmup: 0.1, // warmup_ratio = 0.1
    weightDecay: 0,
    sampler: "default", // SentenceTransformerTrainingArguments' default batch sampler
    // Hit@1, Hit@3, Hit@10, MRR@10, base and fine-tuned (README, 800-doc pool)
    published: [0.275, 0.598, 0.392, 0.775, 0.529, 0.892, 0.351, 0.694],
  },
  {
    recipe: "llamaindex-finetune-embedding",
    model: "BAAI/bge-small-en", // model_id = "BAAI/bge-small-en"
    dataset: undefined, // ./data/train_dataset.json, ./data/val_dataset.json
    columns: undefined,
    testSize: undefined,
    loss: "MultipleNegativesRankingLoss", // losses.MultipleNegativesRankingLoss(model)
    dims: undefined,
    epochs: 2, // EPOCHS = 2
    batch: 10, // BATCH_SIZE = 10
    accumulation: 1,
    effective: 10,
    lr: 2e-5, // model.fit's default optimizer_params
    schedule: "linear", // model.fit's default scheduler, WarmupLinear
    warmup: 0.1, // warmup_steps = int(len(loader) * EPOCHS * 0.1)
    weightDecay: 0.01, // model.fit's default
    sampler: "default",
    published: [0.787, 0.844], // hit rate @5 base / fine-tuned
  },
] as const;

test("the recipes' parameters are the tutorials' (table above)", () => {
  assert.deepEqual(listRecipes(), TUTORIALS.map((t) => t.recipe).sort());
  for (const t of TUTORIALS) {
    const r = loadRecipe(t.recipe);
    const got = {
      model: r.model,
      dataset: r.dataset.hub,
      columns: r.dataset.columns,
      testSize: r.split.test_size,
      loss: dryRun(r).loss,
      dims: r.loss.matryoshka_dims,
      epochs: r.epochs,
      batch: r.batch_size,
      accumulation: r.gradient_accumulation_steps,
      effective: r.effective_batch_size,
      lr: r.learning_rate,
      schedule: r.schedule,
      warmup: r.warmup_ratio,
      weightDecay: r.weight_decay,
      sampler: r.batch_sampler,
      published: r.published.rows.flatMap((row) => [row.base, row.fine_tuned]),
    };
    const { recipe: _name, ...want } = t;
    assert.deepEqual(JSON.parse(JSON.stringify(got)), JSON.parse(JSON.stringify(want)), t.recipe);
    // Every recipe runs its effective batch in one optimizer step here, and says what differs.
    assert.equal(r.ours.batch_size, r.effective_batch_size, t.recipe);
    assert.ok(r.differences.length >= 3, t.recipe);
  }
  // The job-search data is derived from the listings the README names.
  assert.equal(loadRecipe("job-search-distilroberta").dataset.derived_from, "datastax/linkedin_job_listings");
  assert.equal(loadRecipe("job-search-distilroberta").evaluator.pool_size, 800);
});

test("--dry-run --json prints the issue's shape; --list lists the three; a bad name lists them", async () => {
  let out = "";
  assert.equal(await main(["schmid-bge-base-10k", "--dry-run", "--json"], (s) => (out += s)), 0);
  const shape = JSON.parse(out);
  assert.deepEqual(Object.keys(shape), [
    "model",
    "dataset",
    "loss",
    "matryoshka_dims",
    "epochs",
    "learning_rate",
    "effective_batch_size",
    "published",
  ]);
  assert.equal(shape.model, "BAAI/bge-base-en-v1.5");
  assert.equal(shape.dataset, "philschmid/finanical-rag-embedding-dataset");
  assert.deepEqual(shape.matryoshka_dims, [768, 512, 256, 128, 64]);
  assert.equal(shape.learning_rate, 2e-5);
  assert.equal(shape.effective_batch_size, 512);
  for (const name of ["job-search-distilroberta", "llamaindex-finetune-embedding"]) {
    out = "";
    await main([name, "--dry-run", "--json"], (s) => (out += s));
    assert.deepEqual(Object.keys(JSON.parse(out)), Object.keys(shape), name);
  }
  out = "";
  await main(["--list"], (s) => (out += s));
  for (const t of TUTORIALS) assert.match(out, new RegExp(`${t.recipe}[^\\n]*\\n\\s+npm run reproduce -- ${t.recipe}`));
  await assert.rejects(
    main(["nope"], () => {}),
    /No recipe "nope".*schmid-bge-base-10k/s,
  );
});

test("train_test_split: a seeded permutation, ceil(n * 0.1) test rows, disjoint and complete", () => {
  const { train, test: held } = trainTestSplit(7000, 0.1, 42);
  assert.equal(held.length, 700);
  assert.equal(train.length, 6300);
  assert.equal(new Set([...train, ...held]).size, 7000);
  assert.deepEqual(trainTestSplit(7000, 0.1, 42).test, held, "same seed, same split");
  assert.notDeepEqual(trainTestSplit(7000, 0.1, 43).test, held);
  assert.equal(trainTestSplit(61, 0.1, 1).test.length, 7);
});

// ---- end to end on the stand-in Hub -------------------------------------------------------------------------------

const WORDS =
  "budget revenue margin supply chain inventory dividend merger lease pension tax audit risk debt equity cash asset liability goodwill research patent license export tariff warranty customer vendor payroll bonus option grant capital reserve".split(
    " ",
  );
const tmp = mkdtempSync(join(tmpdir(), "reproduce-"));
const cacheDir = join(tmp, "hub-cache");
const llamaDir = join(tmp, "llama-data");
let hub: StandInHub;
let hubUrl = "";
const savedRunsDir = process.env.COURSE_RUNS_DIR;

before(async () => {
  process.env.COURSE_RUNS_DIR = join(tmp, "runs");
  const model = join(tmp, "tiny-model");
  writeTinyBert(model, { pooling: "mean", normalize: true });
  const word = (i: number) => `${WORDS[i % WORDS.length]} ${WORDS[(i * 7 + 3) % WORDS.length]}`;
  const n = 60;
  const pairs = parquetBytes({
    question: Array.from({ length: n }, (_, i) => `what does the filing say about ${word(i)} in item ${i}?`),
    context: Array.from({ length: n }, (_, i) => `item ${i} of the filing discusses ${word(i)} and related matters.`),
  });
  const triplets = (split: string, count: number, offset: number) =>
    parquetBytes({
      query: Array.from({ length: count }, (_, i) => `${split} job with ${word(i + offset)} skills`),
      job_description_pos: Array.from(
        { length: count },
        (_, i) => `we hire for ${word(i + offset)} work, ${split} ${i}`,
      ),
      job_description_neg: Array.from({ length: count }, (_, i) => `an unrelated ${split} role number ${i + offset}`),
    });
  hub = new StandInHub({
    models: {
      "BAAI/bge-base-en-v1.5": model,
      "sentence-transformers/all-distilroberta-v1": model,
      "BAAI/bge-small-en": model,
    },
    datasets: {
      // Like the real one: JSON in the repository, Parquet on the conversion branch.
      "philschmid/finanical-rag-embedding-dataset": {
        files: { "data.json": Buffer.from("[]") },
        conversion: { "default/train/0000.parquet": pairs },
      },
      // No recipe names it: the course's pair columns are guessed (anchor / positive).
      "test-org/generic-pairs": {
        files: {
          "data/train-00000-of-00001.parquet": parquetBytes({
            anchor: Array.from({ length: 20 }, (_, i) => `generic question ${i}`),
            positive: Array.from({ length: 20 }, (_, i) => `generic answer ${i}`),
          }),
        },
      },
      "test-org/odd-columns": {
        files: { "data/train-00000-of-00001.parquet": parquetBytes({ left: ["a", "b"], right: ["c", "d"] }) },
      },
      "shawhin/ai-job-embedding-finetuning": {
        files: {
          "data/train-00000-of-00001.parquet": triplets("train", 100, 0),
          "data/validation-00000-of-00001.parquet": triplets("validation", 700, 100),
          "data/test-00000-of-00001.parquet": triplets("test", 10, 800),
        },
      },
    },
  });
  hubUrl = await hub.start();
  const qa = (prefix: string, count: number) => ({
    queries: Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`${prefix}q${i}`, `which risk is about ${word(i)}?`]),
    ),
    corpus: Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`${prefix}n${i}`, `the ${word(i)} risk factor, ${prefix} ${i}`]),
    ),
    relevant_docs: Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}q${i}`, [`${prefix}n${i}`]])),
  });
  mkdirSync(llamaDir, { recursive: true });
  writeFileSync(join(llamaDir, "train_dataset.json"), JSON.stringify(qa("t", 60)));
  writeFileSync(join(llamaDir, "val_dataset.json"), JSON.stringify(qa("v", 20)));
});

after(async () => {
  await hub.stop();
  if (savedRunsDir === undefined) delete process.env.COURSE_RUNS_DIR;
  else process.env.COURSE_RUNS_DIR = savedRunsDir;
  rmSync(tmp, { recursive: true, force: true });
});

const hubOptions = () => ({ hubUrl, cacheDir, offline: false, token: "", onProgress: () => {} });

test("every recipe end to end on the stand-in Hub: download, BEIR, estimate, train, the table beside the published one", async () => {
  const lines: string[] = [];
  const common = (name: string) => ({
    hub: hubOptions(),
    reportDir: join(tmp, "reports", name),
    workDir: join(tmp, "work", name),
    estimateSteps: 2,
    progress: false,
    log: (l: string) => lines.push(l),
  });

  // Schmid: the whole recipe (4 epochs, one batch of 54 pairs each, GradCache mini-batches of 32), at 5 dims the
  // tiny model has.
  const schmid = await reproduceTutorial("schmid-bge-base-10k", {
    ...common("schmid"),
    dims: [32, 24, 16, 12, 8],
  });
  assert.equal(schmid.quick, false);
  assert.equal(schmid.train?.steps, 4);
  assert.deepEqual(
    schmid.table.map((r) => [r.metric, r.dim, r.published?.base]),
    [
      ["ndcg@10", 32, 0.7684],
      ["ndcg@10", 24, 0.7643],
      ["ndcg@10", 16, 0.7546],
      ["ndcg@10", 12, 0.7234],
      ["ndcg@10", 8, 0.644],
    ],
  );
  for (const r of schmid.table) {
    assert.ok(r.ours.base >= 0 && r.ours.base <= 1);
    assert.ok(r.ours.fine_tuned !== null && r.ours.fine_tuned >= 0 && r.ours.fine_tuned <= 1);
  }
  assert.ok(Number.isFinite(schmid.train?.final_loss));
  assert.match(
    schmid.dataset,
    /^philschmid\/finanical-rag-embedding-dataset — hub:philschmid\/finanical-rag-embedding-dataset@[0-9a-f]{40} \(parquet-conversion\)$/,
  );
  assert.ok(schmid.estimate && schmid.estimate.steps === 4 && schmid.estimate.seconds_per_pair > 0);
  assert.equal(schmid.estimate.probe_pairs, 27); // 2 probe steps of min(512, 64, 54 rows / 2) pairs
  assert.ok(["wasm", "cpu", "tensorflow"].includes(schmid.where.backend));
  // The BEIR folder: 60 pairs, 54 train and 6 test queries, one corpus of all 60 contexts.
  const beir = hubBeirDir("philschmid/finanical-rag-embedding-dataset");
  assert.equal(
    readFileSync(join(beir, "qrels", "test.tsv"), "utf8")
      .trim()
      .split("\n").length,
    1 + 6,
  );
  assert.equal(
    readFileSync(join(beir, "qrels", "train.tsv"), "utf8")
      .trim()
      .split("\n").length,
    1 + 54,
  );
  assert.equal(readFileSync(join(beir, "corpus.jsonl"), "utf8").trim().split("\n").length, 60);
  const md = readFileSync(schmid.written?.markdown as string, "utf8");
  assert.match(md, /\| metric \| dim \| published base \| published fine-tuned \| ours base \| ours fine-tuned \|/);
  assert.match(md, /\| ndcg@10 \| 32 \| 0\.768 \| 0\.825 \| \d\.\d{3} \| \d\.\d{3} \|/);
  assert.match(md, /Ran on (CPU|GPU) \(tfjs backend/);
  assert.match(md, /GradCache \(CachedMultipleNegativesRankingLoss, mini-batches of 32\) trains one batch of 512/);
  assert.deepEqual(JSON.parse(readFileSync(schmid.written?.json as string, "utf8")).table, schmid.table);
  // The per-epoch evaluation ran (4 epochs) and picked the best at the 128-dim row's stand-in (12 dims).
  const history = JSON.parse(readFileSync(join(tmp, "work", "schmid", "train", "history.json"), "utf8")).entries;
  const evals = history.filter((e: { kind: string }) => e.kind === "eval");
  assert.equal(evals.length, 4);
  // The cosine schedule with warmup ceil(4 x 0.1) = 1 step: 0, then 2e-5 x 0.5 (1 + cos(pi p)) for p = 0, 1/3, 2/3.
  const lrs = history
    .filter((e: { kind: string }) => e.kind === "train")
    .map((e: { learningRate: number }) => e.learningRate);
  assert.deepEqual(
    lrs.map((x: number) => Number(x.toPrecision(12))),
    [0, 1, 0.75, 0.25].map((f) => Number((2e-5 * f).toPrecision(12))),
  );
  assert.ok("dim_12_cosine_ndcg@10" in evals[0].metrics);

  // The course reads the same BEIR folder through COURSE_DATASET=hf:owner/name.
  const choice = resolveDataset("hf:philschmid/finanical-rag-embedding-dataset", "environment");
  assert.equal(choice.kind, "beir");
  assert.equal(choice.dir, beir);
  assert.throws(
    () => resolveDataset("hf:someone/unprepared", "environment"),
    /npm run reproduce -- --fetch hf:someone\/unprepared/,
  );

  // Job search, --quick: the 800-document pool is built, then sliced; the report says it is a slice.
  const job = await reproduceTutorial("job-search-distilroberta", { ...common("job"), quick: true });
  assert.equal(job.quick, true);
  assert.deepEqual(job.slice, { train_rows: 100, eval_queries: 10, corpus_size: 300, epochs: 1 });
  assert.equal(job.train?.steps, Math.ceil(100 / 8));
  assert.deepEqual(
    job.table.map((r) => [r.metric, r.dim]),
    [
      ["accuracy@1", 32],
      ["accuracy@3", 32],
      ["accuracy@10", 32],
      ["mrr@10", 32],
    ],
  );
  const jobBeir = hubBeirDir("shawhin/ai-job-embedding-finetuning");
  assert.equal(
    readFileSync(join(jobBeir, "corpus.jsonl"), "utf8").trim().split("\n").length,
    800,
    "the 800-document pool",
  );
  assert.match(readFileSync(job.written?.markdown as string, "utf8"), /A slice, not the tutorial's run/);
  assert.ok(job.written?.json.endsWith("report-quick.json"));

  // LlamaIndex: its JSON files through --data (not on the Hub); without them, an error that says where they are.
  await assert.rejects(
    reproduceTutorial("llamaindex-finetune-embedding", { ...common("llama-missing"), estimateSteps: 0 }),
    /not on the Hub.*--data <dir>/,
  );
  const llama = await reproduceTutorial("llamaindex-finetune-embedding", { ...common("llama"), dataDir: llamaDir });
  assert.equal(llama.train?.steps, 2 * 6); // 60 pairs at batch 10, 2 epochs
  // model.fit's warmup: int(12 x 0.1) = 1 step (the trainer's ceil would give 2): step 1 is already at the peak.
  const llamaLrs = JSON.parse(readFileSync(join(tmp, "work", "llama", "train", "history.json"), "utf8"))
    .entries.filter((e: { kind: string }) => e.kind === "train")
    .map((e: { learningRate: number }) => e.learningRate);
  assert.deepEqual(llamaLrs.slice(0, 3), [0, 2e-5, 2e-5 * (10 / 11)]);
  assert.deepEqual(
    llama.table.map((r) => [r.metric, r.published]),
    [["accuracy@5", { base: 0.787, fine_tuned: 0.844 }]],
  );
  assert.ok(existsSync(join(tmp, "work", "llama", "beir", "qrels", "test.tsv")));
  assert.ok(lines.some((l) => /^estimate \(measured here, 2 steps of \d+ pairs\)/.test(l)));
});

test("COURSE_DATASET=hf:owner/name for a dataset no recipe names: pair columns guessed, split 90/10, read by the course", async () => {
  const dir = await prepareHubBeir("hf:test-org/generic-pairs", [], hubOptions());
  assert.equal(dir, hubBeirDir("test-org/generic-pairs"));
  assert.equal(
    readFileSync(join(dir, "qrels", "test.tsv"), "utf8")
      .trim()
      .split("\n").length,
    1 + 2,
  );
  assert.equal(
    readFileSync(join(dir, "qrels", "train.tsv"), "utf8")
      .trim()
      .split("\n").length,
    1 + 18,
  );
  const choice = resolveDataset("hf:test-org/generic-pairs", "environment");
  assert.deepEqual([choice.kind, choice.name, choice.dir], ["beir", "test-org--generic-pairs", dir]);
  await assert.rejects(
    prepareHubBeir("hf:test-org/odd-columns", [], hubOptions()),
    /no pair of columns the course knows .*its columns are left, right/,
  );
});
