// The re-ranking area: pair scorers (cross-encoders, the contract in types.ts) and what is built on them.
export { OnnxCrossEncoder } from "./onnx-scorer";
export { exportCrossEncoderOnnx } from "./onnx";
export { RerankedRetriever } from "./reranked-retriever";
