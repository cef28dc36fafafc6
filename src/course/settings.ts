/**
 * The two settings of notebooks 3 and 4, measured side by side (see SettingName in ./data):
 *
 *   TRAINING_VARIANTS   what trains: the labelled questions only, + the generated questions, + domain pairs
 *   trainSetting        fits the recipe to the rows (fitRecipe) and fine-tunes, evaluating on the setting's dev split
 *   ablation            every variant of both settings on dev, test and independent queries; the default is the
 *                       variant with the best dev NDCG@10 in each setting (test sets are never used to choose)
 *   trainingFolder      the folder ablation keeps a setting's first variant in, for a train() call in a cell
 *   evaluateSetting     BM25, base, fine-tuned and hybrid on each test set of a setting, recorded in results.json,
 *                       with paired comparisons (fine-tuned − base, fine-tuned − BM25, hybrid − BM25); the
 *                       independent queries also in two parts (paraphrases of a training question, the rest)
 *   settingsTable       the side-by-side table, with verdict columns (an interval that excludes 0, or not)
 * What the numbers mean is the notebook's markdown; this file returns numbers and verdicts, not sentences.
 */
import { basename, join } from "node:path";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../files";
import type { IRSplit } from "../data/types";
import { compareSystems, type MetricDifference, type SystemComparison } from "../eval/compare";
import { InformationRetrievalEvaluator, type IRResult } from "../eval/ir-evaluator";
import type { DenseRetriever } from "../retrieval/dense";
import type { Retriever } from "../retrieval/types";
import { settingRows, settingSplit, type CourseData, type CourseSetting, type SettingName } from "./data";
import { artefactFolder } from "./artefacts";
import { fineTune, fineTuneArtefact, tunedRetrievers, type FineTuned } from "./evaluation";
import { fitRecipe, type CoursePlan, type FineTuneRecipe, type FittedRecipe } from "./recipes";
import { recordComparison, recordFact, recordResult } from "./results";
import type { Course } from "./setup";
import { formatSignedInterval } from "../display/format";

export interface TrainingVariant {
  name: "labelled" | "synthetic" | "domain";
  /** How the ablation table names it. */
  label: string;
  synthetic: boolean;
  domain: boolean;
}

export const TRAINING_VARIANTS: readonly TrainingVariant[] = [
  { name: "labelled", label: "training questions only", synthetic: false, domain: false },
  { name: "synthetic", label: "+ generated questions", synthetic: true, domain: false },
  { name: "domain", label: "+ generated questions + domain pairs", synthetic: true, domain: true },
];

/** The variants that mean something for a setting (no "+ generated" when every training question is generated). */
export function variantsFor(setting: CourseSetting): TrainingVariant[] {
  if (setting.synthetic.length > 0) return [...TRAINING_VARIANTS];
  return [
    { ...TRAINING_VARIANTS[0], label: `${setting.trainSource} questions only` },
    { name: "domain", label: "+ domain pairs", synthetic: false, domain: true },
  ];
}

export interface SettingTraining {
  setting: CourseSetting;
  variant: TrainingVariant;
  fitted: FittedRecipe;
  /** Rows by origin: labelled questions, generated questions, domain pairs. */
  rows: { labelled: number; synthetic: number; domain: number; total: number };
  tuned: FineTuned;
}

/** Fine-tunes the course model on one setting's rows for a variant (saved and reused like fineTune). */
export async function trainSetting(
  course: Course,
  data: CourseData,
  setting: CourseSetting,
  recipe: FineTuneRecipe,
  variant: TrainingVariant,
): Promise<SettingTraining> {
  const rows = settingRows(data, setting, variant);
  const fitted = fitRecipe(recipe, rows);
  const tuned = await fineTune(course, data, course.model, fitted.recipe, {
    name: `mnrl-${setting.name}-${variant.name}`,
    rows,
    dev: setting.dev,
  });
  return {
    setting,
    variant,
    fitted,
    rows: {
      labelled: setting.train.length,
      synthetic: variant.synthetic ? setting.synthetic.length : 0,
      domain: variant.domain ? data.domain.length : 0,
      total: rows.length,
    },
    tuned,
  };
}

/**
 * The folder `ablation` trains a setting's first variant (its training questions only) into, with `recipe` fitted
 * to those rows: a train() call in a notebook cell with that recipe writes the same run there, and the ablation
 * then continues it (it has nothing left to do) instead of training again.
 */
