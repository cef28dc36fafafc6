#!/usr/bin/env node
// npm run bench -- <name> [--json] [...]: runs bench/<name>.ts in this process (tsx registered here, no
// child, so a stop signal reaches the benchmark). Each benchmark prints a human-readable report, and with
// --json one JSON object on its last line.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { requireReady } from "./preflight.mjs";

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
requireReady(["deps"], "npm run bench");
// The benchmark sees its own arguments in process.argv, as when it is run as `node --import tsx bench/<name>.ts`.
const file = join(root, "bench", `${name}.ts`);
process.argv = [process.argv[0], file, ...rest];
await import("tsx");
await import(pathToFileURL(file).href);
