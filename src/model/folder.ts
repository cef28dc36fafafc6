/**
 * The sentence-transformers model folder: what Python's `SentenceTransformer(folder)` loads and
 * `model.save(folder)` writes, read into plain data (weights on the host, no tfjs).
 *
 *   modules.json                       [{idx, name, path, type}] — the pipeline, in order
 *   Transformer module (path "" or "0_Transformer"):
 *     config.json, model.safetensors, tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt,
 *     sentence_bert_config.json        {"max_seq_length": 256, "do_lower_case": false}
 *   StaticEmbedding module (path "0_StaticEmbedding"): model.safetensors ("embedding.weight"), tokenizer.json
 *   1_Pooling/config.json              PoolingConfig
 *   2_Normalize/                       (empty: L2 normalisation has no parameters)
 *   config_sentence_transformers.json  {"__version__", "prompts", "default_prompt_name", "similarity_fn_name"}
 *
 * A plain Hugging Face folder (config.json + weights, no modules.json) loads as Transformer + mean pooling,
 * as sentence-transformers does. max_seq_length, when sentence_bert_config.json does not give it, is
 * min(max_position_embeddings, tokenizer model_max_length), again as Python. Other module types (Dense,
 * LayerNorm, ...) are refused with a message naming modules.json.
 *
 * writeModelFolder writes into a temp folder beside the target and renames it into place only once complete,
 * so a crash never leaves a half-written model where a good one was.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { readTransformerConfig, transformerConfigToJson } from "./config";
import { TRANSFORMER_FILES } from "./hub";
import {
  checkFolderTarget,
  cleanStaleTemporaries,
  lockTarget,
  replaceFolder,
  saveError,
  writeFileAtomic,
} from "../files";
import { readSafetensors, writeSafetensors } from "./safetensors";
import { Tokenizer, readTokenizerFiles } from "./tokenizer";
import type { PoolingConfig, TransformerConfig, WeightMap } from "./types";

export type ModuleType = "Transformer" | "Pooling" | "Normalize" | "StaticEmbedding";

export interface ModuleEntry {
  idx: number;
  name: string;
  path: string;
  type: string;
}

export interface TransformerModule {
  kind: "transformer";
  config: TransformerConfig;
  weights: WeightMap;
  tokenizer: Tokenizer;
  /** sentence_bert_config.json as read (max_seq_length, do_lower_case, ...). */
  sentenceBertConfig: Record<string, unknown>;
}

export interface StaticModule {
  kind: "static";
  weights: WeightMap;
  tokenizer: Tokenizer;
}

/** A sentence-transformers model as data: first module, optional pooling, optional Normalize. */
export interface ModelFolder {
  first: TransformerModule | StaticModule;
  pooling?: PoolingConfig;
  normalize: boolean;
  /** config_sentence_transformers.json (empty object when absent). */
  stConfig: Record<string, unknown>;
  /** onnx/model.onnx to write with the folder (SentenceTransformer.save(folder, { onnx: true })); never read back here. */
  onnx?: Uint8Array;
  /** onnx/model_quantized.onnx to write with it (save(folder, { onnx: true, quantize: "int8" })). */
  onnxQuantized?: Uint8Array;
}

const MODULE_PREFIX = "sentence_transformers.models.";

function readJsonFile(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(
      `${path}: cannot read JSON (${(err as Error).message}); the model folder is corrupt — re-download or re-save it.`,
    );
  }
  if (typeof v !== "object" || v === null) throw new Error(`${path}: expected a JSON object or list.`);
  return v as Record<string, unknown>;
}

function moduleType(entry: ModuleEntry, source: string): ModuleType {
  const short = entry.type.replace(MODULE_PREFIX, "").split(".").pop() ?? entry.type;
  if (short === "Transformer" || short === "Pooling" || short === "Normalize" || short === "StaticEmbedding")
    return short;
  throw new Error(
    `${source}: module ${entry.idx} has type "${entry.type}", which is not supported. Supported module types: ` +
      "Transformer, StaticEmbedding, Pooling, Normalize (the layout of all-MiniLM-L6-v2, bge and static models).",
  );
}

function readWeights(dir: string): WeightMap {
  const st = join(dir, "model.safetensors");
  if (existsSync(st)) return readSafetensors(st).tensors;
  const bin = ["pytorch_model.bin", "model.safetensors.index.json"].find((f) => existsSync(join(dir, f)));
  throw new Error(
    `${st}: missing. ` +
      (bin
        ? `The folder has ${bin}, which this library cannot read; convert it with Python: ` +
          "AutoModel.from_pretrained(folder).save_pretrained(folder, safe_serialization=True)."
        : "A model folder needs its weights as model.safetensors (re-download or re-save the model)."),
  );
}

