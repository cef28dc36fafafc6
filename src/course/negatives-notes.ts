/**
 * Notebook 4's tables: what each run trains on, and what each mining filter removes, judged against the qrels.
 *
 * A candidate the qrels do not list as relevant to the question is a true negative; one they list is a possible
 * false negative. The judgement comes from the labels, never from the model's scores: a candidate scoring above the
 * positive is only a negative the model gets wrong. Mining never offers a question's own positives, so on a dataset
 * whose qrels list every answer the margins can only remove true negatives.
 */
import pl from "nodejs-polars";
import { passageText } from "../data/beir";
import type { PairRow } from "../data/types";
import { mean } from "../math";
import type { FalseNegative, MiningResult } from "../mining/types";
import type { CourseData, CourseSetting } from "./data";
import type { FittedRecipe } from "./recipes";

/** One row per setting: training pairs, batch size, steps per run (default: each fit's), learning rate, test questions. */
export function negativesPlanTable(
  settings: readonly CourseSetting[],
  fits: readonly FittedRecipe[],
  steps: readonly number[] = fits.map((f) => f.steps),
): pl.DataFrame {
  return pl.DataFrame(
    settings.map((s, i) => ({
      setting: s.label,
      "training pairs": s.train.length,
      "pairs from": s.trainSource,
      "batch size": fits[i].recipe.batchSize,
      "optimizer steps per run": steps[i],
      "learning rate": fits[i].recipe.learningRate,
      "test questions": s.test.queries.size,
    })),
  );
}

/** A mining to show: its name ("relative margin 0.05"), the model that mined, what mineHardNegatives returned. */
export interface NamedMining extends MiningResult {
  name: string;
  model: string;
}

/** Question text -> texts of the passages the qrels call relevant: every split of the dataset, plus `pairs`. */
export function qrelsByText(
  data: Pick<CourseData, "dataset">,
  pairs: readonly PairRow[] = [],
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (question: string, passage: string) => {
    const set = out.get(question) ?? new Set<string>();
    set.add(passage);
    out.set(question, set);
  };
  const { queries, corpus, qrels } = data.dataset;
  for (const rows of qrels.values())
    for (const r of rows) {
      const q = queries.get(r.queryId);
      const doc = corpus.get(r.corpusId);
      if (q !== undefined && doc && r.score > 0) add(q, passageText(doc));
    }
  for (const p of pairs) add(p.anchor, p.positive);
  return out;
}

const MARGINS = ["absoluteMargin", "relativeMargin", "maxScore", "minScore", "semiHardMargin"];
const removedByMargin = (f: FalseNegative) => MARGINS.includes(f.outcome);

/**
 * One row per mining: pairs that got a negative, candidates its margins removed (true negatives vs possible false
 * negatives by the qrels), mined negatives scoring at or above their positive, and mined negatives the qrels call
 * relevant (false negatives trained on). Needs the report's suspect list to hold every removed candidate: mine with
 * falseNegativeMargin >= the widest margin and a maxFalseNegatives above the candidates.
 */
export function filterSummaryTable(mined: readonly NamedMining[], qrels: Map<string, Set<string>>): pl.DataFrame {
  const relevant = (q: string, p: string) => qrels.get(q)?.has(p) ?? false;
  return pl.DataFrame(
    mined.map((m) => {
      const r = m.report;
      const removed = r.falseNegatives.filter(removedByMargin);
      const listed = MARGINS.reduce((s, f) => s + r.removed[f as keyof typeof r.removed], 0);
      if (removed.length !== listed)
        throw new Error(
          `filterSummaryTable: "${m.name}" removed ${listed} candidates but lists ${removed.length}; mine with a larger falseNegativeMargin and maxFalseNegatives.`,
        );
      const falseKept = m.rows.filter((row) => relevant(row.anchor, String(row.negative))).length;
      return {
        mining: m.name,
        model: m.model,
        "pairs with a negative": `${r.pairs - r.pairsWithFewerNegatives} of ${r.pairs}`,
        "removed by the margin": listed,
        "of them true negatives (qrels)": removed.filter((f) => !relevant(f.query, f.candidate)).length,
        "of them possible false negatives (qrels)": removed.filter((f) => relevant(f.query, f.candidate)).length,
        "mined negatives scoring >= the positive": r.differenceScores.filter((d) => d <= 0).length,
        "mined negatives the qrels call relevant": falseKept,
        "mean positive / negative cosine": `${mean(r.positiveScores).toFixed(3)} / ${mean(r.negativeScores).toFixed(3)}`,
      };
    }),
  );
}

/**
 * `perMining` candidates of each mining, spread evenly from the closest to its positive down to the margin's edge:
 * the candidates its margins removed, or, for a mining without a margin, the mined negatives within
 * falseNegativeMargin of the positive. `qrels say` is "true negative removed" / "possible false negative" for a
 * removed candidate, "true negative kept" / "false negative kept" for a mined one.
 */
export function filterExamplesTable(
  mined: readonly NamedMining[],
  qrels: Map<string, Set<string>>,
  options: { perMining?: number; maxChars?: number } = {},
): pl.DataFrame {
  const n = options.perMining ?? 5;
  const cut = (s: string) => {
    const flat = s.replace(/\s+/g, " ");
    const max = options.maxChars ?? 90;
    return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  };
  const rows = mined.flatMap((m) => {
    const margin = m.report.falseNegatives.filter(removedByMargin);
    const pool = (margin.length > 0 ? margin : m.report.falseNegatives.filter((f) => f.outcome === "negative")).sort(
      (a, b) => b.candidateScore - b.positiveScore - (a.candidateScore - a.positiveScore),
    );
    const picks =
      pool.length <= n
        ? pool
        : Array.from({ length: n }, (_, i) => pool[Math.round((i * (pool.length - 1)) / (n - 1))]);
    return picks.map((f) => {
      const kept = f.outcome === "negative";
      const rel = qrels.get(f.query)?.has(f.candidate) ?? false;
      return {
        mining: m.name,
        question: f.query,
        positive: cut(f.positive),
        "positive cosine": f.positiveScore,
        candidate: cut(f.candidate),
        "candidate cosine": f.candidateScore,
        "mining did": kept ? "kept as the negative" : `removed by ${f.outcome}`,
        "qrels say": kept
          ? rel
            ? "false negative kept"
            : "true negative kept"
          : rel
            ? "possible false negative"
            : "true negative removed",
      };
    });
  });
  return pl.DataFrame(rows);
}
