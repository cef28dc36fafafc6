/**
 * Evaluation and fine-tuning steps the course notebooks share (notebooks 2-6):
 *
 *   courseIndex           a model's corpus embeddings in a vector index (faiss when it loads), saved and reused
 *   courseRetrievers      BM25, the dense model, and their hybrid (reciprocal rank fusion) over the same corpus
 *   evaluateAndRecord     InformationRetrievalEvaluator on a split, each result recorded in reports/results.json
 *   failureCases / failureTraits   queries whose relevant passage ranks low, and what they have in common
 *   inBatchFigure         notebook 3's heat map: one batch's similarity matrix, positives on the diagonal
 *   fineTune              MNRL training saved as an artefact (resumes from checkpoints, reused when unchanged)
 *   sideBySide            the same queries' top passages from two systems
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../files";
import pl from "nodejs-polars";
import type { CorpusRow, IRSplit, PairRow } from "../data/types";
import { DEFAULT_ABBREVIATIONS } from "../data/template-generator";
import { InformationRetrievalEvaluator, type IRResult } from "../eval/ir-evaluator";
import { loadModel, type SentenceTransformer } from "../model/index";
import { BM25Retriever, tokenize } from "../retrieval/bm25";
import { DenseRetriever } from "../retrieval/dense";
import { HybridRetriever } from "../retrieval/hybrid";
import type { Retriever } from "../retrieval/types";
import { VectorIndex } from "../retrieval/vector-index";
import { MultipleNegativesRankingLoss } from "../train/losses/index";
import type { FineTuneRecipe } from "./recipes";
import { train, type TrainResult } from "../train/trainer";
import type { HistoryEntry } from "../train/history";
import { rngFor, shuffled } from "../random";
import { inputsKey, reuseOrBuild, type Artefact } from "./artefacts";
import { modelLabel, type Course } from "./setup";
import type { CourseData } from "./data";
import type { PlotlyFigure } from "../display/display";
import { recordResult, type ResultRow } from "./results";
import { DEFAULT_SEED, MNRL_SCALE } from "../defaults";
import { dot, l2NormalizeRows, NORM_EPS } from "../math";

/** Corpus entries in the order every retriever indexes them. */
export function corpusEntries(split: IRSplit): { _id: string; title: string; text: string }[] {
  return [...split.corpus].map(([_id, d]) => ({ _id, title: d.title, text: d.text }));
}

/**
 * The model's corpus embeddings in a vector index, saved under <runDir>/indexes/<name>-<key> and reused
 * while the data and the model are unchanged. `modelKey` identifies the weights (the model spec for a
 * pretrained model, the training artefact's key for a fine-tuned one).
 */
export async function courseIndex(
  course: Course,
  data: CourseData,
  model: SentenceTransformer,
  options: { name: string; modelKey: string },
): Promise<{ retriever: DenseRetriever; artefact: Artefact }> {
  const docs = corpusEntries(data.test);
  let built: DenseRetriever | undefined;
  const artefact = await reuseOrBuild(
    {
      root: course.runDir,
      name: `indexes/${options.name}`,
      inputs: { data: data.key, model: options.modelKey },
      verb: "embedded and indexed",
    },
    async (folder) => {
      built = await DenseRetriever.build(model, docs);
      built.index.save(join(folder, "index"));
    },
  );
  const retriever = built ?? new DenseRetriever(model, VectorIndex.load(join(artefact.path, "index")));
  return { retriever, artefact };
}

export interface CourseSystem {
  /** One of the course systems: "BM25", "base", "fine-tuned", "hard-negative fine-tuned", "hybrid". */
  system: string;
  /** Which model produced it ("-" for BM25). */
  model: string;
  retriever: Retriever;
}

/** BM25, the dense retriever and their hybrid (RRF, k = 60) over the same corpus, labelled for tables. */
export function courseRetrievers(
  data: CourseData,
  dense: DenseRetriever,
  options: { system?: string; model: string },
): CourseSystem[] {
  const bm25 = new BM25Retriever(corpusEntries(data.test), { name: "BM25" });
  const system = options.system ?? "base";
  return [
    { system: "BM25", model: "-", retriever: bm25 },
    { system, model: options.model, retriever: dense },
    {
      system: "hybrid",
      model: options.model,
      retriever: new HybridRetriever([bm25, dense], { name: `hybrid (BM25 + ${system})` }),
    },
  ];
}

