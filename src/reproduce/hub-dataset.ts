/**
 * A Hugging Face Hub dataset by id -> its Parquet files in the Hub cache -> a polars DataFrame of one split.
 *
 * The files land where Python's huggingface_hub puts them ($HF_HUB_CACHE, default $HF_HOME/hub), so Python's
 * `datasets` and this project download a dataset once between them:
 *
 *   datasets--owner--name/refs/<revision>              the commit the revision pointed to ("refs/refs/convert/parquet"
 *                                                      for the Parquet conversion branch, as Python names it)
 *   datasets--owner--name/blobs/<etag>                 file contents
 *   datasets--owner--name/snapshots/<commit>/<path>    symlinks to the blobs
 *
 * Which files (the rules `datasets` applies to a repository's data files, for Parquet):
 *   1. GET <endpoint>/api/datasets/<id>/revision/<rev> -> the commit and the file list; the split's files are the
 *      .parquet files whose path names the split as a word ("data/train-00000-of-00001.parquet", "test/0.parquet";
 *      a lone .parquet file is the train split);
 *   2. a repository of JSON / CSV files has none: then the Hub's own conversion, the branch refs/convert/parquet
 *      (what the dataset viewer and GET /api/datasets/<id>/parquet list): <config>/<split>/0000.parquet.
 * Each file comes through src/model/hub.ts's downloadToCache: HEAD for the ETag and size, GET into
 * blobs/<etag>.incomplete, resumed with a Range request after an interruption, progress on stderr. Errors say what
 * a model download says: 404 (the id or revision does not exist), 401 / 403 (gated or private: accept the
 * conditions, set HF_TOKEN), offline with nothing cached (how to get it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import pl from "nodejs-polars";
import { getConfig } from "../env";
import { writeFileAtomic } from "../files";
import {
  downloadToCache,
  type HubOptions,
  hubEndpoint,
  httpAdvice,
  isNetworkError,
  parseHubId,
  stderrProgress,
} from "../model/hub";

export interface HubDatasetOptions extends HubOptions {
  /** The split to read (default "train"). */
  split?: string;
  /** Columns to keep (default all); a missing one is an error naming the columns there are. */
  columns?: string[];
  /** The configuration (subset) of the Parquet conversion branch (default "default"). */
  config?: string;
}

export interface HubDataset {
  repo: string;
  revision: string;
  /** The commit the files were read at (of the conversion branch when source is "parquet-conversion"). */
  commit: string;
  split: string;
  /** "repository": the repo's own Parquet files; "parquet-conversion": refs/convert/parquet. */
  source: "repository" | "parquet-conversion";
  /** The Parquet files read, absolute paths in the cache's snapshot folder. */
  files: string[];
  frame: pl.DataFrame;
  /** Whether anything was asked of the network in this call (false: the cache answered). */
  online: boolean;
}

const COMMIT = /^[0-9a-f]{40}$/;
const CONVERSION = "refs/convert/parquet";
const METADATA_TIMEOUT_MS = 10_000;

/** The cache folder of a dataset repo: datasets--owner--name (Python's name). */
export function datasetCacheFolder(repo: string, cacheDir: string = getConfig().hfHubCache): string {
  return join(cacheDir, `datasets--${repo.split("/").join("--")}`);
}

function parseDatasetId(spec: string, revision?: string): { repo: string; revision: string } {
  try {
    return parseHubId(spec.replace(/^hf:/, ""), revision);
  } catch {
    throw new Error(
      `"${spec}" is not a Hub dataset id (expected "owner/name" or "owner/name@revision", e.g. "philschmid/finanical-rag-embedding-dataset").`,
    );
  }
}

