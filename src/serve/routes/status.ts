/**
 * The server's own state: GET /info (model, dimension, limits, batching, auth: TEI has /info too), GET /health
 * (200 once the model is loaded, 503 before or after a failed load, saying why) and GET /metrics (Prometheus text,
 * ../metrics.ts). /health and /metrics need no key and count against no limit (server.ts).
 */
import type { FastifyPluginAsync } from "fastify";
import type { ServerMetrics } from "../metrics";
import { inferencePathOf, type ServedModel } from "../served-model";
import type { Limits } from "./embeddings";

export interface StatusRoutesOptions {
  served: ServedModel;
  limits: Limits;
  metrics: ServerMetrics;
  maxBodyBytes: number;
  /** "bearer" or "none". */
  auth: string;
}

export const statusRoutes: FastifyPluginAsync<StatusRoutesOptions> = async (app, options) => {
  const { served, limits, metrics } = options;
  app.get("/info", { config: { hint: "/info" } }, async () => {
    const { m, b } = served.current();
    return {
      model: served.servedName(m),
      aliases: served.aliases,
      dimensions: m.dim,
      max_seq_length: Number.isFinite(m.maxSeqLength) ? m.maxSeqLength : null,
      inference_path: inferencePathOf(m),
      limits: {
        max_inputs: limits.maxInputs,
        max_input_tokens: limits.maxInputTokens,
        max_request_tokens: limits.maxRequestTokens,
        long_input: limits.onLongInput,
        max_body_bytes: options.maxBodyBytes,
      },
      batching: {
        max_batch_tokens: b.maxBatchTokens,
        max_batch_size: b.maxBatchSize,
        max_queued_inputs: b.maxQueuedInputs,
      },
      auth: options.auth,
    };
  });
  app.get("/health", { config: { hint: "/health" } }, async (_req, reply) => {
    const m = served.loaded;
    if (m) return { status: "ok", model: served.servedName(m) };
    reply.code(503);
    return served.loadError ? { status: "failed", error: served.loadError.message } : { status: "loading" };
  });
  app.get("/metrics", { config: { hint: "/metrics" } }, async (_req, reply) => {
    reply.type("text/plain; version=0.0.4; charset=utf-8");
    return metrics.render();
  });
};
