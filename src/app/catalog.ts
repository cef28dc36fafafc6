/**
 * What the app finds on disk, read-only: the dataset to search (the course dataset notebook 1 built under
 * runs/<dataset>/, a shipped dataset, or any BEIR folder), the review sheet to write decisions to, the models
 * fine-tuned under runs/ and the saved corpus indexes it can reuse, and the exported notebooks in reports/.
 *
 * Course layout it reads (src/course writes it):
 *   runs/<dataset>/course-data.json                 {"path": "data/course-<key>", "key": ...}: the BEIR folder
 *   runs/<dataset>/review/sheet-<key>.csv           the sheet notebook 1 exports; reviewed.csv: the reviewed one
 *   runs/<dataset>/<model slug>/models/<name>-<key>/{artefact.json, final/}   fine-tuned models
 *   runs/<dataset>/<model slug>/indexes/<name>-<key>/{artefact.json, index}   corpus embeddings, keyed by data + model
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { loadBeirDataset, type BeirDataset } from "../data/beir";
import { parseCsv } from "../data/csv";
import { readPairs } from "../data/pairs";
import { exportForReview, isReviewSheet } from "../data/review";
import { shippedDatasets } from "../data/shipped";
import { filesKey, readManifest } from "../artefacts";
import { modelLabel, slug } from "../course/setup";

export interface AppDataset {
  /** "policy-handbook", or the folder's name. */
  name: string;
  /** The BEIR folder searched. */
  dir: string;
  beir: BeirDataset;
  /** The course dataset's key (a hash of its files, as loadCourseData computes it): saved indexes are keyed by it. */
  key?: string;
  /** runs/<dataset>/ when the course ran on this dataset. */
  runsDir?: string;
  source: "course" | "shipped" | "folder";
}

/**
 * The dataset named on the command line: a name under `runsDir` that notebook 1 built (its course dataset,
 * with every split's queries), else a shipped dataset, else a BEIR folder (corpus.jsonl, queries.jsonl, qrels/).
 */
export function resolveAppDataset(spec: string, options: { runsDir: string; dataDir: string }): AppDataset {
  const courseDir = join(options.runsDir, spec);
  const pointer = join(courseDir, "course-data.json");
  if (!spec.includes("/") && existsSync(pointer)) {
    const { path } = JSON.parse(readFileSync(pointer, "utf8")) as { path: string };
    const dir = join(resolve(courseDir), path);
    // The key the course's saved indexes carry: loadCourseData's hash of the dataset folder's files.
    const files = ["corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "qrels/dev.tsv", "qrels/test.tsv"].map((f) =>
      join(dir, f),
    );
    const key = files.every((f) => existsSync(f)) ? filesKey(files) : undefined;
    return {
      name: spec,
      dir,
      beir: loadBeirDataset(dir, { checkLeaks: false }),
      key,
      runsDir: courseDir,
      source: "course",
    };
  }
  const shipped = shippedDatasets(options.dataDir);
  if (shipped.includes(spec)) {
    const dir = join(options.dataDir, spec);
    return {
      name: spec,
      dir,
      beir: loadBeirDataset(dir, { checkLeaks: false }),
      runsDir: existsSync(courseDir) ? courseDir : undefined,
      source: "shipped",
    };
  }
  const dir = resolve(spec);
  if (existsSync(join(dir, "corpus.jsonl"))) {
    const name = basename(dir);
    const runs = join(options.runsDir, name);
    return {
      name,
      dir,
      beir: loadBeirDataset(dir, { checkLeaks: false }),
      runsDir: existsSync(runs) ? runs : undefined,
      source: "folder",
    };
  }
  throw new Error(
    `--dataset ${spec}: not a dataset the course built (no ${pointer}), not a shipped dataset (${shipped.join(", ")}), ` +
      `and not a BEIR folder (no ${join(dir, "corpus.jsonl")}). Run notebook 01 (npm run course -- 01), or name one of these.`,
  );
}