/**
 * The systems notebook 3 compares: BM25, the base model, the fine-tuned model and the hybrid of BM25 with
 * the fine-tuned model. `model` labels the model both started from.
 */
export function tunedRetrievers(
  data: CourseData,
  base: DenseRetriever,
  tuned: DenseRetriever,
  options: { model: string; system?: string },
): CourseSystem[] {
  const [bm25, baseSystem] = courseRetrievers(data, base, { model: options.model });
  const system = options.system ?? "fine-tuned";
  return [
    bm25,
    baseSystem,
    { system, model: options.model, retriever: tuned },
    {
      system: `hybrid (${system})`,
      model: options.model,
      retriever: new HybridRetriever([bm25.retriever, tuned], { name: `hybrid (BM25 + ${system})` }),
    },
  ];
}

/** Evaluates each system on the split and records it in results.json; results keyed by system. */
export async function evaluateAndRecord(
  course: Course,
  split: IRSplit,
  systems: readonly CourseSystem[],
  options: { notebook: string; splitName?: string },
): Promise<{ results: Map<string, IRResult>; rows: ResultRow[] }> {
  const evaluator = InformationRetrievalEvaluator.fromSplit(split, { name: `${course.dataset.name}-${split.split}` });
  const results = new Map<string, IRResult>();
  const rows: ResultRow[] = [];
  for (const s of systems) {
    const r = await evaluator.evaluate(s.retriever);
    const labelled: IRResult = { ...r, system: s.model === "-" ? s.system : `${s.system} · ${s.model}` };
    results.set(s.system, labelled);
    rows.push(
      recordResult(labelled, {
        dataset: course.dataset.name,
        split: options.splitName ?? split.split,
        system: s.system,
        model: s.model,
        notebook: options.notebook,
        path: course.resultsPath,
      }),
    );
  }
  return { results, rows };
}

const short = (s: string, n = 110) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

/** Queries whose first relevant passage ranks below `minRank` (or is not in the top 10), worst first, with the texts. */
export function failureCases(
  result: IRResult,
  split: IRSplit,
  options: { minRank?: number; count?: number } = {},
): pl.DataFrame {
  const minRank = options.minRank ?? 4;
  const failures = result.perQuery
    .filter((q) => q.firstRelevantRank === null || q.firstRelevantRank >= minRank)
    .sort((a, b) => (b.firstRelevantRank ?? 1e9) - (a.firstRelevantRank ?? 1e9))
    .slice(0, options.count ?? 8);
  const title = (id: string | undefined) => (id ? (split.corpus.get(id) as CorpusRow).title : "");
  return pl.DataFrame({
    query: failures.map((q) => q.query),
    "relevant passage": failures.map((q) =>
      short(`${title(q.relevant[0])}: ${(split.corpus.get(q.relevant[0]) as CorpusRow).text}`),
    ),
    "rank of relevant": failures.map((q) =>
      q.firstRelevantRank === null ? "not in top 10" : String(q.firstRelevantRank),
    ),
    "ranked first instead": failures.map((q) => title(q.hits[0]?.id)),
  });
}

/** Everyday words a handbook rarely uses (it says "your", not "my"): not counted as words missing from the corpus. */
const EVERYDAY = new Set([
  "my",
  "me",
  "mine",
  "im",
  "ive",
  "got",
  "get",
  "gets",
  "getting",
  "happens",
  "happen",
  "ok",
  "okay",
  "pls",
  "please",
]);

const ABBREVIATIONS = new Set(Object.keys(DEFAULT_ABBREVIATIONS).map((a) => a.toLowerCase()));

const alnum = (w: string) => w.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * Abbreviations a text writes (lower-cased, letters and digits only): words of 2-8 characters with two or more
 * capitals ("DCFSA", "PTO", "FeLV") or mixing letters and digits ("W-4", "I-9", "401(k)", "2FA"). A query that
 * types one in lower case ("dcfsa limit", "w4", "i9") still uses the abbreviation.
 */
