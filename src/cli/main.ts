#!/usr/bin/env node
/**
 * The pipeline from a terminal or a CI job, one command per notebook step:
 *
 *   generate -> review -> split -> train -> mine -> eval / compare -> serve -> publish   (and bench, app, rerank)
 *
 *   npm run cli -- <command> --help
 *
 * Exit codes: 0 ok, 1 the work failed (bad data, a failed run), 2 bad usage (unknown option, missing
 * argument, a path that does not exist). `--json` prints one JSON object on stdout.
 */
import { Command, CommanderError } from "commander";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, io, UsageError } from "./common";
import { registerApp } from "./app";
import { registerBench } from "./bench";
import { registerCompare, registerEval } from "./evaluate";
import { registerGenerate } from "./generate";
import { registerMine } from "./mine";
import { registerExportOnnx } from "./onnx";
import { registerPublish } from "./publish";
import { registerRerank } from "./rerank";
import { registerTrainReranker } from "./train-reranker";
import { registerReview } from "./review";
import { registerServe } from "./serve";
import { registerSplit } from "./split";
import { registerTrain } from "./train";

export function buildProgram(): Command {
  const program = new Command("ts-embed")
    .description("Fine-tune sentence-embedding models for one domain: data, training, evaluation, serving, publishing.")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .enablePositionalOptions() // so that `bench <name> --json` hands --json to the benchmark
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerGenerate(program);
  registerReview(program);
  registerSplit(program);
  registerTrain(program);
  registerMine(program);
  registerEval(program);
  registerCompare(program);
  registerServe(program);
  registerRerank(program);
  registerTrainReranker(program);
  registerExportOnnx(program);
  registerPublish(program);
  registerBench(program);
  registerApp(program);
  // Subcommands inherit exitOverride only when set before they are added; set it on each to be sure.
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  return program;
}

/**
 * Runs the CLI; resolves with the exit code (commands that keep running, like serve, resolve when done).
 * `output` replaces stdout / stderr (tests).
 */
export async function main(
  argv: string[] = process.argv.slice(2),
  output?: { out(s: string): void; err(s: string): void },
): Promise<number> {
  const saved = { out: io.out, err: io.err };
  if (output) Object.assign(io, { out: (s: string) => output.out(s), err: (s: string) => output.err(s) });
  try {
    return await runProgram(argv);
  } finally {
    Object.assign(io, saved);
  }
}

async function runProgram(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
        return EXIT_OK;
      return EXIT_USAGE; // commander printed the message already
    }
    const json = argv.includes("--json");
    const message = err instanceof Error ? err.message : String(err);
    if (json) io.out(`${JSON.stringify({ ok: false, error: message, usage: err instanceof UsageError })}\n`);
    io.err(`error: ${message}\n`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

if (require.main === module) {
  main().then(
    // Exit explicitly: a loaded backend or an open handle must not keep a finished command alive.
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
