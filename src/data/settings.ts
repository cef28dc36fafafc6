/**
 * The two settings a retrieval fine-tuning is measured in (the course's notebooks 3 and 4), built from a BEIR dataset:
 * A, new questions about known documents (split by paraphrase group), and B, documents added later (split by source
 * document), each with its training questions, dev / test splits, independent queries and leak report.
 */
import pl from "nodejs-polars";
import { trainingPairs, type BeirDataset } from "./beir";
import { questionLeakReport, splitByQuestion, type QuestionLeakRow } from "./split";
import type { CorpusRow, IRSplit, PairRow } from "./types";

/**
 * The two settings the course measures side by side (notebooks 3 and 4):
 *
 *   questions  "A · new questions about your documents": every passage may have training questions; the test
 *              questions are other questions (split by paraphrase group, splitByQuestion), plus the dataset's
 *              independent queries, written apart, as a second test set. The setting of a RAG system whose
 *              corpus is known when it is fine-tuned, and the protocol of the published tutorials (they generate
 *              questions for every chunk and split the pairs at random).
 *   documents  "B · documents added later": split by source document, so no test passage was ever the answer to
 *              a training question a person wrote; what fine-tuning carries over to documents it never saw.
 */
export type SettingName = "questions" | "documents";

export const SETTING_LABELS: Readonly<Record<SettingName, string>> = {
  questions: "A · new questions about your documents",
  documents: "B · documents added later",
};

/** results.json split names: the test split and the independent queries of each setting. */
export function settingSplit(setting: SettingName, split: "dev" | "test" | "independent"): string {
  if (setting === "documents") return split;
  return `questions-${split}`;
}

export interface CourseSetting {
  name: SettingName;
  label: string;
  /** Labelled training questions: people-written ones of a shipped dataset, generated ones of a documents folder. */
  train: PairRow[];
  /** What wrote `train`. */
  trainSource: string;
  /** Generated questions that may join training in this setting (never a question evaluated in it). */
  synthetic: PairRow[];
  dev: IRSplit;
  test: IRSplit;
  /** The dataset's independent queries (written apart), when it has them. */
  independent?: IRSplit;
  /** Each test set against the training questions (identical, paraphrases, passages that had training questions). */
  leaks: QuestionLeakRow[];
}

const isGenerated = (queryId: unknown) => String(queryId ?? "").startsWith("gen-");

/** Setting A and B from the course data; see SettingName. */
export function courseSettings(
  course: { seed: number },
  dataset: BeirDataset,
  parts: { train: PairRow[]; dev: IRSplit; test: IRSplit; generated: PairRow[]; independent?: IRSplit },
): Record<SettingName, CourseSetting> {
  const human = parts.train.filter((r) => !isGenerated(r.query_id));
  const shipped = human.length > 0 || [...parts.test.queries.keys()].some((q) => !isGenerated(q));
  // B: today's split by document. A shipped dataset trains on its people-written train questions and may add
  // every generated question (they never look at a test question); a folder's generated questions of held-out
  // documents are its test questions, so only those of train documents train.
  const make = (
    name: SettingName,
    train: IRSplit,
    tests: { dev: IRSplit; test: IRSplit; independent?: IRSplit },
  ): CourseSetting => ({
    name,
    label: SETTING_LABELS[name],
    train: trainingPairs(train),
    trainSource: shipped ? "people-written" : "generated",
    synthetic: shipped ? parts.generated : [],
    ...tests,
    leaks: questionLeakReport(train, [tests.dev, tests.test, ...(tests.independent ? [tests.independent] : [])]),
  });
  const documents = make("documents", splitOfRows(shipped ? human : parts.train, dataset.corpus), {
    dev: parts.dev,
    test: parts.test,
    independent: parts.independent,
  });
  // A: every question the dataset has (people-written for a shipped dataset, else generated), split by paraphrase
  // group; questions identical to an independent query never train.
  const all = shipped
    ? mergeSplits([splitOfRows(human, dataset.corpus), parts.dev, parts.test])
    : splitOfRows(
        parts.generated.map((r, i) => ({ ...r, query_id: `gen-${i}` })),
        dataset.corpus,
      );
  const q = splitByQuestion(all, {
    seed: course.seed,
    excludeTexts: parts.independent ? parts.independent.queries.values() : [],
  });
  const questions = make("questions", q.train, {
    dev: { ...q.dev, split: settingSplit("questions", "dev") },
    test: { ...q.test, split: settingSplit("questions", "test") },
    independent: parts.independent && { ...parts.independent, split: settingSplit("questions", "independent") },
  });
  return { questions, documents };
}

/** (anchor, positive_id) rows as an IRSplit over `corpus` (query ids from the rows). */
function splitOfRows(rows: readonly PairRow[], corpus: ReadonlyMap<string, CorpusRow>): IRSplit {
  const queries = new Map<string, string>();
  const relevant = new Map<string, Set<string>>();
  rows.forEach((r, i) => {
    const id = String(r.query_id ?? `row-${i}`);
    queries.set(id, r.anchor);
    const set = relevant.get(id) ?? new Set<string>();
    set.add(String(r.positive_id));
    relevant.set(id, set);
  });
  return { split: "train", queries, corpus: corpus as Map<string, CorpusRow>, relevant };
}

function mergeSplits(splits: readonly IRSplit[]): IRSplit {
  const queries = new Map<string, string>();
  const relevant = new Map<string, Set<string>>();
  for (const s of splits)
    for (const [id, ids] of s.relevant) {
      queries.set(id, s.queries.get(id) as string);
      relevant.set(id, new Set([...(relevant.get(id) ?? []), ...ids]));
    }
  return { split: "all", queries, corpus: splits[0].corpus, relevant };
}

/** Leak checks of both settings: each test set against the training questions of its setting. */
export function leakTable(data: { settings: Record<SettingName, CourseSetting> }): pl.DataFrame {
  const rows = (["questions", "documents"] as const).flatMap((name) => {
    const s = data.settings[name];
    return s.leaks.map((l) => ({
      setting: s.label,
      "test set": l.split,
      questions: l.queries,
      "same id as a training question": l.sharedIds,
      "identical text": l.identical,
      "paraphrase of a training question (same passage)": l.paraphrases,
      "passage had training questions": `${Math.round(100 * l.passagesWithTrainingQuestions)}%`,
    }));
  });
  return pl.DataFrame(rows);
}

/** A part of a test set: the queries that paraphrase a training question, or the rest. */
export type Subset = "paraphrase" | "novel";

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
