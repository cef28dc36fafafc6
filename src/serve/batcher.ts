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
 *
 * A request whose AbortSignal fires (its client disconnected) leaves the queue: its waiting inputs are
 * dropped and no longer count against the bound; a batch already running finishes for the others.
 * A batch whose encode() throws fails the requests with inputs in it, and only them.
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
  /** Called when a model batch fails (metrics); its requests are rejected with the error. */
  onBatchError?: (err: unknown) => void;
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
  /** Rejected (its batch failed or its client left): its remaining inputs are skipped. */
  failed: boolean;
  /** Inputs of this job still in the queue (not yet taken into a batch). */
  queued: number;
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

  /** Inputs of dropped requests still in the queue array, skipped when reached. */
  private dropped = 0;

  /** Inputs waiting (not counting the batch being embedded nor inputs of dropped requests). */
  get depth(): number {
    return this.queue.length - this.head - this.dropped;
  }

  /** True while a batch is being embedded or inputs wait. */
  get busy(): boolean {
    return this.running || this.depth > 0;
  }

  /**
   * Queues the texts (with their token counts) and resolves with one embedding row per text, in order.
   * Rejects with QueueFullError when the queue cannot take them; with the signal's reason when `signal`
   * aborts first (the inputs still waiting are dropped).
   */
  embed(texts: string[], tokens: number[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    if (signal?.aborted) return Promise.reject(signal.reason);
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
      const onAbort = () => this.fail(job, signal?.reason);
      const job: Job = {
        rows: new Array(texts.length),
        left: texts.length,
        failed: false,
        queued: texts.length,
        resolve: (rows) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(rows);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const now = performance.now();
      texts.forEach((text, row) =>
        this.queue.push({ text, tokens: Math.max(1, tokens[row] ?? 1), enqueued: now, job, row }),
      );
      if (!this.running) void this.drain();
    });
  }

  /** Rejects a job once; its inputs still in the queue stop counting and are skipped. */
  private fail(job: Job, err: unknown): void {
    if (job.failed) return;
    job.failed = true;
    this.dropped += job.queued;
    job.reject(err);
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
      item.job.queued--;
      if (item.job.failed) {
        this.dropped--;
        this.head++;
        continue;
      }
      const padded = (batch.length + 1) * Math.max(longest, item.tokens);
      if (batch.length > 0 && padded > this.maxBatchTokens) {
        item.job.queued++;
        break;
      }
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
        const batch = this.nextBatch();
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
            if (p.job.failed) return; // its client left while the batch ran
            // A copy, so the batch's big buffer can be freed when every request is answered.
            p.job.rows[p.row] = out.data.slice(i * out.dim, (i + 1) * out.dim);
            if (--p.job.left === 0) p.job.resolve(p.job.rows as Float32Array[]);
          });
        } catch (err) {
          this.options.onBatchError?.(err);
          for (const p of batch) this.fail(p.job, err);
        }
      }
    } finally {
      this.queue.length = 0;
      this.head = 0;
      this.dropped = 0;
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`DynamicBatcher: ${name} ${n} must be a positive integer.`);
  return n;
}
