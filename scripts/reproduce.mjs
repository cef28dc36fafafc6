#!/usr/bin/env node
// npm run reproduce -- <tutorial> [--quick] [--dry-run --json] [--list]: runs src/reproduce/command.ts in this process
// (tsx registered here, no child), so a stop signal reaches the run itself; an interrupted training resumes from its
// last checkpoint when the same command is run again.
import { createRequire } from "node:module";
import { requireReady } from "./preflight.mjs";

requireReady(["deps"], "npm run reproduce");
await import("tsx");
const { main } = createRequire(import.meta.url)("../src/reproduce/command.ts");
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  },
);
