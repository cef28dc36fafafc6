/**
 * A short decision guide applied to this run's numbers: each question answered from a measured value, each
 * pointing towards fine-tuning, against it, or neither, by a rule stated in the table and applied exactly as
 * stated. The quality questions (is the gain real, does it beat keyword search) get one row per test set, each
 * with its paired 95% interval: an interval above 0 points to fine-tuning, one below 0 against it, one that
 * contains 0 to neither. The thresholds are rules of thumb, in the table so a reader can disagree with them.
 */
import pl from "nodejs-polars";
import type { Interval } from "../eval/compare";
import { formatSigned } from "../display/format";

export type Direction = "fine-tune" | "do not fine-tune (yet)" | "neutral";

/** One test set's evidence: the base model's metric and the paired differences, each with its 95% interval. */
export interface TestSetEvidence {
  /** Shown in the table, e.g. "test split (171 questions)". */
  name: string;
  baseMetric: number;
  /** Fine-tuned minus base. */
  gain: Interval;
  /** Fine-tuned minus BM25 (keyword search), when measured. */
  tunedVsBm25?: Interval;
  /** Hybrid (BM25 + fine-tuned) minus BM25, when measured. */
  hybridVsBm25?: Interval;
}

export interface DecisionInputs {
  /** Metric name shown, e.g. "NDCG@10". */
  metricName: string;
  /** Every test set the guide reads (at least one). */
  testSets: readonly TestSetEvidence[];
  /** Training pairs used. */
  trainingPairs: number;
  queriesPerMonth: number;
  /** From roi(): the volume at which self-hosting costs the same as the API (null: never). */
  breakEvenQueriesPerMonth: number | null;
  /** From roi(): months to pay back the one-time cost (null: never). */
  breakEvenMonths: number | null;
}

export interface DecisionRow {
  question: string;
  rule: string;
  thisRun: string;
  pointsTo: Direction;
}

const f3 = (x: number) => x.toFixed(3);
const signed = (x: number) => formatSigned(x, 3);
const interval = (i: Interval) => `${signed(i.estimate)} [${signed(i.low)}, ${signed(i.high)}]`;
const INTERVAL_RULE = "95% interval above 0: fine-tune; below 0: do not; contains 0: neutral";
const byInterval = (i: Interval): Direction =>
  i.low > 0 ? "fine-tune" : i.high < 0 ? "do not fine-tune (yet)" : "neutral";

/** The questions answered from the inputs (see the module header), and one computed sentence counting them. */
export function decisionGuide(input: DecisionInputs): { rows: DecisionRow[]; verdict: string } {
  if (input.testSets.length === 0) throw new Error("decisionGuide: give at least one test set.");
  const bases = input.testSets.map((t) => t.baseMetric);
  const rows: DecisionRow[] = [
    {
      question: "Is there headroom?",
      rule: "base < 0.70 on every test set: fine-tune; >= 0.85 on every one: do not; else neutral",
      thisRun: input.testSets.map((t) => `${t.name}: base ${f3(t.baseMetric)}`).join("; "),
      pointsTo: bases.every((b) => b < 0.7)
        ? "fine-tune"
        : bases.every((b) => b >= 0.85)
          ? "do not fine-tune (yet)"
          : "neutral",
    },
  ];
  const perSet = (question: string, what: string, pick: (t: TestSetEvidence) => Interval | undefined) => {
    for (const t of input.testSets) {
      const i = pick(t);
      if (i)
        rows.push({
          question: `${question} (${t.name})`,
          rule: `${what}: ${INTERVAL_RULE}`,
          thisRun: interval(i),
          pointsTo: byInterval(i),
        });
    }
  };
  perSet("Is the gain real?", "fine-tuned − base", (t) => t.gain);
  perSet("Does it beat keyword search?", "fine-tuned − BM25", (t) => t.tunedVsBm25);
  perSet("Does the hybrid beat keyword search?", "hybrid (BM25 + fine-tuned) − BM25", (t) => t.hybridVsBm25);
  rows.push(
    {
      question: "Is there enough training data?",
      rule: ">= 1,000 pairs: fine-tune; < 300: do not; else neutral",
      thisRun: `${input.trainingPairs.toLocaleString("en-US")} pairs`,
      pointsTo:
        input.trainingPairs >= 1000 ? "fine-tune" : input.trainingPairs < 300 ? "do not fine-tune (yet)" : "neutral",
    },
    {
      question: "Does the volume pay for self-hosting?",
      rule: "queries per month at or above the break-even volume: fine-tune; else neutral",
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
      rule: "within 12 months: fine-tune; else neutral",
      thisRun: input.breakEvenMonths === null ? "never at this volume" : `${input.breakEvenMonths.toFixed(1)} months`,
      pointsTo: input.breakEvenMonths !== null && input.breakEvenMonths <= 12 ? "fine-tune" : "neutral",
    },
  );
  const count = (d: Direction) => rows.filter((r) => r.pointsTo === d).length;
  const verdict =
    `${count("fine-tune")} of ${rows.length} rows point to fine-tuning, ` +
    `${count("do not fine-tune (yet)")} against it, ${count("neutral")} to neither.`;
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