export function trainingFolder(course: Course, data: CourseData, setting: CourseSetting, recipe: FineTuneRecipe) {
  const variant = variantsFor(setting)[0];
  const rows = settingRows(data, setting, variant);
  const name = `mnrl-${setting.name}-${variant.name}`;
  return artefactFolder(fineTuneArtefact(course, data, course.model, recipe, { name, rows, dev: setting.dev }));
}

/** The test sets of a setting: its test split and, when the dataset has them, the independent queries. */
export function testSets(setting: CourseSetting): IRSplit[] {
  return [setting.test, ...(setting.independent ? [setting.independent] : [])];
}

const evaluatorFor = (course: Course, split: IRSplit) =>
  InformationRetrievalEvaluator.fromSplit(split, { name: `${course.dataset.name}-${split.split}` });

export interface AblationRow {
  setting: SettingName;
  variant: TrainingVariant;
  training: SettingTraining;
  dev: number;
  /** fine-tuned − base NDCG@10 per test set (split name -> difference). */
  gains: Map<string, MetricDifference>;
  /** Dev NDCG@10 of this variant − the variant chosen before it (absent for the first). */
  devVsChosen?: MetricDifference;
}

export interface Ablation {
  rows: AblationRow[];
  /** The chosen variant per setting (see ablation). */
  chosen: Record<SettingName, AblationRow>;
  /** Base model NDCG@10 on each setting's dev split. */
  baseDev: Record<SettingName, number>;
  /** Why the ablation trains what it trains (the course plan's notes). */
  notes: string[];
}

const ndcg = (c: SystemComparison) => c.differences.find((d) => d.metric === "ndcg@10") as MetricDifference;

/**
 * Trains every variant of both settings and measures it against the base model: dev NDCG@10 (what chooses the
 * default), and fine-tuned − base NDCG@10 with its paired 95% CI on each test set (what the choice then gives).
 * The choice, per setting, starts from the labelled questions alone and moves to a variant with more data only
 * when that variant beats the current choice on the dev split beyond noise (paired 95% CI of the NDCG@10
 * difference above 0): more training data has to earn its place, and the test sets are never looked at.
 */
export async function ablation(
  course: Course,
  data: CourseData,
  base: Retriever,
  recipe: FineTuneRecipe,
  plan?: CoursePlan,
): Promise<Ablation> {
  const rows: AblationRow[] = [];
  const chosen = {} as Record<SettingName, AblationRow>;
  const baseDev = {} as Record<SettingName, number>;
  for (const name of ["questions", "documents"] as const) {
    const setting = data.settings[name];
    const devEval = evaluatorFor(course, setting.dev);
    baseDev[name] = (await devEval.evaluate(base)).values["ndcg@10"];
    const baseTests = new Map<string, IRResult>();
    for (const t of testSets(setting)) baseTests.set(t.split, await evaluatorFor(course, t).evaluate(base));
    let chosenDev: IRResult | undefined;
    const variants = plan?.variants === "first" ? variantsFor(setting).slice(0, 1) : variantsFor(setting);
    for (const variant of variants) {
      const training = await trainSetting(course, data, setting, recipe, variant);
      const devResult = await devEval.evaluate(training.tuned.model);
      const gains = new Map<string, MetricDifference>();
      for (const t of testSets(setting)) {
        const r = await evaluatorFor(course, t).evaluate(training.tuned.model);
        gains.set(t.split, ndcg(compareSystems(baseTests.get(t.split) as IRResult, r, { seed: course.seed })));
      }
      const row: AblationRow = { setting: name, variant, training, dev: devResult.values["ndcg@10"], gains };
      if (chosenDev) row.devVsChosen = ndcg(compareSystems(chosenDev, devResult, { seed: course.seed }));
      rows.push(row);
      if (!chosenDev || (row.devVsChosen && row.devVsChosen.low > 0)) {
        chosen[name] = row;
        chosenDev = devResult;
      }
    }
  }
  const result = { rows, chosen, baseDev, notes: plan?.notes ?? [] };
  recordChosen(course, data, result);
  return result;
}

const signedInterval = (d: MetricDifference | undefined) => (d ? formatSignedInterval(d, 3) : "-");

