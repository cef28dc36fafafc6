/**
 * `serve`: the model behind an OpenAI-compatible API (src/serve). Listens at once (/health says 503 until
 * the model is loaded). SIGTERM, SIGINT or SIGHUP (from the moment it listens; a repeated signal is the same
 * request) stop listening, answer 503 + Retry-After to requests on connections still open, finish the
 * requests in flight and exit 0; requests still open after --grace-seconds are cut off and the exit code is 1.
 * Run it as the process that receives the signal (`ts-embed serve`, `npm run cli -- serve`: no wrapper).
 */
import type { Command } from "commander";
import { getConfig } from "../env";
import {
  emit,
  existingFolder,
  nonNegativeInt,
  note,
  positiveInt,
  UsageError,
  withJson,
  type JsonOption,
} from "./common";

interface ServeOpts extends JsonOption {
  model: string;
  modelName?: string;
  alias: string[];
  port: number;
  host: string;
  apiKey?: string;
  maxInputs: number;
  maxInputTokens: number;
  longInputs: string;
  maxBodyBytes: number;
  maxBatchTokens: number;
  maxBatchSize: number;
  maxQueue: number;
  dtype: string;
  maxConcurrent: number;
  headersTimeout: number;
  requestTimeout: number;
  graceSeconds: number;
  reranker?: string;
  rerankerName?: string;
  rerankerDtype: string;
  store: string;
  table?: string;
  modelKey?: string;
}

