#!/usr/bin/env node
// The `ts-embed` command (package.json "bin") and `npm run cli`: runs src/cli/main.ts in this very process
// (tsx registered here, no child), so SIGTERM / SIGINT / SIGHUP reach the command itself: `serve` drains
// its requests and exits 0, and nothing is left running behind a wrapper.
import { createRequire } from "node:module";
import { requireReady } from "./preflight.mjs";

requireReady(["deps"], "ts-embed");
await import("tsx"); // TypeScript for require() and import() from here on
const { main } = createRequire(import.meta.url)("../src/cli/main.ts");
main().then(
  // Exit explicitly: a loaded backend or an open handle must not keep a finished command alive.
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  },
);