function readTransformerModule(dir: string): TransformerModule {
  const config = readTransformerConfig(join(dir, "config.json"));
  const sbPath = join(dir, "sentence_bert_config.json");
  const sentenceBertConfig = existsSync(sbPath) ? readJsonFile(sbPath) : {};
  const tokenizerFiles = readTokenizerFiles(dir);
  // RoBERTa's position ids start at pad_token_id + 1, so it has max_position_embeddings - pad - 1 usable positions.
  const positions =
    config.architecture === "roberta"
      ? config.maxPositionEmbeddings - config.padTokenId - 1
      : config.maxPositionEmbeddings;
  let maxSeqLength = sentenceBertConfig.max_seq_length;
  if (maxSeqLength === undefined || maxSeqLength === null) {
    // Python: min(max_position_embeddings, tokenizer model_max_length); we also respect RoBERTa's offset.
    const tokMax = tokenizerFiles.tokenizerConfig.model_max_length;
    maxSeqLength = Math.min(positions, typeof tokMax === "number" ? tokMax : Infinity);
  }
  if (typeof maxSeqLength !== "number" || !Number.isInteger(maxSeqLength) || maxSeqLength < 3)
    throw new Error(`${sbPath}: max_seq_length ${JSON.stringify(maxSeqLength)} must be an integer >= 3.`);
  if (maxSeqLength > positions)
    throw new Error(
      `${sbPath}: max_seq_length ${maxSeqLength} exceeds the ${positions} positions the model has (config.json max_position_embeddings); lower it.`,
    );
  const tokenizer = new Tokenizer(tokenizerFiles, {
    maxSeqLength,
    lowerCaseInput: sentenceBertConfig.do_lower_case === true,
    source: dir,
  });
  return { kind: "transformer", config, weights: readWeights(dir), tokenizer, sentenceBertConfig };
}

function readStaticModule(dir: string): StaticModule {
  const tokenizer = Tokenizer.fromFolder(dir, { maxSeqLength: Infinity, configOptional: true });
  return { kind: "static", weights: readWeights(dir), tokenizer };
}

function readPooling(dir: string): PoolingConfig {
  const path = join(dir, "config.json");
  if (!existsSync(path))
    throw new Error(`${path}: missing Pooling config (1_Pooling/config.json); re-download or re-save the model.`);
  const cfg = readJsonFile(path) as unknown as PoolingConfig;
  if (typeof cfg.word_embedding_dimension !== "number")
    throw new Error(`${path}: "word_embedding_dimension" missing or not a number.`);
  return cfg;
}

