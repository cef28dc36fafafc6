/**
 * The datasets that ship in data/ (config.dataDir, COURSE_DATA_DIR): BEIR folders such as
 * data/policy-handbook and data/vet-clinic, and the tutorial's tiny triplets. Loading validates the
 * files and checks that no source document is in two splits (assertNoLeak).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { config } from "../env";
import { loadBeirDataset, toIRSplit, type BeirDataset } from "./beir";
import { readPairs, type ReadPairsResult } from "./pairs";
import type { IRSplit } from "./types";

/** Names of the BEIR datasets in the data folder (sub-folders with a corpus.jsonl), sorted. */
export function shippedDatasets(dataDir: string = config.dataDir): string[] {
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir)
    .filter((n) => statSync(join(dataDir, n)).isDirectory() && existsSync(join(dataDir, n, "corpus.jsonl")))
    .sort();
}

function datasetDir(name: string, dataDir: string): string {
  const dir = join(dataDir, name);
  if (!existsSync(join(dir, "corpus.jsonl"))) {
    throw new Error(`No dataset "${name}" in ${dataDir}; available: ${shippedDatasets(dataDir).join(", ") || "none"} (set COURSE_DATA_DIR to use another folder).`);
  }
  return dir;
}

/** A shipped BEIR dataset, validated and leak-checked. */
export function loadShippedDataset(name: string, dataDir: string = config.dataDir): BeirDataset {
  return loadBeirDataset(datasetDir(name, dataDir));
}

/** One split of a shipped dataset in the evaluator's form. */
export function loadShippedSplit(name: string, split: string, dataDir: string = config.dataDir): IRSplit {
  return toIRSplit(loadShippedDataset(name, dataDir), split);
}

/** The tutorial's handful of (anchor, positive, negative) triplets for the first cells of the course. */
export function loadTutorialTriplets(dataDir: string = config.dataDir): ReadPairsResult {
  return readPairs(join(dataDir, "tutorial-triplets", "triplets.jsonl"));
}
