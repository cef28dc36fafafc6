/**
 * The folder of a cross-encoder, as Python's `CrossEncoder(path)` reads it and `CrossEncoder.save(path)` writes it
 * (sentence-transformers v4: the Hugging Face layout of AutoModelForSequenceClassification, nothing else):
 *
 *   config.json         architectures ["BertForSequenceClassification"] (or XLMRoberta... / Roberta...), model_type,
 *                       id2label / label2id (num_labels = their size), and sentence-transformers' own block
 *                       "sentence_transformers": {"activation_fn": "torch.nn.modules.activation.Sigmoid", "version"}
 *   model.safetensors   bert.embeddings.* / bert.encoder.layer.N.* / bert.pooler.dense.* / classifier.{weight,bias}
 *                       (RoBERTa and XLM-R: roberta.* and classifier.dense.* + classifier.out_proj.*, no pooler)
 *   tokenizer.json, tokenizer_config.json (model_max_length = CrossEncoder.max_length), special_tokens_map.json,
 *   vocab.txt (WordPiece)
 *
 * A folder of a plain encoder (architectures BertModel, or no classifier weights) loads as Python's CrossEncoder does
 * it: num_labels 1 and a freshly initialised head (normal(0, initializer_range), bias 0; seeded here).
 * max_length: tokenizer_config.json's model_max_length, capped at the positions the model has (CrossEncoder.__init__).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseTransformerConfig, transformerConfigToJson } from "../model/config";
import { normalSampler } from "../model/embedded";
import { TRANSFORMER_FILES } from "../model/hub";
import { readSafetensors, writeSafetensors } from "../model/safetensors";
import { readTokenizerFiles, Tokenizer } from "../model/tokenizer";
import type { HostTensor, TransformerConfig, WeightMap } from "../model/types";
import {
  checkFolderTarget,
  cleanStaleTemporaries,
  lockTarget,
  replaceFolder,
  saveError,
  writeFileAtomic,
} from "../files";
import { mulberry32 } from "../random";
import { DEFAULT_SEED } from "../defaults";

/** What `config.json`'s sentence_transformers.activation_fn may name (what predict applies by default). */
export type ScoreActivation = "sigmoid" | "identity";

const ACTIVATION_PATHS: Record<string, ScoreActivation> = {
  "torch.nn.modules.activation.Sigmoid": "sigmoid",
  "torch.nn.modules.linear.Identity": "identity",
};
const ACTIVATION_NAME: Record<ScoreActivation, string> = {
  sigmoid: "torch.nn.modules.activation.Sigmoid",
  identity: "torch.nn.modules.linear.Identity",
};

/** The sentence-transformers version whose CrossEncoder.save layout this writes (config.json's block). */
export const CROSS_ENCODER_FORMAT_VERSION = "4.1.0";

/** A cross-encoder as data: the encoder's config and weights (no prefix), the head's weights, the tokenizer. */
export interface CrossEncoderFolder {
  config: TransformerConfig;
  /** Encoder weights under Hugging Face names without "bert." / "roberta." (embeddings.*, encoder.layer.N.*). */
  encoderWeights: WeightMap;
  /** Head weights under their full names: bert.pooler.dense.*, classifier.* (RoBERTa: classifier.dense/out_proj.*). */
  headWeights: WeightMap;
  numLabels: number;
  id2label: Record<string, string>;
  tokenizer: Tokenizer;
  maxLength: number;
  activation: ScoreActivation;
  /** True when the head came from the folder; false when it was initialised here (a plain encoder). */
  headTrained: boolean;
}

/** "bert" or "roberta" (XLM-R is RoBERTa's architecture with another vocabulary); the weights' prefix. */
function encoderPrefix(config: TransformerConfig): string {
  return `${config.architecture}.`;
}

/** The head's weight names and shapes for an architecture: BERT's pooler + classifier, RoBERTa's classification head. */
export function headShapes(config: TransformerConfig, numLabels: number): Map<string, number[]> {
  const H = config.hiddenSize;
  return config.architecture === "bert"
    ? new Map([
        ["bert.pooler.dense.weight", [H, H]],
        ["bert.pooler.dense.bias", [H]],
        ["classifier.weight", [numLabels, H]],
        ["classifier.bias", [numLabels]],
      ])
    : new Map([
        ["classifier.dense.weight", [H, H]],
        ["classifier.dense.bias", [H]],
        ["classifier.out_proj.weight", [numLabels, H]],
        ["classifier.out_proj.bias", [numLabels]],
      ]);
}

