/**
 * Hugging Face Hub -> local snapshot folder, in the cache layout Python's huggingface_hub uses, so the two
 * share one cache ($HF_HUB_CACHE, default $HF_HOME/hub):
 *
 *   models--org--name/refs/<revision>          the commit hash the revision (branch/tag) pointed to
 *   models--org--name/blobs/<etag>             file contents
 *   models--org--name/snapshots/<commit>/path  symlinks to the blobs
 *
 * Online: the revision is resolved to its commit hash (GET /api/models/<id>/revision/<rev>), refs/<revision> is
 * written, and the files a sentence-transformers model needs (modules.json first, then what its modules name) are
 * fetched with @huggingface/hub's downloadFileToCacheDir pinned to that commit, which skips files already cached.
 * Offline (HF_HUB_OFFLINE=1, `offline: true`, or the Hub unreachable): refs/<revision> is read here, because
 * @huggingface/hub finds a cached file offline only by full commit hash. Nothing cached -> an error naming the
 * model and the three ways to get it.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { downloadFileToCacheDir, modelInfo } from "@huggingface/hub";
import { getConfig } from "../env";
import { writeFileAtomic } from "../files";

export interface HubOptions {
  /** Branch, tag or commit (default "main"; "org/name@rev" in the id also works). */
  revision?: string;
  /** Cache root (default HF_HUB_CACHE). */
  cacheDir?: string;
  /** Never touch the network (default HF_HUB_OFFLINE / COURSE_OFFLINE). */
  offline?: boolean;
  /** Hub endpoint (default https://huggingface.co); tests point it at a loopback server. */
  hubUrl?: string;
  /** Access token for gated/private models (default HF_TOKEN or $HF_HOME/token). */
  token?: string;
  /** fetch to use (default the global one). */
  fetch?: typeof fetch;
  /** Give up on the Hub's metadata request after this long and use the cache (default 10,000 ms). */
  metadataTimeoutMs?: number;
}

export interface HubModel {
  repo: string;
  revision: string;
  commit: string;
  /** The snapshot folder, ready for readModelFolder. */
  folder: string;
  /** Whether anything was fetched from the network in this call (false when the cache answered). */
  online: boolean;
}

const COMMIT = /^[0-9a-f]{40}$/;
const METADATA_TIMEOUT_MS = 10_000;
/** The files of a Transformer module (at the top of a model folder, or in its module folder). */
export const TRANSFORMER_FILES = [
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.txt",
  "sentence_bert_config.json",
];

/** "org/name@rev" -> parts; validates the id. */
export function parseHubId(spec: string, revision?: string): { repo: string; revision: string } {
  const at = spec.lastIndexOf("@");
  const repo = at > 0 ? spec.slice(0, at) : spec;
  const rev = at > 0 ? spec.slice(at + 1) : (revision ?? "main");
  if (!/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(repo) || repo.includes(".."))
    throw new Error(
      `"${spec}" is not a Hub model id (expected "org/name" or "org/name@revision", e.g. "sentence-transformers/all-MiniLM-L6-v2").`,
    );
  if (!rev || rev.includes("..") || rev.startsWith("/")) throw new Error(`"${spec}": invalid revision "${rev}".`);
  return { repo, revision: rev };
}

/** The cache folder of a model repo: models--org--name. */
export function repoCacheFolder(repo: string, cacheDir: string = getConfig().hfHubCache): string {
  return join(cacheDir, `models--${repo.split("/").join("--")}`);
}

/** The cached snapshot for a revision, found through refs/<revision> (or the commit itself), or undefined. */
export function cachedSnapshot(
  repo: string,
  revision: string,
  cacheDir: string = getConfig().hfHubCache,
): { commit: string; folder: string } | undefined {
  const storage = repoCacheFolder(repo, cacheDir);
  let commit: string | undefined;
  if (COMMIT.test(revision)) commit = revision;
  else {
    const ref = join(storage, "refs", revision);
    if (existsSync(ref)) commit = readFileSync(ref, "utf8").trim();
  }
  if (!commit || !COMMIT.test(commit)) return undefined;
  const folder = join(storage, "snapshots", commit);
  if (!existsSync(join(folder, "modules.json")) && !existsSync(join(folder, "config.json"))) return undefined;
  return { commit, folder };
}

function howToGet(repo: string, revision: string, cacheDir: string): string {
  return (
    `Model "${repo}" (revision ${revision}) is not in the Hugging Face cache ${cacheDir}. To get it: ` +
    "(1) run once with network access (unset HF_HUB_OFFLINE / COURSE_OFFLINE) so it downloads into the cache; " +
    "(2) or copy a saved model folder to this machine and pass its path to loadModel(); " +
    '(3) or use the embedded offline default: loadModel("offline") / COURSE_MODEL=offline.'
  );
}

function httpStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === "number" ? s : undefined;
}

/** fetch() rejects with a TypeError ("fetch failed") whose cause carries the socket error code, or a TimeoutError. */
function isNetworkError(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const name = (err as { name?: unknown }).name;
  return (
    (err instanceof TypeError && /fetch failed/i.test(err.message)) ||
    typeof cause?.code === "string" ||
    name === "TimeoutError" ||
    name === "AbortError"
  );
}

/** Resolves a Hub id to a local snapshot folder, downloading what is missing (once). */
export async function resolveHubModel(spec: string, options: HubOptions = {}): Promise<HubModel> {
  const { repo, revision } = parseHubId(spec, options.revision);
  const cacheDir = options.cacheDir ?? getConfig().hfHubCache;
  const offline = options.offline ?? getConfig().offline;
  const cached = cachedSnapshot(repo, revision, cacheDir);
  if (offline) {
    if (!cached)
      throw new Error(`${howToGet(repo, revision, cacheDir)} (Offline mode is on: HF_HUB_OFFLINE or COURSE_OFFLINE.)`);
    return { repo, revision, ...cached, online: false };
  }
  const common = { hubUrl: options.hubUrl, accessToken: options.token ?? getConfig().hfToken, fetch: options.fetch };
  let commit: string;
  let files: Set<string>;
  try {
    // Like Python's HF_HUB_ETAG_TIMEOUT (10 s): a firewall that drops packets must not hang the notebook.
    const baseFetch = options.fetch ?? fetch;
    const timedFetch: typeof fetch = (input, init) =>
      baseFetch(input, {
        ...init,
        signal: init?.signal ?? AbortSignal.timeout(options.metadataTimeoutMs ?? METADATA_TIMEOUT_MS),
      });
    const info = (await modelInfo({
      name: repo,
      revision,
      additionalFields: ["sha", "filePaths"],
      ...common,
      fetch: timedFetch,
    })) as unknown as { sha?: string; filePaths?: string[] };
    if (!info.sha || !COMMIT.test(info.sha))
      throw new Error(`the Hub answered without a commit hash for ${repo}@${revision}`);
    commit = info.sha;
    files = new Set(info.filePaths ?? []);
  } catch (err) {
    const status = httpStatus(err);
    if (status === 401 || status === 403 || status === 404)
      throw new Error(
        `Hub model "${repo}" (revision ${revision}): HTTP ${status} — the id or revision does not exist, or the model is private/gated ` +
          `(set HF_TOKEN to a token that has access). ${(err as Error).message}`,
      );
    if (!isNetworkError(err)) throw new Error(`Hub model "${repo}" (revision ${revision}): ${(err as Error).message}`);
    // Network failure: fall back to the cache, as Python does.
    if (cached) return { repo, revision, ...cached, online: false };
    throw new Error(`${howToGet(repo, revision, cacheDir)} (The Hub could not be reached: ${(err as Error).message}.)`);
  }
  const storage = repoCacheFolder(repo, cacheDir);
  if (revision !== commit) {
    mkdirSync(join(storage, "refs", ...revision.split("/").slice(0, -1)), { recursive: true });
    writeFileAtomic(join(storage, "refs", revision), commit);
  }
  const folder = join(storage, "snapshots", commit);
  const fetchFile = async (path: string): Promise<void> => {
    if (!files.has(path)) return;
    await downloadFileToCacheDir({ repo, path, revision: commit, cacheDir, ...common });
  };
  const wanted: string[] = [];
  if (files.has("modules.json")) {
    await fetchFile("modules.json");
    wanted.push("config_sentence_transformers.json");
    const modules = JSON.parse(readFileSync(join(folder, "modules.json"), "utf8")) as {
      path?: string;
      type?: string;
    }[];
    for (const m of modules) {
      const p = m.path ? `${m.path}/` : "";
      const type = String(m.type ?? "")
        .split(".")
        .pop();
      if (type === "Transformer") wanted.push(...TRANSFORMER_FILES.map((f) => p + f));
      else if (type === "StaticEmbedding") wanted.push(`${p}model.safetensors`, `${p}tokenizer.json`);
      else if (type === "Pooling" || type === "Dense") wanted.push(`${p}config.json`);
    }
  } else {
    wanted.push(...TRANSFORMER_FILES);
  }
  for (const path of wanted) await fetchFile(path);
  return { repo, revision, commit, folder, online: true };
}
