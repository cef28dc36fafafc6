/**
 * src/mining: hard negatives for training pairs, the counterpart of sentence-transformers' mine_hard_negatives.
 *
 *   pairs ──embed anchors + corpus──▶ top-k candidates per anchor ──filters (margins, max score, rank range)──▶
 *     negatives per pair (n-tuple, triplet or labeled rows) + a report (what each filter removed, score statistics)
 *
 *   mineHardNegatives(pairs, model, options), miningPresets, semiHardNegatives  hard-negatives.ts
 *   miningStatsTable, falseNegativesTable, scoreHistogramFigure, ...            report.ts
 */
export {
  mineHardNegatives,
  miningPresets,
  semiHardNegatives,
  type MineHardNegativesOptions,
  type MinedRow,
  type MiningOutputFormat,
  type MiningResult,
  type ResolvedMiningOptions,
  type SamplingStrategy,
} from "./hard-negatives";
export {
  CANDIDATE_FATES,
  describeMining,
  falseNegativesTable,
  miningFiltersTable,
  miningStatsTable,
  scoreHistogramFigure,
  scoreStatistics,
  type CandidateFate,
  type FalseNegative,
  type MiningFilter,
  type MiningReport,
} from "./report";