export interface ReviewSource {
  /** The sheet decisions are written to (importReview reads it). */
  sheet: string;
  /** What it was made from, for the page: "runs/x/review/sheet-1234.csv", "pairs.jsonl". */
  from: string;
  /** Set when the app created the sheet now. */
  created?: string;
  /** Something the reviewer should know (a newer export with pairs this sheet lacks). */
  notice?: string;
}

/** Pairs (anchor, positive) of sheet `a` that sheet `b` does not hold. */
function pairsMissingFrom(a: string, b: string): number {
  const keys = (path: string) => {
    const { header, records } = parseCsv(readFileSync(path, "utf8"), path);
    const [q, p] = [header.indexOf("anchor"), header.indexOf("positive")];
    return records.map((r) => `${r.fields[q]}\0${r.fields[p]}`);
  };
  const have = new Set(keys(b));
  return keys(a).filter((k) => !have.has(k)).length;
}

/**
 * The sheet the Review page writes to. With --pairs: a review sheet (.csv) is written in place; a pairs file
 * (.jsonl / .parquet) gets `<name>.review.csv` beside it (exported once, then reused). Without: the course's
 * runs/<dataset>/review/reviewed.csv, which notebook 1 reads back; made from notebook 1's newest exported sheet
 * when it does not exist yet. Undefined when there is nothing to review.
 */
