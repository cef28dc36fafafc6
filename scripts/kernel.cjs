#!/usr/bin/env node
// The course's Jupyter kernel: tslab started with the repository root as working directory.
// tslab compiles cells relative to the working directory (its TypeScript rootDir), so with the root
// as cwd a cell in notebooks/ can `import { showPlot } from "./src/display/display"`, and paths such
// as "data/policy-handbook" mean the same in every notebook. kernel.json (written by npm run setup)
// runs: node scripts/kernel.cjs {connection_file}
const path = require("node:path");
const root = path.join(__dirname, "..");
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error("usage: node scripts/kernel.cjs <connection_file>");
  process.exit(2);
}
process.chdir(root);
process.argv = [
  process.argv[0],
  path.join(root, "node_modules", "tslab", "bin", "tslab"),
  "kernel",
  "--config-path",
  connectionFile,
];
require(path.join(root, "node_modules", "tslab", "dist", "main.js")).main();
