/**
 * The embedding server's request metrics as fastify hooks (the Prometheus text itself is ../metrics.ts): every
 * request is counted open from its headers until its socket closes, and by route and status once answered. Routes
 * that set `config: { metered: true }` (the embedding routes) are also timed, counted in flight once their body is
 * read, and counted as client disconnects when the client leaves before the answer.
 *
 *   app.register(requestMetrics, { metrics });             // before the gates, so that refused requests count
 *   app.post("/v1/embeddings", { config: { metered: true } }, handler);
 */
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { ServerMetrics } from "../metrics";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Time this route and count it in flight (see plugins/metrics.ts). */
    metered?: boolean;
  }
}

export interface RequestMetricsOptions {
  metrics: ServerMetrics;
}

const metered = (req: FastifyRequest) => req.routeOptions.config?.metered === true;

const plugin: FastifyPluginAsync<RequestMetricsOptions> = async (app, { metrics }) => {
  app.addHook("onRequest", async (req, reply) => {
    metrics.openRequests++;
    reply.raw.once("close", () => {
      metrics.openRequests--;
      if (!reply.raw.writableFinished && metered(req)) metrics.clientDisconnects++;
    });
  });
  app.addHook("preHandler", async (req, reply) => {
    if (!metered(req)) return;
    metrics.inFlight++;
    reply.raw.once("close", () => metrics.inFlight--);
  });
  app.addHook("onResponse", async (req, reply) => {
    metrics.countRequest(req.routeOptions.url ?? "unmatched", reply.statusCode);
    if (metered(req)) metrics.latency.observe(reply.elapsedTime / 1000);
  });
};

export const requestMetrics = fp(plugin, { name: "request-metrics", fastify: "5.x" });
