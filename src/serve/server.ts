/**
 * An OpenAI-compatible embedding server on fastify: POST /v1/embeddings exactly as OpenAI defines it, so
 * an application that already uses the `openai` client (or LangChain's OpenAIEmbeddings) only changes its
 * baseURL. Routes:
 *
 *   POST /v1/embeddings   {input, model, encoding_format?, dimensions?, user?} -> {object:"list", data, model, usage}
 *   GET  /v1/models       the served model (OpenAI's list shape), plus its inference path
 *   GET  /info            model, dimension, limits, batching, inference path (TEI has /info too)
 *   GET  /health          200 once the model is loaded, 503 before (and while shutting down)
 *   GET  /metrics         Prometheus text: requests by status, latency / batch-size histograms, queue depth
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
import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { backendInfo } from "../backend";
import { l2NormalizeRows } from "../math";
import type { Embeddings } from "../model/types";
import { DynamicBatcher, QueueFullError } from "./batcher";
import { ApiError, badRequest, toApiError } from "./errors";
import { ServerMetrics } from "./metrics";
import { searchPlugin, type SearchRouteOptions, watchStore } from "./routes/search";

/** What the server needs from a model (a SentenceTransformer has all of it). */
export interface ServableModel {
  readonly name: string;
  readonly dim: number;
  /** Longest input in tokens including special tokens (Infinity: no limit). */
  readonly maxSeqLength: number;
  readonly tokenizer: {
    encodeContent(text: string): number[];
    encode(text: string): { ids: number[] };
    decode(ids: number[]): string;
    readonly vocabSize: number;
  };
  encode(texts: string[], options?: { batchSize?: number }): Promise<Embeddings>;
  /** A fixed description of the inference path, when a model has one; read first. */
  readonly inferencePath?: string;
  /**
   * Which runtime encode() picks now and why (SentenceTransformer with the ONNX Runtime path: "onnxruntime" or
   * "tfjs"); read when present, so the server reports whatever the model will really use.
   */
  encodeRuntime?(): { runtime: string; reason: string };
}

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
  /** A vector store to answer POST /v1/search over (./routes/search); no route without one. */
  store?: Parameters<typeof watchStore>[0];
}

interface Limits {
  maxInputs: number;
  maxInputTokens: number;
  maxRequestTokens: number;
  onLongInput: "truncate" | "reject";
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

/**
 * The inference path a model encodes with: its own `inferencePath` when it has one; else what its
 * encodeRuntime() chooses (ONNX Runtime or TensorFlow.js, with the reason); else TensorFlow.js and its backend.
 * The server calls the model's own encode(), so this is the path the requests take.
 */
export function inferencePathOf(model: ServableModel): string {
  if (typeof model.inferencePath === "string" && model.inferencePath) return model.inferencePath;
  const be = backendInfo();
  const tfjs = be ? `tensorflow.js (${be.name} backend, ${be.package})` : "tensorflow.js";
  if (typeof model.encodeRuntime === "function") {
    try {
      const choice = model.encodeRuntime();
      return choice.runtime === "onnxruntime" ? `onnxruntime-node (${choice.reason})` : `${tfjs}; ${choice.reason}`;
    } catch (err) {
      return `${tfjs}; ${(err as Error).message}`;
    }
  }
  return tfjs;
}

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
  const keyDigest = options.apiKey ? sha256(options.apiKey) : undefined;

  let model: ServableModel | undefined;
  let batcher: DynamicBatcher | undefined;
  let loadError: Error | undefined;
  let closing = false;
  const metrics = new ServerMetrics(() => batcher?.depth ?? 0);
  const created = Math.floor(Date.now() / 1000);

