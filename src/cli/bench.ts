/** `bench <name>`: runs bench/<name>.ts, as `npm run bench -- <name>` does (last line JSON with --json). */
import { spawn } from "node:child_process";
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
    .action(async (name: string, args: string[]) => {
      if (!benchmarks().includes(name))
        throw new UsageError(`bench ${name}: no bench/${name}.ts; available: ${benchmarks().join(", ")}.`);
      // A child that gets our stop signals, so that a SIGTERM to `ts-embed bench` stops the benchmark too.
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(getConfig().repoRoot, "bench", `${name}.ts`), ...args],
        { cwd: getConfig().repoRoot, stdio: "inherit" },
      );
      const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      for (const s of signals) process.on(s, forward);
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (c, sig) => resolve({ code: c, signal: sig })),
      );
      for (const s of signals) process.off(s, forward);
      if (code !== 0) process.exitCode = code ?? 128 + (signal === "SIGINT" ? 2 : signal === "SIGHUP" ? 1 : 15);
    });
}