/** Hugging Face's _init_weights for the head: Linear weights ~ normal(0, initializer_range), biases 0 (seeded). */
export function initHeadWeights(config: TransformerConfig, numLabels: number, seed: number = DEFAULT_SEED): WeightMap {
  const range = typeof config.raw.initializer_range === "number" ? config.raw.initializer_range : 0.02;
  const normal = normalSampler(mulberry32(seed));
  const out: WeightMap = new Map();
  for (const [name, shape] of headShapes(config, numLabels)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith(".weight")) for (let i = 0; i < data.length; i++) data[i] = normal() * range;
    out.set(name, { shape, data });
  }
  return out;
}

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path))
    throw new Error(
      `${path}: missing; a cross-encoder folder needs config.json, model.safetensors and tokenizer files.`,
    );
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${path}: cannot parse (${(err as Error).message}); re-download or re-save the model.`);
  }
}

/** The default activation: config.json's sentence_transformers.activation_fn, the pre-v4 key, else sigmoid for one label. */
function activationOf(raw: Record<string, unknown>, numLabels: number, source: string): ScoreActivation {
  const st = raw.sentence_transformers as Record<string, unknown> | undefined;
  const path = st?.activation_fn ?? raw.sbert_ce_default_activation_function;
  if (path === undefined || path === null) return numLabels === 1 ? "sigmoid" : "identity";
  const known = ACTIVATION_PATHS[String(path)];
  if (!known)
    throw new Error(
      `${source}: sentence_transformers.activation_fn ${JSON.stringify(path)} is not supported; ` +
        `supported: ${Object.keys(ACTIVATION_PATHS).join(", ")}. Set it to one of them (or remove it for the default).`,
    );
  return known;
}

/** The id2label of config.json, or LABEL_0.. for num_labels (transformers' PretrainedConfig default). */
function labelsOf(raw: Record<string, unknown>, source: string, plainEncoder: boolean): Record<string, string> {
  if (plainEncoder) return { "0": "LABEL_0" };
  const given = raw.id2label;
  if (given && typeof given === "object" && !Array.isArray(given) && Object.keys(given).length > 0)
    return Object.fromEntries(Object.entries(given as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  const n = raw.num_labels ?? 2; // PretrainedConfig's default
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1)
    throw new Error(`${source}: num_labels ${JSON.stringify(n)} must be a positive integer.`);
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
}

/** config.json -> TransformerConfig; XLM-R ("xlm-roberta") is RoBERTa's encoder with another vocabulary. */
function parseConfig(raw: Record<string, unknown>, source: string): TransformerConfig {
  const xlmr = raw.model_type === "xlm-roberta";
  const config = parseTransformerConfig(xlmr ? { ...raw, model_type: "roberta" } : raw, source);
  return { ...config, raw };
}

/** Reads a cross-encoder folder (or a plain encoder folder, which gets a new one-label head). */
export function readCrossEncoderFolder(dir: string, options: { seed?: number } = {}): CrossEncoderFolder {
  const configPath = join(dir, "config.json");
  const raw = readJson(configPath);
  const config = parseConfig(raw, configPath);
  const architectures = Array.isArray(raw.architectures) ? raw.architectures.map(String) : [];
  const classifierTrained = architectures.some((a) => a.endsWith("ForSequenceClassification"));
  const stPath = join(dir, "model.safetensors");
  if (!existsSync(stPath))
    throw new Error(
      `${stPath}: missing. A cross-encoder folder needs its weights as model.safetensors ` +
        "(Python: CrossEncoder(...).save(folder), or model.save_pretrained(folder, safe_serialization=True)).",
    );
  const all = readSafetensors(stPath).tensors;
  const prefix = encoderPrefix(config);
  const prefixed = [...all.keys()].some((k) => k.startsWith(`${prefix}embeddings.`));
  const encoderWeights: WeightMap = new Map();
  const found: WeightMap = new Map();
  for (const [name, t] of all) {
    if (name.startsWith("classifier.") || name.startsWith(`${prefix}pooler.`)) found.set(name, t);
    else if (!prefixed) {
      if (name.startsWith("pooler.")) found.set(prefix + name, t);
      else encoderWeights.set(name, t);
    } else if (name.startsWith(prefix)) encoderWeights.set(name.slice(prefix.length), t);
  }
  const id2label = labelsOf(raw, configPath, !classifierTrained);
  const numLabels = Object.keys(id2label).length;
  const shapes = headShapes(config, numLabels);
  let headWeights: WeightMap;
  if (classifierTrained) {
    headWeights = new Map();
    for (const [name, shape] of shapes) {
      const t = found.get(name);
      if (!t)
        throw new Error(
          `${stPath}: missing weight "${name}" (shape [${shape}]) of the ${architectures[0]} head; ` +
            "the file does not match config.json's architectures.",
        );
      if (t.shape.join() !== shape.join())
        throw new Error(
          `${stPath}: weight "${name}" has shape [${t.shape}], expected [${shape}] for ${numLabels} label(s) and ` +
            `hidden_size ${config.hiddenSize}; config.json's id2label / num_labels does not match the weights.`,
        );
      headWeights.set(name, t);
    }
  } else {
    // Python's CrossEncoder on a plain encoder: a new classifier (the BERT pooler is kept when the file has one).
    headWeights = initHeadWeights(config, numLabels, options.seed);
    for (const name of headWeights.keys()) {
      const t = found.get(name);
      if (t && name.includes("pooler") && t.shape.join() === shapes.get(name)?.join()) headWeights.set(name, t);
    }
  }
  const tokenizerFiles = readTokenizerFiles(dir);
  const positions =
    config.architecture === "roberta"
      ? config.maxPositionEmbeddings - config.padTokenId - 1
      : config.maxPositionEmbeddings;
  const tokMax = tokenizerFiles.tokenizerConfig.model_max_length;
  const maxLength = Math.min(positions, typeof tokMax === "number" && tokMax > 0 ? tokMax : Infinity);
  if (!Number.isInteger(maxLength) || maxLength < 4)
    throw new Error(`${join(dir, "tokenizer_config.json")}: model_max_length ${tokMax} leaves no room for a pair.`);
  const tokenizer = new Tokenizer(tokenizerFiles, { maxSeqLength: maxLength, source: dir });
  return {
    config,
    encoderWeights,
    headWeights,
    numLabels,
    id2label,
    tokenizer,
    maxLength,
    activation: activationOf(raw, numLabels, configPath),
    headTrained: classifierTrained,
  };
}

