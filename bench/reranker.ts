/**
 * npm run bench -- reranker [--json] [--reranker offline|<Hub id>|<folder>] [--depth 30] [--epochs 1]
 *
 * Two-stage retrieval on policy-handbook's setting A (notebook 3's "new questions about your documents": split by
 * paraphrase group), on its test split and its independent queries:
 *   first stage    the best system notebook 3 measures on that test set (bestSystem: BM25, fine-tuned or hybrid),
 *                  rebuilt here with notebook 3's code (src/course/settings: ablation, evaluateSetting)
 *   reranked_base  its top `depth` re-ranked by the base re-ranker: the offline one (src/rerank/offline.ts: BERT-Tiny
 *                  on the shipped static table, pretrained on WordNet pairs) or a Hub / folder cross-encoder
 *   reranked_tuned the same, by the base re-ranker fine-tuned on setting A's labelled training questions with
 *                  BinaryCrossEntropyLoss (pos_weight 3): 2 mined hard negatives per question (labeled pairs, mined
 *                  with setting A's fine-tuned dense model) plus 1 random negative, batch 32, one epoch
 * each with NDCG@10, Hit@3, the paired 95% bootstrap interval of NDCG@10 against the first stage, and milliseconds per
 * query (first stage included). The realistic setting: a relevant passage outside the first stage's top `depth` stays
 * missed. Writes only under reports/reranker/ (its own runs/, models/, results.json).
 * --json: {"datasets": {"policy-handbook": {"test": {"first_stage", "reranked_base", "reranked_tuned"}, "independent": ...}}}
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../src/backend";
import { getConfig } from "../src/env";
import { loadCourseData } from "../src/course/data";
import { courseIndex, tunedRetrievers } from "../src/course/evaluation";
import { courseRecipe } from "../src/course/recipes";
import { ablation, evaluateSetting, type TestSetEvaluation } from "../src/course/settings";
import { courseModel, modelLabel } from "../src/course/setup";
import { compareSystems } from "../src/eval/compare";
import { InformationRetrievalEvaluator, type IRResult } from "../src/eval/ir-evaluator";
import { mineHardNegatives } from "../src/mining/hard-negatives";
import type { CrossEncoder } from "../src/rerank/cross-encoder";
import { loadCrossEncoder } from "../src/rerank/load";
import { rerankingExamples } from "../src/rerank/data";
import { RerankedRetriever } from "../src/rerank/reranked-retriever";
import { BinaryCrossEntropyLoss } from "../src/rerank/losses";
import { OFFLINE_RERANKER_RECIPE, offlineCrossEncoder } from "../src/rerank/offline";
import { trainCrossEncoder } from "../src/rerank/train";
import { documentText } from "../src/retrieval/types";
import { numberArg } from "./lib/cli";
import { benchCourse, prepareCourse } from "./lib/course";

/** The system with the highest NDCG@10 among BM25, fine-tuned and the hybrid on a test set, as notebook 3 measured. */
function bestSystem(t: TestSetEvaluation): string {
  const names = ["BM25", "fine-tuned", "hybrid (fine-tuned)"];
  const scores = names.map((n) => t.results.get(n)?.values["ndcg@10"] ?? -1);
  return names[scores.indexOf(Math.max(...scores))];
}

const args = process.argv.slice(2);
const json = args.includes("--json");
const rerankerArg = args.includes("--reranker") ? args[args.indexOf("--reranker") + 1] : "offline";
const depth = numberArg(args, "--depth", 30);
const epochs = numberArg(args, "--epochs", 1);
const dataset = "policy-handbook";
const root = join(getConfig().reportsDir, "reranker");
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;
const log = (s: string) => {
  if (!json) console.log(s);
};

async function baseReranker(): Promise<CrossEncoder> {
  if (rerankerArg === "offline") return offlineCrossEncoder({ cacheDir: join(root, "models"), log });
  return loadCrossEncoder(rerankerArg);
}

