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
 * Safety: pages build every text with textContent (never innerHTML from data) and are served with a
 * Content-Security-Policy that allows scripts from this origin only; files are served from a fixed list, never
 * from a path in the request. Bound to loopback without a token, requests must name a loopback Host (DNS
 * rebinding); with a token (required for any other address), every request must carry it: the
 * `Authorization: Bearer` header, or the cookie set by opening /?token=... once.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { readResults } from "../course/results";
import { bearerAuth } from "../serve/plugins/bearer-auth";
import { RequestGate, openRequestGate } from "../serve/plugins/open-requests";
import { STRICT_AJV } from "../serve/plugins/strict-schemas";
import { exportedNotebooks, type ReviewSource } from "./catalog";
import type { Explorer } from "./explorer";
import { ReviewStore } from "./review-store";

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

const PUBLIC = join(__dirname, "public");
/** The pages: one shell (page.html) with the page's title and scripts; these are the only values put into it. */
const PAGES: Record<string, { page: string; title: string; scripts: string[] }> = {
  "/review": { page: "review", title: "Review pairs", scripts: ["review.js"] },
  "/explore": { page: "explore", title: "Explore retrieval", scripts: ["explore.js"] },
  "/runs": { page: "runs", title: "Runs", scripts: ["plotly.min.js", "runs.js"] },
};
const ASSETS: Record<string, { file: string; type: string }> = {
  "app.css": { file: join(PUBLIC, "app.css"), type: "text/css; charset=utf-8" },
  "common.js": { file: join(PUBLIC, "common.js"), type: "text/javascript; charset=utf-8" },
  "review.js": { file: join(PUBLIC, "review.js"), type: "text/javascript; charset=utf-8" },
  "explore.js": { file: join(PUBLIC, "explore.js"), type: "text/javascript; charset=utf-8" },
  "runs.js": { file: join(PUBLIC, "runs.js"), type: "text/javascript; charset=utf-8" },
  "plotly.min.js": { file: require.resolve("plotly.js-dist-min"), type: "text/javascript; charset=utf-8" },
};
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** Exported notebooks run their own inline scripts (charts): sandboxed, so they cannot reach the API. */
const REPORT_CSP = "sandbox allow-scripts allow-popups";
const COOKIE = "ts_embed_app_token";
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

