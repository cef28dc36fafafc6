/**
 * The shapes hard-negative mining shares between its steps (./hard-negatives, ./options, ./candidates, ./select,
 * ./rows) and its report (./report): options as given and as resolved, mined rows, what happened to each candidate.
 */
import type { CorpusInput } from "../retrieval/types";
import type { Implementation } from "../retrieval/vector-index";

export type SamplingStrategy = "top" | "random";
export type MiningOutputFormat = "triplet" | "n-tuple" | "labeled-pair";

export interface MineHardNegativesOptions {
  /** Candidate negatives besides the positives (texts, or a corpus with ids); default: the pairs' positives. */
  corpus?: readonly string[] | CorpusInput;
  /** Ranks below this (among the candidates that passed the filters) are skipped (default 0). */
  rangeMin?: number;
  /** Ranks from this on are not considered (default: see ./hard-negatives' header). */
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
  /** Seed of "random" sampling (default DEFAULT_SEED = 42). */
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

/** The filters that remove candidates, in the order they are applied ("positive": the query's own positives). */
export const MINING_FILTERS = [
  "positive",
  "absoluteMargin",
  "relativeMargin",
  "maxScore",
  "minScore",
  "semiHardMargin",
] as const;
export type MiningFilter = (typeof MINING_FILTERS)[number];

/** What happened to a retrieved candidate. */
export type CandidateFate = MiningFilter | "negative" | "rangeMin" | "notSampled";

export const CANDIDATE_FATES: readonly CandidateFate[] = ["negative", ...MINING_FILTERS, "rangeMin", "notSampled"];

/** A candidate that scores at or above its query's (lowest) positive score minus falseNegativeMargin. */
export interface FalseNegative {
  query: string;
  /** The query's positive whose score the margins use (its lowest-scoring one). */
  positive: string;
  positiveScore: number;
  candidate: string;
  candidateScore: number;
  /** 1-based rank among the retrieved candidates. */
  rank: number;
  /** "negative" = mined as a negative; a filter name = removed by it; "rangeMin" = skipped; "notSampled" = not drawn. */
  outcome: CandidateFate;
}

export interface MiningReport {
  model: string;
  /** The vector index that searched, e.g. "flat (exact), faiss, 303 x 384". */
  index: string;
  options: ResolvedMiningOptions;
  pairs: number;
  uniqueQueries: number;
  maxPositivesPerQuery: number;
  meanPositivesPerQuery: number;
  /** Distinct candidate passages (given corpus + positives, deduplicated). */
  corpusSize: number;
  corpusDuplicatesRemoved: number;
  /** Distinct positive texts that were not in the given corpus (added, as sentence-transformers does). */
  positivesAddedToCorpus: number;
  /** Retrieved (query, candidate) pairs: unique queries x search depth. */
  candidates: number;
  /** Candidates removed by each filter (each counted once, under the first filter that removed it). */
  removed: Record<MiningFilter, number>;
  /** Surviving candidates skipped because their rank was below rangeMin. */
  skippedByRangeMin: number;
  /** Every retrieved candidate by outcome. */
  outcomes: Record<CandidateFate, number>;
  rows: number;
  maximumPossibleRows: number;
  missingRows: number;
  /** (anchor, positive) pairs whose query got fewer than numNegatives negatives. */
  pairsWithFewerNegatives: number;
  /** One per (anchor, positive) pair. */
  positiveScores: number[];
  /** One per mined (pair, negative) in the output. */
  negativeScores: number[];
  /** Positive score - negative score, aligned with negativeScores. */
  differenceScores: number[];
  falseNegativeMargin: number;
  /** All suspected false negatives found (the list below may be cut at maxFalseNegatives). */
  falseNegativeCount: number;
  falseNegatives: FalseNegative[];
  seconds: { encode: number; search: number; total: number };
  warnings: string[];
}
