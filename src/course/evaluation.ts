/**
 * Evaluation and fine-tuning steps the course notebooks share (notebooks 2-6):
 *
 *   courseIndex           a model's corpus embeddings in a vector index (faiss when it loads), saved and reused
 *   tunedRetrievers       BM25, base, fine-tuned and their hybrid (reciprocal rank fusion) over the same corpus
 *   tripletFigure         notebook 1's bars: cosine of each tutorial triplet's anchor with its positive and negative
 *   inBatchFigure         notebook 3's heat map: one batch's similarity matrix, positives on the diagonal
 *   fineTune              MNRL training saved as an artefact (resumes from checkpoints, reused when unchanged);
 *                         fineTuneArtefact names its folder, so a train() call in a cell can write the same one
 *   sideBySide            the same queries' top passages from two systems
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../files";
import pl from "nodejs-polars";
import type { CorpusRow, IRSplit, PairRow } from "../data/types";
import { InformationRetrievalEvaluator, type IRResult } from "../eval/ir-evaluator";
import { loadModel, type SentenceTransformer } from "../model/index";
import { BM25Retriever } from "../retrieval/bm25";
import { DenseRetriever } from "../retrieval/dense";
import { HybridRetriever } from "../retrieval/hybrid";
import type { Retriever } from "../retrieval/types";
import { VectorIndex } from "../retrieval/vector-index";
import { MultipleNegativesRankingLoss } from "../train/losses/index";
import type { FineTuneRecipe } from "./recipes";
import { train, type TrainResult } from "../train/trainer";
import { rngFor, shuffled } from "../random";
import { inputsKey, reuseOrBuild, type Artefact, type ArtefactOptions } from "./artefacts";
import { modelLabel, type Course } from "./setup";
import type { CourseData } from "./data";
import type { PlotlyFigure } from "../display/display";
import { DEFAULT_SEED } from "../defaults";
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
  const bm25 = new BM25Retriever(corpusEntries(data.test), { name: "BM25" });
  const system = options.system ?? "fine-tuned";
  return [
    { system: "BM25", model: "-", retriever: bm25 },
    { system: "base", model: options.model, retriever: base },
    { system, model: options.model, retriever: tuned },
    {
      system: `hybrid (${system})`,
      model: options.model,
      retriever: new HybridRetriever([bm25, tuned], { name: `hybrid (BM25 + ${system})` }),
    },
  ];
}

export const short = (s: string, n = 110) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

/** "Benefits Accounts — Carryover" -> "Carryover": the section heading (the document title is shared). */
export const sectionOf = (title: string) => title.split(" — ").pop() as string;

/**
 * One batch as MNRL sees it: S_ij = cos(anchor_i, positive_j). Row i's positive is column i; every other
 * column is an in-batch negative. The colour scale spans the batch's own cosines, so that the diagonal stands out
 * against the negatives whatever range the model's scores take. The loss itself is left to the notebook.
 */
