/**
 * Base vs fine-tuned inside the RAG stack: the same questions sent to two (or more) context sources, the
 * contexts side by side, and a per-query report in the spirit of the job-search tutorial's
 * rag_compare_report.csv: the question, the ids and scores each model retrieved, and whether the passage
 * that answers it (the qrels) was among the top k ("hit") or not ("miss").
 *
 * `outcome` (two systems only) reads the pair of hits from the second system's point of view:
 * "fixed" (miss -> hit), "broken" (hit -> miss), "both hit", "both miss".
 */
import pl from "nodejs-polars";
import { mulberry32, shuffled } from "../random";
import type { IRSplit } from "../data/types";
import { accuracyAtK, firstRelevantRank } from "../eval/metrics";
import { writeReport } from "../eval/report";
import { mean } from "../math";
import type { PlotlyFigure } from "../display/display";
import type { RagAnswer } from "./answer";
import type { ContextSource, RetrievedContext } from "./types";
import { DEFAULT_SEED } from "../defaults";

export interface RagQuestion {
  id: string;
  question: string;
  /** Corpus ids that answer it (the qrels). */
  relevant: string[];
}

export interface RagComparison {
  k: number;
  /** Source names, in the order given (the first is the baseline). */
  systems: string[];
  questions: RagQuestion[];
  /** contexts[s][q]: system s's top-k contexts for question q. */
  contexts: RetrievedContext[][][];
}

export type Outcome = "fixed" | "broken" | "both hit" | "both miss";

/**
 * `count` questions of a split, drawn with a seeded shuffle (all of them when count is omitted or larger),
 * each with its relevant corpus ids.
 */
export function ragQuestions(split: IRSplit, options: { count?: number; seed?: number } = {}): RagQuestion[] {
  const ids = [...split.queries.keys()].filter((id) => (split.relevant.get(id)?.size ?? 0) > 0);
  const chosen =
    options.count === undefined ? ids : shuffled(ids, mulberry32(options.seed ?? DEFAULT_SEED)).slice(0, options.count);
  return chosen.map((id) => ({
    id,
    question: split.queries.get(id) as string,
    relevant: [...(split.relevant.get(id) as Set<string>)],
  }));
}

/** Retrieves the top-k contexts of every question from every source. */
export async function compareContexts(
  questions: RagQuestion[],
  sources: ContextSource[],
  k: number,
): Promise<RagComparison> {
  if (sources.length === 0) throw new Error("compareContexts: give at least one context source.");
  if (questions.length === 0) throw new Error("compareContexts: no questions.");
  const names = sources.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined)
    throw new Error(`compareContexts: two sources are both named "${dup}"; give them distinct names.`);
  const texts = questions.map((q) => q.question);
  const contexts: RetrievedContext[][][] = [];
  for (const s of sources) contexts.push(await s.search(texts, k));
  return { k, systems: names, questions, contexts };
}

/** The same comparison with only the top `k` contexts per question (k <= comparison.k). */
export function atK(comparison: RagComparison, k: number): RagComparison {
  if (!Number.isInteger(k) || k < 1 || k > comparison.k)
    throw new Error(`atK: k=${k} must be an integer in 1..${comparison.k} (the depth retrieved).`);
  return { ...comparison, k, contexts: comparison.contexts.map((sys) => sys.map((row) => row.slice(0, k))) };
}

/** Index of the first question with the given outcome (two systems), else 0: a telling example for a notebook. */
export function exampleQuestion(comparison: RagComparison, wanted: Outcome = "fixed"): number {
  if (comparison.systems.length !== 2) return 0;
  const i = comparison.questions.findIndex(
    (q, n) =>
      outcome(
        firstHitRank(comparison.contexts[0][n], q.relevant) !== null,
        firstHitRank(comparison.contexts[1][n], q.relevant) !== null,
      ) === wanted,
  );
  return Math.max(i, 0);
}

/** 1-based rank of the first relevant context, null when none of the top k is relevant (eval's firstRelevantRank). */
export function firstHitRank(contexts: readonly RetrievedContext[], relevant: readonly string[]): number | null {
  return firstRelevantRank(
    contexts.map((c) => c.id),
    new Set(relevant),
  );
}

