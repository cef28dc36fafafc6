// Runs page: reports/results.json as tables and charts (systems x metrics with 95% CIs), one group per
// dataset, split and setting (rows without a setting form their own group), and the exported notebooks.
"use strict";

const METRICS = ["accuracy@1", "accuracy@3", "accuracy@5", "accuracy@10", "mrr@10", "ndcg@10", "recall@10", "precision@5", "map@100"];
const CHART_METRICS = ["accuracy@1", "accuracy@5", "mrr@10", "ndcg@10", "recall@10"];
const NAMES = { "accuracy@1": "Hit@1", "accuracy@3": "Hit@3", "accuracy@5": "Hit@5", "accuracy@10": "Hit@10", "mrr@10": "MRR@10", "ndcg@10": "NDCG@10", "recall@10": "Recall@10", "precision@5": "P@5", "map@100": "MAP@100" };
const ORDER = ["BM25", "base", "fine-tuned", "hard-negative fine-tuned", "hybrid", "hybrid (fine-tuned)"];
const root = document.getElementById("page");

const interval = (i) => (i ? `${fmt(i.estimate)} [${fmt(i.low)}, ${fmt(i.high)}]` : "");
const order = (s) => (ORDER.indexOf(s) < 0 ? ORDER.length : ORDER.indexOf(s));

function groups(rows) {
  const map = new Map();
  for (const r of rows) {
    const setting = r.setting === undefined || r.setting === null ? "" : String(r.setting);
    const key = JSON.stringify([r.dataset, r.split, setting]);
    if (!map.has(key)) map.set(key, { dataset: r.dataset, split: r.split, setting, rows: [] });
    map.get(key).rows.push(r);
  }
  const splitOrder = (s) => ["test", "dev", "train"].indexOf(s) >>> 0;
  return [...map.values()].sort(
    (a, b) => a.dataset.localeCompare(b.dataset) || a.setting.localeCompare(b.setting) || splitOrder(a.split) - splitOrder(b.split) || a.split.localeCompare(b.split),
  );
}

function table(rows, metrics) {
  return el(
    "table",
    { class: "results" },
    el("thead", {}, el("tr", {}, el("th", {}, "system"), el("th", {}, "model"), el("th", {}, "queries"), metrics.map((m) => el("th", {}, NAMES[m] || m)))),
    el(
      "tbody",
      {},
      rows.map((r) =>
        el("tr", {}, el("td", {}, r.system), el("td", {}, r.model), el("td", { class: "num" }, String(r.queries)), metrics.map((m) => el("td", { class: "num" }, interval(r.metrics[m])))),
      ),
    ),
  );
}

/** Plotly reads a few HTML tags (<b>, <a href>, <br>) in names and titles, and decodes entities: give it escaped text. */
const plotlyText = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function chart(node, rows, title) {
  if (typeof Plotly === "undefined") {
    fill(node, el("div", { class: "small muted" }, "Chart unavailable (plotly did not load)."));
    return;
  }
  const metrics = CHART_METRICS.filter((m) => rows.some((r) => r.metrics[m]));
  const traces = rows.map((r) => ({
    type: "bar",
    name: plotlyText(r.model === "-" ? r.system : `${r.system} · ${r.model}`),
    x: metrics.map((m) => NAMES[m] || m),
    y: metrics.map((m) => (r.metrics[m] ? r.metrics[m].estimate : null)),
    error_y: {
      type: "data",
      symmetric: false,
      array: metrics.map((m) => (r.metrics[m] ? r.metrics[m].high - r.metrics[m].estimate : 0)),
      arrayminus: metrics.map((m) => (r.metrics[m] ? r.metrics[m].estimate - r.metrics[m].low : 0)),
      thickness: 1.2,
      width: 3,
    },
    hovertemplate: "%{fullData.name}<br>%{x}: %{y:.3f}<extra></extra>",
  }));
  Plotly.newPlot(
    node,
    traces,
    {
      title: { text: plotlyText(title), font: { size: 14 } },
      barmode: "group",
      yaxis: { range: [0, 1], title: { text: "mean, 95% CI" } },
      margin: { l: 60, r: 20, t: 40, b: 40 },
      legend: { orientation: "h", y: -0.15 },
      font: { family: "system-ui, sans-serif" },
    },
    { displaylogo: false, responsive: true },
  );
}

async function main() {
  showWhere();
  let data;
  try {
    data = await api("/api/runs");
  } catch (err) {
    banner("error", err.message);
    return;
  }
  const parts = [];
  parts.push(
    el(
      "div",
      { class: "card notebooks" },
      el("strong", {}, "Exported notebooks: "),
      data.notebooks.length
        ? data.notebooks.map((n) => el("a", { href: n.href, target: "_blank", rel: "noopener" }, n.title))
        : el("span", { class: "muted" }, "none yet in reports/ (npm run course writes them)"),
    ),
  );
  if (!data.results.length) {
    parts.push(el("div", { class: "card empty", style: "margin-top:12px" }, `No results yet in ${data.file}. Run the course (npm run course) to measure the systems.`));
    fill(root, parts);
    return;
  }
  const charts = [];
  for (const g of groups(data.results)) {
    const rows = g.rows.slice().sort((a, b) => order(a.system) - order(b.system) || a.system.localeCompare(b.system) || a.model.localeCompare(b.model));
    const metrics = METRICS.filter((m) => rows.some((r) => r.metrics[m]));
    const title = `${g.dataset}, ${g.split} split${g.setting ? `, setting ${g.setting}` : ""} (${rows[0].queries} queries)`;
    const node = el("div", { class: "chart" });
    charts.push(() => chart(node, rows, title));
    const comps = data.comparisons.filter(
      (c) => c.dataset === g.dataset && c.split === g.split && String(c.setting ?? "") === g.setting,
    );
    parts.push(
      el(
        "section",
        { class: "card group", dataset: { dataset: g.dataset, split: g.split, setting: g.setting } },
        el("h2", {}, title),
        node,
        el("div", { class: "scroll" }, table(rows, metrics)),
        comps.length
          ? el(
              "div",
              { class: "small", style: "margin-top:8px" },
              comps.map((c) => {
                const d = c.differences["ndcg@10"];
                return el(
                  "div",
                  {},
                  `${c.candidate} − ${c.baseline} (${c.model}): NDCG@10 ${d ? interval(d) : "?"}; ${c.improved} improved, ${c.worsened} worsened`,
                  d ? (d.low > 0 ? " — a gain (the interval is above 0)" : d.high < 0 ? " — a loss (the interval is below 0)" : " — no clear difference (the interval includes 0)") : "",
                );
              }),
            )
          : null,
      ),
    );
  }
  if (data.timings.length) {
    const total = data.timings.reduce((s, t) => s + t.seconds, 0);
    parts.push(
      el(
        "div",
        { class: "card small", style: "margin-top:12px" },
        `Notebook times: ${data.timings.map((t) => `${t.notebook} ${t.seconds.toFixed(0)} s${t.status === "failed" ? " (failed)" : ""}`).join(", ")}; total ${(total / 60).toFixed(1)} min.`,
      ),
    );
  }
  fill(root, parts);
  for (const draw of charts) draw();
}

main();
