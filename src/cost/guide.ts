/**
 * A short decision guide applied to this run's numbers: five questions, each answered from a measured
 * value, each pointing towards fine-tuning, against it, or neither. The questions follow the usual
 * reasoning (is there headroom, is the gain real, is there enough data, does the volume pay for
 * self-hosting, how fast does it pay back); the thresholds are rules of thumb, stated in the table so a
 * reader can disagree with them.
 */
import pl from "nodejs-polars";
import type { Interval } from "../eval/compare";
import { formatSigned, formatSignedInterval } from "../display/format";

export type Direction = "fine-tune" | "do not fine-tune (yet)" | "neutral";

export interface DecisionInputs {
  /** Metric name shown, e.g. "NDCG@10 on the held-out split". */
  metricName: string;
  /** The base model's value of that metric. */
  baseMetric: number;
  /** Fine-tuned minus base, with its paired 95% bootstrap interval. */
  gain: Interval;
  /** Training pairs used. */
  trainingPairs: number;
  queriesPerMonth: number;
  /** From roi(): the volume at which self-hosting costs the same as the API (null: never). */
  breakEvenQueriesPerMonth: number | null;
  /** From roi(): months to pay back the one-time cost (null: never). */
  breakEvenMonths: number | null;
  /**
   * Keyword search on the same questions: BM25's value of the metric, and the paired differences fine-tuned − BM25
   * and hybrid (BM25 + fine-tuned) − BM25. When given, the guide asks whether fine-tuning beats BM25, and the
   * verdict recommends BM25 or the hybrid when one of them wins.
   */
  keyword?: { bm25Metric: number; tunedVsBm25: Interval; hybridVsBm25: Interval };
}

export interface DecisionRow {
  question: string;
  rule: string;
  thisRun: string;
  pointsTo: Direction;
}

const f3 = (x: number) => x.toFixed(3);

/** The five questions answered from the inputs, and a one-paragraph verdict. */
export function decisionGuide(input: DecisionInputs): { rows: DecisionRow[]; verdict: string } {
  const g = input.gain;
  const rows: DecisionRow[] = [
    {
      question: "Is there headroom?",
      rule: "base >= 0.85: little to gain; < 0.70: a lot",
      thisRun: `base ${input.metricName} ${f3(input.baseMetric)}`,
      pointsTo: input.baseMetric >= 0.85 ? "do not fine-tune (yet)" : input.baseMetric < 0.7 ? "fine-tune" : "neutral",
    },
    {
      question: "Is the gain real on held-out queries?",
      rule: "the 95% interval of fine-tuned - base must exclude 0",
      thisRun: `${formatSignedInterval(g, 3)}`,
      pointsTo: g.low > 0 ? "fine-tune" : g.high < 0 ? "do not fine-tune (yet)" : "neutral",
    },
    {
      question: "Is there enough training data?",
      rule: ">= 1,000 pairs is comfortable; < 300 is thin",
      thisRun: `${input.trainingPairs.toLocaleString("en-US")} pairs`,
      pointsTo:
        input.trainingPairs >= 1000 ? "fine-tune" : input.trainingPairs < 300 ? "do not fine-tune (yet)" : "neutral",
    },
    {
      question: "Does the volume pay for self-hosting?",
      rule: "queries per month above the break-even volume",
      thisRun:
        input.breakEvenQueriesPerMonth === null
          ? "no volume: per query, self-hosting saves nothing"
          : `${input.queriesPerMonth.toLocaleString("en-US")} vs break-even ${Math.round(input.breakEvenQueriesPerMonth).toLocaleString("en-US")}`,
      pointsTo:
        input.breakEvenQueriesPerMonth !== null && input.queriesPerMonth >= input.breakEvenQueriesPerMonth
          ? "fine-tune"
          : "neutral",
    },
    {
      question: "How fast does it pay back?",
      rule: "within 12 months",
      thisRun: input.breakEvenMonths === null ? "never at this volume" : `${input.breakEvenMonths.toFixed(1)} months`,
      pointsTo: input.breakEvenMonths === null ? "neutral" : input.breakEvenMonths <= 12 ? "fine-tune" : "neutral",
    },
  ];
  const k = input.keyword;
  if (k)
    rows.push({
      question: "Does it beat keyword search (BM25)?",
      rule: "fine-tuned − BM25 (and hybrid − BM25) must exclude 0 from below",
      thisRun: `BM25 ${f3(k.bm25Metric)}; fine-tuned − BM25 ${formatSignedInterval(k.tunedVsBm25, 3)}; hybrid − BM25 ${formatSignedInterval(k.hybridVsBm25, 3)}`,
      pointsTo: k.tunedVsBm25.low > 0 || k.hybridVsBm25.low > 0 ? "fine-tune" : "do not fine-tune (yet)",
    });
  let verdict: string;
  if (k && k.tunedVsBm25.estimate < 0 && k.hybridVsBm25.estimate <= 0) {
    verdict =
      `BM25 wins here: the fine-tuned model is ${formatSigned(k.tunedVsBm25.estimate, 3)} and the hybrid ${formatSigned(k.hybridVsBm25.estimate, 3)} against it. ` +
      (g.low > 0
        ? `Fine-tuning does help the model (${formatSigned(g.estimate, 3)}), but not enough: use BM25, and fine-tune again when you have more or better questions.`
        : "Use BM25; fine-tuning this model is not worth it on these data.");
  } else if (k && k.hybridVsBm25.estimate > Math.max(0, k.tunedVsBm25.estimate)) {
    verdict =
      `The hybrid of BM25 and the fine-tuned model wins here (${formatSigned(k.hybridVsBm25.estimate, 3)} against BM25${k.hybridVsBm25.low > 0 ? ", beyond noise" : ", within noise"}; the fine-tuned model alone ${formatSigned(k.tunedVsBm25.estimate, 3)}): ` +
      "fine-tune and serve it beside BM25, fusing the two rankings.";
  } else if (g.low > 0) {
    const pays = input.breakEvenMonths !== null && input.breakEvenMonths <= 12;
    verdict =
      `Fine-tuning helps here: ${input.metricName} ${formatSigned(g.estimate, 3)} with an interval above zero. ` +
      (pays
        ? "At this volume self-hosting also pays back within a year, so quality and cost point the same way."
        : "On cost alone self-hosting does not pay back within a year at this volume: fine-tune for quality, and weigh serving it yourself against a hosted fine-tuned endpoint.");
  } else if (g.high < 0) {
    verdict = `Fine-tuning made retrieval worse here (${formatSigned(g.estimate, 3)}, interval below zero): keep the base model and look at the training data and learning rate first.`;
  } else {
    verdict =
      `The gain is not demonstrated (${formatSigned(g.estimate, 3)}, interval [${formatSigned(g.low, 3)}, ${formatSigned(g.high, 3)}] contains 0). ` +
      "Collect more or better training pairs (harder negatives, real user questions) or a larger test split before paying for it.";
  }
  return { rows, verdict };
}

/** The guide as a table. */
export function decisionTable(rows: readonly DecisionRow[]): pl.DataFrame {
  return pl.DataFrame({
    question: rows.map((r) => r.question),
    "rule of thumb": rows.map((r) => r.rule),
    "this run": rows.map((r) => r.thisRun),
    "points to": rows.map((r) => r.pointsTo),
  });
}
