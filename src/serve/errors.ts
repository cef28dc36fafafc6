/**
 * Errors in OpenAI's shape, `{error: {message, type, param, code}}`, with the HTTP status OpenAI uses
 * (and TEI / infinity agree on): 400 bad request, 401 bad or missing key, 404 unknown model or route,
 * 413 body too large, 429 queue full (with Retry-After), 503 not ready or shutting down.
 */

import { UnauthorizedError } from "./plugins/bearer-auth";

export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable";

export interface OpenAIErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  /** Seconds for the Retry-After header (429 / 503). */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    message: string,
    options: { type?: ApiErrorType; param?: string | null; code?: string | null; retryAfter?: number } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryAfter = options.retryAfter;
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return "authentication_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "service_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** A JSON value's kind as an error message says it: "null", "an array", "an object", "a number", ... */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A 400 about one request field (`param` names it, as OpenAI does). */
export function badRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, { param, code });
}

/**
 * Maps anything thrown while handling a request to an ApiError: our own errors pass through; fastify's
 * body errors (malformed JSON, body too large, wrong content type) keep their status, a refused key its 401
 * (plugins/bearer-auth.ts); the rest is a 500
 * whose message does not leak internals beyond the error's own message.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UnauthorizedError) return new ApiError(401, err.message, { code: err.code });
  const e = err as { statusCode?: number; code?: string; message?: string };
  const message = typeof e?.message === "string" ? e.message : String(err);
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (e?.code === "FST_ERR_CTP_BODY_TOO_LARGE" || status === 413)
    return new ApiError(413, `Request body too large: ${message}`, { code: "request_too_large" });
  if (e?.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || status === 415)
    return new ApiError(415, `${message}; send the body as application/json.`, { code: "unsupported_media_type" });
  if (e?.code === "FST_ERR_CTP_EMPTY_JSON_BODY")
    return badRequest(
      'The request body is empty; send a JSON object such as {"input": "text", "model": "..."}.',
      null,
      "invalid_json",
    );
  if (status === 400 || err instanceof SyntaxError || e?.code === "FST_ERR_CTP_INVALID_JSON_BODY")
    return badRequest(`The request body is not valid JSON (${message}).`, null, "invalid_json");
  if (status >= 400 && status < 500) return new ApiError(status, message);
  return new ApiError(500, `Internal error while embedding: ${message}`, { code: "internal_error" });
}
