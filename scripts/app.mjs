#!/usr/bin/env node
// `npm run app -- [options]`: the same as `ts-embed app [options]` (src/cli/app.ts), run in this very process
// (tsx registered here, no child), so SIGTERM / SIGINT / SIGHUP reach the server: it answers what is in
// flight, closes its port and exits 0. On a checkout that is not set up it stops at once naming `npm run setup`.
import { createRequire } from "node:module";
import { requireReady } from "./preflight.mjs";

requireReady(["deps"], "npm run app");
await import("tsx");
const { main } = createRequire(import.meta.url)("../src/cli/main.ts");
main(["app", ...process.argv.slice(2)]).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  },
);
