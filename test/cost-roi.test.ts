// The ROI calculator against hand-computed values, and the break-even figures built from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { breakEvenFigure, llmSavingPerMonth, passagesToMatch, roi, roiTable, volumeFigure } from "../src/cost";
import { cumulativeCosts } from "../src/cost/roi";

const near = (a: number | null, b: number, eps = 1e-9) =>
  assert.ok(a !== null && Math.abs(a - b) < eps, `${a} vs ${b}`);

test("roi: 10M queries of 20 tokens at $0.02 / 1M tokens against a $3 / month machine", () => {
  // API: 10e6 * 20 * 0.02 / 1e6 = $4 a month; saving 4 - 3 = $1; $6 one-time -> 6 months.
  const r = roi({
    queriesPerMonth: 10e6,
    tokensPerQuery: 20,
    apiPricePerMillionTokens: 0.02,
    hardwareCostPerMonth: 3,
    oneTimeCost: 6,
  });
  near(r.apiCostPerMonth, 4);
  near(r.selfHostedCostPerMonth, 3);
  near(r.monthlySaving, 1);
  near(r.breakEvenMonths, 6);
  // Equal monthly cost at 3 / (20 * 0.02e-6) = 7.5M queries.
  near(r.breakEvenQueriesPerMonth, 7.5e6, 1e-3);
});

test("roi: below the break-even volume self-hosting never pays back", () => {
  const r = roi({
    queriesPerMonth: 1e6,
    tokensPerQuery: 20,
    apiPricePerMillionTokens: 0.02,
    hardwareCostPerMonth: 3,
    oneTimeCost: 6,
  });
  near(r.apiCostPerMonth, 0.4);
  near(r.monthlySaving, -2.6);
  assert.equal(r.breakEvenMonths, null);
});

test("roi: document re-embedding and an LLM saving count on the API side / as savings", () => {
  // API: 1e6*10*1e-6*1 = 10 + documents 2e6 tokens * 1e-6 = 2 -> 12; hardware 10; LLM saving 3 -> 5 a month; 20 / 5 = 4 months.
  const r = roi({
    queriesPerMonth: 1e6,
    tokensPerQuery: 10,
    apiPricePerMillionTokens: 1,
    hardwareCostPerMonth: 10,
    oneTimeCost: 20,
    documentTokensPerMonth: 2e6,
    llmSavingPerMonth: 3,
  });
  near(r.apiCostPerMonth, 12);
  near(r.monthlySaving, 5);
  near(r.breakEvenMonths, 4);
  // Per query: 1e-5 API + 3e-6 LLM; (10 - 2) / 1.3e-5 = 615,384.6 queries.
  near(r.breakEvenQueriesPerMonth, 8 / 1.3e-5, 1e-6);
  const free = roi({
    queriesPerMonth: 5,
    tokensPerQuery: 10,
    apiPricePerMillionTokens: 0,
    hardwareCostPerMonth: 1,
    oneTimeCost: 0,
  });
  assert.equal(free.breakEvenQueriesPerMonth, null);
  assert.equal(free.breakEvenMonths, null);
});

test("roi: bad inputs name the field", () => {
  const ok = {
    queriesPerMonth: 1,
    tokensPerQuery: 1,
    apiPricePerMillionTokens: 1,
    hardwareCostPerMonth: 1,
    oneTimeCost: 1,
  };
  assert.throws(() => roi({ ...ok, queriesPerMonth: -1 }), /queriesPerMonth=-1 must be a finite number >= 0/);
  assert.throws(() => roi({ ...ok, apiPricePerMillionTokens: Number.NaN }), /apiPricePerMillionTokens=NaN/);
  assert.throws(() => roi({ ...ok, llmSavingPerMonth: Number.POSITIVE_INFINITY }), /llmSavingPerMonth/);
  // A negative LLM saving (the candidate needs more passages) is a cost, not an error.
  near(roi({ ...ok, llmSavingPerMonth: -2 }).monthlySaving, 1e-6 - 1 - 2);
});

