/**
 * The datasets that ship in data/ (config.dataDir, COURSE_DATA_DIR): BEIR folders such as
 * data/policy-handbook and data/vet-clinic, and the tutorial's tiny triplets. Loading validates the
 * files and checks that no source document is in two splits (assertNoLeak).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { getConfig } from "../env";
import { loadBeirDataset, toIRSplit, type BeirDataset } from "./beir";
import { readPairs, type ReadPairsResult } from "./pairs";
import type { IRSplit } from "./types";

/** Names of the BEIR datasets in the data folder (sub-folders with a corpus.jsonl), sorted. */
export function shippedDatasets(dataDir: string = getConfig().dataDir): string[] {
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir)
    .filter((n) => statSync(join(dataDir, n)).isDirectory() && existsSync(join(dataDir, n, "corpus.jsonl")))
    .sort();
}

function datasetDir(name: string, dataDir: string): string {
  const dir = join(dataDir, name);
  if (!existsSync(join(dir, "corpus.jsonl"))) {
    throw new Error(
      `No dataset "${name}" in ${dataDir}; available: ${shippedDatasets(dataDir).join(", ") || "none"} (set COURSE_DATA_DIR to use another folder).`,
    );
  }
  return dir;
}

/** A shipped BEIR dataset, validated and leak-checked. */
export function loadShippedDataset(name: string, dataDir: string = getConfig().dataDir): BeirDataset {
  return loadBeirDataset(datasetDir(name, dataDir));
}

/** One split of a shipped dataset in the evaluator's form. */
export function loadShippedSplit(name: string, split: string, dataDir: string = getConfig().dataDir): IRSplit {
  return toIRSplit(loadShippedDataset(name, dataDir), split);
}

/** The tutorial's handful of (anchor, positive, negative) triplets for the first cells of the course. */
export function loadTutorialTriplets(dataDir: string = getConfig().dataDir): ReadPairsResult {
  return readPairs(join(dataDir, "tutorial-triplets", "triplets.jsonl"));
}

/**
 * The independent queries of a shipped dataset (`<dataset>/independent-queries.jsonl`: `_id`, `text`,
 * `relevant` corpus ids), written apart from the shipped queries and judged against the test-split corpus,
 * as an IRSplit over the whole corpus. Errors name the file, line and field.
 */
export function loadIndependentQueries(name: string, dataDir: string = getConfig().dataDir): IRSplit {
  const dataset = loadShippedDataset(name, dataDir);
  const file = join(datasetDir(name, dataDir), "independent-queries.jsonl");
  if (!existsSync(file)) throw new Error(`${file}: missing; dataset "${name}" has no independent queries.`);
  const queries = new Map<string, string>();
  const relevant = new Map<string, Set<string>>();
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (line.trim() === "") return;
      const where = `${file}:${i + 1}`;
      let row: { _id?: unknown; text?: unknown; relevant?: unknown };
      try {
        row = JSON.parse(line);
      } catch (err) {
        throw new Error(`${where}: not valid JSON (${(err as Error).message})`);
      }
      if (typeof row._id !== "string" || row._id === "")
        throw new Error(`${where}: field _id must be a non-empty string`);
      if (queries.has(row._id)) throw new Error(`${where}: duplicate _id "${row._id}"`);
      if (typeof row.text !== "string" || row.text.trim() === "")
        throw new Error(`${where}: field text must be a non-empty string`);
      if (
        !Array.isArray(row.relevant) ||
        row.relevant.length === 0 ||
        row.relevant.some((id) => typeof id !== "string")
      )
        throw new Error(`${where}: field relevant must be a non-empty list of corpus ids`);
      for (const id of row.relevant as string[])
        if (!dataset.corpus.has(id)) throw new Error(`${where}: relevant id "${id}" is not in ${name}/corpus.jsonl`);
      queries.set(row._id, row.text);
      relevant.set(row._id, new Set(row.relevant as string[]));
    });
  return { split: "independent", queries, corpus: dataset.corpus, relevant };
}
