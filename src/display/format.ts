/**
 * Number formats every area's text shares (tables, notebook narration, the CLI), so that one quantity reads the same
 * wherever it is printed. Plain functions of numbers: no import, cheap to load from any layer above display/.
 */

/**
 * `x` with its sign always written and `decimals` digits after the point: "+0.050", "-0.012", "+0.000". The minus is
 * ASCII "-", as toFixed writes it (copyable into code, a spreadsheet or a terminal); NaN is "NaN".
 */
export function formatSigned(x: number, decimals: number): string {
  if (Number.isNaN(x)) return "NaN";
  return `${x >= 0 ? "+" : "-"}${Math.abs(x).toFixed(decimals)}`;
}

/** A difference with its interval, each signed: "+0.050 [+0.020, +0.080]". */
export function formatSignedInterval(d: { estimate: number; low: number; high: number }, decimals: number): string {
  return `${formatSigned(d.estimate, decimals)} [${formatSigned(d.low, decimals)}, ${formatSigned(d.high, decimals)}]`;
}

/** An estimate with its interval: "0.612 [0.571, 0.655]"; empty when there is none. */
export function formatInterval(i: { estimate: number; low: number; high: number } | undefined, digits = 3): string {
  return i ? `${i.estimate.toFixed(digits)} [${i.low.toFixed(digits)}, ${i.high.toFixed(digits)}]` : "";
}
