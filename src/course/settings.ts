/**
 * The two settings of notebooks 3 and 4, measured side by side (see SettingName in ./data):
 *
 *   TRAINING_VARIANTS   what trains: the labelled questions only, + the generated questions, + domain pairs
 *   trainSetting        fits the recipe to the rows (fitRecipe) and fine-tunes, evaluating on the setting's dev split
 *   ablation            every variant of both settings on dev, test and independent queries; the default is the
 *                       variant with the best dev NDCG@10 in each setting (test sets are never used to choose)
 *   evaluateSetting     BM25, base, fine-tuned and hybrid on each test set of a setting, recorded in results.json,
 *                       with paired comparisons (fine-tuned − base, fine-tuned − BM25, hybrid − BM25)
 *   settingsTable / settingsNarration   the side-by-side table and the sentences drawn from it
 */
import { basename, join } from "node:path";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../files";
import { mean } from "../math";
import type { IRSplit } from "../data/types";
import { compareSystems, type MetricDifference, type SystemComparison } from "../eval/compare";
import { InformationRetrievalEvaluator, type IRResult } from "../eval/ir-evaluator";
import type { DenseRetriever } from "../retrieval/dense";
import type { Retriever } from "../retrieval/types";
import { evaluations, trainSteps, type HistoryEntry } from "../train/history";
import { settingRows, settingSplit, type CourseData, type CourseSetting, type SettingName } from "./data";
import { describeTrainingRecord, fineTune, tunedRetrievers, type FineTuned } from "./evaluation";
import { fitRecipe, type CoursePlan, type FineTuneRecipe, type FittedRecipe } from "./recipes";
import { recordComparison, recordResult } from "./results";
import type { Course } from "./setup";
import { formatSigned, formatSignedInterval } from "../display/format";

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
  /** Where and how it trained: backend, steps, seconds, memory plan (one sentence; empty for a model saved before this was kept). */
  ran: string;
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
    ran: tuned.training ? describeTrainingRecord(tuned.training) : "",
    rows: {
      labelled: setting.train.length,
      synthetic: variant.synthetic ? setting.synthetic.length : 0,
      domain: variant.domain ? data.domain.length : 0,
      total: rows.length,
    },
    tuned,
  };
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
  return { rows, chosen, baseDev, notes: plan?.notes ?? [] };
}

const signedInterval = (d: MetricDifference | undefined) => (d ? `${formatSignedInterval(d, 3)}` : "-");

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

/** Sentences about the ablation, from its numbers. */
export function ablationNarration(a: Ablation): string {
  const parts: string[] = [];
  for (const name of ["questions", "documents"] as const) {
    const rows = a.rows.filter((r) => r.setting === name);
    if (rows.length === 0) continue;
    const c = a.chosen[name];
    const test = c.gains.get(settingSplit(name, "test"));
    const steps = rows.slice(1).map((r) => {
      const d = r.devVsChosen as MetricDifference;
      const verdict = d.low > 0 ? "beyond noise, so it is taken" : "within noise, so it is not taken";
      return `${r.variant.label} changes dev NDCG@10 by ${signedInterval(d)} against the choice before it: ${verdict}`;
    });
    parts.push(
      steps.length > 0
        ? `**${c.training.setting.label}:** ${steps.join("; ")}. The default for this setting is **${c.variant.label}** (${c.training.rows.total} pairs); on the test split it gives ${signedInterval(test)}.`
        : `**${c.training.setting.label}:** one variant trained, **${c.variant.label}** (${c.training.rows.total} pairs); on the test split it gives ${signedInterval(test)}.`,
    );
  }
  return [...a.notes, ...parts].join("\n\n");
}

export interface TestSetEvaluation {
  split: IRSplit;
  results: Map<string, IRResult>;
  tunedVsBase: SystemComparison;
  tunedVsBm25: SystemComparison;
  hybridVsBm25: SystemComparison;
}

export interface SettingEvaluation {
  setting: CourseSetting;
  training: SettingTraining;
  tests: TestSetEvaluation[];
}

