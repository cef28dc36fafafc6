/**
 * POST /v1/rerank (and /rerank): a cross-encoder (any PairScorer, src/rerank/types.ts) behind the re-rank shape that
 * clients already speak (Jina's /v1/rerank, Cohere's v1/v2 rerank, TEI's /rerank in spirit):
 *
 *   request   {model, query, documents: [string | {text}], top_n?, return_documents?, raw_scores?}
 *   response  {id, model, results: [{index, relevance_score, document?: {text}}], usage: {total_tokens}}
 *
 * results are sorted by relevance_score, best first (ties: the earlier document), `index` points into the request's
 * documents; relevance_score is CrossEncoder.predict's score, the sigmoid of the logit in [0, 1] (`raw_scores: true`,
 * as TEI's option, gives the logit). top_n (an integer >= 1) keeps the best n; a top_n above the number of documents
 * returns them all, as Cohere and Jina do. usage.total_tokens counts the (query, document) pairs' tokens after the
 * model's truncation, special tokens included (PairScorer.tokenCounts), also sent as x-total-tokens.
 *
 * Limits are the server's: at most maxInputs documents, maxInputTokens per pair, maxRequestTokens per request, the
 * body limit (413), errors in OpenAI's shape with `param` naming the field. Pairs of concurrent requests share model
 * batches under the token budget (the same DynamicBatcher as /v1/embeddings, a queue of its own; 429 + Retry-After
 * when it is full); a client that leaves takes its waiting pairs out of the queue.
 *
 * A fastify plugin: the server registers it with what it needs (plugin options), its hooks (auth, limits on open
 * requests, shutdown) and error handler apply here as on every route.
 */
import { randomUUID } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { PairScorer, TextPair } from "../../rerank/types";
import { DynamicBatcher } from "../batcher";
import { ApiError, badRequest, typeName } from "../errors";
import { Histogram, type ServerMetrics } from "../metrics";
import { embedForRequest } from "./queued";

export interface RerankRouteOptions {
  /** The re-ranker, or a promise of it (the route answers 503 until it resolves). */
  reranker: PairScorer | Promise<PairScorer>;
  /** The id clients send as `model` (default: the re-ranker's name). */
  rerankerName?: string;
  /** Documents per request (the server's maxInputs). */
  maxInputs: number;
  /** Tokens per (query, document) pair after the model's truncation (the server's maxInputTokens). */
  maxInputTokens: number;
  /** Tokens per request (the server's maxRequestTokens). */
  maxRequestTokens: number;
  /** Dynamic batching, as the embeddings route (padded tokens per batch, pairs per batch, pairs waiting). */
  maxBatchTokens?: number;
  maxBatchSize?: number;
  maxQueuedInputs?: number;
  /** The server's metrics: requests are counted there by route; the re-rank figures are added to /metrics. */
  metrics: ServerMetrics;
}

interface RerankRequest {
  model: string;
  query: string;
  documents: string[];
  topN: number | undefined;
  returnDocuments: boolean;
  rawScores: boolean;
}

function optionalBoolean(b: Record<string, unknown>, key: string): boolean {
  const v = b[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw badRequest(`\`${key}\` must be true or false, got ${typeName(v)}.`, key);
  return v;
}

/** Validates a re-rank body; every error names the field (`param`). */
export function parseRerankRequest(
  body: unknown,
  accepted: (id: string) => boolean,
  served: string,
  maxDocuments: number,
): RerankRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest(
      "The request body must be a JSON object with `model`, `query` and `documents`.",
      null,
      "invalid_request",
    );
  const b = body as Record<string, unknown>;
  if (b.model === undefined || b.model === null)
    throw badRequest("You must provide a model parameter.", "model", "missing_model");
  if (typeof b.model !== "string") throw badRequest(`\`model\` must be a string, got ${typeName(b.model)}.`, "model");
  if (!accepted(b.model))
    throw new ApiError(404, `The model \`${b.model}\` does not exist on this server; it re-ranks with \`${served}\`.`, {
      param: "model",
      code: "model_not_found",
    });
  if (typeof b.query !== "string" || b.query.length === 0)
    throw badRequest(
      b.query === undefined || b.query === null
        ? "You must provide a query parameter."
        : `\`query\` must be a non-empty string, got ${typeof b.query === "string" ? "an empty string" : typeName(b.query)}.`,
      "query",
      b.query === undefined || b.query === null ? "missing_query" : "invalid_query",
    );
  const docs = b.documents;
  if (docs === undefined || docs === null)
    throw badRequest("You must provide a documents parameter.", "documents", "missing_documents");
  if (!Array.isArray(docs))
    throw badRequest(
      `\`documents\` must be an array of strings or {text} objects, got ${typeName(docs)}.`,
      "documents",
    );
  if (docs.length === 0)
    throw badRequest("`documents` is an empty array; send at least one document.", "documents", "empty_documents");
  if (docs.length > maxDocuments)
    throw badRequest(
      `Too many documents: ${docs.length}; at most ${maxDocuments} per request.`,
      "documents",
      "too_many_documents",
    );
  const documents = docs.map((d, i) => {
    if (typeof d === "string") return d;
    if (typeof d === "object" && d !== null && typeof (d as { text?: unknown }).text === "string")
      return (d as { text: string }).text;
    throw badRequest(
      `documents[${i}] is ${typeName(d)}; a document is a string or an object {"text": "..."}.`,
      "documents",
      "invalid_document",
    );
  });
  let topN: number | undefined;
  if (b.top_n !== undefined && b.top_n !== null) {
    const n = b.top_n;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1)
      throw badRequest(`\`top_n\` must be an integer >= 1, got ${JSON.stringify(n)}.`, "top_n", "invalid_top_n");
    topN = n;
  }
  return {
    model: b.model,
    query: b.query,
    documents,
    topN,
    returnDocuments: optionalBoolean(b, "return_documents"),
    rawScores: optionalBoolean(b, "raw_scores"),
  };
}

