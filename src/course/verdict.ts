/**
 * Notebook 6's verdict, drawn from what notebook 3 recorded in results.json:
 *
 *   settingVerdicts   per setting and test set: BM25, base, fine-tuned and hybrid NDCG@10 with the paired
 *                     differences; which of BM25 / fine-tuned / hybrid to use, and whether the data say so beyond noise
 *   verdictTable      the same as a table, with a "use" column (the verdict) per test set
 *   seedRoiTable      the seed tutorial's "1M queries x $0.00002 = $20/month, ROI 23x" recomputed under its own
 *                     assumptions and under this run's measured tokens per query and hosting cost
 */
import pl from "nodejs-polars";
import type { Interval } from "../eval/compare";
import type { ResultsFile } from "./results";
import { SETTING_TEST_SETS } from "./results";
import { formatSignedInterval } from "../display/format";

export interface SettingVerdict {
  setting: string;
  testSet: string;
  split: string;
  questions: number;
  ndcg: { bm25: number; base: number; tuned: number; hybrid: number };
  gain?: Interval;
  tunedVsBm25?: Interval;
  hybridVsBm25?: Interval;
  /** The system to use for this case. */
  use: "BM25" | "fine-tuned" | "hybrid (BM25 + fine-tuned)";
  /** Whether the choice is beyond noise (its paired interval against the alternatives excludes 0). */
  sure: boolean;
}

const interval = (i?: Interval) => (i ? `${formatSignedInterval(i, 3)}` : "-");

/** The verdict per setting and test set, for one dataset and model (see the module header). */
export function settingVerdicts(file: ResultsFile, dataset: string, model: string): SettingVerdict[] {
  const out: SettingVerdict[] = [];
  for (const t of SETTING_TEST_SETS) {
    const value = (system: string) =>
      file.results.find(
        (r) =>
          r.dataset === dataset && r.split === t.split && r.system === system && (r.model === model || r.model === "-"),
      );
    const rows = ["BM25", "base", "fine-tuned", "hybrid (fine-tuned)"].map(value);
    if (rows.some((r) => r === undefined)) continue;
    const [bm25, base, tuned, hybrid] = rows.map((r) => r?.metrics["ndcg@10"]?.estimate ?? 0);
    const diff = (baseline: string, candidate: string) =>
      file.comparisons.find(
        (c) =>
          c.dataset === dataset &&
          c.split === t.split &&
          c.baseline === baseline &&
          c.candidate === candidate &&
          c.model === model,
      )?.differences["ndcg@10"];
    const gain = diff("base", "fine-tuned");
    const tunedVsBm25 = diff("BM25", "fine-tuned");
    const hybridVsBm25 = diff("BM25", "hybrid (fine-tuned)");
    const scores: [SettingVerdict["use"], number][] = [
      ["BM25", bm25],
      ["fine-tuned", tuned],
      ["hybrid (BM25 + fine-tuned)", hybrid],
    ];
    const [use] = scores.reduce((a, b) => (b[1] > a[1] ? b : a));
    const above = (i?: Interval) => (i ? i.low > 0 : false);
    const below = (i?: Interval) => (i ? i.high < 0 : false);
    const sure =
      use === "BM25"
        ? below(tunedVsBm25) && below(hybridVsBm25)
        : use === "fine-tuned"
          ? above(tunedVsBm25)
          : above(hybridVsBm25);
    out.push({
      setting: t.setting,
      testSet: t.label,
      split: t.split,
      questions: rows[0]?.queries ?? 0,
      ndcg: { bm25, base, tuned, hybrid },
      gain,
      tunedVsBm25,
      hybridVsBm25,
      use,
      sure,
    });
  }
  return out;
}

export function verdictTable(verdicts: readonly SettingVerdict[]): pl.DataFrame {
  return pl.DataFrame(
    verdicts.map((v) => ({
      "your case": v.setting,
      "measured on": `${v.testSet} (${v.questions})`,
      BM25: v.ndcg.bm25.toFixed(3),
      base: v.ndcg.base.toFixed(3),
      "fine-tuned": v.ndcg.tuned.toFixed(3),
      hybrid: v.ndcg.hybrid.toFixed(3),
      "fine-tuned − base": interval(v.gain),
      "fine-tuned − BM25": interval(v.tunedVsBm25),
      "hybrid − BM25": interval(v.hybridVsBm25),
      use: v.sure ? v.use : `${v.use} (within noise)`,
    })),
  );
}

export interface SeedRoiInputs {
  /** Tokens per query measured in this run. */
  tokensPerQuery: number;
  /** USD per million tokens of the hosted embedding model. */
  apiPricePerMillionTokens: number;
  queriesPerMonth: number;
  /** USD per month of the machine serving the fine-tuned model. */
  hardwareCostPerMonth: number;
  /** USD once: this run's training compute (and LLM questions, if any). */
  oneTimeCost: number;
}

/**
 * The seed tutorial's ROI example (1M queries/month x $0.00002 per query = $20/month against $0/month and $10 once
 * for a fine-tuned local model: $230 saved in a year, "ROI 23x"), recomputed step by step: first under its own
 * assumptions, then with this run's measured tokens per query, then also paying for the machine that serves the model.
 * $0.00002 per query at $0.02 per million tokens means 1,000 tokens per query: a long document, not a question.
 */
export function seedRoiTable(input: SeedRoiInputs): pl.DataFrame {
  const seedTokens = 0.00002 / (input.apiPricePerMillionTokens / 1e6);
  const scenario = (name: string, tokens: number, hosting: number, once: number) => {
    const api = (input.queriesPerMonth * tokens * input.apiPricePerMillionTokens) / 1e6;
    const saved = 12 * (api - hosting) - once;
    return {
      scenario: name,
      "tokens per query": Math.round(tokens),
      "API USD/month": api.toFixed(2),
      "self-hosting USD/month": hosting.toFixed(2),
      "one-time USD": once.toFixed(2),
      "saved in year 1, USD": saved.toFixed(2),
      "ROI (saved / one-time)": saved <= 0 ? "none: it loses money" : `${(saved / once).toFixed(1)}x`,
    };
  };
  return pl.DataFrame([
    scenario("seed tutorial: its own assumptions", seedTokens, 0, 10),
    scenario("seed, with this run's measured tokens per query", input.tokensPerQuery, 0, 10),
    scenario(
      "this run: measured tokens, a machine to serve it, measured one-time cost",
      input.tokensPerQuery,
      input.hardwareCostPerMonth,
      Math.max(input.oneTimeCost, 0.01),
    ),
  ]);
}