/**
 * BM25, base, fine-tuned and hybrid (BM25 + fine-tuned) on each test set of a setting. Each result goes to
 * results.json under the setting's split name (settingSplit), with the three paired comparisons.
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
  const tests: TestSetEvaluation[] = [];
  for (const split of testSets(training.setting)) {
    const evaluator = evaluatorFor(course, split);
    const results = new Map<string, IRResult>();
    for (const s of systems) {
      const r = await evaluator.evaluate(s.retriever);
      const labelled: IRResult = { ...r, system: s.model === "-" ? s.system : `${s.system} · ${s.model}` };
      results.set(s.system, labelled);
      recordResult(labelled, {
        dataset: course.dataset.name,
        split: split.split,
        system: s.system,
        model: s.model,
        notebook: options.notebook,
        path: course.resultsPath,
        seed: course.seed,
      });
    }
    const get = (n: string) => results.get(n) as IRResult;
    const compare = (baseline: string, candidate: string) => {
      const c = compareSystems(get(baseline), get(candidate), { seed: course.seed });
      recordComparison(c, {
        dataset: course.dataset.name,
        split: split.split,
        baseline,
        candidate,
        model: options.model,
        notebook: options.notebook,
        path: course.resultsPath,
      });
      return c;
    };
    tests.push({
      split,
      results,
      tunedVsBase: compare("base", system),
      tunedVsBm25: compare("BM25", system),
      hybridVsBm25: compare("BM25", `hybrid (${system})`),
    });
  }
  return { setting: training.setting, training, tests };
}

const testSetLabel = (split: IRSplit) =>
  split.split.endsWith("independent") ? "independent queries (written apart)" : "test split";

/** Both settings side by side: NDCG@10 of each system with 95% CIs, the paired gains, improved / worsened. */
export function settingsTable(evaluations: readonly SettingEvaluation[], system = "fine-tuned"): pl.DataFrame {
  const rows = evaluations.flatMap((e) =>
    e.tests.map((t) => {
      const v = (name: string) => t.results.get(name)?.values["ndcg@10"];
      const cell = (name: string) => {
        const x = v(name);
        return x === undefined ? "-" : x.toFixed(3);
      };
      return {
        setting: e.setting.label,
        "test set": `${testSetLabel(t.split)} (${t.split.queries.size})`,
        BM25: cell("BM25"),
        base: cell("base"),
        [system]: cell(system),
        hybrid: cell(`hybrid (${system})`),
        [`${system} − base [95% CI]`]: signedInterval(ndcg(t.tunedVsBase)),
        "improved / worsened": `${t.tunedVsBase.improved} / ${t.tunedVsBase.worsened}`,
        [`${system} − BM25 [95% CI]`]: signedInterval(ndcg(t.tunedVsBm25)),
        "hybrid − BM25 [95% CI]": signedInterval(ndcg(t.hybridVsBm25)),
      };
    }),
  );
  return pl.DataFrame(rows);
}

/** A gain "is real" when its paired interval excludes 0. */
function verdict(d: MetricDifference): "up" | "down" | "unclear" {
  if (d.low > 0) return "up";
  if (d.high < 0) return "down";
  return "unclear";
}

/** Which of BM25, fine-tuned and hybrid is best on a test set, and whether the difference is beyond noise. */
export function bestSystem(t: TestSetEvaluation, system = "fine-tuned"): { name: string; sure: boolean } {
  const names = ["BM25", system, `hybrid (${system})`];
  const scores = names.map((n) => t.results.get(n)?.values["ndcg@10"] ?? -1);
  const i = scores.indexOf(Math.max(...scores));
  const name = names[i];
  // Sure when the winner beats BM25 beyond noise (or, when BM25 wins, both others are below it beyond noise).
  const sure =
    name === "BM25"
      ? verdict(ndcg(t.tunedVsBm25)) === "down" && verdict(ndcg(t.hybridVsBm25)) === "down"
      : verdict(ndcg(name === system ? t.tunedVsBm25 : t.hybridVsBm25)) === "up";
  return { name: name === `hybrid (${system})` ? "hybrid" : name, sure };
}

