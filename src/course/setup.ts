/**
 * The course's one configuration, read by the first cell of every notebook:
 *
 *   const course = courseSetup();          // course.config.json, overridden by environment variables
 *   const course = courseSetup({ model: "BAAI/bge-small-en-v1.5" });   // or a choice for this notebook only
 *
 * - dataset: a shipped dataset ("policy-handbook", default; "vet-clinic"), a BEIR folder
 *   (corpus.jsonl + queries.jsonl + qrels/), or a folder of the user's own documents (.md, .txt).
 * - model: "offline" (the embedded default, no download), a Hub id such as
 *   "sentence-transformers/all-MiniLM-L6-v2" or "BAAI/bge-small-en-v1.5", or a local model folder.
 * - llm: "none", or an OpenAI-compatible endpoint { baseUrl, model, apiKey? } (OpenAI, Ollama's /v1, vLLM).
 *   By default the endpoint in OPENAI_BASE_URL / OPENAI_API_KEY / COURSE_LLM_MODEL, when set.
 *
 * Precedence: environment variable > the cell's argument > course.config.json (COURSE_CONFIG) > default.
 * Environment variables override what the cell picks (COURSE_DATASET, COURSE_MODEL, COURSE_LLM=none,
 * OPENAI_BASE_URL, OPENAI_API_KEY, COURSE_LLM_MODEL, COURSE_SEED, COURSE_RUNS_DIR), so `npm run course`
 * reruns every notebook on another model or dataset without editing them.
 *
 * Bad values stop the first cell that uses them with a message naming the setting and the fix:
 * the dataset in courseSetup, the model in courseModel, the LLM endpoint in checkLlm.
 *
 * Run artefacts go to runs/<dataset>/ (model-independent: the generated data) and
 * runs/<dataset>/<model>/ (embeddings, indexes, fine-tuned models), see src/artefacts.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import pl from "nodejs-polars";
import { DEFAULT_SEED } from "../defaults";
import { hubBeirDir } from "../reproduce/data";
import { getConfig, type CourseConfig } from "../env";
import { shippedDatasets } from "../data/shipped";
import { loadModel, type SentenceTransformer } from "../model/index";

export const DEFAULT_DATASET = "policy-handbook";
/** File types read as documents from a user's folder (as src/data/chunk reads them). */
export const DOCUMENT_EXTENSIONS = [".md", ".markdown", ".txt"];

export interface LlmEndpoint {
  baseUrl: string;
  model: string;
  apiKey?: string;
}

export interface CourseChoices {
  /** Shipped dataset name or a folder (default policy-handbook). */
  dataset?: string;
  /** "offline" (default), a Hub id, or a model folder. */
  model?: string;
  /** "none", an endpoint, or "env" (default): the endpoint the environment names, if any. */
  llm?: "none" | "env" | Partial<LlmEndpoint>;
  seed?: number;
  /** Where vectors live: "memory" (default) or "lancedb[:uri]" (src/retrieval/stores). */
  store?: string;
}

export interface DatasetChoice {
  /** Short name used in folder names and tables: "policy-handbook", or the folder's name. */
  name: string;
  /** shipped: in data/; beir: a BEIR folder; documents: a folder of .md / .txt files to chunk. */
  kind: "shipped" | "beir" | "documents";
  dir: string;
  /** Document files found (documents kind), relative to dir. */
  files: string[];
}

/** Where a setting's value came from. */
export type SettingSource = "environment" | "notebook" | "config file" | "default";

const CONFIG_KEYS = ["dataset", "model", "llm", "seed", "store"];

/**
 * The shared settings file (course.config.json, or COURSE_CONFIG): the same choices for every notebook.
 * Absent: no choices. Unknown keys or wrong types are errors naming the file and the key.
 */
export function readCourseConfigFile(path: string): CourseChoices {
  if (!existsSync(path)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(
      `${path}: not valid JSON (${(err as Error).message}). Fix the file, or delete it to use the defaults.`,
    );
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new Error(
      `${path}: expected an object such as {"dataset": "policy-handbook", "model": "offline", "llm": "none"}.`,
    );
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (k.startsWith("//") || k === "$comment") continue;
    if (!CONFIG_KEYS.includes(k))
      throw new Error(`${path}: unknown setting "${k}"; the settings are ${CONFIG_KEYS.join(", ")}.`);
  }
  for (const k of ["dataset", "model", "store"])
    if (v[k] !== undefined && typeof v[k] !== "string") throw new Error(`${path}: "${k}" must be a string.`);
  if (v.seed !== undefined && !Number.isInteger(v.seed)) throw new Error(`${path}: "seed" must be a whole number.`);
  const llm = v.llm;
  if (
    llm !== undefined &&
    llm !== "none" &&
    llm !== "env" &&
    (typeof llm !== "object" || llm === null || Array.isArray(llm))
  )
    throw new Error(`${path}: "llm" must be "none", "env" or {"baseUrl": "...", "model": "..."}.`);
  return {
    dataset: v.dataset as string | undefined,
    model: v.model as string | undefined,
    llm: llm as CourseChoices["llm"],
    seed: v.seed as number | undefined,
    store: v.store as string | undefined,
  };
}

