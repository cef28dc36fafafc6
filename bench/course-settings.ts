/**
 * npm run bench -- course-settings [--json] [--datasets policy-handbook,vet-clinic]
 *
 * Notebook 3's measurement without the notebooks, on the offline defaults (embedded model, no LLM): for each
 * shipped dataset, the course data of notebook 1 (template questions, filters, review sheet, split), then both
 * settings (src/course/settings):
 *   A  new questions about your documents: split by paraphrase group; test split + independent queries
 *   B  documents added later: split by source document; test split + independent queries
 * with the training data the dev-split ablation chooses (labelled questions / + generated / + domain pairs), and
 * NDCG@10 with 95% CIs of BM25, base, fine-tuned and hybrid (BM25 + fine-tuned), plus the paired fine-tuned − base
 * difference. Everything it writes goes to reports/course-settings/ (its own runs/ and results.json), so it never
 * touches the course's runs/ or reports/results.json.
 *
 * model_dir: the saved setting-A fine-tuned policy-handbook model (sentence-transformers layout). Its training
 * rows are checked here against its held-out questions (setting A's test split) and every independent query
 * (query ids and normalised text): `model_training_check` says how many of each it found; the model is saved only
 * when both are 0. Setting A trains on shipped questions about every passage, so the check also reports how many
 * questions of the shipped test split (qrels/test.tsv, the split by document) trained, for information.
 * --json: one JSON object on the last line.
 */
import { cpSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../src/backend";
import { getConfig } from "../src/env";
import { normalizeQuestion } from "../src/data/split";
import { loadIndependentQueries, loadShippedSplit } from "../src/data/shipped";
import { loadCourseData, settingRows } from "../src/course/data";
import { courseIndex } from "../src/course/evaluation";
import { courseRecipe } from "../src/course/recipes";
import { ablation, evaluateSetting, type SettingEvaluation } from "../src/course/settings";
import { courseModel, modelLabel } from "../src/course/setup";
import { benchCourse, prepareCourse } from "./lib/course";

const args = process.argv.slice(2);
const json = args.includes("--json");
const dsIndex = args.indexOf("--datasets");
const datasets = dsIndex >= 0 ? args[dsIndex + 1].split(",") : ["policy-handbook", "vet-clinic"];
const root = join(getConfig().reportsDir, "course-settings");
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const log = (s: string) => {
  if (!json) console.log(s);
};

function summary(e: SettingEvaluation) {
  const out: Record<string, unknown> = {};
  for (const t of e.tests) {
    const name = t.split.split.endsWith("independent") ? "independent" : "test";
    const ci = (system: string) => {
      const r = t.results.get(system);
      if (!r) return undefined;
      const values = r.perQuery.map((q) => q.metrics["ndcg@10"]);
      return { ndcg10: r3(r.values["ndcg@10"]), n: values.length };
    };
    const d = (c: typeof t.tunedVsBase) => {
      const x = c.differences.find((m) => m.metric === "ndcg@10");
      return x && { estimate: r3(x.estimate), low: r3(x.low), high: r3(x.high) };
    };
    out[name] = {
      queries: t.split.queries.size,
      bm25: ci("BM25"),
      base: ci("base"),
      finetuned: ci("fine-tuned"),
      hybrid: ci("hybrid (fine-tuned)"),
      finetuned_minus_base: { ...d(t.tunedVsBase), improved: t.tunedVsBase.improved, worsened: t.tunedVsBase.worsened },
      finetuned_minus_bm25: d(t.tunedVsBm25),
      hybrid_minus_bm25: d(t.hybridVsBm25),
    };
  }
  return out;
}

async function main(): Promise<void> {
  await initBackend();
  const t0 = performance.now();
  const out: Record<string, unknown> = { model: "offline (embedded default)", datasets: {} };
  for (const dataset of datasets) {
    const course = benchCourse(dataset, root);
    await prepareCourse(course);
    const data = loadCourseData(course);
    const base = await courseModel(course);
    const label = modelLabel(base);
    const baseIndex = await courseIndex(course, data, base, { name: "base", modelKey: course.model });
    const recipe = courseRecipe(base);
    const a = await ablation(course, data, baseIndex.retriever, recipe);
    const settings: Record<string, unknown> = {};
    for (const name of ["questions", "documents"] as const) {
      const chosen = a.chosen[name].training;
      const index = await courseIndex(course, data, chosen.tuned.model, {
        name: `fine-tuned-${name}`,
        modelKey: chosen.tuned.artefact.key,
      });
      const e = await evaluateSetting(course, data, chosen, baseIndex.retriever, index.retriever, {
        model: label,
        notebook: "bench course-settings",
      });
      settings[name === "questions" ? "A_new_questions" : "B_documents_added_later"] = {
        training_data: chosen.variant.label,
        training_rows: chosen.rows,
        steps: chosen.fitted.steps,
        ...summary(e),
      };
      log(
        `${dataset} ${chosen.setting.label} (${chosen.variant.label}, ${chosen.rows.total} pairs): ` +
          e.tests
            .map((t) => {
              const d = t.tunedVsBase.differences.find((m) => m.metric === "ndcg@10");
              const v = (s: string) => t.results.get(s)?.values["ndcg@10"].toFixed(3);
              return `${t.split.split}: BM25 ${v("BM25")} base ${v("base")} fine-tuned ${v("fine-tuned")} hybrid ${v("hybrid (fine-tuned)")} (fine-tuned − base ${d?.estimate.toFixed(3)} [${d?.low.toFixed(3)}, ${d?.high.toFixed(3)}])`;
            })
            .join("; "),
      );
      if (dataset === "policy-handbook" && name === "questions") {
        // The saved setting-A model: check its training rows against every shipped test question and independent query.
        const rows = settingRows(data, chosen.setting, chosen.variant);
        const trained = new Set(rows.map((r) => normalizeQuestion(r.anchor)));
        const trainedIds = new Set(rows.map((r) => String(r.query_id ?? "")));
        const shippedTest = loadShippedSplit(dataset, "test");
        const independent = loadIndependentQueries(dataset);
        const count = (queries: ReadonlyMap<string, string>) =>
          [...queries].filter(([id, text]) => trainedIds.has(id) || trained.has(normalizeQuestion(text))).length;
        const check = {
          training_rows: rows.length,
          shipped_test_questions: shippedTest.queries.size,
          shipped_test_questions_in_training: count(shippedTest.queries),
          setting_a_test_questions: chosen.setting.test.queries.size,
          setting_a_test_questions_in_training: count(chosen.setting.test.queries),
          independent_queries: independent.queries.size,
          independent_queries_in_training: count(independent.queries),
        };
        out.model_training_check = check;
        // Setting A trains on shipped questions about every passage (shipped_test_questions_in_training counts those
        // of the shipped test split's documents); the held-out ones are its test questions and the independent queries.
        if (check.independent_queries_in_training > 0 || check.setting_a_test_questions_in_training > 0) {
          out.model_dir = null;
          log(`model not saved: its training data contains held-out questions (${JSON.stringify(check)})`);
        } else {
          const dir = join(root, "policy-handbook-setting-a-finetuned");
          if (existsSync(dir)) rmSync(dir, { recursive: true });
          cpSync(join(chosen.tuned.artefact.path, "final"), dir, { recursive: true });
          out.model_dir = dir;
          log(`saved the setting-A model to ${dir}`);
        }
      }
    }
    (out.datasets as Record<string, unknown>)[dataset] = settings;
    base.dispose();
  }
  out.seconds = Math.round((performance.now() - t0) / 100) / 10;
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
