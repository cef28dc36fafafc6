/**
 * The model package in one import: load / encode / save sentence-embedding models. The pieces they are built
 * from (tokenizer, safetensors, Hub cache, folder layout, encoder, pooling) are importable from their files
 * for training code, tests and teaching.
 */
export {
  loadModel,
  SentenceTransformer,
  type EncodeStats,
  type LoadOptions,
  type ModelInput,
} from "./sentence-transformer";
export type { HubOptions } from "./hub";
export type { WriteModelOptions } from "./folder";
export { embeddingRow, type Embedder, type Embeddings, type EncodeOptions } from "./types";
export { OFFLINE_MODEL_NAMES, type OfflineModelName } from "./sentence-transformer";
export type { EncodeRuntime, EncodeRuntimeChoice, ModelDtype, SaveOptions } from "./sentence-transformer";
export {
  exportOnnx,
  type ExportOnnxOptions,
  type ExportOnnxResult,
  type ExportQuantizedResult,
} from "./onnx/export";
export { ONNX_FILE, ONNX_QUANTIZED_FILE, onnxFileStatus, type OnnxFileStatus } from "./onnx/folder";
export {
  QUANTIZE_CHECK_TEXTS,
  QUANTIZED_MIN_COSINE,
  QUANTIZED_MIN_MEAN_COSINE,
  quantizeOnnxModel,
  quantizeVerified,
  type QuantizeOptions,
  type QuantizeResult,
  type QuantizedCheck,
} from "./onnx/quantize";
