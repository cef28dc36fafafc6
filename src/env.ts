/**
 * One place for configuration: where things are cached, whether we may go online, which compute
 * backend to use. Every environment variable the project reads is read here (and listed in
 * environment.md); no other module looks at process.env.
 *
 * Read where used: `getConfig()` gives an object whose every field reads its variable when the field is
 * read, so importing a module never fails, and a bad value (COURSE_SEED=abc, COURSE_BACKEND=cuda) fails the
 * call that needs it, with a ConfigError naming the variable, its value and the values allowed.
 *
 * Hugging Face variables keep their Python meaning so that a cache shared with Python tools works:
 * HF_HOME (default ~/.cache/huggingface), HF_HUB_CACHE (default $HF_HOME/hub), HF_HUB_OFFLINE=1,
 * HF_TOKEN (or the token file $HF_HOME/token).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface CourseConfig {
  /** Repository root (the folder holding package.json, src/, data/). */
  repoRoot: string;
  /** Shipped datasets. */
  dataDir: string;
  /** Where executed notebooks, HTML exports and run artefacts go. */
  reportsDir: string;
  /** Hugging Face home (HF_HOME). */
  hfHome: string;
  /** Hugging Face Hub cache (HF_HUB_CACHE), Python's layout: models--org--name/{blobs,refs,snapshots}. */
  hfHubCache: string;
  /** True when nothing may be downloaded (HF_HUB_OFFLINE=1 or COURSE_OFFLINE=1). */
  offline: boolean;
  /** Hub token, from HF_TOKEN or $HF_HOME/token; undefined when neither is set. */
  hfToken: string | undefined;
  /** Backend asked for with COURSE_BACKEND; undefined means "best available". */
  backend: BackendName | undefined;
  /** Use build/native-matmul.node (BLAS matrix products for wasm/cpu) when built; COURSE_NATIVE_MATMUL=0 turns it off. */
  nativeMatMul: boolean;
  /** Encode Transformer models on ONNX Runtime when not training (COURSE_ONNX=0 keeps encoding on tfjs). */
  onnx: boolean;
  /** ONNX Runtime intra-op threads (COURSE_ONNX_THREADS); undefined = one per CPU the machine offers. */
  onnxThreads: number | undefined;
  /** Model the notebooks use (COURSE_MODEL): a Hub id, a local folder, or "offline" for the embedded default. */
  model: string;
  /** Hugging Face Hub endpoint for publishing (HF_ENDPOINT, as in Python's huggingface_hub). */
  hfEndpoint: string;
  /** Bearer key the embedding server requires (COURSE_SERVE_API_KEY; `serve --api-key` overrides it). */
  serveApiKey: string | undefined;
  /** OpenAI-compatible endpoint for question generation and RAG (OPENAI_BASE_URL, OPENAI_API_KEY, COURSE_LLM_MODEL). */
  llm: { baseUrl: string | undefined; apiKey: string | undefined; model: string | undefined };
  /** Course settings set in the environment; each overrides the value a notebook's first cell picks. */
  course: CourseEnv;
}

/** What the environment says about the course's choices (undefined: not set, the notebook's value holds). */
export interface CourseEnv {
  /** COURSE_DATASET: a shipped dataset name (policy-handbook, vet-clinic), a folder of documents, or hf:owner/name. */
  dataset: string | undefined;
  /** COURSE_MODEL: "offline", a Hub id or a local model folder. */
  model: string | undefined;
  /** COURSE_LLM=none turns the LLM off even when OPENAI_BASE_URL / OPENAI_API_KEY are set. */
  llmOff: boolean;
  /** COURSE_RUNS_DIR: where run artefacts (datasets, models, indexes) go; default <repo>/runs. */
  runsDir: string | undefined;
  /** COURSE_SEED: the seed of every random choice in the notebooks. */
  seed: number | undefined;
  /** COURSE_STORE: where vectors live, "memory" or "lancedb[:uri]" (src/retrieval/stores). */
  store: string | undefined;
  /** COURSE_CONFIG: the shared settings file every notebook's first cell reads; default <repo>/course.config.json. */
  configFile: string;
  /** COURSE_ABLATION=all: a Transformer trains the static model's full plan (src/course/recipes.ts coursePlan). */
  fullPlan: boolean;
}

/** A configuration variable whose value cannot be used: names the variable, its value and what is allowed. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string | undefined,
    readonly allowed: string,
  ) {
    super(`${variable}=${value}: expected ${allowed}.`);
    this.name = "ConfigError";
  }
}

const TRUE = new Set(["1", "true", "yes", "on"]);

function flag(value: string | undefined): boolean {
  return value !== undefined && TRUE.has(value.trim().toLowerCase());
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

/** The repository root: the nearest folder above this file that holds package.json and src/. */
export function findRepoRoot(start: string = __dirname): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "src"))) return dir;
    const parent = resolve(dir, "..");
    if (parent === dir)
      throw new Error(`Cannot find the repository root above ${start} (no package.json next to src/).`);
    dir = parent;
  }
}

