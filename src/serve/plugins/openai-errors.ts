/**
 * Errors in OpenAI's body shape, `{error: {message, type, param, code}}` (../errors.ts), for everything a fastify
 * app answers: thrown errors (toApiError maps fastify's own: bad JSON 400, body too large 413, wrong media type
 * 415; an UnauthorizedError from bearer-auth.ts 401), unknown routes (404, naming the routes there are), and the
 * raw-socket answers Node gives before fastify sees a request (408 for a slow client, 400 for a malformed one),
 * written by `openAIClientErrorHandler`, which goes into Fastify({ clientErrorHandler }).
 *
 *   const app = Fastify({ clientErrorHandler: openAIClientErrorHandler(headersTimeoutMs, requestTimeoutMs) });
 *   app.register(openAIErrors);                       // before the routes, so that it sees their hints
 */
import type { Socket } from "node:net";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import fp from "fastify-plugin";
import { ApiError, badRequest, toApiError } from "../errors";

declare module "fastify" {
  interface FastifyContextConfig {
    /** How the 404 of an unknown route names this one (e.g. "POST /v1/embeddings"); unnamed when absent. */
    hint?: string;
  }
}

/** Writes an ApiError: its status, its Retry-After when it has one, the OpenAI body. */
export function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header("retry-after", String(err.retryAfter));
  return reply.code(err.status).type("application/json; charset=utf-8").send(err.toJSON());
}

const plugin: FastifyPluginAsync = async (app) => {
  const hints: string[] = [];
  app.addHook("onRoute", (route) => {
    // Once each: a GET route comes with its HEAD route, under the same config.
    const hint = route.config?.hint;
    if (hint && !hints.includes(hint)) hints.push(hint);
  });
  app.setErrorHandler((err, _req, reply) => sendApiError(reply, toApiError(err)));
  app.setNotFoundHandler((req, reply) =>
    sendApiError(
      reply,
      new ApiError(404, `No route ${req.method} ${req.url.split("?")[0]}; this server has ${hints.join(", ")}.`, {
        code: "not_found",
      }),
    ),
  );
};

export const openAIErrors = fp(plugin, { name: "openai-errors", fastify: "5.x" });

/**
 * Fastify's clientErrorHandler in OpenAI's shape: Node refused the request before fastify could route it (headers
 * or the whole request took too long: 408; malformed HTTP: 400), so the answer is written on the socket, which is
 * then closed. A reset connection gets nothing.
 */
export function openAIClientErrorHandler(
  headersTimeoutMs: number,
  requestTimeoutMs: number,
): (err: Error, socket: Socket) => void {
  return (err, socket) => {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ECONNRESET" || socket.destroyed) return;
    const timeout = e.code === "ERR_HTTP_REQUEST_TIMEOUT";
    const apiError = timeout
      ? new ApiError(
          408,
          `The request was not received in time (headers within ${headersTimeoutMs / 1000} s, the whole request within ${requestTimeoutMs / 1000} s).`,
          { code: "request_timeout" },
        )
      : badRequest(`Malformed HTTP request (${e.code ?? e.message}).`, null, "bad_http_request");
    const body = JSON.stringify(apiError.toJSON());
    if (socket.writable)
      socket.write(
        `HTTP/1.1 ${apiError.status} ${timeout ? "Request Timeout" : "Bad Request"}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    socket.destroy();
  };
}