/** The files CrossEncoder.save writes; a folder holding only these is one we may replace. */
const FOLDER_FILES = new Set(TRANSFORMER_FILES.filter((f) => f !== "sentence_bert_config.json"));

function isSavedCrossEncoder(dir: string): boolean {
  const entries = readdirSync(dir, { withFileTypes: true });
  return entries.some((e) => e.name === "config.json") && entries.every((e) => e.isFile() && FOLDER_FILES.has(e.name));
}

/** config.json as CrossEncoder.save writes it: the encoder's fields, the architecture, labels, the s-t block. */
export function crossEncoderConfigJson(folder: Omit<CrossEncoderFolder, "tokenizer">): Record<string, unknown> {
  const { config } = folder;
  const modelType = config.raw.model_type === "xlm-roberta" ? "xlm-roberta" : config.architecture;
  const arch =
    modelType === "xlm-roberta"
      ? "XLMRobertaForSequenceClassification"
      : config.architecture === "roberta"
        ? "RobertaForSequenceClassification"
        : "BertForSequenceClassification";
  const st = (config.raw.sentence_transformers ?? {}) as Record<string, unknown>;
  return {
    ...transformerConfigToJson(config),
    model_type: modelType,
    architectures: [arch],
    id2label: folder.id2label,
    label2id: Object.fromEntries(Object.entries(folder.id2label).map(([k, v]) => [v, Number(k)])),
    sentence_transformers: {
      ...st,
      activation_fn: ACTIVATION_NAME[folder.activation],
      version: CROSS_ENCODER_FORMAT_VERSION,
    },
  };
}

/**
 * Writes the folder into a temp folder beside `dir` and swaps it in (atomic); refuses a non-empty folder that is not a
 * saved cross-encoder unless `overwrite`.
 */
export function writeCrossEncoderFolder(
  dir: string,
  folder: CrossEncoderFolder,
  options: { overwrite?: boolean } = {},
) {
  const target = resolve(dir);
  const what = "the cross-encoder";
  const hadPrevious = checkFolderTarget(target, {
    what: "a cross-encoder folder",
    overwrite: options.overwrite,
    isOurs: isSavedCrossEncoder,
    oursRule: "a saved cross-encoder folder holds config.json, model.safetensors and tokenizer files only",
  });
  const release = lockTarget(target, what);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  try {
    cleanStaleTemporaries(target);
    mkdirSync(tmp);
    writeFileAtomic(join(tmp, "config.json"), JSON.stringify(crossEncoderConfigJson(folder), null, 2));
    const prefix = encoderPrefix(folder.config);
    const weights: WeightMap = new Map<string, HostTensor>();
    for (const [name, t] of folder.encoderWeights) weights.set(prefix + name, t);
    for (const [name, t] of folder.headWeights) weights.set(name, t);
    writeSafetensors(join(tmp, "model.safetensors"), weights, { format: "pt" });
    const tokenizer = folder.tokenizer;
    const withMax = new Tokenizer(
      {
        ...tokenizer.files,
        tokenizerConfig: { ...tokenizer.files.tokenizerConfig, model_max_length: folder.maxLength },
      },
      { maxSeqLength: folder.maxLength },
    );
    withMax.save(tmp);
    replaceFolder(tmp, target);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw saveError(err, what, target, hadPrevious);
  } finally {
    release();
  }
}
