/**
 * GET /v1/models and /v1/models/:id in OpenAI's list / model shape, with the model's dimension and the
 * inference path its encode() takes (inferencePathOf).
 */
import type { FastifyPluginAsync } from "fastify";
import { inferencePathOf, type ServableModel, type ServedModel } from "../served-model";

export interface ModelsRouteOptions {
  served: ServedModel;
}

export const modelsRoute: FastifyPluginAsync<ModelsRouteOptions> = async (app, { served }) => {
  const modelEntry = (m: ServableModel) => ({
    id: served.servedName(m),
    object: "model",
    created: served.created,
    owned_by: "ts-embedding-finetune",
    dimensions: m.dim,
    inference_path: inferencePathOf(m),
  });
  app.get("/v1/models", { config: { hint: "GET /v1/models" } }, async () => {
    const { m } = served.current();
    return { object: "list", data: [modelEntry(m)] };
  });
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (req) => {
    const { m } = served.current();
    if (!served.accepts(m, req.params.id)) throw served.notFound(req.params.id, m);
    return modelEntry(m);
  });
};
