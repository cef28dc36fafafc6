/**
 * Rich output for notebook cells: interactive plotly charts and polars tables that are saved in the
 * .ipynb and survive the HTML export.
 *
 * Why it is built this way (measured with nbconvert and the classic Notebook, see environment.md):
 * - `application/vnd.plotly.v1+json` alone renders nothing in nbconvert's HTML or the classic
 *   Notebook, so each chart is sent as a MIME bundle that also holds `text/html`: a <div> plus a
 *   script calling Plotly.newPlot, the way plotly.py does it. JupyterLab / VS Code with a plotly
 *   renderer use the JSON entry, everything else the HTML.
 * - The plotly.js bundle (~4.8 MB) is inlined once per kernel, in the output of the first chart
 *   cell, as plotly.py's offline mode does. Charts never need the network.
 * - tslab's public `display.raw` sends one MIME type per output; a bundle goes through the kernel's
 *   own `lastWriteDisplayData`. Outside a kernel (tests, a terminal) the text/plain entry is printed.
 * - Notebooks must be trusted for the Notebook UI to run these scripts; the course runner signs the
 *   notebooks it executes.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type pl from "nodejs-polars";

/** A plotly figure as plain data: what Plotly.newPlot takes. */
export interface PlotlyFigure {
  data: Array<Record<string, unknown>>;
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** A Jupyter MIME bundle: content type -> content. */
export type MimeBundle = Record<string, unknown>;

type WriteDisplayData = (
  msg: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> },
  update: boolean,
) => void;

/** The running tslab kernel's display writer, or null outside a kernel. */
function kernelWriter(): WriteDisplayData | null {
  try {
    // Same module instance as the kernel's own, since the kernel runs from this repo's node_modules.
    const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: WriteDisplayData | null };
    return jupyter.lastWriteDisplayData;
  } catch {
    return null;
  }
}

/** True inside a running tslab kernel cell. */
export function inNotebook(): boolean {
  return kernelWriter() !== null;
}

/** Sends a MIME bundle as one display output; prints its text/plain outside a notebook. */
export function displayBundle(bundle: MimeBundle): void {
  const write = kernelWriter();
  if (write) {
    write({ data: bundle, metadata: {}, transient: {} }, false);
  } else if (typeof bundle["text/plain"] === "string") {
    console.log(bundle["text/plain"]);
  }
}

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** JSON for embedding inside a <script>: `</script>` and friends cannot end the script early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

let plotlyJsCache: { version: string; source: string } | undefined;

function plotlyJs(): { version: string; source: string } {
  if (!plotlyJsCache) {
    const pkgPath = require.resolve("plotly.js-dist-min/package.json");
    const version = (JSON.parse(readFileSync(pkgPath, "utf8")) as { version: string }).version;
    const source = readFileSync(require.resolve("plotly.js-dist-min"), "utf8");
    plotlyJsCache = { version, source };
  }
  return plotlyJsCache;
}

/** The output that loads plotly.js into the page: the library inlined in a script tag. */
export function plotlyLoaderBundle(): MimeBundle {
  const { version, source } = plotlyJs();
  // A literal "</script" inside the library would end the tag; split any occurrence.
  const safe = source.replace(/<\/script/gi, "<\\/script");
  return {
    "text/html": `<script type="text/javascript">/* plotly.js ${version}, inlined once per notebook */\n${safe}\n</script>`,
    "text/plain": `plotly.js ${version} loaded (inline, no network needed)`,
  };
}

/** The MIME bundle of one chart: plotly JSON, an HTML div + newPlot script, and a text summary. */
export function plotBundle(figure: PlotlyFigure, options: { id?: string; height?: number } = {}): MimeBundle {
  validateFigure(figure);
  const id = options.id ?? `plot-${randomBytes(6).toString("hex")}`;
  const height = options.height ?? (typeof figure.layout?.height === "number" ? figure.layout.height : 420);
  const config = { responsive: true, displaylogo: false, ...(figure.config ?? {}) };
  const html =
    `<div id="${id}" class="course-plot" style="width:100%;height:${height}px;"></div>\n` +
    `<script type="text/javascript">(function () {\n` +
    `  var el = document.getElementById(${scriptJson(id)});\n` +
    `  if (!window.Plotly) { el.textContent = "plotly.js is not loaded: run the notebook from the top (the first chart cell loads it)."; return; }\n` +
    `  window.Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(figure.layout ?? {})}, ${scriptJson(config)});\n` +
    `})();</script>`;
  const title = figureTitle(figure);
  const traces = figure.data.map((t) => `${String(t.type ?? "scatter")}${t.name ? ` "${String(t.name)}"` : ""}`);
  return {
    "application/vnd.plotly.v1+json": { data: figure.data, layout: figure.layout ?? {}, config },
    "text/html": html,
    "text/plain": `[plotly chart${title ? ` "${title}"` : ""}: ${traces.join(", ")}]`,
  };
}

