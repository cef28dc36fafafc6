#!/usr/bin/env node
// npm run bench -- <name> [--json] [...]: runs bench/<name>.ts with tsx. Each benchmark prints a
// human-readable report, and with --json one JSON object on its last line.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const root = join(import.meta.dirname, "..");
const [name, ...rest] = process.argv.slice(2);
const available = existsSync(join(root, "bench"))
  ? readdirSync(join(root, "bench"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.slice(0, -3))
  : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join("|") || "name"}> [--json]`);
  process.exit(2);
}
const res = spawnSync(process.execPath, ["--import", "tsx", join(root, "bench", `${name}.ts`), ...rest], {
  cwd: root,
  stdio: "inherit",
});
process.exit(res.status ?? 1);
