/**
 * Hard-negative mining: sentence-transformers' util.mine_hard_negatives (v5) with its options, their meaning and
 * its defaults, under camelCase names, searching through the project's VectorIndex (faiss IndexFlatIP, or the
 * TypeScript fallback with the same ranking).
 *
 *   (anchor, positive) pairs ──dedupe queries, collect every positive of a repeated query──▶ unique queries
 *   corpus (default: the positives) + positives ──dedupe texts──▶ candidates
 *   encode both (normalised: inner product = cosine) ──VectorIndex, searchBatchSize queries at a time──▶
 *   top (rangeMax + max positives per query) candidates per query
 *     ──drop the query's positives──▶ ──absoluteMargin──▶ ──relativeMargin──▶ ──maxScore──▶ ──minScore──▶
 *     ──ranks [rangeMin, rangeMax) of what is left──▶ numNegatives by samplingStrategy ──▶ rows
 *
 * The filters, as in Python (p = the query's positive score; with several positives the lowest, "to be on the
 * safe side"; s = a candidate's cosine score):
 *   absoluteMargin m   drop s + m > p          m = 0: a negative never scores above the positive
 *   relativeMargin r   drop s > p (1 - r)      r = 0.05: at most 95% as similar as the positive (NV-Retriever's
 *                                              TopK-PercPos, its best setting: relativeMargin 0.05, "top")
 *   maxScore / minScore  drop s > maxScore / s < minScore
 *   rangeMin / rangeMax  ranks counted among the candidates that passed the filters (0-based, rangeMax excluded):
 *                        rangeMin = 10 skips the 10 most similar survivors, where unlabelled positives hide
 * Default rangeMax (Python's): rangeMin + numNegatives + max positives per query, or rangeMin + 10 numNegatives +
 * max positives when a margin or maxScore is set (some candidates will be dropped). We clamp it to the corpus size
 * (Python's torch.topk would fail there) and search min(corpus, rangeMax + max positives) deep.
 * samplingStrategy "top" takes the first numNegatives of the range; "random" draws them uniformly (seeded) from
 * the range's survivors and sorts them by score, as Python does.
 *
 * Output formats (Python's): "triplet" one row (anchor, positive, negative) per negative found; "n-tuple" one row
 * (anchor, positive, negative_1..negative_n) per pair, only for pairs that got all n; "labeled-pair" rows (anchor,
 * positive, label): each positive with label 1, then each negative of that query with label 0 (the passage sits
 * in the "positive" column, as in Python). Rows are grouped by query in order of first appearance.
 * A query that appears several times has all its positives removed from its candidates; positives are compared
 * as texts after deduplication, so a passage stored twice is excluded twice. Pairs that get fewer negatives than
 * asked are counted in a warning that names the options to loosen, as Python prints.
 *
 * Extensions (not in sentence-transformers): semiHardMargin (FaceNet's semi-hard band: also drop s < p - margin;
 * with absoluteMargin 0 a negative then lies in [p - margin, p]); named presets; a report (./report) with
 * the removed counts per filter, score statistics and the suspected false negatives with their texts. Python's
 * n-tuple-scores and labeled-list formats, prompts, the cross-encoder rescoring and include_positives are not here.
 * Two deliberate differences from Python 5.x, where its code does not do what its comments say: with several
 * positives per query the margin uses each query's own lowest positive score (Python's loop advances its offset
 * by the previous query's count), and "labeled-pair" takes each query's own negatives once (Python indexes the
 * per-positive-repeated matrix by query). Python's min_score count also counts candidates removed earlier; ours
 * counts each candidate under the first filter that removed it.
 */
import type { Embedder, Embeddings } from "../model/types";
import { rngFor } from "../random";
import { documentText, toCorpusEntries, type CorpusEntry, type CorpusInput } from "../retrieval/types";
import { VectorIndex, type Implementation } from "../retrieval/vector-index";
import {
  CANDIDATE_FATES,
  type CandidateFate,
  type FalseNegative,
  type MiningFilter,
  type MiningReport,
} from "./report";
import { prepareTrainingData } from "../train/training-data";

export type SamplingStrategy = "top" | "random";
export type MiningOutputFormat = "triplet" | "n-tuple" | "labeled-pair";

