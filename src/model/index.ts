/**
 * The model package in one import: load / encode / save sentence-embedding models, and the pieces they are
 * built from (tokenizer, safetensors, Hub cache, folder layout, encoder, pooling) for training and teaching.
 */
export * from "./types";
export { SentenceTransformer, loadModel, offlineModel, fromModelFolder, OFFLINE_HINT, OFFLINE_MODEL_NAMES } from "./sentence-transformer";
export type { OfflineModelName } from "./sentence-transformer";
export { OFFLINE_MODEL_FILE, OFFLINE_PRETRAIN_RECIPE, readOfflineModelFile } from "./offline-pretrained";
export type { OfflinePretrainRecipe } from "./offline-pretrained";
export type { ModelInput, EncodeStats, LoadOptions, SentenceTransformerParts } from "./sentence-transformer";
export { Tokenizer, offlineBertTokenizer, offlineBertTokenizerFiles, offlineBertVocab, readTokenizerFiles, wordPieceTokenizerJson } from "./tokenizer";
export type { TokenizerFiles, TokenizerOptions, EncodedText } from "./tokenizer";
export { readSafetensors, writeSafetensors, parseSafetensors, serializeSafetensors, SafetensorsError } from "./safetensors";
export { parseTransformerConfig, readTransformerConfig, transformerConfigToJson, SUPPORTED_ARCHITECTURES } from "./config";
export { readModelFolder, writeModelFolder, isSavedModelFolder, meanPooling } from "./folder";
export type { ModelFolder, TransformerModule, StaticModule, WriteModelOptions } from "./folder";
export { resolveHubModel, cachedSnapshot, parseHubId, repoCacheFolder } from "./hub";
export type { HubOptions, HubModel } from "./hub";
export { TransformerEncoder } from "./encoder";
export { StaticEmbedding } from "./static-embedding";
export { pool, l2normalize, poolingConfig, poolingModes, pooledDimension } from "./pooling";