export interface Course {
  dataset: DatasetChoice;
  /** The model spec as given ("offline", a Hub id, a folder). */
  model: string;
  llm: LlmEndpoint | null;
  seed: number;
  /** The vector store spec: "memory" (also when absent) or "lancedb[:uri]" (COURSE_STORE > first cell > config file). */
  store?: string;
  /** runs/ (COURSE_RUNS_DIR). */
  runsDir: string;
  /** runs/<dataset>/: artefacts that do not depend on the model (generated data, BM25). */
  datasetDir: string;
  /** runs/<dataset>/<model>/: embeddings, indexes, fine-tuned models. */
  runDir: string;
  /** reports/results.json. */
  resultsPath: string;
  sources: { dataset: SettingSource; model: SettingSource; llm: SettingSource; seed: SettingSource };
}

/** A folder-safe name: "BAAI/bge-small-en-v1.5" -> "BAAI--bge-small-en-v1.5". */
export function slug(text: string): string {
  return (
    text
      .trim()
      .replace(/[\\/]+/g, "--")
      .replace(/[^A-Za-z0-9._-]+/g, "_")
      .replace(/^[._-]+/, "")
      .slice(0, 80) || "x"
  );
}

function listDocuments(dir: string, prefix = ""): { documents: string[]; others: number } {
  const out = { documents: [] as string[], others: 0 };
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const sub = listDocuments(path, `${prefix}${name}/`);
      out.documents.push(...sub.documents);
      out.others += sub.others;
    } else if (DOCUMENT_EXTENSIONS.includes(extname(name).toLowerCase())) out.documents.push(prefix + name);
    else out.others++;
  }
  return out;
}

function where(source: SettingSource, env: string, cell: string): string {
  if (source === "environment") return `${env} (environment variable)`;
  if (source === "config file") return `${cell} in ${basename(getConfig().course.configFile)}`;
  return source === "notebook" ? `${cell} in the first cell` : `the default ${cell}`;
}

/** Resolves the dataset setting; throws a message naming the setting and the fix. */
export function resolveDataset(value: string, source: SettingSource, cfg: CourseConfig = getConfig()): DatasetChoice {
  const setting = where(source, `COURSE_DATASET=${value}`, `dataset: "${value}"`);
  if (value.startsWith("hf:")) {
    // A Hub dataset, prepared once (downloaded into the HF cache, mapped to BEIR) by npm run reproduce -- --fetch.
    const dir = hubBeirDir(value, cfg);
    if (!existsSync(join(dir, "corpus.jsonl")))
      throw new Error(
        `Dataset setting ${setting}: the Hub dataset ${value.slice(3)} is not prepared yet. Fix: run \`npm run reproduce -- --fetch ${value}\` once (it downloads the dataset into the Hugging Face cache and writes ${dir}), then run the notebook again.`,
      );
    return { name: slug(value.slice(3)), kind: "beir", dir, files: [] };
  }
  const shipped = shippedDatasets(cfg.dataDir);
  if (!value.includes("/") && !value.includes("\\") && shipped.includes(value)) {
    return { name: value, kind: "shipped", dir: join(cfg.dataDir, value), files: [] };
  }
  const dir = resolve(cfg.repoRoot, value);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(
      `Dataset setting ${setting}: "${value}" is neither a shipped dataset (${shipped.join(", ") || "none found in " + cfg.dataDir}) ` +
        `nor an existing folder (${dir}). Fix: set COURSE_DATASET (or dataset in the first cell) to ${shipped.map((s) => `"${s}"`).join(" or ")}, ` +
        `or to the path of a folder holding your documents (.md, .txt).`,
    );
  }
  if (existsSync(join(dir, "corpus.jsonl"))) return { name: slug(basename(dir)), kind: "beir", dir, files: [] };
  const { documents, others } = listDocuments(dir);
  if (documents.length === 0) {
    throw new Error(
      `Dataset setting ${setting}: the folder ${dir} holds no documents (looked for ${DOCUMENT_EXTENSIONS.join(", ")}` +
        `${others > 0 ? `; found ${others} other file(s)` : "; it is empty"}). Fix: put your documents there as .md or .txt ` +
        `(extract PDF text to .txt first), or set COURSE_DATASET=${DEFAULT_DATASET}.`,
    );
  }
  if (documents.length < 3) {
    throw new Error(
      `Dataset setting ${setting}: the folder ${dir} holds ${documents.length} document(s); the course splits documents into ` +
        `train / dev / test, so it needs at least 3 (a few dozen give meaningful numbers). Fix: add documents, or set COURSE_DATASET=${DEFAULT_DATASET}.`,
    );
  }
  return { name: slug(basename(dir)), kind: "documents", dir, files: documents };
}

