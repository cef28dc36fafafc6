/**
 * The course's local web app on fastify: three pages that share one stylesheet and a JSON API under /api/.
 *
 *   /review    the pairs of a generated set, accept / reject / edit with the keyboard; every decision written at once
 *   /explore   one query, BM25 + the base model + every fine-tuned model side by side
 *   /runs      reports/results.json as a table and a chart, links to the exported notebooks
 *
 *   GET  /api/info                  what the app serves: dataset, review sheet, systems (loading / ready / failed)
 *   GET  /api/review                ?status=all|pending|decided|flagged|invalid &generator= &q= &offset= &limit=
 *   GET  /api/review/:id            one pair
 *   POST /api/review/:id            {"decision": "accept"|"reject"|"edit"|"pending", "anchor"?: "...", "version"?: "..."}
 *   GET  /api/search                ?q=TEXT &k=10 &offset=0
 *   GET  /api/examples              questions fine-tuning fixed and broke (held-out split, measured)
 *   GET  /api/runs                  results.json rows, comparisons, timings, exported notebooks
 *   GET  /reports/<notebook>.html   an exported notebook (only names listed by /api/runs)
 *
 * Each group of routes is a fastify plugin under ./routes (pages, runs, review, explore) given what it reads through
 * its options; this file holds the app's state (review store, explorer), /api/info, the error body
 * `{"error", "status"}`, and the hooks every request passes, in this order: security headers, the shutdown gate
 * and bearer auth (the plugins the embedding server uses too, src/serve/plugins), with the Host check between them.
 *
 * Safety: pages build every text with textContent (never innerHTML from data) and are served with a
 * Content-Security-Policy that allows scripts from this origin only; files are served from a fixed list, never
 * from a path in the request. Bound to loopback without a token, requests must name a loopback Host (DNS
 * rebinding); with a token (required for any other address), every request must carry it: the
 * `Authorization: Bearer` header, or the cookie set by opening /?token=... once.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { bearerAuth } from "../serve/plugins/bearer-auth";
import { RequestGate, openRequestGate } from "../serve/plugins/open-requests";
import { STRICT_AJV } from "../serve/plugins/strict-schemas";
import type { ReviewSource } from "./catalog";
import type { Explorer } from "./explorer";
import { HttpError } from "./http";
import { ReviewStore } from "./review-store";
import { exploreRoutes } from "./routes/explore";
import { pagesRoutes } from "./routes/pages";
import { reviewRoutes } from "./routes/review";
import { runsRoutes } from "./routes/runs";

export interface AppOptions {
  /** The review sheet (see resolveReviewSource); absent: the Review page says how to get one. */
  review?: ReviewSource;
  /** Passage titles by corpus id, for sheets without a title column. */
  titles?: (positiveId: string) => string | undefined;
  /** The explorer, or its promise (models load after the server listens). */
  explorer?: Explorer | Promise<Explorer>;
  /** Why there is no explorer (shown on the Explore page). */
  explorerMissing?: string;
  /** reports/ (results.json and the exported notebooks). */
  reportsDir: string;
  /** Required on every request when set. */
  token?: string;
  /** The address bound: loopback without a token enables the Host check. */
  host?: string;
}

export interface AppServer {
  app: FastifyInstance;
  /** Starts listening; resolves with the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, finishes requests in flight, closes the socket. */
  close(): Promise<void>;
}

