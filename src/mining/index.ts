/**
 * src/mining: hard negatives for training pairs, the counterpart of sentence-transformers' mine_hard_negatives.
 *
 *   pairs ──embed anchors + corpus──▶ top-k candidates per anchor ──filters (margins, max score, rank range)──▶
 *     negatives per pair (n-tuple, triplet or labeled rows) + a report (what each filter removed, score statistics)
 *
 *   mineHardNegatives(pairs, model, options)                  hard-negatives.ts (steps: options, candidates, select, rows)
 *   miningPresets, semiHardNegatives                          options.ts
 *   miningStatsTable, falseNegativesTable, scoreHistogramFigure, ...   report.ts
 */
export { mineHardNegatives } from "./hard-negatives";
export { miningPresets, semiHardNegatives } from "./options";
export {
  describeMining,
  falseNegativesTable,
  miningFiltersTable,
  miningStatsTable,
  scoreHistogramFigure,
} from "./report";
export type { MinedRow, MineHardNegativesOptions, MiningReport, MiningResult } from "./types";