class HttpError extends Error {
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

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A decision's body; `decision` itself is the review store's to check (it names the choices). */
const DECISION_BODY = {
  type: "object",
  properties: { anchor: { type: ["string", "null"] }, version: { type: "string" } },
} as const;

/** The app's message for the first fault fastify's validator found in a decision body. */
function decisionBodyError(faults: { instancePath: string }[]): HttpError {
  const field = ["/anchor", "/version"].find((p) => faults.some((f) => f.instancePath === p));
  if (!faults.some((f) => f.instancePath === "") && field)
    return new HttpError(400, `"${field.slice(1)}" must be a string.`);
  return new HttpError(400, 'Send a JSON object: {"decision": "accept"|"reject"|"edit"|"pending", "anchor"?: "..."}.');
}

/**
 * A query parameter as an integer in [min, max]. Query parameters are checked here rather than by a querystring
 * schema: the message quotes the value as sent (a repeated parameter arrives as an array), and some ranges are the
 * data's (a search's offset is below the corpus size).
 */
function intParam(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HttpError(400, `${name}=${String(value)}: expected an integer from ${min} to ${max}.`);
  return n;
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

  // Pages and assets: a fixed list of files, none named by the request.
  const sendFile = (reply: FastifyReply, file: string, type: string) => reply.type(type).send(readFileSync(file));
  app.get("/", async (_req, reply) => reply.redirect(options.review ? "/review" : "/explore", 302));
  app.get("/favicon.ico", async (_req, reply) => reply.code(204).send());
  const shell = readFileSync(join(PUBLIC, "page.html"), "utf8");
  for (const [route, p] of Object.entries(PAGES)) {
    const html = shell
      .replace(/\{\{title\}\}/g, p.title)
      .replace(/\{\{page\}\}/g, p.page)
      .replace("{{scripts}}", p.scripts.map((f) => `  <script src="/static/${f}"></script>`).join("\n"));
    app.get(route, async (_req, reply) => {
      reply.header("content-security-policy", PAGE_CSP).header("x-frame-options", "DENY");
      return reply.type("text/html; charset=utf-8").send(html);
    });
  }
  app.get<{ Params: { name: string } }>("/static/:name", async (req, reply) => {
    const asset = Object.hasOwn(ASSETS, req.params.name) ? ASSETS[req.params.name] : undefined;
    if (!asset) throw new HttpError(404, `No static file "${req.params.name}".`);
    return sendFile(reply, asset.file, asset.type);
  });
  app.get<{ Params: { name: string } }>("/reports/:name", async (req, reply) => {
    const listed = exportedNotebooks(options.reportsDir).find((n) => n.file === req.params.name);
    if (!listed) throw new HttpError(404, `No exported notebook "${req.params.name}" in ${options.reportsDir}.`);
    reply.header("content-security-policy", REPORT_CSP);
    return sendFile(reply, join(options.reportsDir, listed.file), "text/html; charset=utf-8");
  });

  const reviewStore = (): ReviewStore => {
    if (store) return store;
    if (storeError) throw new HttpError(422, storeError.message);
    throw new HttpError(
      404,
      "Nothing to review: no review sheet. Run notebook 01 (npm run course -- 01), which exports one under runs/<dataset>/review/, or start the app with --pairs <pairs.jsonl | sheet.csv>.",
    );
  };
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

  app.get<{ Querystring: Record<string, string> }>("/api/review", async (req) => {
    const q = req.query;
    const status = q.status ?? "all";
    if (!["all", "pending", "decided", "flagged", "invalid"].includes(status))
      throw new HttpError(400, `status=${status}: use all, pending, decided, flagged or invalid.`);
    return reviewStore().list({
      status,
      generator: q.generator || undefined,
      q: q.q,
      offset: intParam(q.offset, "offset", 0, 0, 1e9),
      limit: intParam(q.limit, "limit", 500, 1, 2000),
    });
  });
  app.get<{ Params: { id: string } }>("/api/review/:id", async (req) => reviewStore().get(req.params.id));
  app.post<{ Params: { id: string }; Body: { decision?: unknown; anchor?: string | null; version?: string } }>(
    "/api/review/:id",
    {
      schema: { body: DECISION_BODY },
      schemaErrorFormatter: (faults) => decisionBodyError(faults),
    },
    async (req) => {
      const b = req.body;
      const s = reviewStore();
      const item = s.decide(req.params.id, {
        decision: String(b.decision ?? ""),
        anchor: b.anchor ?? undefined,
        version: b.version,
      });
      return { item, counts: s.counts(), revision: s.revision };
    },
  );

  const needExplorer = async (): Promise<Explorer> => {
    if (!explorerReady) throw new HttpError(404, `Nothing to search: ${options.explorerMissing ?? "no dataset"}.`);
    try {
      return await explorerReady;
    } catch (err) {
      throw new HttpError(503, `The models could not be loaded: ${(err as Error).message}`);
    }
  };
  app.get<{ Querystring: Record<string, string> }>("/api/search", async (req) => {
    const q = (req.query.q ?? "").trim();
    if (q === "")
      throw new HttpError(400, "q is empty: give the question to search, e.g. /api/search?q=how+many+vacation+days");
    if (q.length > 2000) throw new HttpError(400, `q is ${q.length} characters; at most 2000.`);
    const e = await needExplorer();
    const k = intParam(req.query.k, "k", 10, 1, 100);
    const offset = intParam(req.query.offset, "offset", 0, 0, e.corpusSize - 1);
    return e.search(q, k, offset);
  });
  app.get("/api/examples", async () => (await needExplorer()).fixedAndBroken());
  app.get<{ Params: { id: string } }>("/api/passages/:id", async (req) => {
    const e = await needExplorer();
    const p = e.passage(req.params.id);
    if (!p) throw new HttpError(404, `No passage "${req.params.id}" in ${e.dataset.dir}.`);
    return p;
  });
  app.get("/api/runs", async () => {
    const file = readResults(join(options.reportsDir, "results.json"));
    return {
      file: join(options.reportsDir, "results.json"),
      exists: existsSync(join(options.reportsDir, "results.json")),
      results: file.results,
      comparisons: file.comparisons,
      timings: file.timings,
      notebooks: exportedNotebooks(options.reportsDir).map((n) => ({ ...n, href: `/reports/${n.file}` })),
    };
  });

  return {
    app,
    listen: (port = 8765, host = "127.0.0.1") => app.listen({ port, host }),
    async close() {
      gate.closing = true;
      await app.close();
    },
  };
}
