/**
 * Dynamic batching: inputs of concurrent requests wait in one FIFO queue; a single worker takes inputs
 * from its head into a model batch until the next one would exceed the token budget (counted as padded
 * tokens, batch size x longest input, since that is what a Transformer computes) or the batch-size cap,
 * embeds them with one encode() call and hands each request its rows. A large request is split across
 * batches, small ones are merged; order within a request is kept.
 *
 * The queue is bounded (in inputs): a request that does not fit is refused at once with QueueFullError
 * (the server answers 429 with Retry-After) instead of waiting without limit. An empty queue accepts any
 * request the per-request limits allowed, so a single large request is never refused.
 */
import type { Embeddings } from "../model/types";

export interface BatchEncoder {
  encode(texts: string[], options?: { batchSize?: number }): Promise<Embeddings>;
}

export interface BatcherOptions {
  /** Padded tokens per model batch (default 16,384, TEI's max_batch_tokens). */
  maxBatchTokens?: number;
  /** Inputs per model batch (default 256). */
  maxBatchSize?: number;
  /** Inputs allowed to wait (default 8,192). */
  maxQueuedInputs?: number;
  /** Called after every model batch (metrics). */
  onBatch?: (info: { size: number; paddedTokens: number; seconds: number; queueSeconds: number[] }) => void;
}

export class QueueFullError extends Error {
  /** Estimated seconds until the queue has room. */
  readonly retryAfter: number;
  constructor(message: string, retryAfter: number) {
    super(message);
    this.name = "QueueFullError";
    this.retryAfter = retryAfter;
  }
}

interface Pending {
  text: string;
  tokens: number;
  enqueued: number;
  job: Job;
  row: number;
}

interface Job {
  rows: (Float32Array | undefined)[];
  left: number;
  failed: boolean;
  resolve: (rows: Float32Array[]) => void;
  reject: (err: unknown) => void;
}

export class DynamicBatcher {
  readonly maxBatchTokens: number;
  readonly maxBatchSize: number;
  readonly maxQueuedInputs: number;
  private readonly queue: Pending[] = [];
  private head = 0;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  /** Inputs per second over recent batches, for Retry-After. */
  private rate = 0;

  constructor(
    private readonly model: BatchEncoder,
    private readonly options: BatcherOptions = {},
  ) {
    this.maxBatchTokens = positive(options.maxBatchTokens ?? 16_384, "maxBatchTokens");
    this.maxBatchSize = positive(options.maxBatchSize ?? 256, "maxBatchSize");
    this.maxQueuedInputs = positive(options.maxQueuedInputs ?? 8_192, "maxQueuedInputs");
  }

  /** Inputs waiting (not counting the batch being embedded). */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** True while a batch is being embedded or inputs wait. */
  get busy(): boolean {
    return this.running || this.depth > 0;
  }

  /**
   * Queues the texts (with their token counts) and resolves with one embedding row per text, in order.
   * Throws QueueFullError synchronously-in-the-promise when the queue cannot take them.
   */
  embed(texts: string[], tokens: number[]): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    if (this.depth > 0 && this.depth + texts.length > this.maxQueuedInputs) {
      const retryAfter = Math.max(1, Math.ceil(this.depth / Math.max(this.rate, 1)));
      return Promise.reject(
        new QueueFullError(
          `The server is busy: ${this.depth} inputs are queued (limit ${this.maxQueuedInputs}); retry after ${retryAfter} s.`,
          retryAfter,
        ),
      );
    }
    return new Promise<Float32Array[]>((resolve, reject) => {
      const job: Job = { rows: new Array(texts.length), left: texts.length, failed: false, resolve, reject };
      const now = performance.now();
      texts.forEach((text, row) =>
        this.queue.push({ text, tokens: Math.max(1, tokens[row] ?? 1), enqueued: now, job, row }),
      );
      if (!this.running) void this.drain();
    });
  }

  /** Resolves once the queue is empty and no batch runs (graceful shutdown). */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private nextBatch(): Pending[] {
    const batch: Pending[] = [];
    let longest = 0;
    while (this.head < this.queue.length && batch.length < this.maxBatchSize) {
      const item = this.queue[this.head];
      const padded = (batch.length + 1) * Math.max(longest, item.tokens);
      if (batch.length > 0 && padded > this.maxBatchTokens) break;
      batch.push(item);
      longest = Math.max(longest, item.tokens);
      this.head++;
    }
    // Compact the array now and then instead of shift() per item (O(n) each).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return batch;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.depth > 0) {
        // Yield once so that requests arriving in the same tick join this batch.
        await new Promise<void>((r) => setImmediate(r));
        const batch = this.nextBatch().filter((p) => !p.job.failed);
        if (batch.length === 0) continue;
        const started = performance.now();
        try {
          const out = await this.model.encode(
            batch.map((p) => p.text),
            { batchSize: batch.length },
          );
          const seconds = (performance.now() - started) / 1000;
          this.rate = batch.length / Math.max(seconds, 1e-6);
          this.options.onBatch?.({
            size: batch.length,
            paddedTokens: batch.length * batch.reduce((m, p) => Math.max(m, p.tokens), 0),
            seconds,
            queueSeconds: batch.map((p) => (started - p.enqueued) / 1000),
          });
          batch.forEach((p, i) => {
            // A copy, so the batch's big buffer can be freed when every request is answered.
            p.job.rows[p.row] = out.data.slice(i * out.dim, (i + 1) * out.dim);
            if (--p.job.left === 0) p.job.resolve(p.job.rows as Float32Array[]);
          });
        } catch (err) {
          for (const p of batch) {
            if (p.job.failed) continue;
            p.job.failed = true;
            p.job.reject(err);
          }
        }
      }
    } finally {
      this.queue.length = 0;
      this.head = 0;
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`DynamicBatcher: ${name} ${n} must be a positive integer.`);
  return n;
}
