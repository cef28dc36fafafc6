/**
 * Evaluation: one import for notebooks.
 *   InformationRetrievalEvaluator  sentence-transformers' IR metrics and key names, per-query results
 *   compareSystems / bootstrapCI   paired bootstrap confidence intervals, rank changes
 *   metricsTable / comparisonTable / perQueryReport / writeReport   polars tables, CSV/Parquet export
 *   metricBars / metricBarsFigure / differenceFigure                 Plotly figures (plain objects)
 *   addDistractors                 pad a corpus with seeded distractor documents
 */
export * from "./metrics";
export * from "./ir-evaluator";
export * from "./compare";
export * from "./report";
export * from "./charts";
export * from "./distractors";