/** Does `path` (a .parquet file) belong to `split`? The split's name as a word of the path, as `datasets` matches it. */
function inSplit(path: string, split: string): boolean {
  const stem = path.replace(/\.parquet$/, "");
  const word = split.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[/_.-])${word}([/_.-]|$)`).test(stem);
}

/** The split's Parquet files among a repository's files (sorted), by the header's rules. */
function splitFiles(files: readonly string[], split: string, conversion: boolean, config: string): string[] {
  const parquet = files.filter((f) => f.endsWith(".parquet")).sort();
  if (conversion) return parquet.filter((f) => f.startsWith(`${config}/`) && inSplit(f.slice(config.length), split));
  const named = parquet.filter((f) => inSplit(f, split));
  if (named.length > 0) return named;
  return split === "train" && parquet.length === 1 ? parquet : [];
}

/** The splits a list of Parquet files holds (for the error when the asked one is not there). */
function splitsIn(files: readonly string[], conversion: boolean, config: string): string[] {
  const found = new Set<string>();
  for (const f of files.filter((x) => x.endsWith(".parquet"))) {
    const rel = conversion ? f.slice(config.length + 1) : f;
    const m = /(?:^|\/)([A-Za-z]+)(?:[-_./]|$)/.exec(rel.replace(/^data\//, ""));
    if (m) found.add(m[1]);
  }
  return [...found].sort();
}

function listFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p, root) : [relative(root, p).split("\\").join("/")];
  });
}

function readRef(storage: string, revision: string): string | undefined {
  if (COMMIT.test(revision)) return revision;
  const ref = join(storage, "refs", ...revision.split("/"));
  const commit = existsSync(ref) ? readFileSync(ref, "utf8").trim() : "";
  return COMMIT.test(commit) ? commit : undefined;
}

/** The split's files in the cache (the revision's own Parquet files, else the cached conversion branch). */
function cachedSplit(
  storage: string,
  revision: string,
  split: string,
  config: string,
): { commit: string; source: HubDataset["source"]; paths: string[] } | undefined {
  for (const [rev, conversion] of [
    [revision, false],
    [CONVERSION, true],
  ] as const) {
    const commit = readRef(storage, rev);
    if (!commit) continue;
    const folder = join(storage, "snapshots", commit);
    if (!existsSync(folder)) continue;
    const paths = splitFiles(listFiles(folder), split, conversion, config);
    if (paths.length > 0)
      return {
        commit,
        source: conversion ? "parquet-conversion" : "repository",
        paths: paths.map((p) => join(folder, p)),
      };
  }
  return undefined;
}

function howToGet(repo: string, revision: string, split: string, cacheDir: string): string {
  return (
    `Dataset "${repo}" (revision ${revision}, split ${split}) is not in the Hugging Face cache ${cacheDir}. To get it: ` +
    "(1) run once with network access (unset HF_HUB_OFFLINE / COURSE_OFFLINE) so it downloads into the cache; " +
    `(2) or, on a machine with access, run Python's \`huggingface_hub.snapshot_download("${repo}", repo_type="dataset")\` ` +
    "(or this loader) and copy its cache folder datasets--owner--name here, into HF_HUB_CACHE."
  );
}

interface DatasetInfo {
  sha: string;
  files: string[];
}

/** GET /api/datasets/<id>/revision/<rev>: the commit and the file list; HTTP errors say what to do. */
async function datasetInfo(
  repo: string,
  revision: string,
  options: HubDatasetOptions,
  token: string | undefined,
): Promise<DatasetInfo> {
  const endpoint = hubEndpoint(options);
  const url = `${endpoint}/api/datasets/${repo}/revision/${encodeURIComponent(revision)}`;
  const res = await (options.fetch ?? fetch)(url, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(options.metadataTimeoutMs ?? METADATA_TIMEOUT_MS),
  });
  if (res.status === 401 || res.status === 403 || res.status === 404)
    throw Object.assign(
      new Error(
        `Hub dataset "${repo}" (revision ${revision}): ${httpAdvice(res.status, repo, endpoint, "dataset")} ${res.headers.get("x-error-message") ?? ""}`.trim(),
      ),
      { hubStatus: res.status },
    );
  if (!res.ok) throw new Error(`Hub dataset "${repo}" (revision ${revision}): HTTP ${res.status} from ${url}.`);
  const body = (await res.json()) as { sha?: string; siblings?: { rfilename?: string }[] };
  if (!body.sha || !COMMIT.test(body.sha))
    throw new Error(`Hub dataset "${repo}": the Hub answered without a commit hash for revision ${revision}.`);
  return { sha: body.sha, files: (body.siblings ?? []).map((s) => String(s.rfilename ?? "")) };
}

