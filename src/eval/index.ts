/**
 * Evaluation: one import for notebooks.
 *   InformationRetrievalEvaluator  sentence-transformers' IR metrics and key names, per-query results
 *   compareSystems / bootstrapCI   paired bootstrap confidence intervals, rank changes
 *   metricsTable / comparisonTable / perQueryReport / writeReport   polars tables, CSV/Parquet export
 *   metricBars / metricBarsFigure / differenceFigure                 Plotly figures (plain objects)
 *   addDistractors                 pad a corpus with seeded distractor documents
 *   mrrAtK, ndcgAtK, ...           one query's metrics, for teaching how each is computed
 */
export { InformationRetrievalEvaluator } from "./ir-evaluator";
export type { IREvaluatorOptions, IRResult, QrelInputRow, QrelsInput, QueriesInput, QueryResult } from "./ir-evaluator";
export { accuracyAtK, averagePrecisionAtK, DEFAULT_CUTOFFS, mrrAtK, ndcgAtK, precisionAtK, recallAtK } from "./metrics";
export type { MetricCutoffs } from "./metrics";
export { bootstrapCI, compareSystems, describeComparison } from "./compare";
export type { BootstrapOptions, Interval, MetricDifference, SystemComparison } from "./compare";
export { comparisonTable, metricsTable, perQueryReport, writeReport } from "./report";
export { differenceFigure, metricBars, metricBarsFigure, type SystemBars } from "./charts";
export { addDistractors, type DistractorOptions } from "./distractors";