/** Re-rank figures beside the server's own metrics. */
class RerankMetrics {
  readonly latency = new Histogram([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly batchSize = new Histogram([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]);
  readonly inferenceSeconds = new Histogram(this.latency.buckets);
  documents = 0;
  tokens = 0;
  queueRejections = 0;
  failedBatches = 0;

  render(queueDepth: number): string[] {
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    head("rerank_request_duration_seconds", "histogram", "Time from receiving a /v1/rerank request to answering it.");
    out.push(...this.latency.render("rerank_request_duration_seconds"));
    head("rerank_inference_duration_seconds", "histogram", "Time of one re-ranker batch (predict call).");
    out.push(...this.inferenceSeconds.render("rerank_inference_duration_seconds"));
    head("rerank_batch_size", "histogram", "(query, document) pairs per re-ranker batch.");
    out.push(...this.batchSize.render("rerank_batch_size"));
    head("rerank_queue_depth", "gauge", "Pairs waiting for a re-ranker batch.");
    out.push(`rerank_queue_depth ${queueDepth}`);
    head("rerank_queue_rejections_total", "counter", "Re-rank requests answered 429 because the queue was full.");
    out.push(`rerank_queue_rejections_total ${this.queueRejections}`);
    head(
      "rerank_failed_batches_total",
      "counter",
      "Re-ranker batches whose predict() failed (their requests got 500).",
    );
    out.push(`rerank_failed_batches_total ${this.failedBatches}`);
    head("rerank_documents_total", "counter", "Documents scored.");
    out.push(`rerank_documents_total ${this.documents}`);
    head("rerank_tokens_total", "counter", "Tokens of the pairs scored (as counted in usage.total_tokens).");
    out.push(`rerank_tokens_total ${this.tokens}`);
    return out;
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const rerankRoutes: FastifyPluginAsync<RerankRouteOptions> = async (app, options) => {
  let reranker: PairScorer | undefined;
  let batcher: DynamicBatcher | undefined;
  let loadError: Error | undefined;
  const rm = new RerankMetrics();
  options.metrics.extraLines.push(() => rm.render(batcher?.depth ?? 0));
  const served = () => options.rerankerName ?? reranker?.name ?? "";
  void Promise.resolve(options.reranker).then(
    (r) => {
      reranker = r;
      // The batcher queues opaque strings with token counts; a pair travels as its JSON, and a batch is one
      // predict() call returning raw logits (each request applies its own activation).
      batcher = new DynamicBatcher(
        {
          encode: async (texts) => {
            const pairs = texts.map((t) => JSON.parse(t) as TextPair);
            const scores = await r.predict(pairs, { activation: "identity", batchSize: pairs.length });
            return { count: scores.length, dim: 1, data: Float32Array.from(scores) };
          },
        },
        {
          ...options, // maxBatchTokens, maxBatchSize, maxQueuedInputs
          onBatch: (b) => {
            rm.batchSize.observe(b.size);
            rm.inferenceSeconds.observe(b.seconds);
          },
          onBatchError: () => rm.failedBatches++,
        },
      );
    },
    (err: unknown) => {
      loadError = err instanceof Error ? err : new Error(String(err));
    },
  );

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!reranker || !batcher) {
      if (loadError)
        throw new ApiError(503, `The re-ranker failed to load: ${loadError.message}`, { code: "model_load_failed" });
      throw new ApiError(503, "The re-ranker is still loading; retry shortly.", {
        code: "model_loading",
        retryAfter: 2,
      });
    }
    const body = parseRerankRequest(req.body, (id) => id === served(), served(), options.maxInputs);
    const pairs = body.documents.map((d) => [body.query, d] as const);
    const tokens = reranker.tokenCounts(pairs);
    let total = 0;
    tokens.forEach((n, i) => {
      if (n > options.maxInputTokens)
        throw badRequest(
          `documents[${i}] with the query has ${n} tokens; this server accepts at most ${options.maxInputTokens} per pair.`,
          "documents",
          "input_too_long",
        );
      total += n;
    });
    if (total > options.maxRequestTokens)
      throw badRequest(
        `The request has ${total} tokens (query + document pairs); at most ${options.maxRequestTokens} per request: send fewer documents.`,
        "documents",
        "max_tokens_per_request",
      );
    const texts = pairs.map((p) => JSON.stringify(p));
    const rows = await embedForRequest(reply, batcher, texts, tokens, () => rm.queueRejections++);
    const results = rows
      .map((row, index) => ({ index, relevance_score: body.rawScores ? row[0] : sigmoid(row[0]) }))
      .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
      .slice(0, body.topN ?? rows.length)
      .map((r) => (body.returnDocuments ? { ...r, document: { text: body.documents[r.index] } } : r));
    rm.documents += rows.length;
    rm.tokens += total;
    rm.latency.observe(reply.elapsedTime / 1000);
    reply.header("x-total-tokens", String(total));
    return { id: randomUUID(), model: body.model, results, usage: { total_tokens: total } };
  };
  app.post("/v1/rerank", { config: { hint: "POST /v1/rerank" } }, handler);
  app.post("/rerank", handler);
};
