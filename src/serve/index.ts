/**
 * src/serve: the model behind an OpenAI-compatible HTTP API (the last step of the pipeline:
 * data -> model -> train -> eval/retrieval -> serve).
 *
 *   createEmbeddingServer({ model, apiKey?, limits... })  fastify app: /v1/embeddings, /v1/models, /info, /health, /metrics
 *   (internals: DynamicBatcher in batcher.ts, ServerMetrics in metrics.ts)
 *   ApiError                                              errors in OpenAI's shape with their HTTP status
 */
export {
  createEmbeddingServer,
  defaultModelName,
  inferencePathOf,
  type EmbeddingServer,
  type ServableModel,
  type ServerOptions,
} from "./server";
export { ApiError } from "./errors";
