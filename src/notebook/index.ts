/**
 * Rich output for notebook cells: Plotly charts and tables that survive in the saved .ipynb and its HTML
 * export, and the environment report of notebook 0.
 */
export { inNotebook, type PlotlyFigure, showMarkdown, showPlot, showTable, type TableOptions } from "./display";
export { environmentReport, environmentTable, type EnvironmentRow, measureMatMul, type MatMulTiming } from "./environment";
