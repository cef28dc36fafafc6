/**
 * What notebooks 5 (RAG) and 6 (cost) share.
 *
 * loadFineTuned: they build on the model notebook 3 fine-tuned; this finds it in the run folder (the newest
 * finished `models/<name>-<key>` artefact trained from this dataset's data and this base model) instead of
 * training again, and says which one it took. None yet: an error telling to run notebook 3.
 * PROMPT_PASSAGES: the passages a RAG prompt of the course carries (notebook 5 teaches it, notebook 6 prices it).
 * courseAnswerOptions / courseReportPath: the course's LLM setting for answers; where reports go.
 * This module imports no LangChain types (src/rag/types only): src/course/index, which every notebook
 * imports, stays quick for tslab to type-check.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadModel, type SentenceTransformer } from "../model/index";
import type { AnswerOptions } from "../rag/types";
import { readManifest, type ArtefactManifest } from "./artefacts";
import { slug, type Course } from "./setup";
import { SETTING_LABELS, type CourseData, type SettingName } from "./data";

/** Passages in each RAG prompt of the course: notebook 5 retrieves and compares this many, notebook 6 prices them. */
export const PROMPT_PASSAGES = 3;

export interface SavedFineTune {
  model: SentenceTransformer;
  /** The artefact folder, e.g. runs/policy-handbook/offline/models/mnrl-3fa2c1d09b7e. */
  path: string;
  label: string;
  manifest: ArtefactManifest;
  historyPath: string;
  /** One line for the notebook: which model was loaded and when it was trained. */
  message: string;
  /** Training pairs, when notebook 3 noted them (models/chosen.json). */
  trainingRows?: number;
}

/**
 * The newest finished fine-tuning artefact `models/<name>-*` of this run whose inputs are this dataset's
 * data (data.key) and this base model (course.model); loads its `final/` model.
 */
export async function loadFineTuned(
  course: Course,
  data: CourseData,
  options: { name?: string; notebook?: string; setting?: SettingName } = {},
): Promise<SavedFineTune> {
  const chosenPath = join(course.runDir, "models", "chosen.json");
  if (options.setting && !options.name && existsSync(chosenPath)) {
    const chosen = JSON.parse(readFileSync(chosenPath, "utf8")) as Record<
      string,
      { folder: string; label: string; rows?: { total: number } }
    >;
    const c = chosen[options.setting];
    const path = c ? join(course.runDir, "models", c.folder) : "";
    const manifest = c ? readManifest(path) : undefined;
    if (c && manifest && existsSync(join(path, "final"))) {
      const model = await loadModel(join(path, "final"));
      const label = `models/${c.folder}`;
      return {
        model,
        path,
        label,
        manifest,
        historyPath: join(path, "history.json"),
        trainingRows: c.rows?.total,
        message: `loaded ${label}/final: setting ${SETTING_LABELS[options.setting]}, trained on ${c.label}${c.rows ? ` (${c.rows.total} pairs)` : ""} by notebook 03 at ${manifest.created.slice(0, 16).replace("T", " ")} UTC in ${manifest.seconds.toFixed(1)} s`,
      };
    }
  }
  const name = options.name ?? (options.setting ? `mnrl-${options.setting}` : "mnrl");
  const notebook = options.notebook ?? "03_mnrl_finetuning";
  const dir = join(course.runDir, "models");
  const found = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((f) => f.startsWith(`${name}-`))
    .map((f) => ({ label: `models/${f}`, path: join(dir, f), manifest: readManifest(join(dir, f)) }))
    .filter((a): a is { label: string; path: string; manifest: ArtefactManifest } => {
      const inputs = a.manifest?.inputs as { data?: string; base?: string } | undefined;
      return inputs?.data === data.key && inputs?.base === course.model && existsSync(join(a.path, "final"));
    })
    .sort((a, b) => b.manifest.created.localeCompare(a.manifest.created));
  if (found.length === 0) {
    throw new Error(
      `No fine-tuned "${name}" model for dataset "${course.dataset.name}" and model "${course.model}" in ${dir}. ` +
        `Fix: run notebook ${notebook} first (npm run course -- ${notebook.slice(0, 2)}); it saves the model this notebook loads.`,
    );
  }
  const a = found[0];
  const model = await loadModel(join(a.path, "final"));
  return {
    model,
    path: a.path,
    label: a.label,
    manifest: a.manifest,
    historyPath: join(a.path, "history.json"),
    message: `loaded ${a.label}/final (fine-tuned by notebook ${notebook.slice(0, 2)} at ${a.manifest.created.slice(0, 16).replace("T", " ")} UTC in ${a.manifest.seconds.toFixed(1)} s)`,
  };
}

/** Answer options from the course's LLM setting: the configured endpoint, or the offline extractive answer. */
export function courseAnswerOptions(course: Course): AnswerOptions {
  return course.llm
    ? { mode: "llm", llm: { baseUrl: course.llm.baseUrl, model: course.llm.model, apiKey: course.llm.apiKey } }
    : { mode: "extractive" };
}

/** A report file for this dataset and model in the reports folder: reports/<stem>-<dataset>-<model>.<ext>. */
export function courseReportPath(course: Course, stem: string, ext = "csv"): string {
  return join(dirname(course.resultsPath), `${stem}-${course.dataset.name}-${slug(course.model)}.${ext}`);
}
