/**
 * Prometheus text exposition (format 0.0.4) without a client library: counters, one gauge, histograms.
 * Names follow Prometheus conventions (`_total` counters, `_seconds` durations, base units); TEI's
 * equivalents are te_request_count, te_request_failure, te_embed_*_duration, te_batch_next_size.
 */

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];

export class Histogram {
  readonly buckets: number[];
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(buckets: number[]) {
    this.buckets = [...buckets].sort((a, b) => a - b);
    this.counts = new Array(this.buckets.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.counts[i]++;
  }

  /** Lines for one histogram (`le` buckets are cumulative, as Prometheus expects). */
  render(name: string): string[] {
    const lines = this.buckets.map((b, i) => `${name}_bucket{le="${b}"} ${this.counts[i]}`);
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`);
    return lines;
  }
}

export class ServerMetrics {
  /** Finished HTTP requests by route and status code. */
  private readonly requests = new Map<string, number>();
  readonly latency = new Histogram(LATENCY_BUCKETS);
  readonly batchSize = new Histogram(BATCH_BUCKETS);
  readonly queueSeconds = new Histogram(LATENCY_BUCKETS);
  readonly inferenceSeconds = new Histogram(LATENCY_BUCKETS);
  inputsTotal = 0;
  inFlight = 0;
  tokensTotal = 0;
  rejectedQueueFull = 0;
  /** Connections open on any route (counted from their headers, so uploads in progress too). */
  openRequests = 0;
  /** Requests answered 429 because max_concurrent_requests were open. */
  rejectedConcurrency = 0;
  /** Requests whose client disconnected before the answer; their queued inputs were dropped. */
  clientDisconnects = 0;
  /** Model batches that failed (every request in the batch got 500). */
  failedBatches = 0;

  /** More lines for /metrics, from routes registered as plugins (e.g. the re-rank route's figures). */
  readonly extraLines: (() => string[])[] = [];

  constructor(private readonly queueDepth: () => number) {}

  countRequest(route: string, status: number): void {
    const key = `route="${route}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  /** Requests counted for a status (all routes), for tests and the load report. */
  requestsWithStatus(status: number, route?: string): number {
    let n = 0;
    for (const [key, v] of this.requests)
      if (key.endsWith(`status="${status}"`) && (route === undefined || key.startsWith(`route="${route}"`))) n += v;
    return n;
  }

  render(): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    head("embed_requests_total", "counter", "HTTP requests answered, by route and status code.");
    for (const [labels, v] of [...this.requests].sort()) out.push(`embed_requests_total{${labels}} ${v}`);
    head(
      "embed_request_duration_seconds",
      "histogram",
      "Time from receiving a /v1/embeddings request to answering it.",
    );
    out.push(...this.latency.render("embed_request_duration_seconds"));
    head("embed_queue_duration_seconds", "histogram", "Time an input waited in the queue before its batch started.");
    out.push(...this.queueSeconds.render("embed_queue_duration_seconds"));
    head("embed_inference_duration_seconds", "histogram", "Time of one model batch (encode call).");
    out.push(...this.inferenceSeconds.render("embed_inference_duration_seconds"));
    head("embed_batch_size", "histogram", "Inputs per model batch (dynamic batching merges requests).");
    out.push(...this.batchSize.render("embed_batch_size"));
    head("embed_requests_in_flight", "gauge", "Embedding requests received (body read) and not yet answered.");
    out.push(`embed_requests_in_flight ${this.inFlight}`);
    head("embed_queue_depth", "gauge", "Inputs waiting for a model batch.");
    out.push(`embed_queue_depth ${this.queueDepth()}`);
    head("embed_queue_rejections_total", "counter", "Requests answered 429 because the queue was full.");
    out.push(`embed_queue_rejections_total ${this.rejectedQueueFull}`);
    head("embed_open_requests", "gauge", "Requests received and not yet answered, on every route (uploads included).");
    out.push(`embed_open_requests ${this.openRequests}`);
    head(
      "embed_concurrency_rejections_total",
      "counter",
      "Requests answered 429 at the max_concurrent_requests limit.",
    );
    out.push(`embed_concurrency_rejections_total ${this.rejectedConcurrency}`);
    head("embed_client_disconnects_total", "counter", "Requests whose client left before the answer.");
    out.push(`embed_client_disconnects_total ${this.clientDisconnects}`);
    head("embed_failed_batches_total", "counter", "Model batches whose encode() failed (their requests got 500).");
    out.push(`embed_failed_batches_total ${this.failedBatches}`);
    head("embed_inputs_total", "counter", "Inputs embedded.");
    out.push(`embed_inputs_total ${this.inputsTotal}`);
    head("embed_tokens_total", "counter", "Tokens embedded (as counted in usage.prompt_tokens).");
    out.push(`embed_tokens_total ${this.tokensTotal}`);
    const mem = process.memoryUsage();
    head("process_resident_memory_bytes", "gauge", "Resident set size of the server process.");
    out.push(`process_resident_memory_bytes ${mem.rss}`);
    head("nodejs_heap_used_bytes", "gauge", "V8 heap in use.");
    out.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    for (const lines of this.extraLines) out.push(...lines());
    return `${out.join("\n")}\n`;
  }
}

/** Reads one unlabelled sample (`name value`) from Prometheus text; undefined when absent. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}