const COOKIE = "ts_embed_app_token";
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function createAppServer(options: AppOptions): AppServer {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024, forceCloseConnections: "idle", ajv: STRICT_AJV });
  const gate = new RequestGate();
  let store: ReviewStore | undefined;
  let storeError: Error | undefined;
  if (options.review) {
    try {
      store = new ReviewStore(options.review.sheet, { titles: options.titles });
    } catch (err) {
      storeError = err as Error;
    }
  }
  let explorer: Explorer | undefined;
  let explorerError: Error | undefined;
  const explorerReady = options.explorer ? Promise.resolve(options.explorer) : undefined;
  explorerReady?.then(
    (e) => {
      explorer = e;
    },
    (err: unknown) => {
      explorerError = err instanceof Error ? err : new Error(String(err));
    },
  );
  const hostCheck = !options.token && isLoopback(options.host ?? "127.0.0.1");

  app.setErrorHandler(
    (err: Error & { statusCode?: number; extra?: Record<string, unknown>; current?: unknown }, req, reply) => {
      const status = typeof err.statusCode === "number" && err.statusCode >= 400 ? err.statusCode : 500;
      const body: Record<string, unknown> = { error: err.message, status, ...(err.extra ?? {}) };
      if (err.current) body.current = err.current;
      if (status === 500 && !(req.url.startsWith("/api/") || req.url.startsWith("/api?")))
        body.error = `internal error: ${err.message}`;
      if (err instanceof HttpError && err.retryAfter !== undefined) reply.header("retry-after", String(err.retryAfter));
      reply.code(status).type("application/json; charset=utf-8").send(body);
    },
  );
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0];
    reply
      .code(404)
      .type("application/json; charset=utf-8")
      .send({
        error: `No route ${req.method} ${path}; pages: /review, /explore, /runs; API: /api/info, /api/review, /api/search, /api/examples, /api/runs.`,
        status: 404,
      });
  });

  // Hooks run in this order: headers, the shutdown gate, the Host check, the token, the token's cookie.
  app.addHook("onRequest", async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("cache-control", "no-store");
  });
  app.register(openRequestGate, {
    gate,
    shuttingDown: () => new HttpError(503, "The app is shutting down.", {}, 1),
  });
  if (hostCheck)
    app.addHook("onRequest", async (req: FastifyRequest) => {
      const host = String(req.headers.host ?? "").replace(/:\d+$/, "");
      if (!isLoopback(host))
        throw new HttpError(
          403,
          `Host "${req.headers.host}" is not this machine: the app answers only on 127.0.0.1 / localhost (start it with --host and --token to serve others).`,
        );
    });
  if (options.token) {
    app.register(bearerAuth, {
      key: options.token,
      messages: {
        missing:
          "This app needs its token: open the address the app printed (with ?token=...), or send Authorization: Bearer <token>.",
        wrong: "Wrong token.",
      },
      alsoFrom: (req) => {
        const cookie = /(?:^|;\s*)ts_embed_app_token=([^;]+)/.exec(String(req.headers.cookie ?? ""))?.[1];
        const fromQuery = new URL(req.url, "http://x").searchParams.get("token");
        return fromQuery ?? (cookie ? decodeURIComponent(cookie) : undefined);
      },
    });
    app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
      const url = new URL(req.url, "http://x");
      const fromQuery = url.searchParams.get("token");
      if (fromQuery && req.method === "GET" && !url.pathname.startsWith("/api/")) {
        // Put the token in a cookie and drop it from the address bar (and from the history).
        url.searchParams.delete("token");
        reply.header("set-cookie", `${COOKIE}=${encodeURIComponent(fromQuery)}; HttpOnly; SameSite=Strict; Path=/`);
        reply.redirect(`${url.pathname}${url.search}`, 303);
        return reply;
      }
    });
  }

  app.register(pagesRoutes, { home: options.review ? "/review" : "/explore" });
  app.register(runsRoutes, { reportsDir: options.reportsDir });
  app.register(reviewRoutes, {
    store: () => {
      if (store) return store;
      if (storeError) throw new HttpError(422, storeError.message);
      throw new HttpError(
        404,
        "Nothing to review: no review sheet. Run notebook 01 (npm run course -- 01), which exports one under runs/<dataset>/review/, or start the app with --pairs <pairs.jsonl | sheet.csv>.",
      );
    },
  });
  app.register(exploreRoutes, { explorer: explorerReady, explorerMissing: options.explorerMissing });

  const systemsInfo = () =>
    explorer ? explorer.systems.map((s) => ({ name: s.name, model: s.model, index: s.index })) : [];

  app.get("/api/info", async () => ({
    review: options.review
      ? {
          file: options.review.sheet,
          from: options.review.from,
          notice: options.review.notice,
          error: storeError?.message,
        }
      : undefined,
    explore: explorer
      ? {
          status: "ready",
          dataset: explorer.dataset.name,
          datasetDir: explorer.dataset.dir,
          passages: explorer.corpusSize,
          systems: systemsInfo(),
        }
      : explorerError
        ? { status: "failed", error: explorerError.message }
        : explorerReady
          ? { status: "loading" }
          : { status: "unavailable", error: options.explorerMissing ?? "no dataset" },
    reportsDir: options.reportsDir,
  }));

  return {
    app,
    listen: (port = 8765, host = "127.0.0.1") => app.listen({ port, host }),
    async close() {
      gate.closing = true;
      await app.close();
    },
  };
}