export async function inBatchFigure(
  model: SentenceTransformer,
  rows: readonly PairRow[],
  options: { title?: string } = {},
): Promise<{ figure: PlotlyFigure; similarity: number[][]; correct: number }> {
  const a = await model.encode(rows.map((r) => r.anchor));
  const p = await model.encode(rows.map((r) => r.positive));
  const unitRows = (e: typeof a) => {
    const u = l2NormalizeRows(Float64Array.from(e.data), e.dim);
    return rows.map((_, i) => u.subarray(i * e.dim, (i + 1) * e.dim));
  };
  const P = unitRows(p);
  const S = unitRows(a).map((ai) => P.map((pj) => dot(ai, pj)));
  const correct = S.filter((row, i) => row.indexOf(Math.max(...row)) === i).length;
  const labels = rows.map((r, i) => `${i + 1}. ${short(r.anchor, 28)}`);
  const passages = rows.map((r, i) => `${i + 1}. ${short(sectionOf(r.positive.split("\n")[0]), 28)}`);
  const flat = S.flat();
  const figure: PlotlyFigure = {
    data: [
      {
        type: "heatmap",
        z: S,
        x: passages,
        y: labels,
        colorscale: "Viridis",
        zmin: Math.min(...flat),
        zmax: Math.max(...flat),
        colorbar: { title: { text: "cosine" } },
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
  return { figure, similarity: S, correct };
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

const TRAINING_RECORD = "training.json";

interface FineTuneOptions {
  name?: string;
  rows?: readonly PairRow[];
  /** Dev split evaluated during training (default: the course data's dev split, setting B). */
  dev?: IRSplit;
  loss?: string;
  loadBase?: (spec: string) => Promise<SentenceTransformer>;
}

/** Where fineTune keeps a training run: models/<name>-<hash of data, rows, base model, recipe, loss, dev>. */
export function fineTuneArtefact(
  course: Course,
  data: CourseData,
  baseSpec: string,
  recipe: FineTuneRecipe,
  options: FineTuneOptions = {},
): ArtefactOptions {
  const rows = options.rows ?? data.train;
  const inputs = {
    data: data.key,
    rows: inputsKey(rows.map((r) => [r.anchor, r.positive, r.negative ?? ""])),
    base: baseSpec,
    recipe,
    loss: options.loss ?? "MultipleNegativesRankingLoss",
    ...(options.dev ? { dev: inputsKey([...options.dev.relevant].map(([q, ids]) => [q, [...ids]])) } : {}),
  };
  return { root: course.runDir, name: `models/${options.name ?? "mnrl"}`, inputs, verb: "trained" };
}

/**
 * Fine-tunes `baseSpec` with MultipleNegativesRankingLoss on the course's train pairs, evaluating on the
 * dev split, saved under <runDir>/models/<name>-<key>. Same data, base model and recipe: the saved model
 * is reused. An interrupted run continues from its last checkpoint when the cell runs again, and so does a run
 * a notebook cell started into the same folder with the same options (notebook 3 trains its first model so).
 * The model returned is final/ (the weights after the last step), as notebooks 5 and 6 load it.
 */
export async function fineTune(
  course: Course,
  data: CourseData,
  baseSpec: string,
  recipe: FineTuneRecipe,
  options: FineTuneOptions = {},
): Promise<FineTuned> {
  const rows = options.rows ?? data.train;
  let result: TrainResult | undefined;
  let record: TrainingRecord | undefined;
  const artefact = await reuseOrBuild(fineTuneArtefact(course, data, baseSpec, recipe, options), async (folder) => {
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
    // The training's own clock at its last step or evaluation (history.json keeps it, summed over resumed runs):
    // the one figure for this run, also when this call only continued a notebook cell's finished run.
    const seconds = result.history.length > 0 ? result.history[result.history.length - 1].seconds : result.seconds;
    record = { backend: result.backend, memory: result.memory ?? null, steps: result.steps, seconds };
    writeFileAtomic(join(folder, TRAINING_RECORD), `${JSON.stringify(record, null, 1)}\n`);
    return { seconds };
  });
  const model = await loadModel(join(artefact.path, "final"));
  // A reused model reads the record its training wrote (absent for one saved before records were kept).
  const recordPath = join(artefact.path, TRAINING_RECORD);
  const training =
    record ?? (existsSync(recordPath) ? (JSON.parse(readFileSync(recordPath, "utf8")) as TrainingRecord) : undefined);
  return { model, artefact, result, training, historyPath: join(artefact.path, "history.json") };
}

/**
 * The top `k` passages of two systems for the same queries (a relevant one marked ✔; each named by its section
 * heading and id, since the passages of one document share its title), with the rank of the first relevant
 * passage in each ("-": not in the searched depth). Queries: `queryIds`, else the 6 of mostChanged. Columns are
 * named by the course system ("base", "fine-tuned"); the caption should name the model.
 */
export function sideBySide(
  baseline: IRResult,
  candidate: IRResult,
  split: IRSplit,
  queryIds: readonly string[] = mostChanged(baseline, candidate, 6),
  k = 3,
): pl.DataFrame {
  const title = (id: string) => `${short(sectionOf((split.corpus.get(id) as CorpusRow).title), 40)} (${id})`;
  const name = (r: IRResult) => r.system.split(" · ")[0];
  const rows = queryIds.map((id) => {
    const b = baseline.perQuery.find((q) => q.queryId === id);
    const c = candidate.perQuery.find((q) => q.queryId === id);
    if (!b || !c) throw new Error(`sideBySide: query "${id}" was not evaluated by both systems.`);
    const list = (q: typeof b) =>
      q.hits
        .slice(0, k)
        .map((h, i) => `${i + 1}. ${q.relevant.includes(h.id) ? "✔ " : ""}${title(h.id)}`)
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
