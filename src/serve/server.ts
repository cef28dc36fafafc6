/**
 * An OpenAI-compatible embedding server on fastify: POST /v1/embeddings exactly as OpenAI defines it, so
 * an application that already uses the `openai` client (or LangChain's OpenAIEmbeddings) only changes its
 * baseURL. Routes (each a fastify plugin under ./routes, its body described by a JSON schema):
 *
 *   POST /v1/embeddings   {input, model, encoding_format?, dimensions?, user?} -> {object:"list", data, model, usage}
 *   GET  /v1/models       the served model (OpenAI's list shape), plus its inference path
 *   GET  /info            model, dimension, limits, batching, inference path (TEI has /info too)
 *   GET  /health          200 once the model is loaded, 503 before (and while shutting down)
 *   GET  /metrics         Prometheus text: requests by status, latency / batch-size histograms, queue depth
 *
 * What every request passes first is a shared plugin (./plugins), registered in this order, as their onRequest
 * hooks run in it: request metrics (counted open from its headers), the open-request gate (503 while closing, 429
 * over max_concurrent_requests), bearer auth; OpenAI-shaped errors for whatever a route or fastify throws.
 *
 * Adding a route: write src/serve/routes/<name>.ts as a fastify plugin that receives what it needs through its
 * options (the ServedModel for the model and its batcher, the Limits, the ServerMetrics, or a scorer of its own
 * given to ServerOptions), with a JSON `schema` for its body, `config: { hint: "POST /v1/<name>" }` so that the 404
 * of an unknown route lists it, and `config: { metered: true }` if it should be timed and counted in flight; then
 * register it below the others with one line (an optional route under its option), e.g.
 *   if (options.reranker) app.register(rerankRoute, { scorer: options.reranker, limits, metrics });
 *
 * Requests go through a DynamicBatcher (./batcher): concurrent requests share model batches under a token
 * budget, and a full queue answers 429 with Retry-After instead of letting requests pile up.
 *
 * Faults, and what a client sees (each one tested in test/serve-faults.test.ts):
 *   too many open requests   429 + Retry-After before the body is read (max_concurrent_requests, TEI's 512), so
 *                            memory is bounded by that count x the body limit, plus the bounded queue
 *   queue full               429 + Retry-After (max_queued_inputs)
 *   body over the limit      413 in OpenAI's error shape
 *   slow client              408 (OpenAI's error shape) when the headers take longer than headersTimeoutMs or
 *                            the whole request longer than requestTimeoutMs; the connection is closed
 *   client disconnects       its inputs still waiting are dropped; the batch it shared finishes for the others
 *   encode() throws          500 for the requests in that batch; the server goes on serving
 *   shutting down            close(): stop listening, 503 + Retry-After on connections still open, finish what
 *                            is in flight, then close; after the grace period the rest is cut off
 * Long inputs, like OpenAI: an input over max_input_tokens (8,192) is a 400 (`--long-inputs truncate` cuts it
 * instead, as TEI's truncate=true); an input within that limit but over the model's own max_seq_length is
 * truncated to the model's window, as sentence-transformers' encode() does (the model cannot see further).
 *
 * Token counts (usage, limits) come from the model's own tokenizer, without special tokens, as OpenAI counts
 * them. Token-id inputs are read as ids of *this* model's vocabulary (OpenAI's ids are tiktoken ids and mean
 * nothing to another model), decoded to text and embedded like text.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { ApiError } from "./errors";
import { ServerMetrics } from "./metrics";
import { bearerAuth } from "./plugins/bearer-auth";
import { requestMetrics } from "./plugins/metrics";
import { openAIClientErrorHandler, openAIErrors } from "./plugins/openai-errors";
import { RequestGate, openRequestGate } from "./plugins/open-requests";
import { STRICT_AJV } from "./plugins/strict-schemas";
import { embeddingsRoute, type Limits } from "./routes/embeddings";
import { modelsRoute } from "./routes/models";
import { statusRoutes } from "./routes/status";
import { ServedModel, type ServableModel } from "./served-model";
import type { PairScorer } from "../rerank/types";
import { rerankRoutes } from "./routes/rerank";
import { searchPlugin, watchStore } from "./routes/search";
import { prepareInputs } from "./routes/embeddings";

export { defaultModelName, inferencePathOf, type ServableModel } from "./served-model";
export { prepareInputs, toBase64, truncateAndNormalize, type Limits } from "./routes/embeddings";

export interface ServerOptions {
  /** The model, or a promise of it: the server listens at once and /health says 503 until it resolves. */
  model: ServableModel | Promise<ServableModel>;
  /** The id clients send as `model` (default: the model's name). */
  modelName?: string;
  /** Other ids accepted as `model` (e.g. "text-embedding-3-small" for clients that cannot change it). */
  aliases?: string[];
  /** Require `Authorization: Bearer <apiKey>` on every route except /health and /metrics. */
  apiKey?: string;
  /** Inputs per request (default 2,048, OpenAI's limit). */
  maxInputs?: number;
  /** Tokens per input (default 8,192, OpenAI's limit; the model's own max_seq_length applies too). */
  maxInputTokens?: number;
  /** Tokens per request (default 300,000, OpenAI's limit). */
  maxRequestTokens?: number;
  /**
   * Inputs over maxInputTokens: "reject" (default, 400 as OpenAI) or "truncate" (as TEI's truncate=true).
   * Inputs over the model's max_seq_length but within maxInputTokens are always truncated to the model's window.
   */
  onLongInput?: "truncate" | "reject";
  /** Request body limit in bytes (default 8 MiB); larger bodies get 413. */
  maxBodyBytes?: number;
  /** Dynamic batching: padded tokens per model batch, inputs per batch, inputs allowed to wait. */
  maxBatchTokens?: number;
  maxBatchSize?: number;
  maxQueuedInputs?: number;
  /** Requests open at once, counted from their headers (default 512, TEI's max_concurrent_requests); more get 429. */
  maxConcurrentRequests?: number;
  /** Time for a client to send its headers (default 10 s) and its whole request (default 60 s); then 408. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** A cross-encoder for POST /v1/rerank (routes/rerank.ts), served as `rerankerName` (default: its name). */
  reranker?: PairScorer | Promise<PairScorer>;
  rerankerName?: string;
  /** A vector store to answer POST /v1/search over (routes/search.ts); no route without one. */
  store?: Parameters<typeof watchStore>[0];
}