export interface MineHardNegativesOptions {
  /** Candidate negatives besides the positives (texts, or a corpus with ids); default: the pairs' positives. */
  corpus?: readonly string[] | CorpusInput;
  /** Ranks below this (among the candidates that passed the filters) are skipped (default 0). */
  rangeMin?: number;
  /** Ranks from this on are not considered (default: see the header). */
  rangeMax?: number;
  /** Drop candidates scoring above this. */
  maxScore?: number;
  /** Drop candidates scoring below this. */
  minScore?: number;
  /** Drop candidates with score + absoluteMargin > the positive's score (>= 0). */
  absoluteMargin?: number;
  /** Drop candidates with score > (1 - relativeMargin) x the positive's score (in [0, 1)). */
  relativeMargin?: number;
  /** Extension: drop candidates with score < the positive's score - semiHardMargin (> 0). */
  semiHardMargin?: number;
  /** Negatives per pair (default 3). */
  numNegatives?: number;
  /** "top" (default) or "random". */
  samplingStrategy?: SamplingStrategy;
  /** "triplet" (default), "n-tuple" or "labeled-pair". */
  outputFormat?: MiningOutputFormat;
  /** Texts per encoder batch (default 32). */
  batchSize?: number;
  /** Queries per index search (default 1024): bounds the memory of the candidate lists. */
  searchBatchSize?: number;
  /** Seed of "random" sampling (default 42). */
  seed?: number;
  /** Vector index implementation (default "auto": faiss when it loads). */
  implementation?: "auto" | Implementation;
  /** Report candidates scoring at least (positive score - falseNegativeMargin) as suspected false negatives (default 0). */
  falseNegativeMargin?: number;
  /** At most this many suspected false negatives are kept with their texts (default 500; all are counted). */
  maxFalseNegatives?: number;
  /** Where warnings go (default console.warn); they are also in the report. */
  onWarning?: (message: string) => void;
}

/** A mined row: anchor, positive and negative / negative_1..n, or a label for "labeled-pair". */
export interface MinedRow {
  anchor: string;
  positive: string;
  [column: string]: string | number;
}

export interface MiningResult {
  rows: MinedRow[];
  /** Column names in order, e.g. ["anchor", "positive", "negative"]. */
  columns: string[];
  report: MiningReport;
}

/**
 * Named settings. "hard": NV-Retriever's best (TopK-PercPos 95%): the most similar candidates that score at most
 * 95% of the positive. "semi-hard": less similar than the positive but within 0.1 of it (cosine; FaceNet's
 * alpha = 0.2 on squared distances of unit vectors), drawn at random from that band. "random": uniform over the
 * whole corpus except the positives (every rank allowed).
 */
export const miningPresets: Readonly<Record<"hard" | "semi-hard" | "random", MineHardNegativesOptions>> = {
  hard: { relativeMargin: 0.05, samplingStrategy: "top" },
  "semi-hard": semiHardNegatives(0.1),
  random: { rangeMin: 0, rangeMax: Number.MAX_SAFE_INTEGER, samplingStrategy: "random" },
};

/** Semi-hard negatives: score in [positive - margin, positive] (absoluteMargin 0 + semiHardMargin), sampled at random. */
export function semiHardNegatives(margin = 0.1): MineHardNegativesOptions {
  return { absoluteMargin: 0, semiHardMargin: margin, samplingStrategy: "random" };
}

const OWNER = "mineHardNegatives";

function checkInteger(field: string, value: number, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min)
    throw new Error(`${OWNER}: ${field} is ${String(value)}; it must be an integer >= ${min}.`);
  return value;
}

function checkFinite(
  field: string,
  value: number | undefined,
  check?: (v: number) => boolean,
  domain?: string,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || (check && !check(value)))
    throw new Error(`${OWNER}: ${field} is ${String(value)}; it must be ${domain ?? "a finite number"}.`);
  return value;
}

/** Resolved options, as the report shows them. */
export interface ResolvedMiningOptions {
  rangeMin: number;
  rangeMax: number;
  /** Candidates retrieved per query: min(corpus, rangeMax + max positives per query). */
  searchDepth: number;
  numNegatives: number;
  samplingStrategy: SamplingStrategy;
  outputFormat: MiningOutputFormat;
  absoluteMargin?: number;
  relativeMargin?: number;
  semiHardMargin?: number;
  maxScore?: number;
  minScore?: number;
  seed: number;
  falseNegativeMargin: number;
}

