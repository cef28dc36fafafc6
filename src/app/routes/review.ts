/**
 * The Review page's API: GET /api/review (?status=all|pending|decided|flagged|invalid &generator= &q= &offset=
 * &limit=), GET /api/review/:id, POST /api/review/:id {"decision", "anchor"?, "version"?}. The decision body's shape
 * is its JSON schema; `decision` itself is the review store's to check (it names the choices).
 */
import type { FastifyPluginAsync } from "fastify";
import { HttpError, intParam } from "../http";
import type { ReviewStore } from "../review-store";

/** A decision's body; `decision` itself is the review store's to check (it names the choices). */
const DECISION_BODY = {
  type: "object",
  properties: { anchor: { type: ["string", "null"] }, version: { type: "string" } },
} as const;

/** The app's message for the first fault fastify's validator found in a decision body. */
function decisionBodyError(faults: { instancePath: string }[]): HttpError {
  const field = ["/anchor", "/version"].find((p) => faults.some((f) => f.instancePath === p));
  if (!faults.some((f) => f.instancePath === "") && field)
    return new HttpError(400, `"${field.slice(1)}" must be a string.`);
  return new HttpError(400, 'Send a JSON object: {"decision": "accept"|"reject"|"edit"|"pending", "anchor"?: "..."}.');
}

export interface ReviewRouteOptions {
  /** The review store, or the error saying why there is none (404 / 422). */
  store: () => ReviewStore;
}

export const reviewRoutes: FastifyPluginAsync<ReviewRouteOptions> = async (app, { store: reviewStore }) => {
  app.get<{ Querystring: Record<string, string> }>("/api/review", async (req) => {
    const q = req.query;
    const status = q.status ?? "all";
    if (!["all", "pending", "decided", "flagged", "invalid"].includes(status))
      throw new HttpError(400, `status=${status}: use all, pending, decided, flagged or invalid.`);
    return reviewStore().list({
      status,
      generator: q.generator || undefined,
      q: q.q,
      offset: intParam(q.offset, "offset", 0, 0, 1e9),
      limit: intParam(q.limit, "limit", 500, 1, 2000),
    });
  });
  app.get<{ Params: { id: string } }>("/api/review/:id", async (req) => reviewStore().get(req.params.id));
  app.post<{ Params: { id: string }; Body: { decision?: unknown; anchor?: string | null; version?: string } }>(
    "/api/review/:id",
    {
      schema: { body: DECISION_BODY },
      schemaErrorFormatter: (faults) => decisionBodyError(faults),
    },
    async (req) => {
      const b = req.body;
      const s = reviewStore();
      const item = s.decide(req.params.id, {
        decision: String(b.decision ?? ""),
        anchor: b.anchor ?? undefined,
        version: b.version,
      });
      return { item, counts: s.counts(), revision: s.revision };
    },
  );
};
