/**
 * src/display: rich output every layer may produce, for notebook cells (interactive Plotly charts and polars tables
 * saved in the .ipynb) and plain text outside a kernel. Figures are plain PlotlyFigure objects, so the areas that
 * draw (eval, train, mining, rag, cost) need nothing else from here.
 *
 * In a notebook: `import { showPlot, showTable } from "./src/display/index"` (tslab resolves files, not folders).
 * The MIME-bundle builders (plotBundle, tableBundle, ...) stay importable from ./display.
 */
export {
  showMarkdown,
  showPlot,
  showTable,
  type PlotlyFigure,
  type TableOptions,
} from "./display";
