/**
 * POST /v1/search: retrieval over a VectorStore (src/retrieval), so an application gets the fine-tuned model's
 * top passages without running the model itself. A fastify plugin (fastify-plugin, so it shares the server's
 * hooks: API key, limits, the 503 while closing, and the error shape), registered by ../server when a store is
 * given (`serve --store lancedb:<uri>`).
 *
 *   request   {model, query, top_k?, filter?}   top_k 1..100 (default 10); filter {field: value | [values]} on the
 *             rows' metadata (src/retrieval/vector-store), e.g. {"doc_id": "handbook-3"}
 *   response  {object: "list", model, results: [{id, score, title, text}], usage: {prompt_tokens, total_tokens}}
 *             best first; score = the inner product of the L2-normalised query with the stored (unit) vectors,
 *             the cosine DenseRetriever ranks by
 *   errors    OpenAI's shape (../errors): 400 naming the field, 404 for another model, 429 when the batcher's
 *             queue is full, 503 while the model or the store is not ready
 * The query is embedded through the server's DynamicBatcher, like /v1/embeddings inputs, and counted in usage.
 */
import fp from "fastify-plugin";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { l2NormalizeRows } from "../../math";
import type { SearchHit } from "../../retrieval/types";
import { checkFilter, type MetadataFilter, type StoreMetadata, type VectorStore } from "../../retrieval/vector-store";
import { ApiError, badRequest } from "../errors";
import { embedForRequest } from "./queued";

type Hit = SearchHit & { title: string; text: string };

/** A store that may still be opening: watched from the moment the server is made, so a failure is never unhandled. */
export interface StoreState {
  store?: VectorStore;
  error?: Error;
}

/** Watches `store` (a store, or the promise of one) and records it or its error. */
export function watchStore(store: VectorStore | Promise<VectorStore>): StoreState {
  const state: StoreState = {};
  Promise.resolve(store).then(
    (s) => (state.store = s),
    (err: unknown) => (state.error = err instanceof Error ? err : new Error(String(err))),
  );
  return state;
}

export interface SearchRouteOptions {
  store: StoreState;
  /** The loaded model and the server's batcher (throws the server's 503 while loading). */
  requireModel(): {
    m: { name: string; dim: number };
    b: { embed(texts: string[], tokens: number[], signal?: AbortSignal): Promise<Float32Array[]> };
  };
  /** The query as the server prepares an input (limits, truncation): its text and token count. */
  prepare(text: string): { texts: string[]; tokens: number[] };
  /** Whether `id` names the served model, and the served id for the 404 message. */
  accepted(id: string): boolean;
  served(): string;
}

const MAX_TOP_K = 100;

interface SearchRequest {
  model: string;
  query: string;
  topK: number;
  filter: MetadataFilter | undefined;
}

/** Validates the body; every error names its field (`param`), as the embeddings route does. */
export function parseSearchRequest(body: unknown): SearchRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("The request body must be a JSON object with `model` and `query`.", null, "invalid_request");
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model === "")
    throw badRequest("You must provide a model parameter (a string).", "model", "missing_model");
  if (typeof b.query !== "string" || b.query.trim() === "")
    throw badRequest("`query` must be a non-empty string.", "query", "invalid_query");
  const topK = b.top_k ?? 10;
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K)
    throw badRequest(`\`top_k\` must be an integer in 1..${MAX_TOP_K}, got ${JSON.stringify(b.top_k)}.`, "top_k");
  let filter: MetadataFilter | undefined;
  if (b.filter !== undefined && b.filter !== null) {
    try {
      checkFilter("filter", b.filter as MetadataFilter);
    } catch (err) {
      throw badRequest((err as Error).message, "filter", "invalid_filter");
    }
    filter = b.filter as MetadataFilter;
  }
  return { model: b.model, query: b.query, topK, filter };
}

/** Hits with their passage: LanceDB returns it with the hit; an in-memory index keeps it as row metadata. */
async function hitsWithText(store: VectorStore, q: Float32Array, k: number, filter?: MetadataFilter): Promise<Hit[]> {
  const withText = store as VectorStore & {
    searchWithText?(q: Float32Array[], k: number, o: object): Promise<Hit[][]>;
  };
  if (typeof withText.searchWithText === "function") return (await withText.searchWithText([q], k, { filter }))[0];
  const withMeta = store as VectorStore & { metadata?(id: string): StoreMetadata | undefined };
  if (store.size === 0) return [];
  const [hits] = await store.search([q], Math.min(k, store.size), { filter });
  return hits.map((h) => {
    const m = withMeta.metadata?.(h.id);
    return { ...h, title: String(m?.title ?? ""), text: String(m?.text ?? "") };
  });
}

async function searchRoutes(app: FastifyInstance, options: SearchRouteOptions): Promise<void> {
  app.post("/v1/search", { config: { hint: "POST /v1/search" } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const { m, b } = options.requireModel();
    const body = parseSearchRequest(req.body);
    if (!options.accepted(body.model))
      throw new ApiError(
        404,
        `The model \`${body.model}\` does not exist on this server; it serves \`${options.served()}\`.`,
        {
          param: "model",
          code: "model_not_found",
        },
      );
    const { store, error: storeError } = options.store;
    if (storeError)
      throw new ApiError(503, `The vector store did not open: ${storeError.message}`, { code: "store_failed" });
    if (!store)
      throw new ApiError(503, "The vector store is still opening; retry shortly.", {
        code: "store_loading",
        retryAfter: 1,
      });
    if (store.dim !== m.dim)
      throw new ApiError(500, `The store holds ${store.dim}-d vectors but the model gives ${m.dim}-d.`, {
        code: "store_mismatch",
      });
    const prepared = options.prepare(body.query);
    const rows = await embedForRequest(reply, b, prepared.texts, prepared.tokens);
    const query = l2NormalizeRows(Float32Array.from(rows[0]), m.dim);
    const results = await hitsWithText(store, query, body.topK, body.filter);
    const tokens = prepared.tokens[0];
    return {
      object: "list",
      model: body.model,
      results: results.map((h) => ({ id: h.id, score: h.score, title: h.title, text: h.text })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });
}

/** The /v1/search route as a plugin without encapsulation (the server's hooks and error handler apply). */
export const searchPlugin = fp(searchRoutes, { name: "vector-search", fastify: "5.x" });
