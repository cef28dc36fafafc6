/**
 * The Explore page's API: GET /api/search (?q= &k=10 &offset=0: BM25, the base model and every fine-tuned model side
 * by side), GET /api/examples (questions fine-tuning fixed and broke, measured on the held-out split) and
 * GET /api/passages/:id. The explorer loads after the app listens; until then these wait for it.
 */
import type { FastifyPluginAsync } from "fastify";
import type { Explorer } from "../explorer";
import { HttpError, intParam } from "../http";

export interface ExploreRouteOptions {
  /** The explorer's promise, absent when there is no dataset. */
  explorer: Promise<Explorer> | undefined;
  /** Why there is no explorer. */
  explorerMissing?: string;
}

export const exploreRoutes: FastifyPluginAsync<ExploreRouteOptions> = async (app, options) => {
  const explorerReady = options.explorer;
  const needExplorer = async (): Promise<Explorer> => {
    if (!explorerReady) throw new HttpError(404, `Nothing to search: ${options.explorerMissing ?? "no dataset"}.`);
    try {
      return await explorerReady;
    } catch (err) {
      throw new HttpError(503, `The models could not be loaded: ${(err as Error).message}`);
    }
  };
  app.get<{ Querystring: Record<string, string> }>("/api/search", async (req) => {
    const q = (req.query.q ?? "").trim();
    if (q === "")
      throw new HttpError(400, "q is empty: give the question to search, e.g. /api/search?q=how+many+vacation+days");
    if (q.length > 2000) throw new HttpError(400, `q is ${q.length} characters; at most 2000.`);
    const e = await needExplorer();
    const k = intParam(req.query.k, "k", 10, 1, 100);
    const offset = intParam(req.query.offset, "offset", 0, 0, e.corpusSize - 1);
    return e.search(q, k, offset);
  });
  app.get("/api/examples", async () => (await needExplorer()).fixedAndBroken());
  app.get<{ Params: { id: string } }>("/api/passages/:id", async (req) => {
    const e = await needExplorer();
    const p = e.passage(req.params.id);
    if (!p) throw new HttpError(404, `No passage "${req.params.id}" in ${e.dataset.dir}.`);
    return p;
  });
};
