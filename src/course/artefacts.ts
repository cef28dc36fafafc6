/**
 * Saved artefacts a notebook can reuse: a dataset, a trained model, an index. Each lives in a folder
 * named after what it is and a hash of everything that made it (`models/mnrl-3fa2c1d09b7e`), with a
 * manifest `artefact.json` written last. So:
 *  - same inputs -> same folder; a manifest there means the work is done, and the notebook reuses it
 *    and says so ("reused models/mnrl-3fa2c1d09b7e (trained 18:42, same data and options)");
 *  - different inputs -> a different folder; earlier artefacts are never overwritten or deleted;
 *  - an interrupted build leaves a folder without manifest; the next run builds into it again, and a
 *    builder that can resume (the trainer continues from <folder>/checkpoints) loses no finished step.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { writeFileAtomic } from "../files";

export const MANIFEST = "artefact.json";

export interface ArtefactManifest {
  /** What it is, e.g. "models/mnrl". */
  name: string;
  key: string;
  /** The inputs the key was computed from (as given, for people reading the folder). */
  inputs: unknown;
  /** ISO time the build finished. */
  created: string;
  /** Seconds the build took. */
  seconds: number;
  /** The verb shown when reused: "trained", "built", "generated", "embedded". */
  verb: string;
}

export interface Artefact {
  /** The artefact's folder. */
  path: string;
  /** Its path relative to the run folder, e.g. "models/mnrl-3fa2c1d09b7e". */
  label: string;
  key: string;
  reused: boolean;
  manifest: ArtefactManifest;
  /** One line for the notebook: "reused ..." or "trained ... in 41.2 s". */
  message: string;
}

/** JSON with object keys sorted, so that the same inputs always give the same text (and hash). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v instanceof Map) return Object.fromEntries([...v].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)));
    if (v instanceof Set) return [...v].sort();
    if (v && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    return v;
  });
}

/** 12 hex digits of the SHA-256 of the inputs' canonical JSON. */
export function inputsKey(inputs: unknown): string {
  return createHash("sha256").update(canonicalJson(inputs)).digest("hex").slice(0, 12);
}

/** SHA-256 (12 hex digits) of files' contents, for inputs that are files. */
export function filesKey(paths: readonly string[]): string {
  const h = createHash("sha256");
  for (const p of paths) {
    h.update(p);
    h.update("\0");
    h.update(readFileSync(p));
    h.update("\0");
  }
  return h.digest("hex").slice(0, 12);
}

/** "at 14:05 UTC" (today) or "on 2026-12-07 at 14:05 UTC": a time of day, never to be read as a duration. */
function clock(iso: string): string {
  const d = new Date(iso);
  const at = `at ${d.toISOString().slice(11, 16)} UTC`;
  return new Date().toISOString().slice(0, 10) === iso.slice(0, 10) ? at : `on ${iso.slice(0, 10)} ${at}`;
}

/** The path relative to the working directory when it lies below it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/** The manifest of a finished artefact folder, or undefined. */
export function readManifest(folder: string): ArtefactManifest | undefined {
  const file = join(folder, MANIFEST);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ArtefactManifest;
  } catch {
    return undefined; // unreadable manifest: treat as unfinished and build again
  }
}

export interface ArtefactOptions {
  /** The run folder artefacts live under. */
  root: string;
  /** "models/mnrl", "data/synthetic", "indexes/base". */
  name: string;
  /** Everything the result depends on (data hashes, model id, options). */
  inputs: unknown;
  /** Shown when reused: "trained", "built", ... (default "built"). */
  verb?: string;
  /** Print the message (default true). */
  log?: boolean;
}

/** The folder reuseOrBuild uses for these options: <root>/<name>-<key>. */
export function artefactFolder(options: Pick<ArtefactOptions, "root" | "name" | "inputs">): string {
  return join(options.root, `${options.name}-${inputsKey(options.inputs)}`);
}

/**
 * Reuses the artefact made from the same inputs, or builds it: `build(folder)` writes into the
 * artefact's own folder (created empty or holding an interrupted attempt's files), and the manifest
 * is written when it returns, with the build's seconds (or the `seconds` build returns: a training resumed from
 * another run's checkpoint took that run's time, not this call's).
 */
export async function reuseOrBuild(options: ArtefactOptions, build: (folder: string) => unknown): Promise<Artefact> {
  const key = inputsKey(options.inputs);
  const label = `${options.name}-${key}`;
  const path = join(options.root, label);
  const verb = options.verb ?? "built";
  const found = readManifest(path);
  let artefact: Artefact;
  if (found && found.key === key) {
    artefact = {
      path,
      label,
      key,
      reused: true,
      manifest: found,
      message: `reused ${label} (${found.verb} ${clock(found.created)}, same data and options)`,
    };
  } else {
    mkdirSync(path, { recursive: true });
    const t0 = performance.now();
    const built = (await build(path)) as { seconds?: unknown } | undefined;
    const seconds = typeof built?.seconds === "number" ? built.seconds : (performance.now() - t0) / 1000;
    const manifest: ArtefactManifest = {
      name: options.name,
      key,
      inputs: options.inputs,
      created: new Date().toISOString(),
      seconds,
      verb,
    };
    writeFileAtomic(join(path, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    artefact = {
      path,
      label,
      key,
      reused: false,
      manifest,
      message: `${verb} ${label} in ${seconds.toFixed(1)} s (saved under ${shortPath(path)})`,
    };
  }
  if (options.log !== false) console.log(artefact.message);
  return artefact;
}

/** A JSON value computed once per inputs and kept in `<name>-<key>/value.json`. */
export async function reuseOrComputeJson<T>(
  options: ArtefactOptions,
  compute: () => Promise<T> | T,
): Promise<{ value: T; artefact: Artefact }> {
  const artefact = await reuseOrBuild(options, async (folder) => {
    writeFileAtomic(join(folder, "value.json"), JSON.stringify(await compute()));
  });
  return { value: JSON.parse(readFileSync(join(artefact.path, "value.json"), "utf8")) as T, artefact };
}
