/**
 * The gate every request passes first, in an onRequest hook (so before its body is read): while the server shuts
 * down it is refused (503, `Connection: close`), and over `limit` open requests it is refused too (429), so that
 * memory stays bounded by the limit times the body limit. A request counts from its headers until its response ends
 * or its socket closes, whichever comes first ("close" always fires). `exempt` requests (monitoring: /health,
 * /metrics) count against no limit, so that monitoring works under overload.
 *
 *   const gate = new RequestGate(512);
 *   app.register(openRequestGate, { gate, shuttingDown: () => error503, busy: () => error429 });
 *   ... gate.closing = true (in close())
 *
 * The errors come from the caller, in its own shape (the embedding server's OpenAI errors, the app's).
 */
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

/** Shared between the hook and the server's close(): whether it is closing, and the requests counted now. */
export class RequestGate {
  closing = false;
  /** Open requests that count against the limit. */
  limited = 0;
  constructor(readonly limit = Number.POSITIVE_INFINITY) {}
}

export interface OpenRequestGateOptions {
  gate: RequestGate;
  /** Requests outside the limit. */
  exempt?: (req: FastifyRequest) => boolean;
  /** The refusal while closing (its status: 503). */
  shuttingDown: () => Error;
  /** The refusal over the limit (its status: 429). */
  busy?: () => Error;
  /** Called for each request refused over the limit (a metrics counter). */
  onBusy?: () => void;
}

const plugin: FastifyPluginAsync<OpenRequestGateOptions> = async (app, options) => {
  const { gate } = options;
  app.addHook("onRequest", async (req, reply) => {
    if (!options.exempt?.(req)) {
      gate.limited++;
      reply.raw.once("close", () => gate.limited--);
    }
    if (gate.closing) {
      reply.header("connection", "close");
      throw options.shuttingDown();
    }
    if (gate.limited > gate.limit) {
      options.onBusy?.();
      throw options.busy ? options.busy() : new Error(`over the limit of ${gate.limit} open requests`);
    }
  });
};

export const openRequestGate = fp(plugin, { name: "open-request-gate", fastify: "5.x" });
