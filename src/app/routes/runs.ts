/**
 * The Runs page's data: GET /api/runs (reports/results.json as rows, comparisons and timings, and the exported
 * notebooks), and GET /reports/<notebook>.html for a notebook it lists (never a path from the request).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { readResults } from "../../course/results";
import { exportedNotebooks } from "../catalog";
import { HttpError } from "../http";
import { sendFile } from "./pages";

/** Exported notebooks run their own inline scripts (charts): sandboxed, so they cannot reach the API. */
const REPORT_CSP = "sandbox allow-scripts allow-popups";

export interface RunsRouteOptions {
  /** reports/ (results.json and the exported notebooks). */
  reportsDir: string;
}

export const runsRoutes: FastifyPluginAsync<RunsRouteOptions> = async (app, options) => {
  app.get<{ Params: { name: string } }>("/reports/:name", async (req, reply) => {
    const listed = exportedNotebooks(options.reportsDir).find((n) => n.file === req.params.name);
    if (!listed) throw new HttpError(404, `No exported notebook "${req.params.name}" in ${options.reportsDir}.`);
    reply.header("content-security-policy", REPORT_CSP);
    return sendFile(reply, join(options.reportsDir, listed.file), "text/html; charset=utf-8");
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
};
