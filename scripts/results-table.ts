// Prints the course run's results (reports/results.json) as markdown and writes reports/results.md;
// with --readme, also puts the table into README.md between <!-- course-results:begin --> and <!-- course-results:end -->.
//   node --import tsx scripts/results-table.ts [path/to/results.json] [--readme]
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../src/files";
import { getConfig } from "../src/env";
import { courseResultsMarkdown, readResults } from "../src/course/results";

const args = process.argv.slice(2);
const path = args.find((a) => !a.startsWith("--")) ?? join(getConfig().reportsDir, "results.json");
if (!existsSync(path)) {
  console.error(`${path} does not exist: run the course first (npm run course).`);
  process.exit(1);
}
const markdown = courseResultsMarkdown(readResults(path));
writeFileAtomic(join(dirname(path), "results.md"), `${markdown}\n`);
console.log(markdown);
if (args.includes("--readme")) {
  const readme = join(getConfig().repoRoot, "README.md");
  const text = readFileSync(readme, "utf8");
  const begin = "<!-- course-results:begin -->";
  const end = "<!-- course-results:end -->";
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) {
    console.error(`README.md has no ${begin} ... ${end} block to fill.`);
    process.exit(1);
  }
  writeFileAtomic(readme, `${text.slice(0, i + begin.length)}\n${markdown}\n${text.slice(j)}`);
  console.log(`\nREADME.md updated.`);
}
