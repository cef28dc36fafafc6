/**
 * The course's data, built by notebook 1 and read by every later one.
 *
 *   courseCorpus        the dataset's passages: a shipped / BEIR corpus as it is, or the user's documents chunked
 *   generateCourseQuestions   LLM questions when one is configured (resumable), else the offline template generator;
 *                       both saved as an artefact keyed by the chunks and options, with the LLM's cost (measured or estimated)
 *   reviewRoundTrip     export a review sheet; read back the reviewed one when the participant saved it
 *   buildCourseData     split by source document, leak check, save the BEIR folder, point runs/<dataset>/course-data.json at it
 *   loadCourseData      what notebooks 2-6 start from: train pairs and the dev / test splits for evaluation
 *
 * Which queries are held out: a shipped dataset (policy-handbook, vet-clinic) comes with questions people
 * wrote, split by source document; the course evaluates on those dev / test queries (never generated ones)
 * and keeps every generated question of a dev / test document out of training. A folder of the user's
 * documents has no such questions: its documents are split 70/15/15 and the generated questions of the
 * held-out documents are the evaluation queries.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../files";
import {
  loadBeirDataset,
  passageText,
  toIRSplit,
  trainingPairs,
  writeBeir,
  type BeirDataset,
  type BeirFiles,
  type QrelRow,
} from "../data/beir";
import { chunkFolder, type ChunkOptions, type ChunkReport } from "../data/chunk";
import { readJsonl } from "../data/jsonl";
import {
  questionLeakReport,
  splitByDocument,
  splitByQuestion,
  type LeakReport,
  type QuestionLeakRow,
} from "../data/split";
import { domainAdaptationPairs } from "../data/domain-pairs";
import { loadIndependentQueries } from "../data/shipped";
import { SPLIT_NAMES, type CorpusRow, type IRSplit, type PairRow, type SplitName } from "../data/types";
import { filesKey, inputsKey, reuseOrBuild, type Artefact } from "./artefacts";
import type { Course } from "./setup";

export interface CourseCorpus {
  chunks: CorpusRow[];
  /** Source document ids, sorted. */
  documents: string[];
  /** Shipped / BEIR datasets: the dataset with its human-written queries and splits. */
  human?: BeirDataset;
  /** Documents folder: what chunkFolder reported. */
  chunkReport?: ChunkReport;
  /** Hash of the passages (id, title, text), for artefact keys. */
  key: string;
}

const words = (t: string) => t.split(/\s+/).filter(Boolean).length;

/**
 * The dataset's passages: a shipped / BEIR corpus as it ships (one section per passage), or the user's documents
 * chunked (by chunkFolder with `options`, or the result of a chunkFolder call passed as `options`).
 */
export function courseCorpus(
  course: Course,
  options: ChunkOptions | { chunks: CorpusRow[]; report: ChunkReport } = {},
): CourseCorpus {
  let chunks: CorpusRow[];
  let human: BeirDataset | undefined;
  let chunkReport: ChunkReport | undefined;
  if (course.dataset.kind === "documents") {
    // The chunks a notebook cell made with chunkFolder, or chunkFolder with these options.
    ({ chunks, report: chunkReport } =
      "chunks" in options ? options : chunkFolder(course.dataset.dir, options as ChunkOptions));
    if (chunks.length === 0) {
      throw new Error(
        `Dataset setting COURSE_DATASET=${course.dataset.dir}: chunking found no text in ${course.dataset.files.length} document(s). Fix: check that the files hold text (UTF-8), or set COURSE_DATASET=policy-handbook.`,
      );
    }
  } else {
    human = loadBeirDataset(course.dataset.dir);
    chunks = [...human.corpus].map(([_id, d]) => ({ _id, doc_id: d.doc_id, title: d.title, text: d.text }));
  }
  const documents = [...new Set(chunks.map((c) => c.doc_id))].sort();
  const key = inputsKey(chunks.map((c) => [c._id, c.doc_id, c.title, c.text]));
  return { chunks, documents, human, chunkReport, key };
}

/** Documents, passages and words per passage. */
export function corpusTable(corpus: CourseCorpus): pl.DataFrame {
  const lengths = corpus.chunks.map((c) => words(c.text)).sort((a, b) => a - b);
  const median = lengths[Math.floor((lengths.length - 1) / 2)];
  return pl.DataFrame({
    documents: [corpus.documents.length],
    passages: [corpus.chunks.length],
    "words/passage min": [lengths[0]],
    "words/passage median": [median],
    "words/passage max": [lengths[lengths.length - 1]],
    "human-written queries": [corpus.human ? corpus.human.queries.size : 0],
  });
}

/** Where each source document goes: a shipped dataset's own split (so its held-out queries stay held out), else 70/15/15. */
export function documentSplit(course: Course, corpus: CourseCorpus): Map<string, SplitName> {
  const out = new Map<string, SplitName>();
  if (corpus.human) {
    for (const split of SPLIT_NAMES) {
      if (!corpus.human.qrels.has(split)) continue;
      const ir = toIRSplit(corpus.human, split);
      for (const ids of ir.relevant.values()) for (const id of ids) out.set(ir.corpus.get(id)?.doc_id as string, split);
    }
    // Documents no human query points to: put them in train (no held-out query can be about them).
    for (const d of corpus.documents) if (!out.has(d)) out.set(d, "train");
    return out;
  }
  return splitByDocument(
    corpus.chunks.map((c) => c.doc_id),
    { seed: course.seed },
  );
}