function resolveLlm(
  choices: CourseChoices,
  file: CourseChoices,
  cfg: CourseConfig,
): { llm: LlmEndpoint | null; source: SettingSource } {
  const env = cfg.llm;
  if (cfg.course.llmOff) return { llm: null, source: "environment" };
  const envSet = env.baseUrl !== undefined || env.apiKey !== undefined || env.model !== undefined;
  const cellSource: SettingSource = choices.llm !== undefined ? "notebook" : "config file";
  const cell = choices.llm ?? file.llm ?? "env";
  if (envSet) {
    // The environment names an endpoint: it wins over the cell, missing parts filled from the cell.
    const c = typeof cell === "object" ? cell : {};
    const baseUrl = env.baseUrl ?? c.baseUrl ?? "https://api.openai.com/v1";
    const model = env.model ?? c.model;
    if (!model) {
      throw new Error(
        `LLM setting OPENAI_BASE_URL=${baseUrl} (environment variable) names an endpoint but no model. ` +
          `Fix: set COURSE_LLM_MODEL (e.g. gpt-4o-mini for OpenAI, llama3.1 for Ollama), or COURSE_LLM=none for the offline generator.`,
      );
    }
    return { llm: { baseUrl, model, apiKey: env.apiKey ?? c.apiKey }, source: "environment" };
  }
  if (cell === "none") return { llm: null, source: cellSource };
  if (cell === "env") return { llm: null, source: "default" };
  if (!cell.model)
    throw new Error(
      `LLM setting llm (${cellSource === "notebook" ? "first cell" : cfg.course.configFile}): give a model name, e.g. { "baseUrl": "http://localhost:11434/v1", "model": "llama3.1" }, or "none".`,
    );
  return {
    llm: { baseUrl: cell.baseUrl ?? "https://api.openai.com/v1", model: cell.model, apiKey: cell.apiKey },
    source: cellSource,
  };
}

/**
 * The course settings: the first cell's choices, overridden by the environment. Checks the dataset
 * (a bad one stops this cell); the model and the LLM are checked by the cells that first use them.
 */
export function courseSetup(choices: CourseChoices = {}, cfg: CourseConfig = getConfig()): Course {
  const file = readCourseConfigFile(cfg.course.configFile);
  const pick = <T>(
    envValue: T | undefined,
    cellValue: T | undefined,
    fileValue: T | undefined,
    fallback: T,
  ): [T, SettingSource] =>
    envValue !== undefined
      ? [envValue, "environment"]
      : cellValue !== undefined
        ? [cellValue, "notebook"]
        : fileValue !== undefined
          ? [fileValue, "config file"]
          : [fallback, "default"];
  const [datasetValue, datasetSource] = pick(cfg.course.dataset, choices.dataset, file.dataset, DEFAULT_DATASET);
  const [model, modelSource] = pick(cfg.course.model, choices.model, file.model, "offline");
  const [seed, seedSource] = pick(cfg.course.seed, choices.seed, file.seed, DEFAULT_SEED);
  const [store] = pick(cfg.course.store, choices.store, file.store, "memory");
  const dataset = resolveDataset(datasetValue, datasetSource, cfg);
  const { llm, source: llmSource } = resolveLlm(choices, file, cfg);
  const runsDir = cfg.course.runsDir ?? join(cfg.repoRoot, "runs");
  const datasetDir = join(runsDir, dataset.name);
  return {
    dataset,
    model,
    llm,
    seed,
    store,
    runsDir,
    datasetDir,
    runDir: join(datasetDir, slug(model)),
    resultsPath: join(cfg.reportsDir, "results.json"),
    sources: { dataset: datasetSource, model: modelSource, llm: llmSource, seed: seedSource },
  };
}

const EMBEDDED = ["offline", "offline-random", "offline-bert"];