function parseBackend(value: string | undefined): BackendName | undefined {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined || v === "auto") return undefined;
  if (v === "tensorflow" || v === "wasm" || v === "cpu") return v;
  throw new ConfigError("COURSE_BACKEND", value, "one of auto, tensorflow, wasm, cpu");
}

function parseThreads(value: string | undefined): number | undefined {
  const v = nonEmpty(value);
  if (v === undefined || v.toLowerCase() === "auto") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError("COURSE_ONNX_THREADS", value, "a positive integer or auto");
  return n;
}

function parseAblation(value: string | undefined): boolean {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined || v === "auto") return false;
  if (v === "all") return true;
  throw new ConfigError(
    "COURSE_ABLATION",
    value,
    "auto (the plan for the model's size) or all (every run, on any model)",
  );
}

function parseSeed(value: string | undefined): number | undefined {
  const v = nonEmpty(value);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError("COURSE_SEED", value, "a whole number such as 42");
  return Number(v);
}

let repoRootFound: string | undefined;

/**
 * The configuration an environment gives (process.env by default). Every field is read from `env` when it
 * is read, so a bad value throws (ConfigError) only where that field is used, and a change to `env` shows.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): CourseConfig {
  const repoRoot = () => {
    repoRootFound ??= findRepoRoot();
    return repoRootFound;
  };
  const hfHome = () =>
    resolve(nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), ".cache"), "huggingface"));
  const course: CourseEnv = {
    get dataset() {
      return nonEmpty(env.COURSE_DATASET);
    },
    get model() {
      return nonEmpty(env.COURSE_MODEL);
    },
    get llmOff() {
      return ["none", "off", "0", "false", "no"].includes(nonEmpty(env.COURSE_LLM)?.toLowerCase() ?? "");
    },
    get runsDir() {
      return nonEmpty(env.COURSE_RUNS_DIR) ? resolve(env.COURSE_RUNS_DIR as string) : undefined;
    },
    get seed() {
      return parseSeed(env.COURSE_SEED);
    },
    get store() {
      return nonEmpty(env.COURSE_STORE);
    },
    get configFile() {
      return resolve(nonEmpty(env.COURSE_CONFIG) ?? join(repoRoot(), "course.config.json"));
    },
    get fullPlan() {
      return parseAblation(env.COURSE_ABLATION);
    },
  };
  return {
    get repoRoot() {
      return repoRoot();
    },
    get dataDir() {
      return resolve(nonEmpty(env.COURSE_DATA_DIR) ?? join(repoRoot(), "data"));
    },
    get reportsDir() {
      return resolve(nonEmpty(env.COURSE_REPORTS_DIR) ?? join(repoRoot(), "reports"));
    },
    get hfHome() {
      return hfHome();
    },
    get hfHubCache() {
      return resolve(nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE) ?? join(hfHome(), "hub"));
    },
    get offline() {
      return flag(env.HF_HUB_OFFLINE) || flag(env.COURSE_OFFLINE);
    },
    get hfToken() {
      const token = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
      const tokenFile = join(hfHome(), "token");
      return token === undefined && existsSync(tokenFile) ? nonEmpty(readFileSync(tokenFile, "utf8")) : token;
    },
    get backend() {
      return parseBackend(env.COURSE_BACKEND);
    },
    get nativeMatMul() {
      const v = env.COURSE_NATIVE_MATMUL;
      return v === undefined || v.trim() === "" || flag(v);
    },
    get onnx() {
      return env.COURSE_ONNX === undefined || env.COURSE_ONNX.trim() === "" || flag(env.COURSE_ONNX);
    },
    get onnxThreads() {
      return parseThreads(env.COURSE_ONNX_THREADS);
    },
    get model() {
      return nonEmpty(env.COURSE_MODEL) ?? "offline";
    },
    get hfEndpoint() {
      return (nonEmpty(env.HF_ENDPOINT) ?? "https://huggingface.co").replace(/\/+$/, "");
    },
    get serveApiKey() {
      return nonEmpty(env.COURSE_SERVE_API_KEY);
    },
    get llm() {
      return {
        baseUrl: nonEmpty(env.OPENAI_BASE_URL),
        apiKey: nonEmpty(env.OPENAI_API_KEY),
        model: nonEmpty(env.COURSE_LLM_MODEL),
      };
    },
    course,
  };
}

let current: CourseConfig | undefined;

/** The configuration of this process (process.env), each field read when used. */
export function getConfig(): CourseConfig {
  current ??= readConfig(process.env);
  return current;
}
