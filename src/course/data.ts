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
import type { FilterReport } from "../data/filters";
import { defaultPrompt, generateQuestions, type GenerateReport, type Prices } from "../data/generate";
import { readJsonl } from "../data/jsonl";
import { parseCsv, toCsv } from "../data/csv";
import { exportForReview, importReview, type ReviewResult } from "../data/review";
import {
  questionLeakReport,
  splitByDocument,
  splitByQuestion,
  type LeakReport,
  type QuestionLeakRow,
} from "../data/split";
import { domainAdaptationPairs } from "../data/domain-pairs";
import { loadIndependentQueries } from "../data/shipped";
import { generateOffline, OFFLINE_GENERATOR } from "../data/template-generator";
import { SPLIT_NAMES, type CorpusRow, type IRSplit, type PairRow, type SplitName } from "../data/types";
import { filesKey, inputsKey, reuseOrBuild, type Artefact } from "./artefacts";
import { checkLlm, type Course } from "./setup";
import { DEFAULT_SEED } from "../defaults";

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

/** The dataset's passages: a shipped / BEIR corpus as it ships (one section per passage), or the user's documents chunked. */
export function courseCorpus(course: Course, options: ChunkOptions = {}): CourseCorpus {
  let chunks: CorpusRow[];
  let human: BeirDataset | undefined;
  let chunkReport: ChunkReport | undefined;
  if (course.dataset.kind === "documents") {
    ({ chunks, report: chunkReport } = chunkFolder(course.dataset.dir, options));
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

/** Prices used for estimates when none are given: gpt-4o-mini's list price (USD per million tokens) in 2025. */
export const DEFAULT_PRICES: Prices & { model: string } = {
  model: "gpt-4o-mini",
  inputPerMillion: 0.15,
  outputPerMillion: 0.6,
};

export interface CostEstimate {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  usd: number;
  prices: Prices & { model?: string };
  /** "measured" (token usage the endpoint reported) or "estimated" (characters / 4, ~20 tokens per question). */
  basis: "measured" | "estimated";
}

/**
 * What generating the questions with an LLM costs: one request per passage with the default prompt.
 * Tokens are estimated as characters / 4 (the usual rule of thumb for English with GPT tokenizers) and
 * ~20 output tokens per question plus the JSON around them.
 */
export function estimateGenerationCost(
  chunks: readonly CorpusRow[],
  options: { questionsPerChunk?: number; prices?: Prices & { model?: string } } = {},
): CostEstimate {
  const n = options.questionsPerChunk ?? 3;
  const prices = options.prices ?? DEFAULT_PRICES;
  let promptChars = 0;
  for (const c of chunks) for (const m of defaultPrompt(c, n, 0)) promptChars += m.content.length + 8;
  const promptTokens = Math.round(promptChars / 4);
  const completionTokens = chunks.length * (10 + 20 * n);
  const usd = (promptTokens * prices.inputPerMillion + completionTokens * prices.outputPerMillion) / 1e6;
  return { requests: chunks.length, promptTokens, completionTokens, usd, prices, basis: "estimated" };
}

export function costTable(cost: CostEstimate): pl.DataFrame {
  return pl.DataFrame({
    basis: [cost.basis],
    requests: [cost.requests],
    "prompt tokens": [cost.promptTokens],
    "completion tokens": [cost.completionTokens],
    // No "$" in table text: the HTML export's MathJax would read "$...$" as a formula.
    prices: [
      `${cost.prices.model ?? "given prices"}: USD ${cost.prices.inputPerMillion} in / ${cost.prices.outputPerMillion} out per million tokens`,
    ],
    "cost USD": [Number(cost.usd.toFixed(4))],
  });
}

export interface GenerationResult {
  rows: PairRow[];
  /** "offline template generator" or "llm:<model>". */
  generator: string;
  artefact: Artefact;
  cost: CostEstimate;
  report?: GenerateReport;
}

/**
 * Questions for every passage: with the course's LLM when one is configured (checked first; an interrupted
 * run resumes from the rows already written), else the offline template generator. Saved under
 * runs/<dataset>/generated/ and reused while the passages and options are unchanged.
 */
export async function generateCourseQuestions(
  course: Course,
  corpus: CourseCorpus,
  options: { questionsPerChunk?: number; prices?: Prices & { model?: string }; concurrency?: number } = {},
): Promise<GenerationResult> {
  const n = options.questionsPerChunk ?? 3;
  const llm = course.llm;
  if (llm) console.log(await checkLlm(course));
  const generator = llm ? `llm:${llm.model}` : OFFLINE_GENERATOR;
  const inputs = { corpus: corpus.key, questionsPerChunk: n, generator, baseUrl: llm?.baseUrl, seed: course.seed };
  let report: GenerateReport | undefined;
  const artefact = await reuseOrBuild(
    { root: course.datasetDir, name: "generated/questions", inputs, verb: "generated" },
    async (folder) => {
      const out = join(folder, "rows.jsonl");
      if (llm) {
        report = await generateQuestions(corpus.chunks, {
          out,
          questionsPerChunk: n,
          concurrency: options.concurrency,
          prices: options.prices ?? DEFAULT_PRICES,
          llm: { baseUrl: llm.baseUrl, apiKey: llm.apiKey, model: llm.model, seed: course.seed },
        });
        if (report.stopped || report.failed.length > 0) {
          throw new Error(
            `LLM setting OPENAI_BASE_URL=${llm.baseUrl} (model ${llm.model}): generation stopped (${report.stopped ?? `${report.failed.length} passage(s) failed, e.g. ${report.failed[0].reason}`}). ` +
              `The ${report.rowsWritten} rows written are kept; run the cell again to continue, or set COURSE_LLM=none.`,
          );
        }
        writeFileAtomic(join(folder, "report.json"), JSON.stringify(report, null, 1));
      } else {
        const rows = generateOffline(corpus.chunks, { questionsPerChunk: n, seed: course.seed });
        writeFileAtomic(out, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
      }
    },
  );
  const rows = readJsonl(join(artefact.path, "rows.jsonl")).records.map((r) => r.value as PairRow);
  const reportPath = join(artefact.path, "report.json");
  if (!report && existsSync(reportPath)) report = JSON.parse(readFileSync(reportPath, "utf8")) as GenerateReport;
  const prices = options.prices ?? DEFAULT_PRICES;
  const cost: CostEstimate =
    report && report.usage.promptTokens > 0
      ? {
          requests: report.requests,
          promptTokens: report.usage.promptTokens,
          completionTokens: report.usage.completionTokens,
          prices,
          basis: "measured",
          usd:
            (report.usage.promptTokens * prices.inputPerMillion +
              report.usage.completionTokens * prices.outputPerMillion) /
            1e6,
        }
      : estimateGenerationCost(corpus.chunks, { questionsPerChunk: n, prices });
  return { rows, generator, artefact, cost, report };
}

/** A few generated rows: question, the passage it should find (shortened), how it was made. */
export function examplesTable(rows: readonly PairRow[], count = 8, seed = DEFAULT_SEED): pl.DataFrame {
  const step = Math.max(1, Math.floor(rows.length / count));
  const picked = Array.from(
    { length: Math.min(count, rows.length) },
    (_, i) => rows[(i * step + (seed % step)) % rows.length],
  );
  return pl.DataFrame({
    question: picked.map((r) => r.anchor),
    passage: picked.map((r) => (r.positive.length > 140 ? `${r.positive.slice(0, 137)}...` : r.positive)),
    "made by": picked.map((r) =>
      [
        r.generator ?? "",
        r.template ? `template ${String(r.template)}` : "",
        r.rewrites ? `rewrites: ${String(r.rewrites)}` : "",
      ]
        .filter(Boolean)
        .join("; "),
    ),
  });
}

/** What each filter removed. */
export function filterTable(report: FilterReport): pl.DataFrame {
  const names = Object.keys(report.removed);
  return pl.DataFrame({
    step: ["generated", ...names.map((n) => `removed: ${n.replace(/_/g, " ")}`), "kept"],
    rows: [report.total, ...names.map((n) => report.removed[n as keyof FilterReport["removed"]]), report.kept],
  });
}

export interface ReviewRoundTrip {
  /** The sheet written for review. */
  sheet: string;
  /** Where a reviewed sheet is read from (the participant saves it there). */
  reviewedPath: string;
  /** True when a reviewed sheet was found and read. */
  reviewed: boolean;
  result: ReviewResult;
  /** Rows that go on: accepted and fixed, plus pending ones unless `strict`. */
  rows: PairRow[];
  note: string;
  /** The example decisions applied when the participant has not reviewed yet (reviewRoundTrip's `example`). */
  decisions?: ExampleDecision[];
}

/**
 * Writes runs/<dataset>/review/sheet-<key>.csv and reads back runs/<dataset>/review/reviewed.csv when the
 * participant saved one (decision column: accept / reject / fix with edited_anchor). Without a reviewed
 * sheet the exported one is read back: every row pending, all kept, which the note says. Reviewed rows
 * that are not among the current rows (the data changed since) are reported, not used.
 */
export function reviewRoundTrip(
  course: Course,
  rows: readonly PairRow[],
  options: { strict?: boolean; example?: boolean } = {},
): ReviewRoundTrip {
  const dir = join(course.datasetDir, "review");
  const sheet = join(dir, `sheet-${inputsKey(rows.map((r) => [r.anchor, r.positive_id]))}.csv`);
  if (!existsSync(sheet)) exportForReview(rows, sheet);
  const reviewedPath = join(dir, "reviewed.csv");
  const reviewed = existsSync(reviewedPath);
  let decisions: ExampleDecision[] | undefined;
  let readFrom = reviewed ? reviewedPath : sheet;
  if (!reviewed && options.example) {
    // No participant review yet: fill a copy of the sheet with a reviewer's first decisions (never reviewed.csv,
    // which is the participant's) and read that back, so that the round trip applies real decisions.
    decisions = exampleDecisions(rows);
    readFrom = join(dir, "reviewed-example.csv");
    const { header, records } = parseCsv(readFileSync(sheet, "utf8"), sheet);
    const byRow = new Map(decisions.map((d) => [d.row, d]));
    const filled = records.map((rec, i) => {
      const cells: Record<string, string> = {};
      header.forEach((h, j) => (cells[h] = rec.fields[j]));
      const d = byRow.get(i);
      if (d) {
        cells.decision = d.decision;
        cells.edited_anchor = d.edited ?? "";
      }
      return cells;
    });
    writeFileAtomic(readFrom, toCsv(header, filled));
  }
  const result = importReview(readFrom);
  const kept = options.strict ? result.accepted : [...result.accepted, ...result.pending];
  const rel = (p: string) => relative(course.runsDir, p);
  const how =
    `To review yourself, fill the decision column of runs/${rel(sheet)} (accept / reject / fix + edited_anchor) and save it as ` +
    `runs/${rel(reviewedPath)}, or review in the browser with \`npm run app\`; the next run reads your decisions instead.`;
  const note = reviewed
    ? `read your reviewed sheet runs/${rel(reviewedPath)}: ${result.counts.accept} accepted, ${result.counts.fix} fixed, ${result.counts.reject} rejected, ${result.counts.pending} pending (${options.strict ? "dropped" : "kept"}).`
    : decisions
      ? `no reviewed sheet of yours yet, so a reviewer's first ${decisions.length} decisions were written to runs/${rel(readFrom)} and read back: ` +
        `${result.counts.fix} fixed, ${result.counts.reject} rejected, ${result.counts.pending} pending (${options.strict ? "dropped" : "kept"}); ${rows.length} rows in, ${kept.length} go on. ${how}`
      : `no reviewed sheet yet: read back the exported sheet runs/${rel(sheet)}, all ${result.counts.pending} rows pending and kept. ${how}`;
  return { sheet, reviewedPath, reviewed, result, rows: kept, note, decisions };
}

export interface ExampleDecision {
  /** Index of the row in the sheet (0 = first data row). */
  row: number;
  decision: "reject" | "fix";
  anchor: string;
  edited?: string;
  reason: string;
}

const lettersOf = (w: string) => [...w].sort().join("");

/**
 * A reviewer's first decisions, by rules a person applies when reading a sheet:
 * - fix a typing slip: a question word found in no passage word but whose letters, swapped once, spell a word of
 *   its own passage ("qaulifies" -> "qualifies");
 * - reject an ambiguous question: the same question (normalised) generated for two different passages, so one
 *   question has two "right" answers; failing that, the shortest question, which says least.
 * At most one of each; rows the rules do not find are left alone.
 */
export function exampleDecisions(rows: readonly PairRow[]): ExampleDecision[] {
  const out: ExampleDecision[] = [];
  for (const [i, r] of rows.entries()) {
    // Typed arrays: "match(...) ?? []" is a union whose find() older TypeScript (tslab's) types as never.
    const passageWords = new Set<string>(r.positive.toLowerCase().match(/[a-z]+/g) ?? []);
    const anchorWords: string[] = r.anchor.match(/[A-Za-z]{5,}/g) ?? [];
    const typo = anchorWords.find((w) => !passageWords.has(w.toLowerCase()));
    if (!typo) continue;
    const lower: string = typo.toLowerCase();
    const fixed = [...passageWords].find(
      (p) =>
        p.length === lower.length &&
        p !== lower &&
        lettersOf(p) === lettersOf(lower) &&
        [...p].filter((c, k) => c !== lower[k]).length === 2,
    );
    if (!fixed) continue;
    out.push({
      row: i,
      decision: "fix",
      anchor: r.anchor,
      edited: r.anchor.replace(typo, fixed),
      reason: `typing slip "${typo}" -> "${fixed}"`,
    });
    break;
  }
  const seen = new Map<string, number>();
  let reject: ExampleDecision | undefined;
  for (const [i, r] of rows.entries()) {
    const key = r.anchor
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, " ")
      .trim();
    const j = seen.get(key);
    if (j !== undefined && rows[j].positive_id !== r.positive_id && !out.some((d) => d.row === i)) {
      reject = {
        row: i,
        decision: "reject",
        anchor: r.anchor,
        reason: `the same question was generated for another passage (${String(rows[j].positive_id)})`,
      };
      break;
    }
    if (j === undefined) seen.set(key, i);
  }
  if (!reject) {
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const shortest = rows
      .map((r, i) => ({ r, i }))
      .filter(({ i }) => !out.some((d) => d.row === i))
      .sort((a, b) => words(a.r.anchor) - words(b.r.anchor) || a.i - b.i)[0];
    if (shortest)
      reject = {
        row: shortest.i,
        decision: "reject",
        anchor: shortest.r.anchor,
        reason: `the shortest question (${words(shortest.r.anchor)} words): too vague to tell which passage it wants`,
      };
  }
  if (reject) out.push(reject);
  return out;
}

/** The example decisions and what they did. */
export function decisionsTable(r: ReviewRoundTrip): pl.DataFrame {
  const ds = r.decisions ?? [];
  return pl.DataFrame({
    decision: ds.map((d) => d.decision),
    question: ds.map((d) => d.anchor),
    "after review": ds.map((d) => (d.decision === "fix" ? (d.edited ?? "") : "(dropped)")),
    why: ds.map((d) => d.reason),
  });
}

export function reviewTable(r: ReviewRoundTrip): pl.DataFrame {
  return pl.DataFrame({
    decision: ["accept", "fix", "reject", "pending"],
    rows: [r.result.counts.accept, r.result.counts.fix, r.result.counts.reject, r.result.counts.pending],
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
 * Splits: train = generated questions of train documents (+ the human-written train queries of a shipped
 * dataset, when `humanTrain`); dev / test = the human-written dev / test queries of a shipped dataset, or
 * the generated questions of dev / test documents for a documents folder.
 */
export async function buildCourseData(
  course: Course,
  corpus: CourseCorpus,
  rows: readonly PairRow[],
  options: { generator: string; humanTrain?: boolean },
): Promise<{ info: CourseDataInfo; leaks: LeakReport; artefact: Artefact }> {
  const humanTrain = options.humanTrain ?? true;
  const split = documentSplit(course, corpus);
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

export function splitTable(info: CourseDataInfo, leaks: LeakReport): pl.DataFrame {
  return pl.DataFrame({
    split: info.splits.map((s) => s.split),
    queries: info.splits.map((s) => s.queries),
    "source documents": info.splits.map((s) => s.documents),
    "queries from": info.splits.map((s) => s.source),
    "documents shared with another split": info.splits.map((s) => s.sharedDocuments),
    "leak check (assertNoLeak)": info.splits.map((s) =>
      leaks.splits.some((l) => l.split === s.split) ? "passed" : "not checked",
    ),
  });
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
