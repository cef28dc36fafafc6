import { test } from "node:test";
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { escapeHtml, inNotebook, plotBundle, plotlyLoaderBundle, tableBundle } from "../src/display/display";
import { formatSigned, formatSignedInterval } from "../src/display/format";

test("a chart bundle carries plotly JSON, an HTML div with newPlot, and a text summary", () => {
  const fig = { data: [{ type: "bar", name: "base", x: ["a", "b"], y: [1, 2] }], layout: { title: { text: "Hit@K" } } };
  const b = plotBundle(fig, { id: "plot-test" });
  const json = b["application/vnd.plotly.v1+json"] as { data: unknown[]; layout: Record<string, unknown> };
  assert.deepEqual(json.data, fig.data);
  assert.deepEqual(json.layout, fig.layout);
  const html = b["text/html"] as string;
  assert.match(html, /<div id="plot-test"/);
  assert.match(html, /Plotly\.newPlot\(el, \[\{"type":"bar","name":"base","x":\["a","b"\],"y":\[1,2\]\}\]/);
  assert.equal(b["text/plain"], '[plotly chart "Hit@K": bar "base"]');
});

test("text inside a chart cannot close the script tag", () => {
  const html = plotBundle({ data: [{ type: "bar", name: "</script><img src=x onerror=alert(1)>", x: [1], y: [1] }] })[
    "text/html"
  ] as string;
  assert.equal(html.match(/<\/script>/g)?.length, 1, "only the bundle's own closing tag");
  assert.ok(html.includes("\\u003c/script\\u003e"));
});

test("bad figures are refused with the expected shape in the message", () => {
  assert.throws(() => plotBundle({ data: undefined as never }), /figure\.data must be an array/);
  assert.throws(() => plotBundle({ data: [null as never] }), /figure\.data\[0\] is not an object/);
});

test("the plotly loader inlines the library once, with its version", () => {
  const b = plotlyLoaderBundle();
  const html = b["text/html"] as string;
  assert.ok(html.length > 1_000_000, "the whole library is inlined");
  assert.match(b["text/plain"] as string, /^plotly\.js \d+\.\d+\.\d+ loaded/);
  assert.equal(html.match(/<\/script/gi)?.length, 1);
  assert.match(html, /window\.Plotly\s*=\s*Plotly/);
});

test("tables: escaped HTML, fixed decimals, numeric columns right-aligned, long tables cut", () => {
  const df = pl.DataFrame({ metric: ["<b>mrr@10</b>", "ndcg@10", "map@100"], value: [0.123456, 1, 0.5] });
  const b = tableBundle(df, { maxRows: 2, caption: "Scores" });
  const html = b["text/html"] as string;
  assert.ok(html.includes("&lt;b&gt;mrr@10&lt;/b&gt;"));
  assert.ok(!html.includes("<b>mrr"));
  assert.ok(html.includes(">0.1235<"), "4 decimals");
  assert.ok(html.includes(">1<"), "integers stay integers");
  const small = tableBundle(pl.DataFrame({ lr: [2e-5, 0.00004] }))["text/html"] as string;
  assert.ok(
    small.includes(">2.0e-5<") && small.includes(">4.0e-5<"),
    "values below the decimals are not shown as 0.0000",
  );
  assert.ok(!html.includes("map@100"), "third row not shown");
  assert.match(html, /1 more rows not shown \(3 x 2\)/);
  assert.equal(
    b["text/plain"],
    [
      "Scores",
      "metric          value",
      "-------------  ------",
      "<b>mrr@10</b>  0.1235",
      "ndcg@10             1",
      "... 1 more rows (3 x 2)",
    ].join("\n"),
  );
});

test("outside a kernel nothing pretends to be a notebook", () => {
  assert.equal(inNotebook(), false);
  assert.equal(escapeHtml(`a<b>&"'`), "a&lt;b&gt;&amp;&quot;&#39;");
});

test("signed numbers: the sign always written, one ASCII minus, toFixed's rounding", () => {
  assert.equal(formatSigned(0.05, 3), "+0.050");
  assert.equal(formatSigned(-0.0123, 3), "-0.012");
  assert.equal(formatSigned(0, 3), "+0.000");
  assert.equal(formatSigned(-0.00001, 4), "-0.0000");
  assert.equal(formatSigned(1234.5, 1), "+1234.5");
  assert.equal(formatSigned(Number.NaN, 3), "NaN");
  assert.equal(formatSignedInterval({ estimate: 0.05, low: -0.02, high: 0.08 }, 3), "+0.050 [-0.020, +0.080]");
});