test("cumulative costs cross at the break-even month; the figures mark it", () => {
  const input = {
    queriesPerMonth: 10e6,
    tokensPerQuery: 20,
    apiPricePerMillionTokens: 0.02,
    hardwareCostPerMonth: 3,
    oneTimeCost: 6,
  };
  const c = cumulativeCosts(input, 12);
  assert.deepEqual(c.month.slice(0, 3), [0, 1, 2]);
  near(c.api[6], 24);
  near(c.selfHosted[6], 24);
  assert.ok(c.api[5] < c.selfHosted[5] && c.api[7] > c.selfHosted[7]);
  const fig = breakEvenFigure(input, { months: 12 });
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0].y, c.api);
  const shapes = (fig.layout as { shapes: { x0: number }[] }).shapes;
  near(shapes[0].x0, 6);
  const never = breakEvenFigure({ ...input, queriesPerMonth: 1e5 });
  assert.equal((never.layout as { shapes: unknown[] }).shapes.length, 0);
  assert.match(JSON.stringify(never.layout), /never pays back/);
  const vol = volumeFigure(input);
  assert.equal(vol.data.length, 3);
  assert.equal(vol.data[2].name, "your volume: USD 4.00 vs USD 3.00 a month");
  assert.ok(!JSON.stringify([fig, vol]).includes("$"), "no dollar signs for MathJax to typeset");
  assert.match(JSON.stringify(vol.layout), /equal at 7,500,000 queries\/month/);
  assert.throws(() => cumulativeCosts(input, 0), /months=0/);
});

test("passages to match the baseline's hit rate, and the LLM input it saves", () => {
  const base = [0.4, 0.5, 0.6, 0.65, 0.7];
  assert.equal(passagesToMatch(base, [0.55, 0.62, 0.7, 0.75, 0.8], 5), 3);
  assert.equal(passagesToMatch(base, [0.3, 0.4, 0.5, 0.55, 0.6], 5), null);
  assert.equal(passagesToMatch(base, [0.3, 0.4, 0.5, 0.55, 0.6], 2), 3);
  assert.throws(() => passagesToMatch(base, base, 6), /k=6 must be an integer in 1\.\.5/);
  // 1M queries x 2 passages x 250 tokens x $0.15 / 1M = $75 a month.
  near(
    llmSavingPerMonth({
      queriesPerMonth: 1e6,
      baselinePassages: 5,
      candidatePassages: 3,
      tokensPerPassage: 250,
      llmPricePerMillionInputTokens: 0.15,
    }),
    75,
  );
  near(
    llmSavingPerMonth({
      queriesPerMonth: 1e6,
      baselinePassages: 3,
      candidatePassages: 5,
      tokensPerPassage: 250,
      llmPricePerMillionInputTokens: 0.15,
    }),
    -75,
  );
  assert.throws(
    () =>
      llmSavingPerMonth({
        queriesPerMonth: -1,
        baselinePassages: 1,
        candidatePassages: 1,
        tokensPerPassage: 1,
        llmPricePerMillionInputTokens: 1,
      }),
    /queriesPerMonth=-1/,
  );
});

test("roiTable: inputs with their sources, then the computed outputs", () => {
  const input = {
    queriesPerMonth: 10e6,
    tokensPerQuery: 20,
    apiPricePerMillionTokens: 0.02,
    hardwareCostPerMonth: 3,
    oneTimeCost: 6,
  };
  const rows = roiTable(input, roi(input), {
    tokensPerQuery: { source: "measured", note: "test questions" },
  }).toRecords();
  assert.deepEqual(rows[1], { item: "tokens per query", value: "20.0", source: "measured", note: "test questions" });
  assert.deepEqual(rows[0], { item: "queries per month", value: "10,000,000", source: "assumed", note: "" });
  assert.deepEqual(
    rows.slice(6).map((r) => r.value),
    ["$4.00", "$1.00", "6.0 months", "7,500,000 queries/month"],
  );
  const worse = roiTable(
    { ...input, llmSavingPerMonth: -29.5 },
    roi({ ...input, llmSavingPerMonth: -29.5 }),
    {},
  ).toRecords();
  assert.equal(worse[5].value, "-$29.50");
});