/** The ablation as a table: one row per setting and variant. */
export function ablationTable(a: Ablation): pl.DataFrame {
  const tests = (s: SettingName) => a.rows.filter((r) => r.setting === s)[0];
  return pl.DataFrame(
    a.rows.map((r) => {
      const [testName, indepName] = [settingSplit(r.setting, "test"), settingSplit(r.setting, "independent")];
      const hasIndep = tests(r.setting).gains.has(indepName);
      return {
        setting: r.training.setting.label,
        "training data": r.variant.label,
        "training pairs": r.training.rows.total,
        "dev NDCG@10 (base → fine-tuned)": `${a.baseDev[r.setting].toFixed(3)} → ${r.dev.toFixed(3)}`,
        "dev: − the choice before it [95% CI]": signedInterval(r.devVsChosen),
        "test: fine-tuned − base NDCG@10 [95% CI]": signedInterval(r.gains.get(testName)),
        "independent queries: fine-tuned − base [95% CI]": hasIndep ? signedInterval(r.gains.get(indepName)) : "none",
        chosen: a.chosen[r.setting] === r ? "✔" : "",
      };
    }),
  );
}

export interface TestSetEvaluation {
  split: IRSplit;
  /** For a part of the independent queries: "paraphrase" (of a training question, by the leak table's rule) or "novel". */
  subset?: Subset;
  results: Map<string, IRResult>;
  tunedVsBase: SystemComparison;
  tunedVsBm25: SystemComparison;
  hybridVsBm25: SystemComparison;
}

export type Subset = "paraphrase" | "novel";

export interface SettingEvaluation {
  setting: CourseSetting;
  training: SettingTraining;
  tests: TestSetEvaluation[];
}

/**
 * The independent queries of a setting in two parts: those the leak table counts as a paraphrase of one of the
 * setting's training questions (same passage, half the content words) and the rest. Empty parts are left out.
 */
export function independentParts(setting: CourseSetting): { split: IRSplit; subset: Subset }[] {
  const indep = setting.independent;
  const leak = indep && setting.leaks.find((l) => l.split === indep.split);
  // Nothing to split when none is a paraphrase: the whole set is the novel part, shown once.
  if (!indep || !leak || leak.paraphraseIds.length === 0) return [];
  const paraphrase = new Set(leak.paraphraseIds);
  return (["paraphrase", "novel"] as const)
    .map((subset) => {
      const keep = (id: string) => paraphrase.has(id) === (subset === "paraphrase");
      const ids = [...indep.queries.keys()].filter(keep);
      const split: IRSplit = {
        ...indep,
        split: `${indep.split}/${subset}`,
        queries: new Map(ids.map((id) => [id, indep.queries.get(id) as string])),
        relevant: new Map(ids.map((id) => [id, indep.relevant.get(id) as Set<string>])),
      };
      return { split, subset };
    })
    .filter((p) => p.split.queries.size > 0);
}

/**
 * BM25, base, fine-tuned and hybrid (BM25 + fine-tuned) on each test set of a setting, and on the two parts of its
 * independent queries (independentParts). Each result goes to results.json under the setting's split name
 * (settingSplit; a part as "<split>/paraphrase" with `subset`), with the three paired comparisons.
 */
export async function evaluateSetting(
  course: Course,
  data: CourseData,
  training: SettingTraining,
  base: DenseRetriever,
  tuned: DenseRetriever,
  options: { model: string; notebook: string; system?: string },
): Promise<SettingEvaluation> {
  const system = options.system ?? "fine-tuned";
  const systems = tunedRetrievers(data, base, tuned, { model: options.model, system });
  const sets = [
    ...testSets(training.setting).map((split) => ({ split, subset: undefined })),
    ...independentParts(training.setting),
  ];
  const tests: TestSetEvaluation[] = [];
  for (const { split, subset } of sets) {
    const where = { dataset: course.dataset.name, split: split.split, subset, notebook: options.notebook };
    const evaluator = evaluatorFor(course, split);
    const results = new Map<string, IRResult>();
    for (const s of systems) {
      const r = await evaluator.evaluate(s.retriever);
      const labelled: IRResult = { ...r, system: s.model === "-" ? s.system : `${s.system} · ${s.model}` };
      results.set(s.system, labelled);
      recordResult(labelled, {
        ...where,
        system: s.system,
        model: s.model,
        path: course.resultsPath,
        seed: course.seed,
      });
    }
    const get = (n: string) => results.get(n) as IRResult;
    const compare = (baseline: string, candidate: string) => {
      const c = compareSystems(get(baseline), get(candidate), { seed: course.seed });
      recordComparison(c, { ...where, baseline, candidate, model: options.model, path: course.resultsPath });
      return c;
    };
    tests.push({
      split,
      subset,
      results,
      tunedVsBase: compare("base", system),
      tunedVsBm25: compare("BM25", system),
      hybridVsBm25: compare("BM25", `hybrid (${system})`),
    });
  }
  return { setting: training.setting, training, tests };
}

