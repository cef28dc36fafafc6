/**
 * The model a server serves, through its lifecycle: the server listens at once and the model (or its promise)
 * arrives later, so every route asks `current()`, which answers 503 while it loads (Retry-After 2) or after it
 * failed (saying why). Once loaded it has its DynamicBatcher, and the id clients send as `model` (its name, or
 * the modelName option) with the aliases accepted for it.
 */
import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { backendInfo } from "../backend";
import type { Embeddings } from "../model/types";
import { DynamicBatcher, type BatcherOptions } from "./batcher";
import { ApiError } from "./errors";
import type { ServerMetrics } from "./metrics";

/** What the server needs from a model (a SentenceTransformer has all of it). */
export interface ServableModel {
  readonly name: string;
  readonly dim: number;
  /** Longest input in tokens including special tokens (Infinity: no limit). */
  readonly maxSeqLength: number;
  readonly tokenizer: {
    encodeContent(text: string): number[];
    encode(text: string): { ids: number[] };
    decode(ids: number[]): string;
    readonly vocabSize: number;
  };
  encode(texts: string[], options?: { batchSize?: number }): Promise<Embeddings>;
  /** A fixed description of the inference path, when a model has one; read first. */
  readonly inferencePath?: string;
  /**
   * Which runtime encode() picks now and why (SentenceTransformer with the ONNX Runtime path: "onnxruntime" or
   * "tfjs"); read when present, so the server reports whatever the model will really use.
   */
  encodeRuntime?(): { runtime: string; reason: string };
}

/**
 * The inference path a model encodes with: its own `inferencePath` when it has one; else what its
 * encodeRuntime() chooses (ONNX Runtime or TensorFlow.js, with the reason); else TensorFlow.js and its backend.
 * The server calls the model's own encode(), so this is the path the requests take.
 */
export function inferencePathOf(model: ServableModel): string {
  if (typeof model.inferencePath === "string" && model.inferencePath) return model.inferencePath;
  const be = backendInfo();
  const tfjs = be ? `tensorflow.js (${be.name} backend, ${be.package})` : "tensorflow.js";
  if (typeof model.encodeRuntime === "function") {
    try {
      const choice = model.encodeRuntime();
      return choice.runtime === "onnxruntime" ? `onnxruntime-node (${choice.reason})` : `${tfjs}; ${choice.reason}`;
    } catch (err) {
      return `${tfjs}; ${(err as Error).message}`;
    }
  }
  return tfjs;
}

export interface ServedModelOptions {
  /** The id clients send as `model` (default: the model's name). */
  modelName?: string;
  /** Other ids accepted as `model`. */
  aliases?: string[];
  batching: Pick<BatcherOptions, "maxBatchTokens" | "maxBatchSize" | "maxQueuedInputs">;
}

export class ServedModel {
  private model: ServableModel | undefined;
  private batcherOf: DynamicBatcher | undefined;
  /** Why loading failed, once it has. */
  loadError: Error | undefined;
  /** Resolves when the model is loaded (rejects if loading failed). */
  readonly ready: Promise<ServableModel>;
  readonly aliases: string[];
  /** Unix seconds, for /v1/models' `created`. */
  readonly created = Math.floor(Date.now() / 1000);

  constructor(
    model: ServableModel | Promise<ServableModel>,
    private readonly options: ServedModelOptions,
    metrics: ServerMetrics,
  ) {
    this.aliases = options.aliases ?? [];
    this.ready = Promise.resolve(model).then(
      (m) => {
        this.model = m;
        this.batcherOf = new DynamicBatcher(m, {
          ...options.batching,
          onBatch: (b) => {
            metrics.batchSize.observe(b.size);
            metrics.inferenceSeconds.observe(b.seconds);
            for (const q of b.queueSeconds) metrics.queueSeconds.observe(q);
          },
          onBatchError: () => metrics.failedBatches++,
        });
        return m;
      },
      (err: unknown) => {
        this.loadError = err instanceof Error ? err : new Error(String(err));
        throw this.loadError;
      },
    );
    this.ready.catch(() => undefined); // reported through /health and the caller's own await of `ready`
  }

  /** The model once loaded (undefined before). */
  get loaded(): ServableModel | undefined {
    return this.model;
  }

  /** The batcher once the model is loaded (undefined before). */
  get batcher(): DynamicBatcher | undefined {
    return this.batcherOf;
  }

  /** The model and its batcher; a 503 ApiError while loading or after loading failed. */
  current(): { m: ServableModel; b: DynamicBatcher } {
    if (this.model && this.batcherOf) return { m: this.model, b: this.batcherOf };
    if (this.loadError)
      throw new ApiError(503, `The model failed to load: ${this.loadError.message}`, { code: "model_load_failed" });
    throw new ApiError(503, "The model is still loading; retry shortly.", { code: "model_loading", retryAfter: 2 });
  }

  /** The id the model is served under. */
  servedName(m: ServableModel): string {
    return this.options.modelName ?? m.name;
  }

  /** Whether `id` names the served model (its id or an alias). */
  accepts(m: ServableModel, id: string): boolean {
    return id === this.servedName(m) || this.aliases.includes(id);
  }

  /** 404 for a `model` this server does not serve. */
  notFound(id: string, m: ServableModel): ApiError {
    return new ApiError(
      404,
      `The model \`${id}\` does not exist on this server; it serves \`${this.servedName(m)}\`.`,
      {
        param: "model",
        code: "model_not_found",
      },
    );
  }
}

/** The id a model spec is served under: "offline", a folder's name, or a Hub id as given. */
export function defaultModelName(spec: string): string {
  const s = spec.trim().replace(/[\\/]+$/, "");
  if (s === "offline" || s === "offline-bert") return s;
  if (existsSync(s)) {
    // train's output: models/policy/best -> "policy-best" (a bare "best" says nothing)
    const name = basename(s);
    return name === "best" || name === "final" ? `${basename(dirname(resolve(s)))}-${name}` : name;
  }
  if (/^[\w.-]+\/[\w.@-]+$/.test(s) && !s.startsWith(".")) return s.split("@")[0];
  return basename(s);
}
