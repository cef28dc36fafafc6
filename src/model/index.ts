/**
 * The model package in one import: load / encode / save sentence-embedding models. The pieces they are built
 * from (tokenizer, safetensors, Hub cache, folder layout, encoder, pooling) are importable from their files
 * for training code, tests and teaching (the ONNX graph and its folder check in ./onnx, the offline models'
 * names in ./sentence-transformer).
 */
export {
  loadModel,
  SentenceTransformer,
  type LoadOptions,
  type ModelInput,
  type SaveOptions,
} from "./sentence-transformer";
export type { HubOptions } from "./hub";
export { embeddingRow, type Embedder, type Embeddings, type EncodeOptions } from "./types";
export type { ModelDtype } from "./sentence-transformer";
export { exportOnnx } from "./onnx/export";