const testSetLabel = (t: TestSetEvaluation) =>
  t.subset === "paraphrase"
    ? "independent queries: paraphrase of a training question"
    : t.subset === "novel"
      ? "independent queries: the rest (novel)"
      : t.split.split.endsWith("independent")
        ? "independent queries (written apart)"
        : "test split";

/** A paired difference is beyond noise when its 95% interval excludes 0. */
export function verdictOf(d: MetricDifference): "up" | "down" | "within noise" {
  if (d.low > 0) return "up";
  if (d.high < 0) return "down";
  return "within noise";
}

/**
 * Both settings side by side: NDCG@10 of each system, the paired differences with 95% CIs, improved / worsened,
 * and two verdict columns: whether the gain over the base model is beyond noise, and where the fine-tuned model
 * stands against BM25 (below, above, or level within noise).
 */
export function settingsTable(evaluations: readonly SettingEvaluation[], system = "fine-tuned"): pl.DataFrame {
  const rows = evaluations.flatMap((e) =>
    e.tests.map((t) => {
      const cell = (name: string) => t.results.get(name)?.values["ndcg@10"]?.toFixed(3) ?? "-";
      const gain = verdictOf(ndcg(t.tunedVsBase));
      const vsBm25 = verdictOf(ndcg(t.tunedVsBm25));
      return {
        setting: e.setting.label,
        "test set": `${testSetLabel(t)} (${t.split.queries.size})`,
        BM25: cell("BM25"),
        base: cell("base"),
        [system]: cell(system),
        hybrid: cell(`hybrid (${system})`),
        [`${system} − base [95% CI]`]: signedInterval(ndcg(t.tunedVsBase)),
        gain: gain === "up" ? "holds" : gain === "down" ? "a loss" : "within noise",
        "improved / worsened": `${t.tunedVsBase.improved} / ${t.tunedVsBase.worsened}`,
        [`${system} − BM25 [95% CI]`]: signedInterval(ndcg(t.tunedVsBm25)),
        "vs BM25": vsBm25 === "up" ? "above BM25" : vsBm25 === "down" ? "below BM25" : "level (within noise)",
        "hybrid − BM25 [95% CI]": signedInterval(ndcg(t.hybridVsBm25)),
      };
    }),
  );
  return pl.DataFrame(rows);
}

/** Where notebook 3 notes which trained model each setting chose (read by loadFineTuned in src/course/rag). */
export function chosenModelsPath(course: Pick<Course, "runDir">): string {
  return join(course.runDir, "models", "chosen.json");
}

/**
 * Notes the chosen model of each setting (its artefact folder) for notebooks 4-6, and in results.json the facts
 * later prose is checked against (test/course-prose.test.ts): `chosen.<setting>` (the training data's label) and
 * `variants` ("all" or "first").
 */
export function recordChosen(course: Course, _data: CourseData, a: Ablation): void {
  const chosen = Object.fromEntries(
    (["questions", "documents"] as const).map((s) => [
      s,
      {
        folder: basename(a.chosen[s].training.tuned.artefact.path),
        variant: a.chosen[s].variant.name,
        label: a.chosen[s].variant.label,
        rows: a.chosen[s].training.rows,
        recipe: a.chosen[s].training.fitted.recipe,
      },
    ]),
  );
  writeFileAtomic(chosenModelsPath(course), JSON.stringify(chosen, null, 1));
  for (const s of ["questions", "documents"] as const) recordFact(course, `chosen.${s}`, a.chosen[s].variant.label);
  const trained = new Set(a.rows.map((r) => `${r.setting}-${r.variant.name}`)).size;
  recordFact(course, "ablation.runs", trained);
}
