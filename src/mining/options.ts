/**
 * Step 1 of mining: the options checked against their domains, then the rank range resolved once the candidates
 * are known. Defaults (sentence-transformers' mine_hard_negatives): numNegatives 3, rangeMin 0, "top" sampling,
 * "triplet" rows, batchSize 32; rangeMax = rangeMin + numNegatives + max positives per query, or rangeMin +
 * 10 numNegatives + max positives when a margin or maxScore is set (some candidates will be dropped), clamped to the
 * corpus size (Python's torch.topk would fail there); search depth min(corpus, rangeMax + max positives).
 */
import { DEFAULT_SEED } from "../defaults";
import type { MineHardNegativesOptions, ResolvedMiningOptions } from "./types";

export const OWNER = "mineHardNegatives";

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

/** The options whose domain is known before the candidates are: every field but the rank range. */
export type CheckedMiningOptions = Omit<ResolvedMiningOptions, "rangeMax" | "searchDepth"> & {
  maxFalseNegatives: number;
  batchSize: number;
  searchBatchSize: number;
};

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

/** Every option but rangeMax checked against its domain and given its default; the error names the field. */
export function checkMiningOptions(options: MineHardNegativesOptions): CheckedMiningOptions {
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
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new Error(`${OWNER}: seed ${String(seed)} must be an integer.`);
  return {
    rangeMin,
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
    maxFalseNegatives,
    batchSize,
    searchBatchSize,
  };
}

/** What the rank range depends on: the candidates' count and the positives per query. */
export interface CandidateCounts {
  corpusSize: number;
  /** Most (anchor, positive) pairs of one query. */
  maxPositives: number;
  /** Most distinct positive passages of one query (never negatives of it). */
  largestPositiveSet: number;
}

/** The rank range [rangeMin, rangeMax) and the search depth, checked against the corpus; the options as the report shows them. */
export function resolveMiningOptions(
  checked: CheckedMiningOptions,
  askedRangeMaxOption: number | undefined,
  counts: CandidateCounts,
): ResolvedMiningOptions {
  const { rangeMin, numNegatives } = checked;
  const { corpusSize, maxPositives, largestPositiveSet } = counts;
  if (numNegatives > corpusSize - largestPositiveSet)
    throw new Error(
      `${OWNER}: numNegatives ${numNegatives} is larger than the candidates a query can have: the corpus holds ${corpusSize} distinct passages ` +
        `and a query's own positives (up to ${largestPositiveSet}) are never negatives. Ask for at most ${corpusSize - largestPositiveSet} or give a larger corpus.`,
    );
  const hasFilter =
    checked.absoluteMargin !== undefined ||
    checked.relativeMargin !== undefined ||
    checked.maxScore !== undefined ||
    checked.semiHardMargin !== undefined;
  const defaultRangeMax = rangeMin + (hasFilter ? numNegatives * 10 : numNegatives) + maxPositives;
  const askedRangeMax =
    askedRangeMaxOption === undefined ? defaultRangeMax : checkInteger("rangeMax", askedRangeMaxOption, 1);
  if (askedRangeMax <= rangeMin)
    throw new Error(
      `${OWNER}: the rank range [rangeMin ${rangeMin}, rangeMax ${askedRangeMax}) is ${askedRangeMax === rangeMin ? "empty" : "reversed"}; rangeMax must be larger than rangeMin.`,
    );
  const rangeMax = Math.min(askedRangeMax, corpusSize);
  if (rangeMax - rangeMin < numNegatives)
    throw new Error(
      `${OWNER}: the rank range [${rangeMin}, ${rangeMax}) holds ${Math.max(0, rangeMax - rangeMin)} ranks` +
        `${rangeMax < askedRangeMax ? ` (rangeMax clamped to the ${corpusSize} corpus passages)` : ""}, fewer than numNegatives ${numNegatives}; widen the range or ask for fewer negatives.`,
    );
  return {
    rangeMin,
    rangeMax,
    searchDepth: Math.min(corpusSize, rangeMax + maxPositives),
    numNegatives,
    samplingStrategy: checked.samplingStrategy,
    outputFormat: checked.outputFormat,
    seed: checked.seed,
    falseNegativeMargin: checked.falseNegativeMargin,
    ...(checked.absoluteMargin !== undefined && { absoluteMargin: checked.absoluteMargin }),
    ...(checked.relativeMargin !== undefined && { relativeMargin: checked.relativeMargin }),
    ...(checked.semiHardMargin !== undefined && { semiHardMargin: checked.semiHardMargin }),
    ...(checked.maxScore !== undefined && { maxScore: checked.maxScore }),
    ...(checked.minScore !== undefined && { minScore: checked.minScore }),
  };
}
