/**
 * What the app's routes share: HttpError (a status, a message and extra fields, written by the app's error handler
 * as `{"error", "status", ...}`), and intParam for the query parameters.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Seconds for the Retry-After header. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/**
 * A query parameter as an integer in [min, max]. Query parameters are checked here rather than by a querystring
 * schema: the message quotes the value as sent (a repeated parameter arrives as an array), and some ranges are the
 * data's (a search's offset is below the corpus size).
 */
export function intParam(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HttpError(400, `${name}=${String(value)}: expected an integer from ${min} to ${max}.`);
  return n;
}