export function textAbbreviations(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split(/\s+/)) {
    const w = raw.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9)]+$/g, "");
    if (w.length < 2 || w.length > 8 || !/^[A-Za-z0-9][A-Za-z0-9()&/-]*$/.test(w)) continue;
    const caps = (w.match(/[A-Z]/g) ?? []).length;
    const letters = /[A-Za-z]/.test(w);
    const digits = /[0-9]/.test(w);
    if (caps >= 2 || (letters && digits)) out.add(alnum(w));
  }
  return out;
}

/**
 * Traits of a query against its relevant passage, the usual reasons a generic model misses:
 * - abbreviation: the query has an abbreviation, in any case: in the course's list, a 2-5 letter all-caps word,
 *   one the corpus writes (textAbbreviations: "dcfsa" for DCFSA, "w4" for W-4), or letters and digits mixed;
 * - paraphrase: fewer than 30% of its content words (stop words dropped) appear in the passage;
 * - word not in the corpus: a query word (besides everyday ones such as "my") found in no passage: a typo,
 *   slang, or a term the documents spell otherwise ("acct", "meds");
 * - short: three words or fewer.
 */
export function queryTraits(
  query: string,
  passage: string,
  vocabulary: ReadonlySet<string>,
  abbreviations: ReadonlySet<string> = textAbbreviations(passage),
): string[] {
  const traits: string[] = [];
  const raw = query.split(/[^A-Za-z0-9()'-]+/).filter(Boolean);
  const isAbbreviation = (w: string) => {
    const a = alnum(w);
    const plural = a.endsWith("s") ? a.slice(0, -1) : a;
    return (
      ABBREVIATIONS.has(a) ||
      ABBREVIATIONS.has(plural) ||
      /^[A-Z]{2,5}s?$/.test(w) ||
      abbreviations.has(a) ||
      abbreviations.has(plural) ||
      /^(?:[a-z]{1,3}[0-9]{1,3}|[0-9]{1,3}[a-z]{1,2}|[0-9]{3}[a-z])$/.test(a)
    );
  };
  if (raw.some(isAbbreviation)) traits.push("abbreviation");
  const q = tokenize(query);
  const p = new Set(tokenize(passage));
  if (q.length > 0 && q.filter((w) => p.has(w)).length / q.length < 0.3)
    traits.push("paraphrase (little word overlap)");
  if (q.some((w) => !vocabulary.has(w) && !EVERYDAY.has(w))) traits.push("word not in the corpus (typo, slang)");
  if (raw.length <= 3) traits.push("short (3 words or fewer)");
  return traits;
}

/**
 * How common each trait is among the failures (first relevant rank >= minRank or missing) and among all
 * queries, with Hit@1 of the queries that have it: a trait far more frequent among failures is what
 * the model has not learned.
 */
export function failureTraits(result: IRResult, split: IRSplit, options: { minRank?: number } = {}): pl.DataFrame {
  const minRank = options.minRank ?? 4;
  const vocabulary = new Set<string>();
  const abbreviations = new Set<string>();
  for (const d of split.corpus.values()) {
    for (const w of tokenize(`${d.title} ${d.text}`)) vocabulary.add(w);
    for (const a of textAbbreviations(`${d.title} ${d.text}`)) abbreviations.add(a);
  }
  const names = [
    "abbreviation",
    "paraphrase (little word overlap)",
    "word not in the corpus (typo, slang)",
    "short (3 words or fewer)",
  ];
  const stats = names.map(() => ({ failures: 0, all: 0, hits: 0 }));
  let failures = 0;
  for (const q of result.perQuery) {
    const passage = q.relevant
      .map((id) => {
        const d = split.corpus.get(id) as CorpusRow;
        return `${d.title} ${d.text}`;
      })
      .join(" ");
    const traits = queryTraits(q.query, passage, vocabulary, abbreviations);
    const failed = q.firstRelevantRank === null || q.firstRelevantRank >= minRank;
    if (failed) failures++;
    names.forEach((n, i) => {
      if (!traits.includes(n)) return;
      stats[i].all++;
      if (failed) stats[i].failures++;
      if (q.firstRelevantRank === 1) stats[i].hits++;
    });
  }
  const n = result.perQuery.length;
  return pl.DataFrame({
    trait: names,
    "share of failures": stats.map((s) => (failures ? Number((s.failures / failures).toFixed(3)) : 0)),
    "share of all queries": stats.map((s) => Number((s.all / n).toFixed(3))),
    "Hit@1 with the trait": stats.map((s) => (s.all ? Number((s.hits / s.all).toFixed(3)) : 0)),
    queries: stats.map((s) => s.all),
  });
}

/**
 * One batch as MNRL sees it: S_ij = cos(anchor_i, positive_j). Row i's positive is column i; every other
 * column is an in-batch negative. Returns the heat map and the batch's loss with scale 20.
 */
export async function inBatchFigure(
  model: SentenceTransformer,
  rows: readonly PairRow[],
  options: { scale?: number; title?: string } = {},
): Promise<{ figure: PlotlyFigure; loss: number; correct: number }> {
  const scale = options.scale ?? MNRL_SCALE;
  const a = await model.encode(rows.map((r) => r.anchor));
  const p = await model.encode(rows.map((r) => r.positive));
  const unitRows = (e: typeof a) => {
    const u = l2NormalizeRows(Float64Array.from(e.data), e.dim);
    return rows.map((_, i) => u.subarray(i * e.dim, (i + 1) * e.dim));
  };
  const A = unitRows(a);
  const P = unitRows(p);
  const S = A.map((ai) => P.map((pj) => dot(ai, pj)));
  let loss = 0;
  let correct = 0;
  S.forEach((row, i) => {
    const z = row.map((x) => x * scale);
    const max = Math.max(...z);
    loss += -(z[i] - max - Math.log(z.reduce((s, x) => s + Math.exp(x - max), 0)));
    if (row.indexOf(Math.max(...row)) === i) correct++;
  });
  loss /= rows.length;
  const labels = rows.map((r, i) => `${i + 1}. ${short(r.anchor, 28)}`);
  const passages = rows.map((r, i) => `${i + 1}. ${short(r.positive.split("\n")[0], 28)}`);
  const figure: PlotlyFigure = {
    data: [
      {
        type: "heatmap",
        z: S,
        x: passages,
        y: labels,
        colorscale: "Viridis",
        zmin: Math.min(0, ...S.flat()),
        zmax: 1,
        text: S.map((r) => r.map((x) => x.toFixed(2))),
        texttemplate: "%{text}",
        hovertemplate: "question %{y}<br>passage %{x}<br>cosine %{z:.3f}<extra></extra>",
      },
    ],
    layout: {
      title: {
        text: options.title ?? `One batch of ${rows.length}: cosine(question i, passage j), ${modelLabel(model)}`,
      },
      xaxis: { title: { text: "passage (the positive of question j)" }, tickangle: -30 },
      yaxis: { title: { text: "question" }, autorange: "reversed" },
      height: 560,
      margin: { l: 230, b: 170 },
    },
  };
  return { figure, loss, correct };
}

/** What a course training ran on, saved beside its model (training.json) so a reused run can say it too. */
export interface TrainingRecord {
  backend: TrainResult["backend"];
  memory: TrainResult["memory"] | null;
  steps: number;
  seconds: number;
}

export interface FineTuned {
  model: SentenceTransformer;
  artefact: Artefact;
  /** Present when this run trained (absent when the saved model was reused). */
  result?: TrainResult;
  /** The backend, memory plan, steps and seconds of the training (absent for a model saved before it was kept). */
  training?: TrainingRecord;
  /** history.json of the training run (reused runs included). */
  historyPath: string;
}

/** One sentence on where and how a training ran: backend, steps, time and (Transformer) the memory plan. */
export function describeTrainingRecord(r: TrainingRecord): string {
  const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
  const memory = r.memory
    ? ` Memory plan: ${r.memory.loss}, about ${gib(r.memory.estimatedBytes)} a step against a budget of ${gib(r.memory.budgetBytes)} of ${r.memory.source}.`
    : "";
  return `Trained on the ${r.backend.name} backend (${r.backend.package}): ${r.steps} steps in ${r.seconds.toFixed(0)} s.${memory}`;
}

const TRAINING_RECORD = "training.json";

/**
 * Fine-tunes `baseSpec` with MultipleNegativesRankingLoss on the course's train pairs, evaluating on the
 * dev split, saved under <runDir>/models/<name>-<key>. Same data, base model and recipe: the saved model
 * is reused. An interrupted run continues from its last checkpoint when the cell runs again.
 */
export async function fineTune(
  course: Course,
  data: CourseData,
  baseSpec: string,
  recipe: FineTuneRecipe,
  options: {
    name?: string;
    rows?: readonly PairRow[];
    /** Dev split evaluated during training (default: the course data's dev split, setting B). */
    dev?: IRSplit;
    loss?: string;
    loadBase?: (spec: string) => Promise<SentenceTransformer>;
  } = {},
): Promise<FineTuned> {
  const rows = options.rows ?? data.train;
  const name = options.name ?? "mnrl";
  let result: TrainResult | undefined;
  let record: TrainingRecord | undefined;
  const inputs = {
    data: data.key,
    rows: inputsKey(rows.map((r) => [r.anchor, r.positive, r.negative ?? ""])),
    base: baseSpec,
    recipe,
    loss: options.loss ?? "MultipleNegativesRankingLoss",
    ...(options.dev ? { dev: inputsKey([...options.dev.relevant].map(([q, ids]) => [q, [...ids]])) } : {}),
  };
  const artefact = await reuseOrBuild(
    { root: course.runDir, name: `models/${name}`, inputs, verb: "trained" },
    async (folder) => {
      const model = await (options.loadBase ?? loadModel)(baseSpec);
      const dev = options.dev ?? data.dev;
      const evaluator = InformationRetrievalEvaluator.fromSplit(dev, { name: `${course.dataset.name}-${dev.split}` });
      result = await train(model, [...rows], {
        loss: new MultipleNegativesRankingLoss({ scale: recipe.scale }),
        epochs: recipe.epochs,
        batchSize: recipe.batchSize,
        learningRate: recipe.learningRate,
        warmupRatio: recipe.warmupRatio,
        weightDecay: recipe.weightDecay,
        maxSteps: recipe.maxSteps,
        seed: recipe.seed ?? course.seed,
        batchSampler: "no_duplicates",
        dropLast: true,
        evaluator,
        evalSteps: recipe.evalSteps,
        outputDir: folder,
        resumeFrom: "auto",
      });
      record = {
        backend: result.backend,
        memory: result.memory ?? null,
        steps: result.steps,
        seconds: result.seconds,
      };
      writeFileAtomic(join(folder, TRAINING_RECORD), `${JSON.stringify(record, null, 1)}\n`);
    },
  );
  const model = await loadModel(join(artefact.path, "final"));
  // A reused model reads the record its training wrote (absent for one saved before records were kept).
  const recordPath = join(artefact.path, TRAINING_RECORD);
  const training =
    record ?? (existsSync(recordPath) ? (JSON.parse(readFileSync(recordPath, "utf8")) as TrainingRecord) : undefined);
  return { model, artefact, result, training, historyPath: join(artefact.path, "history.json") };
}

/**
 * The top `k` passage titles of two systems for the same queries (a relevant one marked ✔), with the rank of
 * the first relevant passage in each ("-": not in the searched depth). Columns are named by the course system
 * ("base", "fine-tuned"); the caption should name the model.
 */
export function sideBySide(
  baseline: IRResult,
  candidate: IRResult,
  split: IRSplit,
  queryIds: readonly string[],
  k = 3,
): pl.DataFrame {
  const title = (id: string) => (split.corpus.get(id) as CorpusRow).title;
  const name = (r: IRResult) => r.system.split(" · ")[0];
  const rows = queryIds.map((id) => {
    const b = baseline.perQuery.find((q) => q.queryId === id);
    const c = candidate.perQuery.find((q) => q.queryId === id);
    if (!b || !c) throw new Error(`sideBySide: query "${id}" was not evaluated by both systems.`);
    const list = (q: typeof b) =>
      q.hits
        .slice(0, k)
        .map((h, i) => `${i + 1}. ${q.relevant.includes(h.id) ? "✔ " : ""}${short(title(h.id), 48)}`)
        .join("  ");
    const rank = (q: typeof b) => (q.firstRelevantRank === null ? "-" : String(q.firstRelevantRank));
    return {
      query: b.query,
      [`${name(baseline)}: rank`]: rank(b),
      [`${name(baseline)}: top ${k}`]: list(b),
      [`${name(candidate)}: rank`]: rank(c),
      [`${name(candidate)}: top ${k}`]: list(c),
    };
  });
  return pl.DataFrame(rows);
}

/**
 * Query ids whose top hit changed between two systems: first those whose first result became a relevant passage
 * (improved), then those whose first result stopped being one (worsened), each by how far the first relevant
 * passage moved. When fewer than `count` top hits flipped, the largest other rank moves fill the list.
 */
export function mostChanged(baseline: IRResult, candidate: IRResult, count = 4): string[] {
  const r = (x: number | null) => x ?? 11;
  const moves = baseline.perQuery.map((q, i) => {
    const [b, c] = [r(q.firstRelevantRank), r(candidate.perQuery[i].firstRelevantRank)];
    return { id: q.queryId, d: b - c, flip: (b === 1) !== (c === 1) };
  });
  const byMove = (a: { d: number }, b: { d: number }) => Math.abs(b.d) - Math.abs(a.d);
  const improved = moves.filter((x) => x.flip && x.d > 0).sort(byMove);
  const worsened = moves.filter((x) => x.flip && x.d < 0).sort(byMove);
  const half = Math.ceil(count / 2);
  const picked = [
    ...improved.slice(0, Math.max(half, count - worsened.length)),
    ...worsened.slice(0, Math.max(count - half, count - improved.length)),
  ].slice(0, count);
  const rest = moves.filter((x) => !x.flip && x.d !== 0).sort(byMove);
  return [...picked, ...rest.slice(0, count - picked.length)].map((x) => x.id);
}

/** Cosine of each triplet's anchor with its positive and with its negative, as grouped bars. */
export async function tripletFigure(
  model: SentenceTransformer,
  rows: readonly PairRow[],
): Promise<{ figure: PlotlyFigure; correct: number }> {
  const withNegative = rows.filter((r) => typeof r.negative === "string");
  const texts = withNegative.flatMap((r) => [r.anchor, r.positive, r.negative as string]);
  const e = await model.encode(texts);
  const vec = (i: number) => e.data.subarray(i * e.dim, (i + 1) * e.dim);
  const cos = (i: number, j: number) =>
    dot(vec(i), vec(j)) / Math.max(Math.sqrt(dot(vec(i), vec(i)) * dot(vec(j), vec(j))), NORM_EPS);
  const pos = withNegative.map((_, i) => cos(3 * i, 3 * i + 1));
  const neg = withNegative.map((_, i) => cos(3 * i, 3 * i + 2));
  const labels = withNegative.map((r, i) => `${i + 1}. ${short(r.anchor, 32)}`);
  const correct = pos.filter((p, i) => p > neg[i]).length;
  return {
    correct,
    figure: {
      data: [
        { type: "bar", name: "cos(anchor, positive)", x: labels, y: pos },
        { type: "bar", name: "cos(anchor, negative)", x: labels, y: neg },
      ],
      layout: {
        title: {
          text: `Tutorial triplets, ${modelLabel(model)}: positive above negative for ${correct} of ${withNegative.length}`,
        },
        barmode: "group",
        yaxis: { title: { text: "cosine similarity" } },
        xaxis: { tickangle: -30 },
        height: 460,
        margin: { b: 150 },
      },
    },
  };
}

/** `n` rows with distinct positives, picked with a seed: one batch as the no-duplicates sampler would make it. */
export function sampleBatch(rows: readonly PairRow[], n: number, seed = DEFAULT_SEED): PairRow[] {
  const order = shuffled(
    rows.map((_, i) => i),
    rngFor(seed, "sampleBatch"),
  );
  const seen = new Set<string>();
  const out: PairRow[] = [];
  for (const i of order) {
    const r = rows[i];
    if (seen.has(r.positive) || seen.has(r.anchor)) continue;
    seen.add(r.positive);
    seen.add(r.anchor);
    out.push(r);
    if (out.length === n) break;
  }
  return out;
}

/** The training history a fine-tuning run saved (history.json). */
export function readTrainingHistory(tuned: FineTuned): HistoryEntry[] {
  if (!existsSync(tuned.historyPath))
    throw new Error(
      `${tuned.historyPath} is missing: the training run did not finish; run the training cell again (it resumes).`,
    );
  return (JSON.parse(readFileSync(tuned.historyPath, "utf8")) as { entries: HistoryEntry[] }).entries;
}