export interface CourseDataInfo {
  dataset: string;
  /** The BEIR folder. */
  dir: string;
  key: string;
  /** Queries per split and where they come from. */
  splits: { split: string; queries: number; documents: number; source: string; sharedDocuments: number }[];
  generator: string;
  /** Training rows that come from generated questions and from human-written train queries. */
  trainRows: { generated: number; human: number };
  created: string;
}

/**
 * Splits by source document, checks for leaks and saves the course dataset (BEIR layout) under
 * runs/<dataset>/data/; runs/<dataset>/course-data.json points notebooks 2-6 at it.
 *
 * `split`: source document -> split, as data.splitByDocument returns it (default: documentSplit).
 * Splits: train = generated questions of train documents (+ the human-written train queries of a shipped
 * dataset, when `humanTrain`); dev / test = the human-written dev / test queries of a shipped dataset, or
 * the generated questions of dev / test documents for a documents folder.
 */
export async function buildCourseData(
  course: Course,
  corpus: CourseCorpus,
  rows: readonly PairRow[],
  options: { generator: string; humanTrain?: boolean; split?: Map<string, SplitName> },
): Promise<{ info: CourseDataInfo; leaks: LeakReport; artefact: Artefact }> {
  const humanTrain = options.humanTrain ?? true;
  const split = options.split ?? documentSplit(course, corpus);
  const inputs = {
    corpus: corpus.key,
    rows: inputsKey(rows.map((r) => [r.anchor, r.positive_id])),
    humanTrain,
    seed: course.seed,
    split: [...split].sort(),
  };
  let leaks: LeakReport | undefined;
  const artefact = await reuseOrBuild(
    { root: course.datasetDir, name: "data/course", inputs, verb: "built" },
    (folder) => {
      const queries: { _id: string; text: string }[] = [];
      const qrels: Record<string, QrelRow[]> = { train: [], dev: [], test: [] };
      const byId = new Map(corpus.chunks.map((c) => [c._id, c]));
      rows.forEach((r, i) => {
        const chunk = byId.get(String(r.positive_id));
        if (!chunk)
          throw new Error(
            `generated row ${i + 1}: positive_id "${String(r.positive_id)}" is not a passage of ${course.dataset.name}; generate the questions again.`,
          );
        const s = split.get(chunk.doc_id) as SplitName;
        if (corpus.human && s !== "train") return; // held-out documents: evaluated on the human-written queries only
        const id = `gen-${i}`;
        queries.push({ _id: id, text: r.anchor });
        qrels[s].push({ queryId: id, corpusId: chunk._id, score: 1 });
      });
      if (corpus.human) {
        for (const [id, text] of corpus.human.queries) queries.push({ _id: id, text });
        for (const s of SPLIT_NAMES) {
          if (s === "train" && !humanTrain) continue;
          for (const q of corpus.human.qrels.get(s) ?? []) qrels[s].push(q);
        }
      }
      const files: BeirFiles = { corpus: corpus.chunks, queries, qrels };
      writeBeir(folder, files);
      // Every reviewed generated row (all documents): the synthetic training data of both settings (loadCourseData).
      writeFileAtomic(
        join(folder, GENERATED_FILE),
        rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""),
      );
      const ds = loadBeirDataset(folder); // validates and runs assertNoLeak
      leaks = ds.leaks;
      const irs = SPLIT_NAMES.map((s) => toIRSplit(ds, s));
      const docsOf = irs.map(
        (ir) =>
          new Set(
            [...ir.relevant.values()].flatMap((ids) => [...ids].map((id) => ds.corpus.get(id)?.doc_id as string)),
          ),
      );
      const info: CourseDataInfo = {
        dataset: course.dataset.name,
        dir: folder,
        key: "",
        splits: irs.map((ir, i) => {
          const generated = [...ir.queries.keys()].filter((q) => q.startsWith("gen-")).length;
          const source =
            generated === 0
              ? "human-written"
              : generated === ir.queries.size
                ? options.generator
                : `${options.generator} + human-written`;
          const shared = [...docsOf[i]].filter((d) => docsOf.some((other, j) => j !== i && other.has(d))).length;
          return {
            split: ir.split,
            queries: ir.queries.size,
            documents: docsOf[i].size,
            source,
            sharedDocuments: shared,
          };
        }),
        generator: options.generator,
        trainRows: {
          generated: qrels.train.filter((q) => q.queryId.startsWith("gen-")).length,
          human: qrels.train.filter((q) => !q.queryId.startsWith("gen-")).length,
        },
        created: new Date().toISOString(),
      };
      writeFileAtomic(join(folder, "course-data.json"), JSON.stringify(info, null, 1));
    },
  );
  const info = JSON.parse(readFileSync(join(artefact.path, "course-data.json"), "utf8")) as CourseDataInfo;
  info.dir = artefact.path;
  info.key = artefact.key;
  if (!leaks) leaks = loadBeirDataset(artefact.path).leaks as LeakReport;
  writeFileAtomic(
    join(course.datasetDir, "course-data.json"),
    JSON.stringify({ path: relative(course.datasetDir, artefact.path), key: artefact.key }, null, 1),
  );
  return { info, leaks, artefact };
}