/**
 * The label numbers carry: "offline (embedded default)" for the embedded models (model.describe() says what
 * they are), else the Hub id or the folder as given. The same for a spec and for the model loaded from it.
 */
export function modelLabel(model: string | SentenceTransformer): string {
  if (typeof model !== "string") {
    if (model.isOfflineDefault) return `${model.name.split(" (")[0]} (embedded default)`;
    return model.source.startsWith("hub:") ? model.source.slice(4).split("@")[0] : model.name;
  }
  return EMBEDDED.includes(model.trim()) ? `${model.trim()} (embedded default)` : model;
}

/** The settings as a table for the first cell: setting, value, where it came from, how to change it. */
export function courseTable(course: Course): pl.DataFrame {
  const d = course.dataset;
  return pl.DataFrame({
    setting: ["dataset", "model", "LLM", "seed", "run folder", "results"],
    value: [
      d.kind === "shipped"
        ? d.name
        : `${d.name} (${d.kind === "beir" ? "BEIR folder" : `${d.files.length} documents`}: ${d.dir})`,
      modelLabel(course.model),
      course.llm ? `${course.llm.model} at ${course.llm.baseUrl}` : "none (offline template generator)",
      String(course.seed),
      course.runDir,
      course.resultsPath,
    ],
    from: [
      course.sources.dataset,
      course.sources.model,
      course.sources.llm,
      course.sources.seed,
      "COURSE_RUNS_DIR or runs/",
      "COURSE_REPORTS_DIR or reports/",
    ],
    change: [
      "COURSE_DATASET=policy-handbook | vet-clinic | /path/to/your/documents",
      "COURSE_MODEL=offline | BAAI/bge-small-en-v1.5 | /path/to/model",
      "OPENAI_BASE_URL, OPENAI_API_KEY, COURSE_LLM_MODEL (COURSE_LLM=none: off)",
      "COURSE_SEED",
      "COURSE_RUNS_DIR",
      "COURSE_REPORTS_DIR",
    ],
  });
}

/**
 * Loads the course's model (or another spec, e.g. a fine-tuned folder). A bad model id or folder stops
 * the cell with a message naming the setting and the fix.
 */
export async function courseModel(course: Course, spec: string = course.model): Promise<SentenceTransformer> {
  try {
    return await loadModel(spec);
  } catch (err) {
    const setting =
      spec === course.model ? where(course.sources.model, `COURSE_MODEL=${spec}`, `model: "${spec}"`) : `"${spec}"`;
    throw new Error(
      `Model setting ${setting} could not be loaded: ${(err as Error).message}\n` +
        `Fix: set COURSE_MODEL (or model in the first cell) to "offline" (embedded, no download), a Hub id such as ` +
        `sentence-transformers/all-MiniLM-L6-v2 or BAAI/bge-small-en-v1.5 (downloaded once into the Hugging Face cache; ` +
        `needs network unless already cached), or the folder of a saved model.`,
    );
  }
}

/**
 * Checks that the LLM endpoint answers (GET {baseUrl}/models, 10 s). Returns a one-line status; throws a
 * message naming OPENAI_BASE_URL / OPENAI_API_KEY and the fix when it does not. No LLM: says so.
 */
export async function checkLlm(course: Course, fetchImpl: typeof fetch = fetch, timeoutMs = 10_000): Promise<string> {
  const llm = course.llm;
  if (!llm) return "no LLM configured: questions come from the offline template generator";
  const url = `${llm.baseUrl.replace(/\/+$/, "")}/models`;
  const fix =
    `Fix: start the server or correct OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama, https://api.openai.com/v1 for OpenAI), ` +
    `check OPENAI_API_KEY, or set COURSE_LLM=none to use the offline template generator.`;
  let res: Response;
  try {
    res = await fetchImpl(url, {
      headers: llm.apiKey ? { authorization: `Bearer ${llm.apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new Error(
      `LLM setting OPENAI_BASE_URL=${llm.baseUrl}: ${url} is unreachable (${(err as Error).message}). ${fix}`,
    );
  }
  if (res.status === 401 || res.status === 403)
    throw new Error(`LLM setting OPENAI_API_KEY: ${url} answered HTTP ${res.status} (key missing or wrong). ${fix}`);
  if (!res.ok && res.status !== 404)
    throw new Error(`LLM setting OPENAI_BASE_URL=${llm.baseUrl}: ${url} answered HTTP ${res.status}. ${fix}`);
  return `LLM ${llm.model} at ${llm.baseUrl} answers (HTTP ${res.status})`;
}
