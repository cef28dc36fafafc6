/**
 * What every command shares: exit codes CI can rely on (0 ok, 1 failure, 2 bad usage), `--json` output
 * (one JSON object on stdout, nothing else there), progress bars on stderr (cli-progress; silent when
 * stderr is not a terminal or with --json), and how datasets and systems are named on the command line.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { SingleBar } from "cli-progress";
import type { IRSplit } from "../data/index";
import { getConfig } from "../env";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad usage found after parsing (a missing file the user named, contradictory options): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where commands write (stdout / stderr by default; tests capture it without touching process.stdout). */
export const io = {
  out: (s: string): void => {
    process.stdout.write(s);
  },
  err: (s: string): void => {
    process.stderr.write(s);
  },
};

export interface JsonOption {
  json?: boolean;
}

/** Prints the human lines, or with --json the data as one JSON object. */
export function emit(options: JsonOption, human: string | string[], data: unknown): void {
  if (options.json) io.out(`${JSON.stringify(data)}\n`);
  else io.out(`${(Array.isArray(human) ? human : [human]).join("\n")}\n`);
}

/** Notes for people (stderr, so --json stdout stays one object). */
export function note(options: JsonOption, message: string): void {
  if (!options.json) io.err(`${message}\n`);
}

export interface Progress {
  update(done: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

/** A progress bar on stderr; a no-op with --json or when stderr is not a terminal. */
export function progressBar(options: JsonOption, label: string, total: number, extra = ""): Progress {
  if (options.json || !process.stderr.isTTY) return { update() {}, setTotal() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} elapsed, eta {eta_formatted}${extra}`,
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 50,
  });
  bar.start(total, 0);
  return {
    update: (done, payload) => bar.update(done, payload),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}".`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0, got "${v}".`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}".`);
    return n;
  };
}

export function fraction(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > 1)
      throw new InvalidArgumentError(`${name} must be a number from 0 to 1, got "${v}".`);
    return n;
  };
}

/** A file the user named must exist (exit 2 otherwise, naming the option). */
export function existingFile(path: string, what: string): string {
  const p = resolve(path);
  if (!existsSync(p) || !statSync(p).isFile()) throw new UsageError(`${what}: no such file ${p}.`);
  return p;
}

export function existingFolder(path: string, what: string): string {
  const p = resolve(path);
  if (!existsSync(p) || !statSync(p).isDirectory()) throw new UsageError(`${what}: no such folder ${p}.`);
  return p;
}

/**
 * A dataset on the command line: a shipped name ("policy-handbook") or a BEIR folder (corpus.jsonl,
 * queries.jsonl, qrels/<split>.tsv) such as the one `split` writes.
 */
export async function loadSplit(dataset: string, split: string): Promise<IRSplit> {
  // Loaded here, not at the top: `--help` and usage errors should not pay for polars and tfjs.
  const { loadBeir, loadShippedSplit, shippedDatasets } = await import("../data/index");
  const shipped = shippedDatasets(getConfig().dataDir);
  if (shipped.includes(dataset)) return loadShippedSplit(dataset, split);
  const dir = resolve(dataset);
  if (!existsSync(dir))
    throw new UsageError(`--data ${dataset}: neither a shipped dataset (${shipped.join(", ")}) nor a folder (${dir}).`);
  return loadBeir(dir, split);
}

/** Adds --json to a command. */
export function withJson(cmd: Command): Command {
  return cmd.option("--json", "print one JSON object on stdout (for scripts and CI)");
}

/** Round for display. */
export function fmt(n: number, digits = 4): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}
