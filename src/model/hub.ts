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
 * fetched pinned to that commit (downloadToCache below), skipping files already cached:
 *
 *   HEAD <endpoint>/<id>/resolve/<commit>/<path>   (redirects not followed) -> the blob's name: X-Linked-Etag (LFS
 *        files) or ETag, its size: X-Linked-Size or Content-Length, and where the bytes are (Location, e.g. a CDN)
 *   GET  that location -> blobs/<etag>.incomplete, then renamed to blobs/<etag> once complete (Python's names); an
 *        interrupted download leaves the .incomplete file, and the next call resumes it with "Range: bytes=<have>-"
 *        (a server that answers 200 instead of 206 restarts it from 0)
 *
 * with progress (bytes, percentage, speed, ETA) on stderr, or to onProgress. The endpoint is HF_ENDPOINT (default
 * https://huggingface.co), as Python's huggingface_hub reads it: a mirror, a private Hub, or a stand-in on loopback
 * (test/slow/hub-course.test.ts) work the same way. The token goes to the endpoint only, not to a CDN it redirects to.
 * Offline (HF_HUB_OFFLINE=1, `offline: true`, or the Hub unreachable): refs/<revision> is read here, because
 * @huggingface/hub finds a cached file offline only by full commit hash. Nothing cached -> an error naming the
 * model and the three ways to get it.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { modelInfo } from "@huggingface/hub";
import { getConfig } from "../env";
import { writeFileAtomic } from "../files";

export interface HubOptions {
  /** Branch, tag or commit (default "main"; "org/name@rev" in the id also works). */
  revision?: string;
  /** Cache root (default HF_HUB_CACHE). */
  cacheDir?: string;
  /** Never touch the network (default HF_HUB_OFFLINE / COURSE_OFFLINE). */
  offline?: boolean;
  /** Hub endpoint (default HF_ENDPOINT, else https://huggingface.co); tests point it at a loopback server. */
  hubUrl?: string;
  /** Access token for gated/private models (default HF_TOKEN or $HF_HOME/token). */
  token?: string;
  /** fetch to use (default the global one). */
  fetch?: typeof fetch;
  /** Give up on the Hub's metadata request after this long and use the cache (default 10,000 ms). */
  metadataTimeoutMs?: number;
  /** Download progress (default: a line on stderr about every second per file, and when a file is done). */
  onProgress?: (progress: DownloadProgress) => void;
}

/** Where a file download stands. */
export interface DownloadProgress {
  repo: string;
  /** Path in the repository, e.g. "model.safetensors". */
  file: string;
  /** Bytes on disk so far (a resumed download starts at what the earlier attempt left). */
  bytes: number;
  /** Size of the file (undefined when the server does not say). */
  total: number | undefined;
  /** Bytes this attempt started from (> 0: resumed with a Range request). */
  resumedFrom: number;
  /** Seconds since this attempt started. */
  seconds: number;
  done: boolean;
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
export function isNetworkError(err: unknown): boolean {
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
  const common = {
    hubUrl: hubEndpoint(options),
    accessToken: options.token ?? getConfig().hfToken,
    fetch: options.fetch,
  };
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
        `Hub model "${repo}" (revision ${revision}): ${httpAdvice(status, repo, common.hubUrl)} ${(err as Error).message}`,
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
  const endpoint = hubEndpoint(options);
  const fetchFile = async (path: string): Promise<void> => {
    if (!files.has(path)) return;
    await downloadToCache({
      repo,
      path,
      commit,
      storage,
      endpoint,
      token: common.accessToken,
      fetch: options.fetch,
      onProgress: options.onProgress ?? stderrProgress(),
    });
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

/** The Hub endpoint: options.hubUrl, else HF_ENDPOINT, else https://huggingface.co (no trailing slash). */
export function hubEndpoint(options: HubOptions): string {
  return (options.hubUrl ?? getConfig().hfEndpoint).replace(/\/+$/, "");
}

/** What an HTTP error from the Hub means for a model (or dataset) id, and what to do. */
export function httpAdvice(
  status: number,
  repo: string,
  endpoint: string,
  repoType: "model" | "dataset" = "model",
): string {
  const example =
    repoType === "model" ? '"sentence-transformers/all-MiniLM-L6-v2"' : '"philschmid/finanical-rag-embedding-dataset"';
  const page = repoType === "model" ? `${endpoint}/${repo}` : `${endpoint}/datasets/${repo}`;
  if (status === 404)
    return (
      `HTTP 404 — the id or revision does not exist on ${endpoint} (check the spelling and the revision, e.g. ` +
      `${example}; a private ${repoType} also answers 404 without a token, so set HF_TOKEN if it is yours).`
    );
  return (
    `HTTP ${status} — the ${repoType} is private/gated: ${status === 401 ? "no valid token was sent" : "the token has no access"}. ` +
    `Accept its conditions on ${page} with your account and set HF_TOKEN to a token that has access.`
  );
}

const MB = 1e6;

/** Progress lines on stderr: when a file starts (if large), about every second, and when it is done. */
export function stderrProgress(write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
  let last = 0;
  return (p: DownloadProgress): void => {
    const now = p.seconds;
    if (!p.done && now - last < 1 && p.bytes > p.resumedFrom) return;
    if (!p.done && p.total !== undefined && p.total < 2 * MB) return; // small files: the done line only
    last = now;
    const size = p.total === undefined ? "" : ` / ${(p.total / MB).toFixed(1)} MB`;
    const pct = p.total ? ` (${Math.floor((100 * p.bytes) / p.total)}%)` : "";
    const rate = p.seconds > 0 ? (p.bytes - p.resumedFrom) / p.seconds : 0;
    const eta = !p.done && p.total !== undefined && rate > 0 ? `, ETA ${Math.ceil((p.total - p.bytes) / rate)} s` : "";
    const resumed = p.resumedFrom > 0 ? `, resumed at ${(p.resumedFrom / MB).toFixed(1)} MB` : "";
    write(
      `${p.done ? "downloaded" : "downloading"} ${p.repo}: ${p.file} ${(p.bytes / MB).toFixed(1)}${size} MB${pct}` +
        `${rate > 0 ? `, ${(rate / MB).toFixed(1)} MB/s` : ""}${eta}${resumed}`,
    );
  };
}

/**
 * One file of a commit into the cache (module header): blobs/<etag> and the snapshot's symlink to it. Resumes a
 * blobs/<etag>.incomplete left by an interrupted attempt. Throws with the status and what to do.
 */
export async function downloadToCache(args: {
  repo: string;
  path: string;
  commit: string;
  storage: string;
  endpoint: string;
  token?: string;
  fetch?: typeof fetch;
  onProgress?: (p: DownloadProgress) => void;
  /** "dataset": the file is under <endpoint>/datasets/<repo>/resolve/... (default "model"). */
  repoType?: "model" | "dataset";
}): Promise<void> {
  const { repo, path, commit, storage, endpoint, token } = args;
  const repoType = args.repoType ?? "model";
  const link = join(storage, "snapshots", commit, ...path.split("/"));
  if (existsSync(link)) return;
  const doFetch = args.fetch ?? fetch;
  const prefix = repoType === "dataset" ? "datasets/" : "";
  const url = `${endpoint}/${prefix}${repo}/resolve/${commit}/${path.split("/").map(encodeURIComponent).join("/")}`;
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const where = `Hub ${repoType} "${repo}": ${path}`;
  let head: Response;
  try {
    head = await doFetch(url, { method: "HEAD", headers: auth, redirect: "manual" });
  } catch (err) {
    throw new Error(`${where}: the Hub could not be reached (${(err as Error).message}); run again to retry.`, {
      cause: err,
    });
  }
  if (head.status >= 400)
    throw new Error(
      `${where}: ${head.status === 401 || head.status === 403 || head.status === 404 ? httpAdvice(head.status, repo, endpoint, repoType) : `HTTP ${head.status}`}`,
    );
  const etag = (head.headers.get("x-linked-etag") ?? head.headers.get("etag") ?? "")
    .replace(/^W\//, "")
    .replace(/"/g, "");
  if (!/^[\w-]+$/.test(etag)) throw new Error(`${where}: the Hub sent no usable ETag (got "${etag}").`);
  const sizeHeader = head.headers.get("x-linked-size") ?? head.headers.get("content-length");
  const total = sizeHeader === null ? undefined : Number(sizeHeader);
  const location = head.status >= 300 && head.status < 400 ? head.headers.get("location") : null;
  const source = location ? new URL(location, url).toString() : url;
  const sameOrigin = new URL(source).origin === new URL(endpoint).origin;
  const blob = join(storage, "blobs", etag);
  mkdirSync(dirname(blob), { recursive: true });
  if (!existsSync(blob)) {
    const partial = `${blob}.incomplete`;
    const have = existsSync(partial) ? statSync(partial).size : 0;
    const started = performance.now();
    const progress = (bytes: number, resumedFrom: number, done: boolean) =>
      args.onProgress?.({
        repo,
        file: path,
        bytes,
        total,
        resumedFrom,
        seconds: (performance.now() - started) / 1000,
        done,
      });
    let res: Response;
    try {
      res = await doFetch(source, {
        headers: { ...(sameOrigin ? auth : {}), ...(have > 0 ? { Range: `bytes=${have}-` } : {}) },
      });
    } catch (err) {
      throw new Error(`${where}: the download could not start (${(err as Error).message}); run again to resume.`, {
        cause: err,
      });
    }
    if (res.status === 416 && have > 0 && have === total) {
      // The earlier attempt had every byte already.
    } else {
      if (res.status !== 200 && res.status !== 206) throw new Error(`${where}: HTTP ${res.status} while downloading.`);
      const resumedFrom = res.status === 206 ? have : 0;
      let bytes = resumedFrom;
      progress(bytes, resumedFrom, false);
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          progress(bytes, resumedFrom, false);
          done(null, chunk);
        },
      });
      try {
        if (!res.body) throw new Error("empty response");
        await pipeline(
          Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
          counter,
          createWriteStream(partial, { flags: resumedFrom > 0 ? "a" : "w" }),
        );
      } catch (err) {
        throw new Error(
          `${where}: the download was interrupted at ${bytes} of ${total ?? "?"} bytes (${(err as Error).message}); ` +
            `run again to resume it (${partial} is kept).`,
          { cause: err },
        );
      }
      progress(bytes, resumedFrom, true);
    }
    const got = statSync(partial).size;
    if (total !== undefined && got !== total)
      throw new Error(`${where}: got ${got} of ${total} bytes; run again to resume (${partial} is kept).`);
    renameSync(partial, blob);
  }
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), blob), link);
}
