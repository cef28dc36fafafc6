#!/usr/bin/env node
// The `ts-embed` command (package.json "bin"): runs src/cli/main.ts with tsx, passing the arguments and the exit code through.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const res = spawnSync(
  process.execPath,
  ["--import", "tsx", join(root, "src", "cli", "main.ts"), ...process.argv.slice(2)],
  { stdio: "inherit" },
);
if (res.signal) process.kill(process.pid, res.signal);
process.exit(res.status ?? 1);