function corpusTexts(corpus: MineHardNegativesOptions["corpus"]): string[] {
  if (corpus === undefined) return [];
  if (Array.isArray(corpus) && corpus.every((x) => typeof x === "string")) return corpus.slice() as string[];
  return toCorpusEntries(corpus as CorpusInput, `${OWNER} corpus`).map((d: CorpusEntry) => documentText(d));
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += a[ai + t] * b[bi + t];
  return s;
}

function rowsOf(e: Embeddings, start: number, end: number): Embeddings {
  return { count: end - start, dim: e.dim, data: e.data.subarray(start * e.dim, end * e.dim) };
}

/**
 * Adds mined negatives to (anchor, positive) pairs. `pairs`: rows {anchor, positive, ...} or a nodejs-polars
 * DataFrame (other columns are ignored). See the module header for the semantics.
 */
export async function mineHardNegatives(
  pairs: unknown,
  model: Embedder,
  options: MineHardNegativesOptions = {},
): Promise<MiningResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    (options.onWarning ?? ((x: string) => console.warn(x)))(m);
  };
  const data = prepareTrainingData(pairs, `${OWNER} pairs`);
  const anchors = data.rows.map((r) => r[0]);
  const positives = data.rows.map((r) => r[1]);

  // Options and their domains.
  const numNegatives = checkInteger("numNegatives", options.numNegatives ?? 3, 1);
  const rangeMin = checkInteger("rangeMin", options.rangeMin ?? 0, 0);
  const samplingStrategy = options.samplingStrategy ?? "top";
  if (samplingStrategy !== "top" && samplingStrategy !== "random")
    throw new Error(`${OWNER}: samplingStrategy "${String(samplingStrategy)}" must be "top" or "random".`);
  const outputFormat = options.outputFormat ?? "triplet";
  if (!["triplet", "n-tuple", "labeled-pair"].includes(outputFormat))
    throw new Error(`${OWNER}: outputFormat "${String(outputFormat)}" must be "triplet", "n-tuple" or "labeled-pair".`);
  const absoluteMargin = checkFinite(
    "absoluteMargin",
    options.absoluteMargin,
    (v) => v >= 0,
    "a finite number >= 0 (0: a negative never scores above the positive)",
  );
  const relativeMargin = checkFinite(
    "relativeMargin",
    options.relativeMargin,
    (v) => v >= 0 && v < 1,
    "in [0, 1) (0.05: at most 95% as similar as the positive)",
  );
  const semiHardMargin = checkFinite("semiHardMargin", options.semiHardMargin, (v) => v > 0, "a finite number > 0");
  const maxScore = checkFinite("maxScore", options.maxScore);
  const minScore = checkFinite("minScore", options.minScore);
  if (maxScore !== undefined && minScore !== undefined && minScore > maxScore)
    throw new Error(
      `${OWNER}: minScore ${minScore} is above maxScore ${maxScore}; no candidate could pass both. Swap them or widen the range.`,
    );
  const falseNegativeMargin = checkFinite(
    "falseNegativeMargin",
    options.falseNegativeMargin ?? 0,
    (v) => v >= 0,
    "a finite number >= 0",
  ) as number;
  const maxFalseNegatives = checkInteger("maxFalseNegatives", options.maxFalseNegatives ?? 500, 0);
  const batchSize = checkInteger("batchSize", options.batchSize ?? 32, 1);
  const searchBatchSize = checkInteger("searchBatchSize", options.searchBatchSize ?? 1024, 1);
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed)) throw new Error(`${OWNER}: seed ${String(seed)} must be an integer.`);

  // Unique queries in order of first appearance; all positives of a repeated query.
  const queryIndex = new Map<string, number>();
  const queries: string[] = [];
  for (const a of anchors) if (!queryIndex.has(a)) queryIndex.set(a, queries.push(a) - 1);

  // Corpus = given corpus + positives, deduplicated by text (Python: dict.fromkeys(corpus + positives)).
  const given = corpusTexts(options.corpus);
  const corpus: string[] = [];
  const corpusIndex = new Map<string, number>();
  for (const t of [...given, ...positives]) if (!corpusIndex.has(t)) corpusIndex.set(t, corpus.push(t) - 1);
  const givenSet = new Set(given);
  const duplicatesRemoved = given.length - givenSet.size;
  const missingPositives = options.corpus === undefined ? 0 : new Set(positives.filter((p) => !givenSet.has(p))).size;
  if (missingPositives > 0) {
    const pairsMissing = positives.filter((p) => !givenSet.has(p)).length;
    warn(
      `${OWNER}: ${pairsMissing} of ${positives.length} pairs have a positive that is not in the given corpus (${missingPositives} distinct texts); ` +
        "they were added to the candidates, as sentence-transformers does. If the corpus should contain them, check that both use the same passage text (title + newline + text).",
    );
  }

  const positivesOf: number[][] = queries.map(() => []);
  anchors.forEach((a, i) => positivesOf[queryIndex.get(a) as number].push(corpusIndex.get(positives[i]) as number));
  const maxPositives = Math.max(...positivesOf.map((p) => p.length));

  const largestPositiveSet = Math.max(...positivesOf.map((p) => new Set(p).size));
  if (numNegatives > corpus.length - largestPositiveSet)
    throw new Error(
      `${OWNER}: numNegatives ${numNegatives} is larger than the candidates a query can have: the corpus holds ${corpus.length} distinct passages ` +
        `and a query's own positives (up to ${largestPositiveSet}) are never negatives. Ask for at most ${corpus.length - largestPositiveSet} or give a larger corpus.`,
    );
  const hasFilter =
    absoluteMargin !== undefined ||
    relativeMargin !== undefined ||
    maxScore !== undefined ||
    semiHardMargin !== undefined;
  const defaultRangeMax = rangeMin + (hasFilter ? numNegatives * 10 : numNegatives) + maxPositives;
  const askedRangeMax =
    options.rangeMax === undefined ? defaultRangeMax : checkInteger("rangeMax", options.rangeMax, 1);
  if (askedRangeMax <= rangeMin)
    throw new Error(
      `${OWNER}: the rank range [rangeMin ${rangeMin}, rangeMax ${askedRangeMax}) is ${askedRangeMax === rangeMin ? "empty" : "reversed"}; rangeMax must be larger than rangeMin.`,
    );
  const rangeMax = Math.min(askedRangeMax, corpus.length);
  if (rangeMax - rangeMin < numNegatives)
    throw new Error(
      `${OWNER}: the rank range [${rangeMin}, ${rangeMax}) holds ${Math.max(0, rangeMax - rangeMin)} ranks` +
        `${rangeMax < askedRangeMax ? ` (rangeMax clamped to the ${corpus.length} corpus passages)` : ""}, fewer than numNegatives ${numNegatives}; widen the range or ask for fewer negatives.`,
    );
  const searchDepth = Math.min(corpus.length, rangeMax + maxPositives);
  const resolved: ResolvedMiningOptions = {
    rangeMin,
    rangeMax,
    searchDepth,
    numNegatives,
    samplingStrategy,
    outputFormat,
    seed,
    falseNegativeMargin,
    ...(absoluteMargin !== undefined && { absoluteMargin }),
    ...(relativeMargin !== undefined && { relativeMargin }),
    ...(semiHardMargin !== undefined && { semiHardMargin }),
    ...(maxScore !== undefined && { maxScore }),
    ...(minScore !== undefined && { minScore }),
  };

  // Encode (normalised, so the inner product is the cosine) and index the corpus.
  const tEncode = performance.now();
  let corpusEmbeddings: Embeddings | undefined = await model.encode(corpus, { batchSize, normalize: true });
  const queryEmbeddings = await model.encode(queries, { batchSize, normalize: true });
  const encodeSeconds = (performance.now() - tEncode) / 1000;
  const dim = queryEmbeddings.dim;
  if (
    corpusEmbeddings.count !== corpus.length ||
    queryEmbeddings.count !== queries.length ||
    corpusEmbeddings.dim !== dim
  )
    throw new Error(
      `${OWNER}: the model returned ${corpusEmbeddings.count} x ${corpusEmbeddings.dim} corpus and ${queryEmbeddings.count} x ${dim} query embeddings for ${corpus.length} passages and ${queries.length} queries.`,
    );

  // Positive scores per (query, positive), grouped by query; the margin uses each query's lowest.
  const positiveScoresOf: number[][] = positivesOf.map((ps, q) =>
    ps.map((p) => dot(queryEmbeddings.data, q * dim, corpusEmbeddings!.data, p * dim, dim)),
  );
  const marginPositive = positiveScoresOf.map((s) => Math.min(...s));
  const tIndex = performance.now();
  const index = VectorIndex.fromVectors(
    corpus.map((_, i) => String(i)),
    corpusEmbeddings,
    { implementation: options.implementation ?? "auto" },
  );
  corpusEmbeddings = undefined; // the index holds its own copy
  let searchSeconds = (performance.now() - tIndex) / 1000;

  const removed: Record<MiningFilter, number> = {
    positive: 0,
    absoluteMargin: 0,
    relativeMargin: 0,
    maxScore: 0,
    minScore: 0,
    semiHardMargin: 0,
  };
  let skippedByRangeMin = 0;
  let candidates = 0;
  const negativesOf: number[][] = new Array(queries.length);
  const negativeScoresOf: number[][] = new Array(queries.length);
  const falseNegatives: FalseNegative[] = [];
  let falseNegativeCount = 0;
  const fateCounts: Record<CandidateFate, number> = Object.fromEntries(CANDIDATE_FATES.map((f) => [f, 0])) as Record<
    CandidateFate,
    number
  >;
  const rng = rngFor(seed, "mine-hard-negatives");
  const fates: CandidateFate[] = new Array(searchDepth);

  for (let b0 = 0; b0 < queries.length; b0 += searchBatchSize) {
    const b1 = Math.min(queries.length, b0 + searchBatchSize);
    const tSearch = performance.now();
    const found = index.searchPositions(rowsOf(queryEmbeddings, b0, b1), searchDepth);
    searchSeconds += (performance.now() - tSearch) / 1000;
    for (let q = b0; q < b1; q++) {
      const own = new Set(positivesOf[q]);
      const p = marginPositive[q];
      const live: number[] = []; // positions j in this query's hit list that passed every filter, best first
      const base = (q - b0) * searchDepth;
      for (let j = 0; j < searchDepth; j++) {
        const doc = found.indices[base + j];
        if (doc < 0) {
          fates[j] = "notSampled";
          continue;
        }
        candidates++;
        const s = found.scores[base + j];
        let fate: CandidateFate | undefined;
        if (own.has(doc)) fate = "positive";
        else if (absoluteMargin !== undefined && s + absoluteMargin > p) fate = "absoluteMargin";
        else if (relativeMargin !== undefined && s > p * (1 - relativeMargin)) fate = "relativeMargin";
        else if (maxScore !== undefined && s > maxScore) fate = "maxScore";
        else if (minScore !== undefined && s < minScore) fate = "minScore";
        else if (semiHardMargin !== undefined && s < p - semiHardMargin) fate = "semiHardMargin";
        if (fate) {
          removed[fate as MiningFilter]++;
          fates[j] = fate;
        } else live.push(j);
      }
      const window = live.slice(rangeMin, rangeMax);
      skippedByRangeMin += Math.min(live.length, rangeMin);
      let chosen: number[];
      if (samplingStrategy === "top") chosen = window.slice(0, numNegatives);
      else {
        // Python: random.sample(range(max(survivors, numNegatives)), numNegatives), then sorted by score.
        const options_ = Array.from({ length: Math.max(window.length, numNegatives) }, (_, i) => i);
        for (let i = 0; i < numNegatives; i++) {
          const k = i + Math.floor(rng() * (options_.length - i));
          [options_[i], options_[k]] = [options_[k], options_[i]];
        }
        chosen = options_
          .slice(0, numNegatives)
          .filter((i) => i < window.length)
          .sort((a, b) => a - b)
          .map((i) => window[i]);
      }
      live.forEach((j, r) => (fates[j] = r < rangeMin ? "rangeMin" : "notSampled"));
      for (const j of chosen) fates[j] = "negative";
      negativesOf[q] = chosen.map((j) => found.indices[base + j]);
      negativeScoresOf[q] = chosen.map((j) => found.scores[base + j]);
      for (let j = 0; j < searchDepth; j++) {
        if (found.indices[base + j] < 0) continue;
        fateCounts[fates[j]]++;
        const s = found.scores[base + j];
        if (fates[j] === "positive" || s < p - falseNegativeMargin) continue;
        falseNegativeCount++;
        if (falseNegatives.length < maxFalseNegatives) {
          const hardest = positiveScoresOf[q].indexOf(p);
          falseNegatives.push({
            query: queries[q],
            positive: corpus[positivesOf[q][hardest]],
            positiveScore: p,
            candidate: corpus[found.indices[base + j]],
            candidateScore: s,
            rank: j + 1,
            outcome: fates[j],
          });
        }
      }
    }
  }

  // Rows, grouped by query in order of first appearance (Python re-sorts the pairs the same way).
  const rows: MinedRow[] = [];
  const positiveScores: number[] = [];
  const negativeScores: number[] = [];
  const differenceScores: number[] = [];
  let maximumPossible = 0;
  let pairsWithFewer = 0;
  for (let q = 0; q < queries.length; q++) {
    const negs = negativesOf[q];
    const negScores = negativeScoresOf[q];
    const full = negs.length === numNegatives;
    positivesOf[q].forEach((pos, k) => {
      const ps = positiveScoresOf[q][k];
      positiveScores.push(ps);
      if (!full) pairsWithFewer++;
      const keep = outputFormat !== "n-tuple" || full;
      if (keep)
        negScores.forEach((s) => {
          negativeScores.push(s);
          differenceScores.push(ps - s);
        });
      if (outputFormat === "triplet") {
        maximumPossible += numNegatives;
        for (const n of negs) rows.push({ anchor: queries[q], positive: corpus[pos], negative: corpus[n] });
      } else if (outputFormat === "n-tuple") {
        maximumPossible += 1;
        if (full) {
          const row: MinedRow = { anchor: queries[q], positive: corpus[pos] };
          negs.forEach((n, i) => (row[`negative_${i + 1}`] = corpus[n]));
          rows.push(row);
        }
      } else {
        maximumPossible += 1;
        rows.push({ anchor: queries[q], positive: corpus[pos], label: 1 });
      }
    });
    if (outputFormat === "labeled-pair") {
      maximumPossible += numNegatives;
      for (const n of negs) rows.push({ anchor: queries[q], positive: corpus[n], label: 0 });
    }
  }
  const columns =
    outputFormat === "triplet"
      ? ["anchor", "positive", "negative"]
      : outputFormat === "n-tuple"
        ? ["anchor", "positive", ...Array.from({ length: numNegatives }, (_, i) => `negative_${i + 1}`)]
        : ["anchor", "positive", "label"];
  const missing = maximumPossible - rows.length;
  if (missing > 0) {
    const solutions = ["rangeMax"];
    if (rangeMin > 0) solutions.push("rangeMin");
    if (absoluteMargin !== undefined) solutions.push("absoluteMargin");
    if (relativeMargin !== undefined) solutions.push("relativeMargin");
    if (maxScore !== undefined) solutions.push("maxScore");
    if (minScore !== undefined) solutions.push("minScore");
    if (semiHardMargin !== undefined) solutions.push("semiHardMargin");
    const list =
      solutions.length > 1
        ? `${solutions.slice(0, -1).join(", ")} and ${solutions[solutions.length - 1]}`
        : solutions[0];
    warn(
      `${OWNER}: could not find enough negatives for ${missing} of ${maximumPossible} possible ${outputFormat === "triplet" ? "triplets" : "rows"} ` +
        `(${((100 * missing) / maximumPossible).toFixed(2)}%; ${pairsWithFewer} of ${positives.length} pairs got fewer than ${numNegatives}). ` +
        `Consider adjusting the ${list} parameter${solutions.length > 1 ? "s" : ""} if you'd like to find more valid negatives.`,
    );
  }
  if (rows.length === 0)
    throw new Error(
      `${OWNER}: no rows could be generated with these settings (every candidate was removed); loosen the filters.`,
    );

  const report: MiningReport = {
    model: model.name,
    index: index.describe(),
    options: resolved,
    pairs: positives.length,
    uniqueQueries: queries.length,
    maxPositivesPerQuery: maxPositives,
    meanPositivesPerQuery: positives.length / queries.length,
    corpusSize: corpus.length,
    corpusDuplicatesRemoved: duplicatesRemoved,
    positivesAddedToCorpus: missingPositives,
    candidates,
    removed,
    skippedByRangeMin,
    outcomes: fateCounts,
    rows: rows.length,
    maximumPossibleRows: maximumPossible,
    missingRows: missing,
    pairsWithFewerNegatives: pairsWithFewer,
    positiveScores,
    negativeScores,
    differenceScores,
    falseNegativeMargin,
    falseNegativeCount,
    falseNegatives,
    seconds: { encode: encodeSeconds, search: searchSeconds, total: (performance.now() - t0) / 1000 },
    warnings,
  };
  return { rows, columns, report };
}