export function resolveReviewSource(
  pairs: string | undefined,
  datasetRunsDir: string | undefined,
): ReviewSource | undefined {
  if (pairs) {
    const path = resolve(pairs);
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`--pairs ${pairs}: no such file ${path}.`);
    if (extname(path).toLowerCase() === ".csv") {
      if (!isReviewSheet(path))
        throw new Error(
          `--pairs ${pairs}: a .csv must be a review sheet (columns decision, edited_anchor, anchor, positive); ` +
            "give the pairs as .jsonl / .parquet and the app writes the sheet.",
        );
      return { sheet: path, from: path };
    }
    const sheet = join(dirname(path), `${basename(path, extname(path))}.review.csv`);
    if (existsSync(sheet)) {
      if (!isReviewSheet(sheet))
        throw new Error(
          `${sheet} exists and is not a review sheet; move it away so that the app can write the sheet for ${path}.`,
        );
      return { sheet, from: path };
    }
    const { rows } = readPairs(path);
    exportForReview(rows, sheet);
    return { sheet, from: path, created: `wrote the review sheet ${sheet} (${rows.length} pairs from ${path})` };
  }
  if (!datasetRunsDir) return undefined;
  const dir = join(datasetRunsDir, "review");
  const reviewed = join(dir, "reviewed.csv");
  const sheets = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((f) => /^sheet-[0-9a-f]+\.csv$/.test(f))
    .map((f) => ({ path: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  if (existsSync(reviewed)) {
    const newer = sheets[0] && sheets[0].mtime > statSync(reviewed).mtimeMs ? sheets[0].path : undefined;
    const missing = newer ? pairsMissingFrom(newer, reviewed) : 0;
    return {
      sheet: reviewed,
      from: sheets[0]?.path ?? reviewed,
      ...(missing > 0
        ? {
            notice:
              `${missing} pair(s) of ${newer} (exported by notebook 01 after this review began) are not in ${reviewed}: ` +
              "they are not shown here. To review them, move reviewed.csv away (the app then starts from the newest sheet) " +
              "or start the app with --pairs on that sheet.",
          }
        : {}),
    };
  }
  if (sheets.length === 0) return undefined;
  copyFileSync(sheets[0].path, reviewed);
  return {
    sheet: reviewed,
    from: sheets[0].path,
    created: `copied ${sheets[0].path} to ${reviewed} (the file notebook 01 reads back)`,
  };
}

export interface ModelEntry {
  /** The column's name: "base", "fine-tuned", "fine-tuned (with-generated)". */
  system: string;
  /** Which model: "offline (embedded default)", or the fine-tuned folder relative to runs/. */
  model: string;
  /** What loadModel takes. */
  spec: string;
  /** The key saved indexes name for this model (the spec for a pretrained model, the artefact key for a fine-tuned one). */
  modelKey: string;
  /** runs/<dataset>/<model slug>: where its indexes are saved. */
  runDir?: string;
  /** ISO time a fine-tuned model finished training. */
  created?: string;
}

/**
 * The models to compare: the base model `baseSpec` and every finished fine-tuned model under
 * runs/<dataset>/<model slug>/models/ (any base model), newest first within one name.
 */
export function findModels(
  datasetRunsDir: string | undefined,
  baseSpec: string,
): { base: ModelEntry; tuned: ModelEntry[] } {
  const base: ModelEntry = {
    system: "base",
    model: modelLabel(baseSpec),
    spec: baseSpec,
    modelKey: baseSpec,
    runDir: datasetRunsDir ? join(datasetRunsDir, slug(baseSpec)) : undefined,
  };
  const tuned: ModelEntry[] = [];
  if (!datasetRunsDir || !existsSync(datasetRunsDir)) return { base, tuned };
  const runsRoot = dirname(datasetRunsDir);
  for (const run of readdirSync(datasetRunsDir).sort()) {
    const models = join(datasetRunsDir, run, "models");
    if (!existsSync(models) || !statSync(models).isDirectory()) continue;
    for (const folder of readdirSync(models).sort()) {
      const path = join(models, folder);
      const manifest = readManifest(path);
      if (!manifest || !existsSync(join(path, "final"))) continue;
      const name = manifest.name.replace(/^models\//, "");
      const inputs = (manifest.inputs ?? {}) as { base?: string };
      tuned.push({
        system: name === "mnrl" ? "fine-tuned" : `fine-tuned (${name})`,
        model: `${relative(runsRoot, join(path, "final"))}${inputs.base && inputs.base !== baseSpec ? ` (from ${modelLabel(inputs.base)})` : ""}`,
        spec: join(path, "final"),
        modelKey: manifest.key,
        runDir: join(datasetRunsDir, run),
        created: manifest.created,
      });
    }
  }
  // Two models under one column name (retrained on other data): the newest keeps the name, older ones add the key.
  tuned.sort((a, b) => a.system.localeCompare(b.system) || (b.created ?? "").localeCompare(a.created ?? ""));
  const seen = new Set<string>();
  for (const t of tuned) {
    if (seen.has(t.system)) t.system = `${t.system} ${t.modelKey.slice(0, 6)}`;
    seen.add(t.system);
  }
  return { base, tuned };
}

/** The saved corpus index of this model over this course dataset (runs/.../indexes/<name>-<key>/index), if any. */
export function findSavedIndex(entry: ModelEntry, dataKey: string | undefined): string | undefined {
  if (!entry.runDir || !dataKey) return undefined;
  const dir = join(entry.runDir, "indexes");
  if (!existsSync(dir)) return undefined;
  for (const folder of readdirSync(dir).sort()) {
    const manifest = readManifest(join(dir, folder));
    const inputs = (manifest?.inputs ?? {}) as { data?: string; model?: string };
    const index = join(dir, folder, "index");
    if (inputs.data === dataKey && inputs.model === entry.modelKey && existsSync(index)) return index;
  }
  return undefined;
}

export interface ExportedNotebook {
  /** The file name, e.g. "03_mnrl_finetuning.html": the only names /reports/ serves. */
  file: string;
  title: string;
  modified: string;
}

/** The notebooks' HTML exports in reports/ (what `npm run course` writes), by name. */
export function exportedNotebooks(reportsDir: string): ExportedNotebook[] {
  if (!existsSync(reportsDir)) return [];
  return readdirSync(reportsDir)
    .filter((f) => /^\d\d_[A-Za-z0-9_-]+\.html$/.test(f) && statSync(join(reportsDir, f)).isFile())
    .sort()
    .map((file) => ({
      file,
      title: file.replace(/\.html$/, "").replace(/_/g, " "),
      modified: statSync(join(reportsDir, file)).mtime.toISOString(),
    }));
}