/** Reads Parquet files (one split) into one DataFrame, keeping `columns` (all when undefined). */
function readSplit(repo: string, split: string, paths: string[], columns: string[] | undefined): pl.DataFrame {
  const frames = paths.map((p) => pl.readParquet(p));
  const have = frames[0].columns;
  const missing = (columns ?? []).filter((c) => !have.includes(c));
  if (missing.length > 0)
    throw new Error(
      `Hub dataset "${repo}", split ${split}: no column ${missing.map((c) => `"${c}"`).join(", ")}; its columns are ` +
        `${have.map((c) => `"${c}"`).join(", ")}. Fix the recipe's (or the call's) columns.`,
    );
  const kept = frames.map((f) => (columns ? f.select(...columns) : f));
  return kept.length === 1 ? kept[0] : pl.concat(kept, { how: "vertical" });
}

/**
 * One split of a Hub dataset as a DataFrame, downloaded into the Hub cache once (then read from it, also offline).
 * `id` is "owner/name", "owner/name@revision" or "hf:owner/name".
 */
export async function loadHubDataset(id: string, options: HubDatasetOptions = {}): Promise<HubDataset> {
  const { repo, revision } = parseDatasetId(id, options.revision);
  const split = options.split ?? "train";
  const config = options.config ?? "default";
  const cacheDir = options.cacheDir ?? getConfig().hfHubCache;
  const offline = options.offline ?? getConfig().offline;
  const storage = datasetCacheFolder(repo, cacheDir);
  const fromCache = (online: boolean): HubDataset | undefined => {
    const hit = cachedSplit(storage, revision, split, config);
    if (!hit) return undefined;
    const frame = readSplit(repo, split, hit.paths, options.columns);
    return { repo, revision, split, commit: hit.commit, source: hit.source, files: hit.paths, frame, online };
  };
  if (offline) {
    const cached = fromCache(false);
    if (cached) return cached;
    throw new Error(
      `${howToGet(repo, revision, split, cacheDir)} (Offline mode is on: HF_HUB_OFFLINE or COURSE_OFFLINE.)`,
    );
  }
  const token = options.token ?? getConfig().hfToken;
  let info: DatasetInfo;
  try {
    info = await datasetInfo(repo, revision, options, token);
  } catch (err) {
    if ((err as { hubStatus?: number }).hubStatus !== undefined || !isNetworkError(err)) throw err;
    const cached = fromCache(false);
    if (cached) return cached;
    throw new Error(
      `${howToGet(repo, revision, split, cacheDir)} (The Hub could not be reached: ${(err as Error).message}.)`,
    );
  }
  let source: HubDataset["source"] = "repository";
  let files = splitFiles(info.files, split, false, config);
  let rev = revision;
  if (files.length === 0) {
    // JSON / CSV / script datasets: the Hub's Parquet conversion of the same repository.
    const converted = await datasetInfo(repo, CONVERSION, options, token).catch((err) => {
      if ((err as { hubStatus?: number }).hubStatus === 404) return undefined;
      throw err;
    });
    const convertedFiles = converted ? splitFiles(converted.files, split, true, config) : [];
    if (!converted || convertedFiles.length === 0) {
      const splits = converted ? splitsIn(converted.files, true, config) : splitsIn(info.files, false, config);
      throw new Error(
        `Hub dataset "${repo}" (revision ${revision}) has no Parquet files for split "${split}"` +
          `${converted ? ` (nor does its Parquet conversion ${CONVERSION}, config "${config}")` : " and no Parquet conversion"}; ` +
          `${splits.length > 0 ? `the splits there are ${splits.join(", ")}` : "it holds no Parquet files at all"}. Fix the split (or config) name.`,
      );
    }
    source = "parquet-conversion";
    files = convertedFiles;
    rev = CONVERSION;
    info = converted;
  }
  if (rev !== info.sha) writeFileAtomic(join(storage, "refs", ...rev.split("/")), info.sha);
  const endpoint = hubEndpoint(options);
  for (const path of files)
    await downloadToCache({
      repo,
      path,
      commit: info.sha,
      storage,
      endpoint,
      token,
      fetch: options.fetch,
      onProgress: options.onProgress ?? stderrProgress(),
      repoType: "dataset",
    });
  const paths = files.map((p) => join(storage, "snapshots", info.sha, ...p.split("/")));
  const frame = readSplit(repo, split, paths, options.columns);
  return { repo, revision, split, commit: info.sha, source, files: paths, frame, online: true };
}
