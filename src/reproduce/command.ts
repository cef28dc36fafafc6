/**
 * npm run reproduce -- <tutorial> [--quick] [--dry-run [--json]] [--estimate] [--data <dir>] [--model <id>] [--json]
 * npm run reproduce -- --list [--json]
 * npm run reproduce -- --fetch hf:owner/name      (the BEIR folder COURSE_DATASET=hf:owner/name reads)
 *
 * A run prints its progress on stderr and, at the end, the published table beside ours (the report's markdown) on
 * stdout; with --json the report as one JSON object instead. Exit status 0, 1 on an error (its message on stderr),
 * 2 on a usage error.
 */
import { prepareHubBeir } from "./data";
import { dryRun, listRecipes, loadRecipe } from "./recipes";
import { reportMarkdown, reproduceTutorial } from "./run";

const USAGE =
  "usage: npm run reproduce -- <tutorial> [--quick] [--dry-run] [--json] [--estimate] [--data <dir>] [--model <id>]\n" +
  "       npm run reproduce -- --list [--json]\n" +
  "       npm run reproduce -- --fetch hf:owner/name";

const FLAGS = new Set(["--quick", "--dry-run", "--json", "--list", "--estimate", "--help", "-h"]);
const VALUES = new Set(["--data", "--model", "--fetch"]);

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (FLAGS.has(a)) flags.add(a);
    else if (VALUES.has(a)) {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) {
        process.stderr.write(`${a} needs a value.\n${USAGE}\n`);
        return 2;
      }
      values.set(a, v);
    } else if (a.startsWith("-")) {
      process.stderr.write(`unknown option ${a}.\n${USAGE}\n`);
      return 2;
    } else names.push(a);
  }
  if (flags.has("--help") || flags.has("-h")) {
    out(`${USAGE}\n\nTutorials: ${listRecipes().join(", ")}\n`);
    return 0;
  }
  if (flags.has("--list")) {
    const recipes = listRecipes().map((n) => loadRecipe(n));
    if (flags.has("--json"))
      out(
        `${JSON.stringify(recipes.map((r) => ({ name: r.name, title: r.title, model: r.model, source: r.published.source })))}\n`,
      );
    else
      for (const r of recipes)
        out(`${r.name.padEnd(32)} ${r.title}\n${"".padEnd(33)}npm run reproduce -- ${r.name} [--quick]\n`);
    return 0;
  }
  const fetch = values.get("--fetch");
  if (fetch) {
    const dir = await prepareHubBeir(
      fetch,
      listRecipes().map((n) => loadRecipe(n)),
    );
    out(`${dir}\nCOURSE_DATASET=${fetch.startsWith("hf:") ? fetch : `hf:${fetch}`} now reads this BEIR folder.\n`);
    return 0;
  }
  if (names.length !== 1) {
    process.stderr.write(
      `${names.length === 0 ? "name a tutorial" : "name one tutorial"}.\n${USAGE}\nTutorials: ${listRecipes().join(", ")}\n`,
    );
    return 2;
  }
  const recipe = loadRecipe(names[0]);
  if (flags.has("--dry-run")) {
    const shape = dryRun(recipe);
    out(flags.has("--json") ? `${JSON.stringify(shape)}\n` : `${JSON.stringify({ ...recipe }, null, 2)}\n`);
    return 0;
  }
  const report = await reproduceTutorial(recipe, {
    quick: flags.has("--quick"),
    estimateOnly: flags.has("--estimate"),
    dataDir: values.get("--data"),
    model: values.get("--model"),
  });
  if (flags.has("--json")) out(`${JSON.stringify(report)}\n`);
  else {
    out(reportMarkdown(report, recipe));
    if (report.written) out(`\nwritten: ${report.written.markdown}\n         ${report.written.json}\n`);
  }
  return 0;
}
