/**
 * Notebook 4's tables and sentences, drawn from the numbers of its run: what each run trains on, why some pairs get
 * no negative, what the suspected false negatives are, and which kind of negative (if any) helped in each setting.
 */
import pl from "nodejs-polars";
import type { Embedder } from "../model/types";
import { mineHardNegatives, NoMinedRowsError } from "../mining/hard-negatives";
import { removedCounts, scoreStatistics } from "../mining/report";
import type { MineHardNegativesOptions, MiningReport, MiningResult } from "../mining/types";
import type { CourseSetting } from "./data";
import type { NegativesComparison } from "./negatives-comparison";
import type { FittedRecipe } from "./recipes";
import { formatSignedInterval } from "../display/format";

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

/**
 * mineHardNegatives for showing what mining does: when the filters remove every candidate it returns the empty
 * result with its report (which missingNegativesNote then explains) instead of throwing NoMinedRowsError, so a
 * notebook still shows the filter counts and the scores. Any other error is thrown.
 */
export async function mineWithReport(
  pairs: unknown,
  model: Embedder,
  options: MineHardNegativesOptions = {},
): Promise<MiningResult> {
  try {
    return await mineHardNegatives(pairs, model, options);
  } catch (err) {
    if (err instanceof NoMinedRowsError) return err.result;
    throw err;
  }
}

/** Why some pairs end up without a negative (or, when mining found none at all, why), with this run's counts. */
export function missingNegativesNote(report: MiningReport): string {
  if (report.pairsWithFewerNegatives === 0) return `Every one of the ${report.pairs} pairs got its negative.`;
  const o = report.options;
  const removed = removedCounts(report.removed);
  if (report.rows === 0) {
    const p = scoreStatistics(report.positiveScores);
    return (
      `**No pair got a negative.** Every candidate among the ${o.searchDepth} passages searched per query was the positive itself ` +
      `or scored too close to it (${removed || "no filter removed any"}). Either the margins are stricter than this model's scores allow, ` +
      `or the model scores every passage almost alike, as one with untrained weights does (the positives' cosine scores here run from ` +
      `${p.min.toFixed(3)} to ${p.max.toFixed(3)}, median ${p["50%"].toFixed(3)}); a trained model (the Hub's, or notebook 3's) separates them and mining finds negatives. ` +
      `The comparison below reports each mined run that found no row as not run, and trains the others.`
    );
  }
  return (
    `**${report.pairsWithFewerNegatives} of ${report.pairs} pairs got no negative.** For each query mining looks at the ` +
    `${o.searchDepth} passages the model ranks highest (ranks ${o.rangeMin} to ${o.rangeMax}) and removes every candidate that is ` +
    `the positive itself or scores too close to it (${removed || "no filter removed any"}); when nothing is left, the pair has no negative. ` +
    `sentence-transformers drops such pairs from a triplet dataset, and so does the comparison below: the mined runs train on fewer rows ` +
    `(the "training rows" column), with the same number of steps.`
  );
}

/**
 * The report with one suspected false negative per question (its closest to the positive): a table of the raw
 * list shows one question's candidates over and over when its positive scores low.
 */
export function onePerQuery(report: MiningReport): MiningReport {
  const best = new Map<string, MiningReport["falseNegatives"][number]>();
  for (const f of report.falseNegatives) {
    const b = best.get(f.query);
    if (!b || f.candidateScore - f.positiveScore > b.candidateScore - b.positiveScore) best.set(f.query, f);
  }
  return { ...report, falseNegatives: [...best.values()] };
}

/** What the false-negative table (falseNegativesTable of onePerQuery(plain)) shows, counted from the same rows. */
export function falseNegativesNote(plain: MiningReport, withMargin: MiningReport, shown: number): string {
  const rows = [...onePerQuery(plain).falseNegatives]
    .sort((a, b) => b.candidateScore - b.positiveScore - (a.candidateScore - a.positiveScore))
    .slice(0, shown);
  const above = rows.filter((r) => r.candidateScore >= r.positiveScore).length;
  const mined = (r: MiningReport) => r.falseNegatives.filter((f) => f.outcome === "negative").length;
  return (
    `The table shows the closest suspect of ${rows.length} questions: ${above} score at or above their positive and ${rows.length - above} within ` +
    `${plain.falseNegativeMargin} below it; ${rows.filter((r) => r.outcome === "negative").length} of them became training negatives. ` +
    `In all, ${plain.falseNegativeCount} suspects were found without a margin and **${mined(plain)}** of the ${plain.falseNegatives.length} listed were mined as negatives; ` +
    `with relativeMargin ${withMargin.options.relativeMargin}, **${mined(withMargin)}**. Whether a suspect really answers its question ` +
    `needs a reader: compare its text with the positive's. A passage that does is a false negative, and training pushes it away.`
  );
}

/** Which negatives beat in-batch beyond noise in each setting, from the comparisons. */
export function negativesVerdict(
  comparisons: readonly NegativesComparison[],
  settings: readonly CourseSetting[],
  options: { staticModel?: boolean } = {},
): string {
  const steps = comparisons[0]?.settings.steps;
  const closing =
    options.staticModel === false
      ? `This model is a Transformer, where NV-Retriever and sentence-transformers' docs report mined negatives with a margin ahead of random ones and of in-batch only; here each run had ${steps} optimizer steps (the CPU plan). Whether that holds on your data needs longer runs: \`COURSE_ABLATION=all\` trains notebook 3's steps, best on a GPU.`
      : "With a static model of one vector per word piece there is little for a hard negative to teach that in-batch negatives do not: it can only move word vectors, not learn which word in a sentence matters. Hard negatives are expected to matter for a Transformer (`COURSE_MODEL=BAAI/bge-small-en-v1.5`), where NV-Retriever and sentence-transformers' docs report mined negatives with a margin ahead of random ones and of in-batch only.";
  return comparisons
    .map((c, i) => {
      const better: string[] = [];
      const worse: string[] = [];
      const level: string[] = [];
      for (const r of c.runs) {
        if (!r.vsInBatch) continue;
        const d = r.vsInBatch.differences.find((x) => x.metric === "ndcg@10");
        if (!d) continue;
        const text = `${r.condition} (${formatSignedInterval(d, 3)})`;
        if (d.low > 0) better.push(text);
        else if (d.high < 0) worse.push(text);
        else level.push(text);
      }
      const compared = better.length + worse.length + level.length;
      const parts = [
        compared === 0
          ? "no other kind of negative ran, so nothing is compared with in-batch"
          : better.length > 0
            ? `beats in-batch beyond noise: ${better.join(", ")}`
            : "no kind of negative beats in-batch beyond noise",
        ...(worse.length > 0 ? [`below in-batch beyond noise: ${worse.join(", ")}`] : []),
        ...(level.length > 0 ? [`level within noise: ${level.join(", ")}`] : []),
        ...(c.skipped.length > 0
          ? [
              `not run, because mining found no negative with this model: ${c.skipped.map((x) => x.condition).join(", ")}`,
            ]
          : []),
      ];
      return `**${settings[i].label}:** ${parts.join("; ")}.`;
    })
    .concat(closing)
    .join("\n\n");
}