export function outcome(baseHit: boolean, candidateHit: boolean): Outcome {
  if (baseHit && candidateHit) return "both hit";
  if (!baseHit && !candidateHit) return "both miss";
  return candidateHit ? "fixed" : "broken";
}

function snippet(text: string, chars: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > chars ? `${flat.slice(0, chars - 1)}…` : flat;
}

/** One question's contexts side by side: one row per rank, id / score / relevant? / text per system. */
export function contextsTable(
  comparison: RagComparison,
  questionIndex: number,
  options: { chars?: number } = {},
): pl.DataFrame {
  const q = comparison.questions[questionIndex];
  if (!q)
    throw new Error(`contextsTable: question ${questionIndex} out of range 0..${comparison.questions.length - 1}.`);
  const chars = options.chars ?? 90;
  const columns: Record<string, (string | number)[]> = { rank: Array.from({ length: comparison.k }, (_, i) => i + 1) };
  comparison.systems.forEach((name, s) => {
    const rows = comparison.contexts[s][questionIndex];
    columns[`${name}: id`] = rows.map((c) => (q.relevant.includes(c.id) ? `${c.id} ✓` : c.id));
    columns[`${name}: cosine`] = rows.map((c) => c.score);
    columns[`${name}: passage`] = rows.map((c) => snippet(c.text, chars));
  });
  return pl.DataFrame(columns);
}

/** The per-query report: question, relevant ids, each system's ids / scores / hit / rank; the outcome for two. */
export function ragReportTable(comparison: RagComparison): pl.DataFrame {
  const { questions, systems, contexts, k } = comparison;
  const columns: Record<string, (string | number | boolean | null)[]> = {
    query_id: questions.map((q) => q.id),
    question: questions.map((q) => q.question),
    relevant_ids: questions.map((q) => q.relevant.join(" | ")),
  };
  const hits: boolean[][] = [];
  systems.forEach((name, s) => {
    const ranks = questions.map((q, i) => firstHitRank(contexts[s][i], q.relevant));
    hits.push(ranks.map((r) => r !== null));
    columns[`${name} ids`] = contexts[s].map((row) => row.map((c) => c.id).join(" | "));
    columns[`${name} scores`] = contexts[s].map((row) => row.map((c) => c.score.toFixed(4)).join(" | "));
    columns[`${name} hit@${k}`] = ranks.map((r) => (r === null ? "miss" : "hit"));
    columns[`${name} rank`] = ranks;
  });
  if (systems.length === 2) columns.outcome = questions.map((_, i) => outcome(hits[0][i], hits[1][i]));
  const df = pl.DataFrame(columns);
  return df.withColumns(...systems.map((n) => pl.col(`${n} rank`).cast(pl.Int32)));
}

/** Hit rate at k per system. */
export function ragSummaryTable(comparison: RagComparison): pl.DataFrame {
  const { questions, systems, contexts, k } = comparison;
  const hits = systems.map((_, s) => questions.map((q, i) => firstHitRank(contexts[s][i], q.relevant) !== null));
  const rows: Record<string, (string | number)[]> = {
    system: systems,
    questions: systems.map(() => questions.length),
    [`hits@${k}`]: hits.map((h) => h.filter(Boolean).length),
    [`hit rate@${k}`]: hits.map((h) => h.filter(Boolean).length / h.length),
  };
  return pl.DataFrame(rows);
}

/** Two systems: how many questions the second fixed, broke, or left as they were. */
export function outcomeTable(comparison: RagComparison): pl.DataFrame {
  if (comparison.systems.length !== 2)
    throw new Error(`outcomeTable: needs exactly two systems (got ${comparison.systems.length}).`);
  const { questions, contexts } = comparison;
  const outs = questions.map((q, i) =>
    outcome(firstHitRank(contexts[0][i], q.relevant) !== null, firstHitRank(contexts[1][i], q.relevant) !== null),
  );
  const names: Outcome[] = ["fixed", "broken", "both hit", "both miss"];
  return pl.DataFrame({
    [`${comparison.systems[1]} vs ${comparison.systems[0]}`]: names,
    questions: names.map((o) => outs.filter((x) => x === o).length),
  });
}

