/**
 * A request's inputs through the server's batcher, as every route that embeds does it: a client that disconnects
 * takes its waiting inputs out of the queue (the AbortSignal), and a full queue is a 429 with Retry-After
 * (`onQueueFull` counts it in the route's metrics).
 */
import type { FastifyReply } from "fastify";
import { type DynamicBatcher, QueueFullError } from "../batcher";
import { ApiError } from "../errors";

export async function embedForRequest(
  reply: FastifyReply,
  batcher: Pick<DynamicBatcher, "embed">,
  texts: string[],
  tokens: number[],
  onQueueFull?: () => void,
): Promise<Float32Array[]> {
  const left = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) left.abort(new Error("the client disconnected"));
  });
  try {
    return await batcher.embed(texts, tokens, left.signal);
  } catch (err) {
    if (err instanceof QueueFullError) {
      onQueueFull?.();
      throw new ApiError(429, err.message, { code: "queue_full", retryAfter: err.retryAfter });
    }
    throw err;
  }
}