export interface EmbeddingServer {
  app: FastifyInstance;
  metrics: ServerMetrics;
  /** Resolves when the model is loaded (rejects if loading failed). */
  ready: Promise<ServableModel>;
  /** Starts listening; resolves with the base URL, e.g. http://127.0.0.1:8080. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Graceful stop: stops listening, answers new requests on open connections with 503 + Retry-After, finishes
   * the requests in flight, then closes every connection. After `graceMs` (default: no limit) the requests
   * still open are cut off. Resolves with whether all were answered and how many were cut off.
   */
  close(options?: { graceMs?: number }): Promise<{ drained: boolean; cutOff: number }>;
}

/** /health and /metrics: open without a key and outside the open-request limit, so that monitoring works. */
const isMonitoring = (req: FastifyRequest) => {
  const path = req.url.split("?")[0];
  return path === "/health" || path === "/metrics";
};

export function createEmbeddingServer(options: ServerOptions): EmbeddingServer {
  const limits: Limits = {
    maxInputs: options.maxInputs ?? 2048,
    maxInputTokens: options.maxInputTokens ?? 8192,
    maxRequestTokens: options.maxRequestTokens ?? 300_000,
    onLongInput: options.onLongInput ?? "reject",
  };
  for (const [k, v] of Object.entries(limits))
    if (k !== "onLongInput" && (!Number.isInteger(v) || (v as number) < 1))
      throw new RangeError(`createEmbeddingServer: ${k} ${v} must be a positive integer.`);
  if (limits.onLongInput !== "truncate" && limits.onLongInput !== "reject")
    throw new RangeError(`createEmbeddingServer: onLongInput "${limits.onLongInput}" must be "truncate" or "reject".`);
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const maxConcurrent = options.maxConcurrentRequests ?? 512;
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const requestTimeout = options.requestTimeoutMs ?? 60_000;
  for (const [k, v] of Object.entries({ maxConcurrent, headersTimeout, requestTimeout }))
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`createEmbeddingServer: ${k} ${v} must be a positive integer.`);

  const metrics: ServerMetrics = new ServerMetrics(() => served.batcher?.depth ?? 0);
  const served: ServedModel = new ServedModel(
    options.model,
    {
      modelName: options.modelName,
      aliases: options.aliases,
      batching: {
        maxBatchTokens: options.maxBatchTokens,
        maxBatchSize: options.maxBatchSize,
        maxQueuedInputs: options.maxQueuedInputs,
      },
    },
    metrics,
  );
  const gate = new RequestGate(maxConcurrent);

  const app = Fastify({
    bodyLimit: maxBodyBytes,
    logger: false,
    forceCloseConnections: "idle",
    // The gate answers 503 in OpenAI's shape, with Retry-After, while closing.
    return503OnClosing: false,
    // Node's own slow-client guards; the check runs every second, so a limit holds to within a second.
    http: { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) },
    requestTimeout,
    clientErrorHandler: openAIClientErrorHandler(headersTimeout, requestTimeout),
    ajv: STRICT_AJV,
  });

  app.register(openAIErrors);
  app.register(requestMetrics, { metrics });
  app.register(openRequestGate, {
    gate,
    exempt: isMonitoring,
    shuttingDown: () =>
      new ApiError(503, "The server is shutting down; send the request to another instance.", {
        code: "shutting_down",
        retryAfter: 1,
      }),
    busy: () =>
      new ApiError(429, `The server is busy: ${maxConcurrent} requests are open (its limit); retry shortly.`, {
        code: "too_many_requests",
        retryAfter: 1,
      }),
    onBusy: () => metrics.rejectedConcurrency++,
  });
  if (options.apiKey)
    app.register(bearerAuth, {
      key: options.apiKey,
      exempt: isMonitoring,
      messages: {
        missing: "Missing API key: send it as `Authorization: Bearer <key>`.",
        wrong: "Incorrect API key provided.",
      },
    });

  app.register(embeddingsRoute, { served, limits, metrics });
  if (options.reranker) app.register(rerankRoutes, { ...options, ...limits, reranker: options.reranker, metrics });
  if (options.store)
    app.register(searchPlugin, {
      store: watchStore(options.store),
      requireModel: () => served.current(),
      prepare: (text: string) => prepareInputs([{ text }], served.current().m, limits),
      accepted: (id: string) => served.accepts(served.current().m, id),
      served: () => served.servedName(served.current().m),
    });
  app.register(modelsRoute, { served });
  app.register(statusRoutes, { served, limits, metrics, maxBodyBytes, auth: options.apiKey ? "bearer" : "none" });

  return {
    app,
    metrics,
    ready: served.ready,
    async listen(port = 8080, host = "127.0.0.1") {
      await app.listen({ port, host });
      const addr = app.server.address();
      const actual = typeof addr === "object" && addr ? addr.port : port;
      return `http://${host.includes(":") ? `[${host}]` : host}:${actual}`;
    },
    async close({ graceMs = Number.POSITIVE_INFINITY } = {}) {
      gate.closing = true;
      const closed = app.close(); // stops listening now; resolves once every connection has ended
      const deadline = performance.now() + graceMs;
      while (metrics.openRequests > 0 && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, Math.max(1, Math.min(20, deadline - performance.now()))));
      const cutOff = metrics.openRequests;
      // Only idle keep-alive sockets are left, or, after the grace period, the requests cut off.
      app.server.closeAllConnections();
      await closed;
      if (cutOff === 0) await served.batcher?.idle();
      return { drained: cutOff === 0, cutOff };
    },
  };
}