  const ready = Promise.resolve(options.model).then(
    (m) => {
      model = m;
      batcher = new DynamicBatcher(m, {
        maxBatchTokens: options.maxBatchTokens,
        maxBatchSize: options.maxBatchSize,
        maxQueuedInputs: options.maxQueuedInputs,
        onBatch: (b) => {
          metrics.batchSize.observe(b.size);
          metrics.inferenceSeconds.observe(b.seconds);
          for (const q of b.queueSeconds) metrics.queueSeconds.observe(q);
        },
        onBatchError: () => metrics.failedBatches++,
      });
      return m;
    },
    (err: unknown) => {
      loadError = err instanceof Error ? err : new Error(String(err));
      throw loadError;
    },
  );
  ready.catch(() => undefined); // reported through /health and the caller's own await of `ready`

  const servedName = (m: ServableModel) => options.modelName ?? m.name;
  const accepted = (m: ServableModel, id: string) => id === servedName(m) || (options.aliases ?? []).includes(id);

  const app = Fastify({
    bodyLimit: maxBodyBytes,
    logger: false,
    forceCloseConnections: "idle",
    // Our onRequest hook answers 503 in OpenAI's shape, with Retry-After, while closing.
    return503OnClosing: false,
    // Node's own slow-client guards; the check runs every second, so a limit holds to within a second.
    http: { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) },
    requestTimeout,
    clientErrorHandler: (err, socket) => {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "ECONNRESET" || socket.destroyed) return;
      const timeout = e.code === "ERR_HTTP_REQUEST_TIMEOUT";
      const apiError = timeout
        ? new ApiError(
            408,
            `The request was not received in time (headers within ${headersTimeout / 1000} s, the whole request within ${requestTimeout / 1000} s).`,
            { code: "request_timeout" },
          )
        : badRequest(`Malformed HTTP request (${e.code ?? e.message}).`, null, "bad_http_request");
      const body = JSON.stringify(apiError.toJSON());
      if (socket.writable)
        socket.write(
          `HTTP/1.1 ${apiError.status} ${timeout ? "Request Timeout" : "Bad Request"}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      socket.destroy();
    },
  });

  app.setErrorHandler((err, _req, reply) => sendError(reply, toApiError(err)));
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new ApiError(
        404,
        `No route ${req.method} ${req.url.split("?")[0]}; this server has POST /v1/embeddings, GET /v1/models, /info, /health, /metrics.`,
        { code: "not_found" },
      ),
    ),
  );

  const isEmbeddings = (route: string | undefined) => route === "/v1/embeddings" || route === "/embeddings";
  let limited = 0; // open requests that count against maxConcurrent
  app.addHook("onRequest", async (req, reply) => {
    // Counted until the response ends or the socket closes, whichever comes first ("close" always fires).
    // /health and /metrics are outside the limit, so that monitoring works under overload.
    const path = req.url.split("?")[0];
    const monitoring = path === "/health" || path === "/metrics";
    metrics.openRequests++;
    if (!monitoring) limited++;
    reply.raw.once("close", () => {
      metrics.openRequests--;
      if (!monitoring) limited--;
      if (!reply.raw.writableFinished && isEmbeddings(req.routeOptions.url)) metrics.clientDisconnects++;
    });
    if (closing) {
      reply.header("connection", "close");
      throw new ApiError(503, "The server is shutting down; send the request to another instance.", {
        code: "shutting_down",
        retryAfter: 1,
      });
    }
    if (limited > maxConcurrent) {
      metrics.rejectedConcurrency++;
      throw new ApiError(429, `The server is busy: ${maxConcurrent} requests are open (its limit); retry shortly.`, {
        code: "too_many_requests",
        retryAfter: 1,
      });
    }
    if (!keyDigest || monitoring) return;
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    // Compare fixed-length digests so that neither the key's content nor its length leaks through timing.
    if (!m || !timingSafeEqual(sha256(m[1]), keyDigest)) {
      throw new ApiError(
        401,
        m ? "Incorrect API key provided." : "Missing API key: send it as `Authorization: Bearer <key>`.",
        {
          code: "invalid_api_key",
        },
      );
    }
  });

  app.addHook("preHandler", async (req, reply) => {
    if (!isEmbeddings(req.routeOptions.url)) return;
    metrics.inFlight++;
    reply.raw.once("close", () => metrics.inFlight--);
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.countRequest(route, reply.statusCode);
    if (isEmbeddings(route)) metrics.latency.observe(reply.elapsedTime / 1000);
  });

  const requireModel = (): { m: ServableModel; b: DynamicBatcher } => {
    if (model && batcher) return { m: model, b: batcher };
    if (loadError)
      throw new ApiError(503, `The model failed to load: ${loadError.message}`, { code: "model_load_failed" });
    throw new ApiError(503, "The model is still loading; retry shortly.", { code: "model_loading", retryAfter: 2 });
  };

  const embeddings = async (req: FastifyRequest, reply: FastifyReply) => {
    const { m, b } = requireModel();
    const body = parseEmbeddingRequest(req.body, m, accepted, servedName(m));
    const prepared = prepareInputs(body.inputs, m, limits);
    // A client that disconnects takes its waiting inputs out of the queue.
    const left = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) left.abort(new Error("the client disconnected"));
    });
    let rows: Float32Array[];
    try {
      rows = await b.embed(prepared.texts, prepared.tokens, left.signal);
    } catch (err) {
      if (err instanceof QueueFullError) {
        metrics.rejectedQueueFull++;
        throw new ApiError(429, err.message, { code: "queue_full", retryAfter: err.retryAfter });
      }
      throw err;
    }
    const total = prepared.tokens.reduce((s, t) => s + t, 0);
    metrics.inputsTotal += rows.length;
    metrics.tokensTotal += total;
    const data = rows.map((row, index) => {
      const v = body.dimensions !== undefined ? truncateAndNormalize(row, body.dimensions) : row;
      return { object: "embedding", index, embedding: body.base64 ? toBase64(v) : Array.from(v) };
    });
    reply.header("x-total-tokens", String(total));
    return { object: "list", data, model: body.model, usage: { prompt_tokens: total, total_tokens: total } };
  };
  app.post("/v1/embeddings", embeddings);
  app.post("/embeddings", embeddings);
  const searchOptions = {
    store: options.store && watchStore(options.store),
    requireModel,
    prepare: (text: string) => prepareInputs([{ text }], requireModel().m, limits),
    accepted: (id: string) => accepted(requireModel().m, id),
    served: () => servedName(requireModel().m),
  };
  if (options.store) void app.register(searchPlugin, searchOptions as SearchRouteOptions);

  const modelEntry = (m: ServableModel) => ({
    id: servedName(m),
    object: "model",
    created,
    owned_by: "ts-embedding-finetune",
    dimensions: m.dim,
    inference_path: inferencePathOf(m),
  });
  app.get("/v1/models", async () => {
    const { m } = requireModel();
    return { object: "list", data: [modelEntry(m)] };
  });
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (req) => {
    const { m } = requireModel();
    if (!accepted(m, req.params.id)) throw modelNotFound(req.params.id, servedName(m));
    return modelEntry(m);
  });
  app.get("/info", async () => {
    const { m, b } = requireModel();
    return {
      model: servedName(m),
      aliases: options.aliases ?? [],
      dimensions: m.dim,
      max_seq_length: Number.isFinite(m.maxSeqLength) ? m.maxSeqLength : null,
      inference_path: inferencePathOf(m),
      limits: {
        max_inputs: limits.maxInputs,
        max_input_tokens: limits.maxInputTokens,
        max_request_tokens: limits.maxRequestTokens,
        long_input: limits.onLongInput,
        max_body_bytes: maxBodyBytes,
      },
      batching: {
        max_batch_tokens: b.maxBatchTokens,
        max_batch_size: b.maxBatchSize,
        max_queued_inputs: b.maxQueuedInputs,
      },
      auth: keyDigest ? "bearer" : "none",
    };
  });
  app.get("/health", async (_req, reply) => {
    if (model) return { status: "ok", model: servedName(model) };
    reply.code(503);
    return loadError ? { status: "failed", error: loadError.message } : { status: "loading" };
  });
  app.get("/metrics", async (_req, reply) => {
    reply.type("text/plain; version=0.0.4; charset=utf-8");
    return metrics.render();
  });

  return {
    app,
    metrics,
    ready,
    async listen(port = 8080, host = "127.0.0.1") {
      await app.listen({ port, host });
      const addr = app.server.address();
      const actual = typeof addr === "object" && addr ? addr.port : port;
      return `http://${host.includes(":") ? `[${host}]` : host}:${actual}`;
    },
    async close({ graceMs = Number.POSITIVE_INFINITY } = {}) {
      closing = true;
      const closed = app.close(); // stops listening now; resolves once every connection has ended
      const deadline = performance.now() + graceMs;
      while (metrics.openRequests > 0 && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, Math.max(1, Math.min(20, deadline - performance.now()))));
      const cutOff = metrics.openRequests;
      // Only idle keep-alive sockets are left, or, after the grace period, the requests cut off.
      app.server.closeAllConnections();
      await closed;
      if (cutOff === 0) await batcher?.idle();
      return { drained: cutOff === 0, cutOff };
    },
  };
}

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header("retry-after", String(err.retryAfter));
  return reply.code(err.status).type("application/json; charset=utf-8").send(err.toJSON());
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

