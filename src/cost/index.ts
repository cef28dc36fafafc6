/**
 * src/cost: what fine-tuning costs and when it pays, from numbers measured in the run.
 *
 *   measured   encodeThroughput (+ encodePath), searchLatency, sizeOnDisk, trainingTime (history.json)
 *   roi        roi(): API vs fine-tune + self-host, break-even months and volume; cumulativeCosts
 *   storage    matryoshkaCurve: metric vs embedding dimension (truncate + re-normalise, evaluated), truncateEmbeddings
 *   charts     breakEvenFigure, volumeFigure, dimensionFigure (Plotly objects for showPlot)
 *   tables     measurementsTable, roiTable, dimensionTable (polars, for showTable)
 *   guide      decisionGuide / decisionTable: when fine-tuning pays, applied to this run's numbers
 *   int8       compareQuantization: fp32 vs int8 (dtype q8) speed, size and NDCG@10; quantizationTable (with a verdict)
 *
 * In a notebook: `import { ... } from "./src/cost/index"` (tslab resolves files, not folder indexes).
 * Helpers (encodePath, cumulativeCosts, defaultDims, truncateEmbeddings) and the row types stay in their files.
 */
export {
  encodeThroughput,
  meanTokens,
  searchLatency,
  sizeOnDisk,
  trainingTime,
} from "./measure";
export { llmSavingPerMonth, passagesToMatch, roi } from "./roi";
export { matryoshkaCurve } from "./matryoshka";
export { breakEvenFigure, dimensionFigure, volumeFigure } from "./charts";
export { decisionGuide, decisionTable } from "./guide";
export { dimensionTable, measurementsTable, roiTable } from "./tables";
export { compareQuantization, quantizationTable } from "./quantization";
