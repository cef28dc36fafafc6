/** `bench <name>`: runs bench/<name>.ts, as `npm run bench -- <name>` does (last line JSON with --json). */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { getConfig } from "../env";
import { UsageError } from "./common";

export function benchmarks(): string[] {
  const dir = join(getConfig().repoRoot, "bench");
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".ts"))
        .map((f) => f.slice(0, -3))
        .sort()
    : [];
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(`Run a benchmark from bench/ (${benchmarks().join(", ")}); arguments after the name go to it.`)
    .argument("<name>", "benchmark name")
    .argument("[args...]", "its arguments, e.g. --json")
    .passThroughOptions()
    .allowUnknownOption()
    .helpOption("-h, --help", "show this help (a benchmark's own options: put them after the name)")
    .action((name: string, args: string[]) => {
      if (!benchmarks().includes(name))
        throw new UsageError(`bench ${name}: no bench/${name}.ts; available: ${benchmarks().join(", ")}.`);
      const res = spawnSync(
        process.execPath,
        ["--import", "tsx", join(getConfig().repoRoot, "bench", `${name}.ts`), ...args],
        {
          cwd: getConfig().repoRoot,
          stdio: "inherit",
        },
      );
      if (res.status !== 0) process.exitCode = res.status ?? 1;
    });
}