function modelNotFound(id: string, served: string): ApiError {
  return new ApiError(404, `The model \`${id}\` does not exist on this server; it serves \`${served}\`.`, {
    param: "model",
    code: "model_not_found",
  });
}

type Input = { text: string } | { ids: number[] };

interface EmbeddingRequest {
  inputs: Input[];
  model: string;
  base64: boolean;
  dimensions: number | undefined;
}

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number");
}

/** Validates the body as OpenAI does; every error names the field (`param`). */
export function parseEmbeddingRequest(
  body: unknown,
  model: ServableModel,
  accepted: (m: ServableModel, id: string) => boolean,
  served: string,
): EmbeddingRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("The request body must be a JSON object with `input` and `model`.", null, "invalid_request");
  const b = body as Record<string, unknown>;
  if (b.model === undefined || b.model === null)
    throw badRequest("You must provide a model parameter.", "model", "missing_model");
  if (typeof b.model !== "string") throw badRequest(`\`model\` must be a string, got ${typeName(b.model)}.`, "model");
  if (!accepted(model, b.model)) throw modelNotFound(b.model, served);

  const input = b.input;
  let inputs: Input[];
  if (input === undefined || input === null)
    throw badRequest("You must provide an input parameter.", "input", "missing_input");
  if (typeof input === "string") inputs = [{ text: input }];
  else if (isTokenArray(input)) inputs = [{ ids: input }];
  else if (Array.isArray(input)) {
    if (input.length === 0)
      throw badRequest("`input` is an empty array; send at least one string.", "input", "empty_input");
    inputs = input.map((x, i): Input => {
      if (typeof x === "string") return { text: x };
      if (isTokenArray(x)) return { ids: x };
      throw badRequest(
        `input[${i}] is ${typeName(x)}; \`input\` must be a string, an array of strings, an array of token ids, or an array of token-id arrays.`,
        "input",
        "invalid_input",
      );
    });
  } else throw badRequest(`\`input\` must be a string or an array, got ${typeName(input)}.`, "input", "invalid_input");

  let base64 = false;
  if (b.encoding_format !== undefined && b.encoding_format !== null) {
    if (b.encoding_format === "base64") base64 = true;
    else if (b.encoding_format !== "float")
      throw badRequest(
        `\`encoding_format\` must be "float" or "base64", got ${JSON.stringify(b.encoding_format)}.`,
        "encoding_format",
      );
  }
  let dimensions: number | undefined;
  if (b.dimensions !== undefined && b.dimensions !== null) {
    const d = b.dimensions;
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > model.dim)
      throw badRequest(
        `\`dimensions\` must be an integer from 1 to ${model.dim} (this model's size), got ${JSON.stringify(d)}.`,
        "dimensions",
      );
    dimensions = d;
  }
  if (b.user !== undefined && b.user !== null && typeof b.user !== "string")
    throw badRequest(`\`user\` must be a string, got ${typeName(b.user)}.`, "user");
  return { inputs, model: b.model, base64, dimensions };
}