export function registerServe(program: Command): void {
  withJson(
    program
      .command("serve")
      .description(
        "Serve a model through an OpenAI-compatible API: POST /v1/embeddings, GET /v1/models, /info, /health, /metrics; with --reranker also POST /v1/rerank.",
      )
      .option("-m, --model <spec>", "Hub id, model folder, offline, offline-bert", getConfig().model)
      .option("--model-name <id>", "the id clients send as `model` (default: from --model)")
      .option("--alias <id...>", "further ids accepted as `model` (e.g. text-embedding-3-small)", [])
      .option("-p, --port <n>", "port (0: any free port)", nonNegativeInt("--port"), 8080)
      .option("--host <addr>", "address to bind (0.0.0.0 for every interface)", "127.0.0.1")
      .option("--api-key <key>", "require Authorization: Bearer <key> (default: COURSE_SERVE_API_KEY)")
      .option("--max-inputs <n>", "inputs per request", positiveInt("--max-inputs"), 2048)
      .option("--max-input-tokens <n>", "tokens per input", positiveInt("--max-input-tokens"), 8192)
      .option("--long-inputs <mode>", "inputs over --max-input-tokens: reject (400, as OpenAI) or truncate", "reject")
      .option("--max-body-bytes <n>", "request body limit", positiveInt("--max-body-bytes"), 8 * 1024 * 1024)
      .option("--max-batch-tokens <n>", "padded tokens per model batch", positiveInt("--max-batch-tokens"), 16_384)
      .option("--max-batch-size <n>", "inputs per model batch", positiveInt("--max-batch-size"), 256)
      .option("--max-queue <n>", "inputs allowed to wait before 429", positiveInt("--max-queue"), 8192)
      .option(
        "--dtype <dtype>",
        "fp32, or q8: the folder's int8 onnx/model_quantized.onnx (exportOnnx quantize)",
        "fp32",
      )
      .option("--max-concurrent <n>", "requests open at once before 429", positiveInt("--max-concurrent"), 512)
      .option(
        "--headers-timeout <s>",
        "seconds a client may take to send its headers",
        positiveInt("--headers-timeout"),
        10,
      )
      .option(
        "--request-timeout <s>",
        "seconds a client may take to send its request",
        positiveInt("--request-timeout"),
        60,
      )
      .option(
        "--store <spec>",
        "POST /v1/search over a LanceDB table: lancedb[:uri] (memory: no search route)",
        "memory",
      )
      .option("--table <name>", "the store's table (default: <dataset>-<model>, as the course names it)")
      .option("--model-key <key>", "the model key the table was built with (default: --model)")
      .option(
        "--grace-seconds <s>",
        "on SIGTERM, how long requests in flight may take",
        positiveInt("--grace-seconds"),
        25,
      )
      .option("--reranker <dir>", "a cross-encoder folder to serve at POST /v1/rerank (ONNX Runtime)")
      .option("--reranker-name <id>", "the id clients send as `model` to /v1/rerank (default: the folder's name)")
      .option("--reranker-dtype <dtype>", "fp32, or q8 (int8) for the re-ranker", "fp32"),
  ).action(async (opts: ServeOpts) => {
    if (opts.longInputs !== "truncate" && opts.longInputs !== "reject")
      throw new UsageError(`--long-inputs ${opts.longInputs}: expected truncate or reject.`);
    if (opts.dtype !== "fp32" && opts.dtype !== "q8")
      throw new UsageError(`--dtype ${opts.dtype}: expected fp32 or q8.`);
    if (opts.rerankerDtype !== "fp32" && opts.rerankerDtype !== "q8")
      throw new UsageError(`--reranker-dtype ${opts.rerankerDtype}: expected fp32 or q8.`);
    const rerankerDir = opts.reranker === undefined ? undefined : existingFolder(opts.reranker, "--reranker");
    const { loadModel } = await import("../model/index");
    const { createEmbeddingServer, defaultModelName, inferencePathOf } = await import("../serve/index");
    const { OnnxCrossEncoder } = await import("../rerank/index");
    const rerankerName = opts.rerankerName ?? (rerankerDir ? defaultModelName(rerankerDir) : undefined);
    const reranker = rerankerDir
      ? OnnxCrossEncoder.load(rerankerDir, { dtype: opts.rerankerDtype as "fp32" | "q8", name: rerankerName })
      : undefined;
    const { openStore, parseStoreSpec, storeTableName } = await import("../retrieval/index");
    const storeSpec = parseStoreSpec(opts.store, "--store");
    const loading = loadModel(opts.model, { dtype: opts.dtype });
    const table =
      opts.table ?? storeTableName(getConfig().course.dataset ?? "policy-handbook", defaultModelName(opts.model));
    const store =
      storeSpec.kind === "memory"
        ? undefined
        : loading.then((m) =>
            openStore(storeSpec, { table, dim: m.dim, modelKey: opts.modelKey ?? opts.model, mode: "open" }),
          );
    store?.then(
      (s) => note(opts, `POST /v1/search over ${s.describe()}`),
      (err: Error) => note(opts, `--store ${opts.store}: ${err.message} (POST /v1/search answers 503)`),
    );
    const server = createEmbeddingServer({
      model: loading,
      store,
      modelName: opts.modelName ?? defaultModelName(opts.model),
      aliases: opts.alias,
      apiKey: opts.apiKey ?? getConfig().serveApiKey,
      maxInputs: opts.maxInputs,
      maxInputTokens: opts.maxInputTokens,
      onLongInput: opts.longInputs,
      maxBodyBytes: opts.maxBodyBytes,
      maxBatchTokens: opts.maxBatchTokens,
      maxBatchSize: opts.maxBatchSize,
      maxQueuedInputs: opts.maxQueue,
      maxConcurrentRequests: opts.maxConcurrent,
      headersTimeoutMs: opts.headersTimeout * 1000,
      requestTimeoutMs: opts.requestTimeout * 1000,
      reranker,
      rerankerName,
    });
    // Handlers before listening, so that a stop while the model loads is graceful too.
    let stopping: Promise<{ drained: boolean; cutOff: number }> | undefined;
    let stopped!: () => void;
    const stopSignal = new Promise<void>((resolve) => (stopped = resolve));
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        note(opts, `${signal}: already stopping (requests in flight get up to ${opts.graceSeconds} s)`);
        return;
      }
      note(opts, `${signal}: finishing requests in flight (up to ${opts.graceSeconds} s) ...`);
      stopping = server.close({ graceMs: opts.graceSeconds * 1000 });
      stopped();
    };
    const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
    for (const s of signals) process.on(s, stop);
    const url = await server.listen(opts.port, opts.host);
    note(opts, `listening on ${url} (loading ${opts.model} ...)`);
    const model = await Promise.race([server.ready, stopSignal.then(() => undefined)]).catch(async (err: Error) => {
      await server.close();
      throw new Error(`could not load the model: ${err.message}`);
    });
    // "ready" once the re-ranker is loaded too (its route answers 503 until then).
    const rerankerReady = await Promise.race([reranker, stopSignal.then(() => undefined)]).catch(async (err: Error) => {
      await server.close();
      throw new Error(`could not load the re-ranker ${rerankerDir}: ${err.message}`);
    });
    if (model)
      emit(
        opts,
        [
          `serving ${opts.modelName ?? defaultModelName(opts.model)} (${model.dim}-d, ${inferencePathOf(model)}) at ${url}/v1/embeddings`,
          ...(rerankerReady ? [`re-ranking with ${rerankerName} (${rerankerReady.reason}) at ${url}/v1/rerank`] : []),
          "Ctrl-C or SIGTERM stops after the requests in flight",
        ],
        {
          ok: true,
          event: "ready",
          url,
          model: opts.modelName ?? defaultModelName(opts.model),
          dimensions: model.dim,
          inferencePath: inferencePathOf(model),
          ...(rerankerReady ? { reranker: rerankerName } : {}),
          pid: process.pid,
        },
      );
    await stopSignal;
    const { drained, cutOff } = await (stopping as Promise<{ drained: boolean; cutOff: number }>);
    for (const s of signals) process.off(s, stop);
    const served = server.metrics.requestsWithStatus(200, "/v1/embeddings");
    emit(
      opts,
      drained
        ? `stopped after ${served} successful requests`
        : `stopped after ${served} successful requests; ${cutOff} still open after ${opts.graceSeconds} s were cut off`,
      { ok: drained, event: "stopped", successfulRequests: served, cutOff },
    );
    if (!drained) process.exitCode = 1;
  });
}