/** Reads a sentence-transformers folder (or a plain Hugging Face BERT/RoBERTa folder). */
export function readModelFolder(folder: string): ModelFolder {
  const dir = resolve(folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(
      `${dir}: not a folder. Give a model folder, a Hub id such as "sentence-transformers/all-MiniLM-L6-v2", or "offline".`,
    );
  const modulesPath = join(dir, "modules.json");
  const stPath = join(dir, "config_sentence_transformers.json");
  const stConfig = existsSync(stPath) ? readJsonFile(stPath) : {};
  if (!existsSync(modulesPath)) {
    if (!existsSync(join(dir, "config.json")))
      throw new Error(
        `${modulesPath}: missing (and no config.json either): ${dir} is not a sentence-transformers or Hugging Face model folder.`,
      );
    // Python: "No sentence-transformers model found ... Creating a new one with mean pooling."
    const first = readTransformerModule(dir);
    return { first, pooling: meanPooling(first.config.hiddenSize), normalize: false, stConfig };
  }
  const entries = readJsonFile(modulesPath) as unknown as ModuleEntry[];
  if (!Array.isArray(entries) || entries.length === 0)
    throw new Error(`${modulesPath}: expected a non-empty list of modules.`);
  const sorted = [...entries].sort((a, b) => a.idx - b.idx);
  const types = sorted.map((e) => moduleType(e, modulesPath));
  let first: TransformerModule | StaticModule | undefined;
  let pooling: PoolingConfig | undefined;
  let normalize = false;
  types.forEach((type, i) => {
    const sub = join(dir, sorted[i].path ?? "");
    if (i === 0) {
      if (type === "Transformer") first = readTransformerModule(sub);
      else if (type === "StaticEmbedding") first = readStaticModule(sub);
      else throw new Error(`${modulesPath}: the first module must be Transformer or StaticEmbedding, found ${type}.`);
    } else if (type === "Pooling" && pooling === undefined && !normalize) pooling = readPooling(sub);
    else if (type === "Normalize" && i === sorted.length - 1) normalize = true;
    else
      throw new Error(
        `${modulesPath}: module ${sorted[i].idx} (${type}) in this position is not supported; expected Transformer, Pooling, Normalize or StaticEmbedding, Normalize.`,
      );
  });
  if (first?.kind === "transformer" && pooling === undefined)
    throw new Error(`${modulesPath}: a Transformer module needs a Pooling module after it (1_Pooling).`);
  return { first: first as TransformerModule | StaticModule, pooling, normalize, stConfig };
}

export function meanPooling(dim: number): PoolingConfig {
  return {
    word_embedding_dimension: dim,
    pooling_mode_cls_token: false,
    pooling_mode_mean_tokens: true,
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: false,
    include_prompt: true,
  };
}

function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Files save() writes at the top of a model folder, and in its module sub-folders (`1_Pooling`, ...). */
const MODEL_FILES = new Set([
  "modules.json",
  "config_sentence_transformers.json",
  ...TRANSFORMER_FILES,
  "model.onnx",
  "model_quantized.onnx",
]);
const MODULE_FOLDER = /^(\d+_(Pooling|Normalize|StaticEmbedding)|onnx)$/; // onnx/: save(folder, { onnx: true })

/**
 * True when `dir` is a model folder as save() writes it: modules.json is there and every other entry, in the
 * module sub-folders too, is a file save() writes. Replacing such a folder loses nothing but the old model. A
 * README.md, notes or any other file makes the folder "not ours", and save() refuses it without `overwrite`.
 */
export function isSavedModelFolder(dir: string): boolean {
  const entries = readdirSync(dir, { withFileTypes: true });
  if (!entries.some((e) => e.name === "modules.json" && e.isFile())) return false;
  return entries.every((e) => {
    if (e.isFile()) return MODEL_FILES.has(e.name);
    if (!e.isDirectory() || !MODULE_FOLDER.test(e.name)) return false;
    return readdirSync(join(dir, e.name), { withFileTypes: true }).every((f) => f.isFile() && MODEL_FILES.has(f.name));
  });
}

export interface WriteModelOptions {
  /** Replace `folder` even when it is a file or a folder that is not a saved model (its content is deleted). */
  overwrite?: boolean;
}

/**
 * Writes the sentence-transformers layout into a temp folder beside `folder`, then swaps it in atomically.
 * Never destroys what it does not own: a file at `folder`, or a non-empty folder that is not a saved model
 * (isSavedModelFolder), is refused unless `overwrite` is set. A lock beside the target makes a second save to
 * the same folder at the same time refuse; temporaries left by a killed save are removed first. Disk-full,
 * read-only and permission failures say what failed and that the previous model is intact.
 */
export function writeModelFolder(folder: string, model: ModelFolder, options: WriteModelOptions = {}): void {
  const target = resolve(folder);
  const what = "the model";
  const hadPrevious = checkFolderTarget(target, {
    what: "a model folder",
    overwrite: options.overwrite,
    isOurs: isSavedModelFolder,
    oursRule: "a saved model folder holds modules.json and only the files save() writes",
  });
  let release: () => void;
  try {
    release = lockTarget(target, what);
  } catch (err) {
    throw saveError(err, what, target, hadPrevious);
  }
  try {
    cleanStaleTemporaries(target);
    writeModelFolderUnlocked(target, model, hadPrevious);
  } finally {
    release();
  }
}

function writeModelFolderUnlocked(target: string, model: ModelFolder, hadPrevious: boolean): void {
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${stamp}`);
  try {
    mkdirSync(tmp);
    const modules: ModuleEntry[] = [];
    const first = model.first;
    if (first.kind === "transformer") {
      modules.push({ idx: 0, name: "0", path: "", type: `${MODULE_PREFIX}Transformer` });
      writeJson(join(tmp, "config.json"), transformerConfigToJson(first.config));
      writeSafetensors(join(tmp, "model.safetensors"), first.weights);
      first.tokenizer.save(tmp);
      writeJson(join(tmp, "sentence_bert_config.json"), {
        ...first.sentenceBertConfig,
        max_seq_length: first.tokenizer.maxSeqLength,
        do_lower_case: first.tokenizer.lowerCaseInput,
      });
    } else {
      modules.push({ idx: 0, name: "0", path: "0_StaticEmbedding", type: `${MODULE_PREFIX}StaticEmbedding` });
      const sub = join(tmp, "0_StaticEmbedding");
      mkdirSync(sub);
      writeSafetensors(join(sub, "model.safetensors"), first.weights);
      first.tokenizer.save(sub, { jsonOnly: true });
    }
    if (model.pooling) {
      const idx = modules.length;
      modules.push({ idx, name: String(idx), path: `${idx}_Pooling`, type: `${MODULE_PREFIX}Pooling` });
      mkdirSync(join(tmp, `${idx}_Pooling`));
      writeJson(join(tmp, `${idx}_Pooling`, "config.json"), model.pooling);
    }
    if (model.normalize) {
      const idx = modules.length;
      modules.push({ idx, name: String(idx), path: `${idx}_Normalize`, type: `${MODULE_PREFIX}Normalize` });
      mkdirSync(join(tmp, `${idx}_Normalize`));
    }
    if (model.onnx) writeFileAtomic(join(tmp, "onnx", "model.onnx"), model.onnx);
    if (model.onnxQuantized) writeFileAtomic(join(tmp, "onnx", "model_quantized.onnx"), model.onnxQuantized);
    writeJson(join(tmp, "modules.json"), modules);
    writeJson(join(tmp, "config_sentence_transformers.json"), {
      prompts: {},
      default_prompt_name: null,
      similarity_fn_name: "cosine",
      ...model.stConfig,
    });
    replaceFolder(tmp, target);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw saveError(err, "the model", target, hadPrevious);
  }
}
