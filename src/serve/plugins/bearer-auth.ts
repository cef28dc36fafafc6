/**
 * Bearer-key authentication for a fastify app, shared by the embedding server and the course app: the key is
 * compared as a SHA-256 digest with timingSafeEqual, so that neither its content nor its length leaks through
 * timing. A request without a key, or with a wrong one, is refused in an onRequest hook (before its body is read)
 * with an UnauthorizedError, which each app's error handler writes in its own body shape.
 *
 *   app.register(bearerAuth, { key, messages: { missing, wrong }, exempt: (req) => ..., alsoFrom: (req) => ... })
 *
 * `alsoFrom` names other places a key may come from after the `Authorization: Bearer` header (the app: its
 * ?token= query parameter, then its cookie). Hooks run in registration order, so register this after the hooks that
 * must answer first (the shutdown and open-request gates, the app's Host check).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

/** 401: the request carries no key, or the wrong one. `code` is OpenAI's code for it. */
export class UnauthorizedError extends Error {
  readonly statusCode = 401;
  readonly code = "invalid_api_key";
  constructor(
    message: string,
    /** Whether a key was sent at all. */
    readonly given: boolean,
  ) {
    super(message);
    this.name = "UnauthorizedError";
  }
}

export interface BearerAuthOptions {
  key: string;
  messages: { missing: string; wrong: string };
  /** Requests that need no key (the embedding server's /health and /metrics). */
  exempt?: (req: FastifyRequest) => boolean;
  /** A key from elsewhere in the request, read when the header has none. */
  alsoFrom?: (req: FastifyRequest) => string | undefined;
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** The key of an `Authorization: Bearer <key>` header (any case of "Bearer", surrounding blanks ignored). */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  return typeof header === "string" ? /^Bearer\s+(.+)$/i.exec(header.trim())?.[1] : undefined;
}

/** A constant-time check of a given key against `key`. */
export function keyChecker(key: string): (given: string) => boolean {
  const digest = sha256(key);
  return (given) => timingSafeEqual(sha256(given), digest);
}

const plugin: FastifyPluginAsync<BearerAuthOptions> = async (app, options) => {
  const matches = keyChecker(options.key);
  app.addHook("onRequest", async (req) => {
    if (options.exempt?.(req)) return;
    const given = bearerToken(req.headers.authorization) ?? options.alsoFrom?.(req);
    if (given === undefined || given === "") throw new UnauthorizedError(options.messages.missing, false);
    if (!matches(given)) throw new UnauthorizedError(options.messages.wrong, true);
  });
};

/** Registered with fastify-plugin, so that its hook applies to every route of the app it is registered on. */
export const bearerAuth = fp(plugin, { name: "bearer-auth", fastify: "5.x" });