function figureTitle(figure: PlotlyFigure): string | undefined {
  const t = figure.layout?.title;
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { text?: unknown }).text === "string")
    return (t as { text: string }).text;
  return undefined;
}

function validateFigure(figure: PlotlyFigure): void {
  if (!figure || !Array.isArray(figure.data)) {
    throw new TypeError(
      "showPlot(figure): figure.data must be an array of plotly traces, e.g. { data: [{ type: 'bar', x, y }] }.",
    );
  }
  figure.data.forEach((trace, i) => {
    if (trace === null || typeof trace !== "object")
      throw new TypeError(`showPlot(figure): figure.data[${i}] is not an object.`);
  });
}

let plotlyLoaded = false;

/**
 * Renders an interactive plotly chart in the cell's output. The first call in a kernel also inlines
 * plotly.js. Outside a notebook it prints a one-line text summary.
 */
export function showPlot(figure: PlotlyFigure, options: { height?: number } = {}): void {
  const bundle = plotBundle(figure, options);
  if (inNotebook() && !plotlyLoaded) {
    displayBundle(plotlyLoaderBundle());
    plotlyLoaded = true;
  }
  displayBundle(bundle);
}

export interface TableOptions {
  /** Rows shown (default 50); the rest are summarised in a footer. */
  maxRows?: number;
  /** Significant decimals for floats (default 4). */
  decimals?: number;
  caption?: string;
}

/** A missing value ("no value here": a count has no difference, a run has no comparison) shows as a dash. */
const MISSING = "–";

function formatCell(value: unknown, decimals: number): string {
  if (value === null || value === undefined) return MISSING;
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    if (!Number.isFinite(value)) return String(value);
    // A value too small for the decimals (a learning rate of 2e-5) would show as 0.0000: shown in exponent form.
    if (Math.abs(value) < 0.5 * 10 ** -decimals) return value.toExponential(1);
    return value.toFixed(decimals);
  }
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => formatCell(v, decimals)).join(", ")}]`;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The MIME bundle of a table: an HTML table and an aligned text table. */
export function tableBundle(df: pl.DataFrame, options: TableOptions = {}): MimeBundle {
  const maxRows = options.maxRows ?? 50;
  const decimals = options.decimals ?? 4;
  const columns = df.columns;
  const dtypes = df.dtypes.map((d) => String(d).replace(/^DataType\((.*)\)$/, "$1"));
  const shown = Math.min(df.height, maxRows);
  const records = df.head(shown).toRecords() as Array<Record<string, unknown>>;
  const cells = records.map((r) => columns.map((c) => formatCell(r[c], decimals)));
  const numeric = dtypes.map((d) => /^(Float|Int|UInt)/.test(d));

  const align = (j: number) => `text-align:${numeric[j] ? "right" : "left"}`;
  const head = columns
    .map((c, j) => `<th title="${escapeHtml(dtypes[j])}" style="${align(j)}">${escapeHtml(c)}</th>`)
    .join("");
  const body = cells
    .map((row) => `<tr>${row.map((v, j) => `<td style="${align(j)}">${escapeHtml(v)}</td>`).join("")}</tr>`)
    .join("\n");
  const footer =
    df.height > shown
      ? `<p><em>${df.height - shown} more rows not shown (${df.height} x ${columns.length})</em></p>`
      : "";
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  // tex2jax_ignore: MathJax (nbconvert's HTML, the Notebook UI) would typeset "$1,800 ... $4,000" in a cell as math.
  const html = `<div class="tex2jax_ignore"><table class="course-table">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${footer}</div>`;

  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((r) => r[j].length)));
  const line = (vals: string[]) =>
    vals.map((v, j) => (numeric[j] ? v.padStart(widths[j]) : v.padEnd(widths[j]))).join("  ");
  const text = [
    ...(options.caption ? [options.caption] : []),
    line(columns),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.map(line),
    ...(df.height > shown ? [`... ${df.height - shown} more rows (${df.height} x ${columns.length})`] : []),
  ].join("\n");
  return { "text/html": html, "text/plain": text };
}

/** Renders a polars DataFrame as a table in the cell's output (or as aligned text outside a notebook). */
export function showTable(df: pl.DataFrame, options: TableOptions = {}): void {
  displayBundle(tableBundle(df, options));
}

/** Renders markdown (headings, notes) from code, e.g. a sentence built from measured numbers. */
export function showMarkdown(markdown: string): void {
  displayBundle({ "text/markdown": markdown, "text/plain": markdown });
}
