/**
 * Evaluation: one import for notebooks.
 *   InformationRetrievalEvaluator  sentence-transformers' IR metrics and key names, per-query results
 *   compareSystems / bootstrapCI   paired bootstrap confidence intervals, rank changes
 *   metricsTable / comparisonTable / perQueryReport / writeReport   polars tables, CSV/Parquet export
 *   metricBars / metricBarsFigure / differenceFigure                 Plotly figures (plain objects)
 *   addDistractors                 pad a corpus with seeded distractor documents
 *   failureCases / failureTraits / sideBySide   where a retriever fails, and two systems' top passages side by side
 *   mrrAtK, ...           one query's metrics, for teaching how each is computed
 * The input shapes (QueriesInput, QrelsInput), cutoffs (DEFAULT_CUTOFFS) and bootstrap options stay in their files.
 */
export {
  InformationRetrievalEvaluator,
  type IREvaluatorOptions,
  type IRResult,
  type QueryResult,
} from "./ir-evaluator";
export { bootstrapCI, compareSystems, describeComparison, type Interval, type SystemComparison } from "./compare";
export { comparisonTable, metricsTable, perQueryReport, writeReport } from "./report";
export { differenceFigure, metricBars, metricBarsFigure } from "./charts";
export { addDistractors } from "./distractors";
export { failureCases, failureTraits, sideBySide } from "./failures";
