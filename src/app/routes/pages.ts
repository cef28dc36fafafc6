/**
 * The pages and their files: / (to the first page there is something for), the three pages (one shell, page.html,
 * with the page's title and scripts put in), and /static/<name> from a fixed list, none named by the request.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { HttpError } from "../http";

const PUBLIC = join(__dirname, "..", "public");
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

/** A file from the fixed lists, with its content type. */
export function sendFile(reply: FastifyReply, file: string, type: string): FastifyReply {
  return reply.type(type).send(readFileSync(file));
}

export interface PagesRouteOptions {
  /** Where / leads. */
  home: string;
}

export const pagesRoutes: FastifyPluginAsync<PagesRouteOptions> = async (app, options) => {
  app.get("/", async (_req, reply) => reply.redirect(options.home, 302));
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
};