async function main(): Promise<void> {
  await initBackend();
  const t0 = performance.now();
  const course = benchCourse(dataset, root);
  await prepareCourse(course);
  const data = loadCourseData(course);
  const base = await courseModel(course);
  const label = modelLabel(base);
  const baseIndex = await courseIndex(course, data, base, { name: "base", modelKey: course.model });
  const a = await ablation(course, data, baseIndex.retriever, courseRecipe(base));
  const chosen = a.chosen.questions.training;
  const tunedIndex = await courseIndex(course, data, chosen.tuned.model, {
    name: "fine-tuned-questions",
    modelKey: chosen.tuned.artefact.key,
  });
  const setting = await evaluateSetting(course, data, chosen, baseIndex.retriever, tunedIndex.retriever, {
    model: label,
    notebook: "bench reranker",
  });
  const systems = tunedRetrievers(data, baseIndex.retriever, tunedIndex.retriever, { model: label });
  log(
    `setting A: ${chosen.variant.label}, ${chosen.rows.total} training pairs (${r1((performance.now() - t0) / 1000)} s)`,
  );

  // The re-rankers: the base one, and the base fine-tuned on setting A's training questions.
  const baseCE = await baseReranker();
  // Setting A's labelled training questions (not the generated ones or the domain pairs the dense model may add).
  const rows = chosen.setting.train;
  const corpusTexts = [...data.test.corpus.values()].map((d) => documentText(d));
  const offline = rerankerArg === "offline";
  const recipe = {
    base: baseCE.name,
    rows: rows.length,
    epochs,
    batchSize: 32,
    learningRate: offline ? OFFLINE_RERANKER_RECIPE.learningRate : 2e-5,
    hardNegatives: 2,
    randomNegatives: 1,
  };
  const key = createHash("sha256")
    .update(JSON.stringify({ recipe, rows: rows.map((r) => [r.anchor, r.positive]) }))
    .digest("hex")
    .slice(0, 12);
  const tunedDir = join(root, "models", `tuned-${key}`);
  let tunedCE: CrossEncoder;
  let training: Record<string, unknown> = { reused: true, folder: tunedDir };
  if (existsSync(join(tunedDir, "model.safetensors")))
    tunedCE = await loadCrossEncoder(tunedDir, { name: "fine-tuned" });
  else {
    const t1 = performance.now();
    const mined = await mineHardNegatives(rows, chosen.tuned.model, {
      corpus: corpusTexts,
      numNegatives: recipe.hardNegatives,
      outputFormat: "labeled-pair",
      onWarning: log,
    });
    const examples = rerankingExamples(mined.rows, {
      corpus: corpusTexts,
      randomNegatives: recipe.randomNegatives,
      seed: course.seed,
    });
    tunedCE = baseCE.clone("fine-tuned");
    const result = await trainCrossEncoder(tunedCE, examples, {
      loss: new BinaryCrossEntropyLoss({ posWeight: recipe.hardNegatives + recipe.randomNegatives }),
      epochs,
      batchSize: recipe.batchSize,
      learningRate: recipe.learningRate,
      warmupRatio: 0.1,
      seed: course.seed,
    });
    tunedCE.save(tunedDir, { overwrite: true });
    training = {
      reused: false,
      folder: tunedDir,
      examples: examples.length,
      steps: result.steps,
      train_loss: r3(result.trainLoss),
      seconds: r1((performance.now() - t1) / 1000),
    };
    log(
      `fine-tuned the re-ranker: ${examples.length} labeled pairs, ${result.steps} steps, loss ${result.trainLoss.toFixed(3)}`,
    );
  }

  const sets: Record<string, unknown> = {};
  for (const t of setting.tests) {
    const name = t.split.split.endsWith("independent") ? "independent" : "test";
    const systemName = bestSystem(t);
    const first = systems.find((s) => s.system === systemName);
    if (!first) throw new Error(`bench reranker: no first-stage system "${systemName}"`);
    const evaluator = InformationRetrievalEvaluator.fromSplit(t.split, { name: `${dataset}-${t.split.split}` });
    const firstResult = await evaluator.evaluate(first.retriever);
    const n = evaluator.queries.length;
    const ms = (r: IRResult) => r1((r.retrievalSeconds * 1000) / n);
    const entry = (r: IRResult) => ({ "ndcg@10": r3(r.values["ndcg@10"]), "hit@3": r3(r.values["accuracy@3"]) });
    const reranked = async (ce: CrossEncoder) => {
      const r = await evaluator.evaluate(new RerankedRetriever(first.retriever, ce, t.split.corpus, { topK: depth }));
      const d = compareSystems(firstResult, r, { seed: course.seed }).differences.find((x) => x.metric === "ndcg@10");
      if (!d) throw new Error("bench reranker: no ndcg@10 difference");
      return {
        reranker: ce.name,
        ...entry(r),
        gain: { estimate: r3(d.estimate), low: r3(d.low), high: r3(d.high) },
        ms_per_query: ms(r),
      };
    };
    const rb = await reranked(baseCE);
    const rt = await reranked(tunedCE);
    sets[name] = {
      queries: n,
      first_stage: {
        system: first.retriever.name,
        chosen_by: "bestSystem (notebook 03)",
        ...entry(firstResult),
        ms_per_query: ms(firstResult),
      },
      reranked_base: rb,
      reranked_tuned: rt,
    };
    log(
      `${t.split.split} (${n} queries): ${first.retriever.name} ${entry(firstResult)["ndcg@10"]} | + ${baseCE.name} ${rb["ndcg@10"]} ` +
        `(${rb.gain.estimate} [${rb.gain.low}, ${rb.gain.high}], ${rb.ms_per_query} ms/query) | + fine-tuned ${rt["ndcg@10"]} ` +
        `(${rt.gain.estimate} [${rt.gain.low}, ${rt.gain.high}], ${rt.ms_per_query} ms/query)`,
    );
  }
  const out = {
    setting: "A (new questions about your documents)",
    depth,
    base_reranker: baseCE.name,
    fine_tuning: training,
    datasets: { [dataset]: sets },
    seconds: r1((performance.now() - t0) / 1000),
  };
  console.log(JSON.stringify(out));
  base.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
