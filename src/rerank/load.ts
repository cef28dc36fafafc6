/**
 * loadCrossEncoder: a cross-encoder from a folder in the layout Python's CrossEncoder reads, a Hub id downloaded once
 * into the Hugging Face cache (src/model/hub.ts), or "offline": the re-ranker built from what ships (./offline.ts),
 * cached under $HF_HOME/course-offline-reranker.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { initBackend } from "../backend";
import { getConfig } from "../env";
import { type HubOptions, resolveHubModel } from "../model/hub";
import { CrossEncoder } from "./cross-encoder";
import { readCrossEncoderFolder } from "./folder";
import { offlineCrossEncoder } from "./offline";

export interface LoadCrossEncoderOptions extends HubOptions {
  /** Seed of a new head, when the folder is a plain encoder (default 42). */
  seed?: number;
  /** Override max_length (tokens per pair). */
  maxLength?: number;
  /** The model's name in tables (default: the folder as given, or the Hub repo). */
  name?: string;
}

/**
 * Loads a cross-encoder from a folder (the layout Python's CrossEncoder reads), a Hub id ("org/name", optionally
 * "org/name@revision"), downloaded once into the Hugging Face cache, e.g. "cross-encoder/ms-marco-MiniLM-L6-v2", or
 * "offline" (the offline re-ranker, see ./offline.ts).
 */
export async function loadCrossEncoder(idOrDir: string, options: LoadCrossEncoderOptions = {}): Promise<CrossEncoder> {
  await initBackend();
  const spec = idOrDir.trim();
  if (spec === "offline") return offlineCrossEncoder({ cacheDir: join(getConfig().hfHome, "course-offline-reranker") });
  const local = resolve(spec);
  let folder: string;
  let name: string;
  if (existsSync(local)) {
    folder = local;
    name = spec;
  } else {
    if (/^(\.|\/|~|[A-Za-z]:\\)/.test(spec) || spec.split("/").length > 2)
      throw new Error(
        `loadCrossEncoder("${spec}"): no such folder (${local}). Give a cross-encoder folder or a Hub id such as "cross-encoder/ms-marco-MiniLM-L6-v2".`,
      );
    try {
      const hub = await resolveHubModel(spec, options);
      folder = hub.folder;
      name = hub.repo;
    } catch (err) {
      throw new Error(
        `loadCrossEncoder("${spec}"): there is no folder ${local}, so it was taken as a Hub id. ${(err as Error).message}`,
      );
    }
  }
  const model = new CrossEncoder(readCrossEncoderFolder(folder, { seed: options.seed }), options.name ?? name);
  if (options.maxLength !== undefined) model.maxLength = options.maxLength;
  return model;
}
