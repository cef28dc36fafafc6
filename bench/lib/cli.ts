/** Command-line helpers shared by the benchmarks in bench/ (this folder is not a benchmark itself). */

/** The integer after `name` in argv (e.g. --sentences 500), or `fallback` when absent; errors name the flag. */
export function numberArg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} expects a positive integer, got ${argv[i + 1]}`);
  return v;
}