/**
 * Hit rate at k = 1..comparison.k per system: how many passages the prompt needs to contain the answer. The hit
 * rate at k is the evaluator's accuracy@k (src/eval/metrics) averaged over the questions.
 */
export function hitRateByK(comparison: RagComparison): { k: number[]; rates: Record<string, number[]> } {
  const ks = Array.from({ length: comparison.k }, (_, i) => i + 1);
  const rates: Record<string, number[]> = {};
  comparison.systems.forEach((name, s) => {
    const ranked = comparison.contexts[s].map((row) => row.map((c) => c.id));
    const relevant = comparison.questions.map((q) => new Set(q.relevant));
    rates[name] = ks.map((k) => mean(ranked.map((ids, i) => accuracyAtK(ids, relevant[i], k))));
  });
  return { k: ks, rates };
}

/** hitRateByK as a line chart, one line per system. */
export function hitRateFigure(comparison: RagComparison, options: { title?: string } = {}): PlotlyFigure {
  const h = hitRateByK(comparison);
  return {
    data: comparison.systems.map((name) => ({
      type: "scatter",
      mode: "lines+markers",
      name,
      x: h.k,
      y: h.rates[name],
    })),
    layout: {
      title: {
        text:
          options.title ?? `Questions whose answer passage is in the prompt (${comparison.questions.length} questions)`,
      },
      xaxis: { title: { text: "passages put in the prompt (k)" }, dtick: 1 },
      yaxis: { title: { text: "hit rate@k" }, range: [0, 1.02] },
      height: 400,
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/** The answers each system's contexts led to for one question, side by side with the contexts' ids. */
export function answersTable(
  comparison: RagComparison,
  questionIndex: number,
  answers: readonly RagAnswer[],
): pl.DataFrame {
  const q = comparison.questions[questionIndex];
  if (!q)
    throw new Error(`answersTable: question ${questionIndex} out of range 0..${comparison.questions.length - 1}.`);
  if (answers.length !== comparison.systems.length)
    throw new Error(
      `answersTable: ${answers.length} answers for ${comparison.systems.length} systems; give one per system.`,
    );
  const contexts = comparison.contexts.map((sys) => sys[questionIndex]);
  return pl.DataFrame({
    system: comparison.systems,
    "contexts (✓ answers it)": contexts.map((row) =>
      row.map((c) => (q.relevant.includes(c.id) ? `${c.id} ✓` : c.id)).join(", "),
    ),
    "cites a relevant passage": answers.map((a) => a.citations.some((id) => q.relevant.includes(id))),
    answer: answers.map((a) => a.answer),
    "answered by": answers.map((a) => a.generator),
  });
}

/**
 * One sentence from the measured counts: how often each system put an answering passage in the prompt (for two
 * systems: fixed and broken questions). eval's describeComparison says the same of a SystemComparison's metrics.
 */
export function describeRagComparison(comparison: RagComparison): string {
  const { questions, systems, contexts, k } = comparison;
  const hits = systems.map(
    (_, s) => questions.filter((q, i) => firstHitRank(contexts[s][i], q.relevant) !== null).length,
  );
  const parts = systems.map((name, s) => `${name} ${hits[s]} (${((100 * hits[s]) / questions.length).toFixed(1)}%)`);
  let text = `With k = ${k} passages, a passage that answers the question reached the prompt for: ${parts.join(", ")} of ${questions.length} questions.`;
  if (systems.length === 2) {
    const outs = questions.map((q, i) =>
      outcome(firstHitRank(contexts[0][i], q.relevant) !== null, firstHitRank(contexts[1][i], q.relevant) !== null),
    );
    const fixed = outs.filter((o) => o === "fixed").length;
    const broken = outs.filter((o) => o === "broken").length;
    text +=
      ` Against ${systems[0]}, ${systems[1]} fixed ${fixed} misses and broke ${broken} hits` +
      (fixed > broken ? ": a net gain." : fixed < broken ? ": a net loss on this split." : ": no net change.");
  }
  return text;
}

/** Writes ragReportTable to .csv (or .parquet), atomically. */
export function writeRagReport(comparison: RagComparison, path: string): pl.DataFrame {
  const df = ragReportTable(comparison);
  writeReport(df, path);
  return df;
}
