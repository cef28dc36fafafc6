/**
 * config.json (Hugging Face transformers) -> TransformerConfig, and back.
 *
 * Supported: BERT-style (`model_type: "bert"`: all-MiniLM-L6-v2, BAAI/bge-small-en-v1.5, bge-base) and
 * RoBERTa-style (`model_type: "roberta"`: all-distilroberta-v1) encoders with absolute position embeddings.
 * Anything else is refused with a message that names the file and the supported architectures, rather than
 * computing something silently wrong. Missing fields take transformers' BertConfig / RobertaConfig defaults.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Architecture, TransformerConfig } from "./types";

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ["bert", "roberta"];
const ACTIVATIONS = ["gelu", "gelu_new", "relu"] as const;

/** transformers' BertConfig / RobertaConfig constructor defaults. */
const BERT_DEFAULTS: Record<string, number | string> = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};
const DEFAULTS: Record<Architecture, Record<string, number | string>> = {
  bert: BERT_DEFAULTS,
  roberta: { ...BERT_DEFAULTS, vocab_size: 50265, pad_token_id: 1 },
};

/** Parses a config.json object; `source` (the file path) is named in every error. */
export function parseTransformerConfig(raw: Record<string, unknown>, source = "config.json"): TransformerConfig {
  const modelType = raw.model_type;
  if (typeof modelType !== "string" || !(SUPPORTED_ARCHITECTURES as readonly string[]).includes(modelType)) {
    const arch = Array.isArray(raw.architectures) ? ` (architectures: ${raw.architectures.join(", ")})` : "";
    throw new Error(
      `${source}: model_type ${JSON.stringify(modelType)}${arch} is not supported. Supported architectures: ` +
        `${SUPPORTED_ARCHITECTURES.join(", ")} (e.g. sentence-transformers/all-MiniLM-L6-v2, BAAI/bge-small-en-v1.5, ` +
        "sentence-transformers/all-distilroberta-v1). Choose a BERT- or RoBERTa-based model.",
    );
  }
  const architecture = modelType as Architecture;
  const d = DEFAULTS[architecture];
  const int = (key: string, min: number): number => {
    const v = raw[key] ?? d[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min)
      throw new Error(`${source}: "${key}" must be an integer >= ${min}, found ${JSON.stringify(v)}.`);
    return v;
  };
  const positionType = raw.position_embedding_type ?? "absolute";
  if (positionType !== "absolute")
    throw new Error(
      `${source}: position_embedding_type ${JSON.stringify(positionType)} is not supported; only "absolute" (what BERT, MiniLM, bge and RoBERTa use).`,
    );
  const act = raw.hidden_act ?? d.hidden_act;
  if (typeof act !== "string" || !(ACTIVATIONS as readonly string[]).includes(act))
    throw new Error(
      `${source}: hidden_act ${JSON.stringify(act)} is not supported; supported: ${ACTIVATIONS.join(", ")}.`,
    );
  const eps = raw.layer_norm_eps ?? d.layer_norm_eps;
  if (typeof eps !== "number" || !(eps > 0))
    throw new Error(`${source}: "layer_norm_eps" must be a positive number, found ${JSON.stringify(eps)}.`);
  const cfg: TransformerConfig = {
    architecture,
    vocabSize: int("vocab_size", 1),
    hiddenSize: int("hidden_size", 1),
    numHiddenLayers: int("num_hidden_layers", 0),
    numAttentionHeads: int("num_attention_heads", 1),
    intermediateSize: int("intermediate_size", 1),
    hiddenAct: act as TransformerConfig["hiddenAct"],
    maxPositionEmbeddings: int("max_position_embeddings", 1),
    typeVocabSize: int("type_vocab_size", 1),
    layerNormEps: eps,
    padTokenId: int("pad_token_id", 0),
    raw: { ...raw },
  };
  if (cfg.hiddenSize % cfg.numAttentionHeads !== 0)
    throw new Error(
      `${source}: hidden_size ${cfg.hiddenSize} is not a multiple of num_attention_heads ${cfg.numAttentionHeads}.`,
    );
  return cfg;
}

/** Reads and parses a config.json file. */
export function readTransformerConfig(path: string): TransformerConfig {
  if (!existsSync(path))
    throw new Error(
      `${path}: missing config.json (the transformer's architecture); the model folder is incomplete — re-download or re-save it.`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message}).`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error(`${path}: expected a JSON object.`);
  return parseTransformerConfig(raw as Record<string, unknown>, path);
}

/** config.json contents for a TransformerConfig: the raw object it came from, with our fields written over it. */
export function transformerConfigToJson(cfg: TransformerConfig): Record<string, unknown> {
  return {
    ...cfg.raw,
    model_type: cfg.architecture,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numHiddenLayers,
    num_attention_heads: cfg.numAttentionHeads,
    intermediate_size: cfg.intermediateSize,
    hidden_act: cfg.hiddenAct,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    type_vocab_size: cfg.typeVocabSize,
    layer_norm_eps: cfg.layerNormEps,
    pad_token_id: cfg.padTokenId,
  };
}