/** What the side-by-side table says, in sentences drawn from it. */
export function settingsNarration(evaluations: readonly SettingEvaluation[], system = "fine-tuned"): string {
  const lines: string[] = [];
  for (const e of evaluations) {
    for (const t of e.tests) {
      const d = ndcg(t.tunedVsBase);
      const b = ndcg(t.tunedVsBm25);
      const base = t.results.get("base")?.values["ndcg@10"] ?? 0;
      const tuned = t.results.get(system)?.values["ndcg@10"] ?? 0;
      const bm25 = t.results.get("BM25")?.values["ndcg@10"] ?? 0;
      const gain =
        verdict(d) === "up"
          ? `fine-tuning lifts NDCG@10 from ${base.toFixed(3)} to ${tuned.toFixed(3)} (${signedInterval(d)}: the interval excludes 0)`
          : verdict(d) === "down"
            ? `fine-tuning lowers NDCG@10 from ${base.toFixed(3)} to ${tuned.toFixed(3)} (${signedInterval(d)})`
            : `fine-tuning moves NDCG@10 from ${base.toFixed(3)} to ${tuned.toFixed(3)}, within noise (${signedInterval(d)})`;
      const vsBm25 =
        verdict(b) === "up"
          ? `and beats BM25 (${bm25.toFixed(3)}) beyond noise`
          : verdict(b) === "down"
            ? `but stays below BM25 (${bm25.toFixed(3)}) beyond noise`
            : `and is level with BM25 (${bm25.toFixed(3)}) within noise (${signedInterval(b)})`;
      const best = bestSystem(t, system);
      lines.push(
        `- **${e.setting.label}, ${testSetLabel(t.split)}:** ${gain}, ${vsBm25}; ${t.tunedVsBase.improved} questions improved, ${t.tunedVsBase.worsened} worsened. Best here: **${best.name}**${best.sure ? "" : " (not beyond noise)"}.`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * What a training curve shows, from its numbers: the loss (left axis) from first to last step, and the dev
 * NDCG@10 (right axis, a second scale because the two quantities have different units) from first to last
 * evaluation, with why it moves little when it does.
 */
export function curveNarration(history: readonly HistoryEntry[], dev: { base: number; queries: number }): string {
  const steps = trainSteps(history);
  const evals = evaluations(history);
  if (steps.length === 0) return "No training steps were logged.";
  const k = Math.max(1, Math.floor(steps.length / 10));
  const first = mean(steps.slice(0, k).map((s) => s.loss));
  const last = mean(steps.slice(-k).map((s) => s.loss));
  const batch = steps[0].batchSize;
  // "Falls" only when it does: by at least 5% of where it started.
  const lossFalls = last < first * 0.95;
  const lossMove = lossFalls
    ? `it falls from ${first.toFixed(2)} (mean of the first ${k} steps) to ${last.toFixed(2)} (last ${k})`
    : `it goes from ${first.toFixed(2)} (mean of the first ${k} steps) to ${last.toFixed(2)} (last ${k}), ${last > first ? "up" : "down"} by less than 5%`;
  const parts = [
    `The **left axis** is the MNRL loss of each step's batch: ${lossMove}; ln ${batch} = ${Math.log(batch).toFixed(2)} is the loss of a model that cannot tell the ${batch} passages of a batch apart.`,
  ];
  const key = evals.length > 0 ? Object.keys(evals[0].metrics).find((m) => m.endsWith("ndcg@10")) : undefined;
  if (key) {
    const values = evals.map((e) => e.metrics[key]);
    const change = values[values.length - 1] - dev.base;
    const spread = Math.max(...values) - Math.min(...values);
    // The trainer evaluates at step 0 too; then that point is the base model and is said once.
    const start =
      evals[0].step === 0
        ? `${values[0].toFixed(3)} before training (step 0)`
        : `${dev.base.toFixed(3)} before training, ${values[0].toFixed(3)} at step ${evals[0].step}`;
    parts.push(
      `The **right axis** is a second scale for dev NDCG@10 (${dev.queries} dev questions), evaluated ${values.length} times: ${start}, ${values[values.length - 1].toFixed(3)} at the end (${formatSigned(change, 3)}).`,
      spread < 0.02
        ? `Across the evaluations it moves by only ${spread.toFixed(3)}: the batch loss measures ${batch}-way choices the model learns quickly, while NDCG@10 ranks each question among all passages` +
            (evals[0].step === 0 ? "." : ", and most of its change happens before the first evaluation.")
        : lossFalls
          ? `Across the evaluations it moves by ${spread.toFixed(3)}, while the loss keeps falling: the loss ranks ${batch} passages per batch, NDCG@10 all of them.`
          : `Across the evaluations it moves by ${spread.toFixed(3)} while the batch loss hardly moves: the loss ranks ${batch} passages per batch, NDCG@10 all of them, and a small change in the scores can reorder the whole ranking.`,
    );
  }
  return parts.join(" ");
}

/** Why setting A gains more than setting B, and what each says: sentences from the measured gains. */
export function settingsLesson(evaluations: readonly SettingEvaluation[]): string {
  const find = (name: SettingName) => evaluations.find((e) => e.setting.name === name);
  const gainOf = (e: SettingEvaluation | undefined, independent: boolean) => {
    const t = e?.tests.find((x) => x.split.split.endsWith("independent") === independent);
    return t ? ndcg(t.tunedVsBase) : undefined;
  };
  const [a, b] = [find("questions"), find("documents")];
  const aTest = gainOf(a, false);
  const bTest = gainOf(b, false);
  const aInd = gainOf(a, true);
  const bInd = gainOf(b, true);
  if (!aTest || !bTest) return "";
  // Setting A needs test questions about passages that had training questions. With generated questions only (a
  // folder of your own documents), the questions of one passage share most of their words, the split keeps them
  // together as paraphrases, and A's test passages had none: then A measures what B measures, and the reader is told.
  const aLeak = a?.setting.leaks.find((l) => l.split === a.setting.test.split);
  const notA = aLeak !== undefined && aLeak.queries > 0 && aLeak.passagesWithTrainingQuestions < 0.5;
  const more = aTest.estimate > bTest.estimate;
  const lines = [
    `On the test splits, fine-tuning changes NDCG@10 by ${signedInterval(aTest)} in setting A and ${signedInterval(bTest)} in setting B` +
      (aInd && bInd
        ? `; on the same independent queries, by ${signedInterval(aInd)} (A) and ${signedInterval(bInd)} (B).`
        : "."),
    notA && aLeak
      ? `**On this data setting A is not setting A.** Only ${(100 * aLeak.passagesWithTrainingQuestions).toFixed(0)}% of its ${aLeak.queries} test questions are about a passage that had training questions (every one does on a shipped dataset). ` +
        `Its questions are ${a?.setting.trainSource}, and the questions of one passage share most of their words, so the split keeps them together as paraphrases and the test passages were never trained on: both settings above measure documents the model has not seen. ` +
        "To measure new questions about your documents, add questions asked in other words (written by people, or by an LLM with `OPENAI_BASE_URL` set) so that each passage has some to train on and others to test."
      : more
        ? "**Why A gains more.** In setting A the passages of the test questions were answers during training: the model has learned which words people use for *these* passages (their abbreviations, lay words and typos), and a new question about the same passage reuses much of that vocabulary. In setting B the test passages' own vocabulary was never tied to a person's question; only what carries over from other documents helps, and the setting-B intervals above say how much that is."
        : "Here setting A does not gain more than setting B, against the usual pattern: check the ablation above and the leak table (a setting-A test set with few questions gives wide intervals).",
    "**The published numbers are setting-A numbers.** The tutorials this course follows generate questions for every chunk and split the pairs at random, so nearly every test passage had training questions: that is setting A, and the right setting for a RAG system over a corpus you know when you fine-tune. Setting B is the harder question of how far fine-tuning generalises to documents added after training; retrain when documents are added, or expect the smaller gain.",
  ];
  return lines.join("\n\n");
}

/** Where notebook 3 notes which trained model each setting chose (read by loadFineTuned in src/course/rag). */
export function chosenModelsPath(course: Pick<Course, "runDir">): string {
  return join(course.runDir, "models", "chosen.json");
}

/** Notes the chosen model of each setting (its artefact folder) for notebooks 4-6. */
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
}