const GENERATED_FILE = "generated.jsonl";

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

export interface CourseData {
  info: CourseDataInfo;
  /** Setting A and setting B; `train` / `dev` / `test` below are setting B's, kept for the notebooks that use one. */
  settings: Record<SettingName, CourseSetting>;
  /** Unsupervised domain-adaptation pairs (heading -> passage, inverse cloze) over the whole corpus; no query involved. */
  domain: PairRow[];
  dataset: BeirDataset;
  /** (anchor, positive) training rows, passages embedded as "title\ntext". */
  train: PairRow[];
  dev: IRSplit;
  test: IRSplit;
  /** Hash of the dataset folder's files, for the keys of artefacts built from it. */
  key: string;
}

/** The course dataset notebook 1 built for this dataset; an error saying to run notebook 1 when there is none. */
export function loadCourseData(course: Course): CourseData {
  const pointer = join(course.datasetDir, "course-data.json");
  if (!existsSync(pointer)) {
    throw new Error(
      `No course data for dataset "${course.dataset.name}" yet (${pointer} is missing). Fix: run notebook 01_synthetic_data first (npm run course -- 01).`,
    );
  }
  const { path } = JSON.parse(readFileSync(pointer, "utf8")) as { path: string };
  const dir = join(course.datasetDir, path);
  const dataset = loadBeirDataset(dir);
  const info = JSON.parse(readFileSync(join(dir, "course-data.json"), "utf8")) as CourseDataInfo;
  info.dir = dir;
  const train = trainingPairs(toIRSplit(dataset, "train"));
  const dev = toIRSplit(dataset, "dev");
  const test = toIRSplit(dataset, "test");
  const generatedPath = join(dir, GENERATED_FILE);
  if (!existsSync(generatedPath))
    throw new Error(
      `${generatedPath} is missing (course data built by an older version). Fix: run notebook 01_synthetic_data again (npm run course -- 01).`,
    );
  const generated = readJsonl(generatedPath).records.map((r) => r.value as PairRow);
  const independent = courseIndependentQueries(course, dataset);
  const settings = courseSettings(course, dataset, { train, dev, test, generated, independent });
  const domain = domainAdaptationPairs(dataset.corpus, { seed: course.seed }).map((r) => ({
    ...r,
    positive: passageText(dataset.corpus.get(r.positive_id as string) as CorpusRow),
  }));
  const files = ["corpus.jsonl", "queries.jsonl", ...SPLIT_NAMES.map((s) => join("qrels", `${s}.tsv`))].map((f) =>
    join(dir, f),
  );
  return { info, settings, domain, dataset, train, dev, test, key: filesKey([...files, generatedPath]) };
}

/** The independent queries of a shipped dataset (data/<name>/independent-queries.jsonl), when it has them. */
function courseIndependentQueries(course: Course, dataset: BeirDataset): IRSplit | undefined {
  if (course.dataset.kind === "documents") return undefined;
  const file = join(course.dataset.dir, "independent-queries.jsonl");
  if (!existsSync(file)) return undefined;
  const shipped = loadIndependentQueries(course.dataset.name, dirname(course.dataset.dir));
  return { ...shipped, corpus: dataset.corpus };
}

const isGenerated = (queryId: unknown) => String(queryId ?? "").startsWith("gen-");

/** Setting A and B from the course data; see SettingName. */
export function courseSettings(
  course: Pick<Course, "seed">,
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

/** Training rows of a setting: its labelled questions, plus the generated questions and the domain pairs when asked. */
export function settingRows(
  data: Pick<CourseData, "domain">,
  setting: CourseSetting,
  use: { synthetic?: boolean; domain?: boolean },
): PairRow[] {
  return [...setting.train, ...(use.synthetic ? setting.synthetic : []), ...(use.domain ? data.domain : [])];
}

/** Leak checks of both settings: each test set against the training questions of its setting. */
export function leakTable(data: Pick<CourseData, "settings">): pl.DataFrame {
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

/** Words per question and per passage: the data behind the length charts. */
export function lengthFigure(rows: readonly PairRow[], chunks: readonly CorpusRow[], title: string) {
  return {
    data: [
      { type: "histogram", x: rows.map((r) => words(r.anchor)), name: "questions", opacity: 0.75, xbins: { size: 1 } },
      {
        type: "histogram",
        x: chunks.map((c) => words(passageText(c))),
        name: "passages",
        opacity: 0.75,
        xaxis: "x2",
        yaxis: "y2",
      },
    ],
    layout: {
      title: { text: title },
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: { title: { text: "words per question" } },
      xaxis2: { title: { text: "words per passage (title + text)" } },
      yaxis: { title: { text: "count" } },
      height: 380,
      bargap: 0.05,
    },
  };
}