/** Applies the per-request limits; returns the texts to embed and their token counts (after truncation). */
export function prepareInputs(
  inputs: Input[],
  model: ServableModel,
  limits: Limits,
): { texts: string[]; tokens: number[] } {
  if (inputs.length > limits.maxInputs)
    throw badRequest(
      `Too many inputs: ${inputs.length}; at most ${limits.maxInputs} per request.`,
      "input",
      "too_many_inputs",
    );
  const special = model.tokenizer.encode("").ids.length;
  const modelRoom = Number.isFinite(model.maxSeqLength) ? model.maxSeqLength - special : Infinity;
  const texts: string[] = [];
  const tokens: number[] = [];
  let total = 0;
  inputs.forEach((input, i) => {
    let ids: number[];
    let text: string;
    if ("text" in input) {
      if (input.text.length === 0)
        throw badRequest(`input[${i}] is an empty string; embeddings need some text.`, "input", "empty_input");
      text = input.text;
      ids = model.tokenizer.encodeContent(text);
    } else {
      const vocab = model.tokenizer.vocabSize;
      const bad = input.ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
      if (bad >= 0)
        throw badRequest(
          `input[${i}][${bad}] = ${input.ids[bad]} is not a token id of this model (integers 0..${vocab - 1}).`,
          "input",
          "invalid_token_id",
        );
      ids = input.ids;
      text = "";
    }
    // Over the API's limit: 400 as OpenAI (or cut, when configured); over the model's window: cut, as
    // sentence-transformers does, since the model cannot read further.
    if (ids.length > limits.maxInputTokens && limits.onLongInput === "reject")
      throw badRequest(
        `input[${i}] has ${ids.length} tokens; this server accepts at most ${limits.maxInputTokens} per input (shorten it, or start the server with --long-inputs truncate).`,
        "input",
        "input_too_long",
      );
    const room = Math.min(limits.maxInputTokens, modelRoom);
    if (ids.length > room) {
      ids = ids.slice(0, room);
      text = "";
    }
    if (text === "") text = model.tokenizer.decode(ids);
    texts.push(text);
    tokens.push(ids.length);
    total += ids.length;
    if (total > limits.maxRequestTokens)
      throw badRequest(
        `Requested more than ${limits.maxRequestTokens} tokens in one request; split the inputs over several requests.`,
        "input",
        "max_tokens_per_request",
      );
  });
  return { texts, tokens };
}

/** Matryoshka truncation: keep the first `dims` components, then L2-normalise again (as OpenAI's `dimensions`). */
export function truncateAndNormalize(row: Float32Array, dims: number): Float32Array {
  return l2NormalizeRows(row.slice(0, dims), dims);
}

/** Little-endian float32 bytes, base64-encoded: what OpenAI's clients decode for encoding_format "base64". */
export function toBase64(row: Float32Array): string {
  const buf = Buffer.allocUnsafe(row.length * 4);
  for (let i = 0; i < row.length; i++) buf.writeFloatLE(row[i], i * 4);
  return buf.toString("base64");
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** The id a model spec is served under: "offline", a folder's name, or a Hub id as given. */
export function defaultModelName(spec: string): string {
  const s = spec.trim().replace(/[\\/]+$/, "");
  if (s === "offline" || s === "offline-bert") return s;
  if (existsSync(s)) {
    // train's output: models/policy/best -> "policy-best" (a bare "best" says nothing)
    const name = basename(s);
    return name === "best" || name === "final" ? `${basename(dirname(resolve(s)))}-${name}` : name;
  }
  if (/^[\w.-]+\/[\w.@-]+$/.test(s) && !s.startsWith(".")) return s.split("@")[0];
  return basename(s);
}
