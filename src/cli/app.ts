/**
 * `app`: the course's local web app (src/app): review generated pairs, explore base vs fine-tuned retrieval,
 * see the runs' results. Listens on 127.0.0.1 by default; another address needs --token. SIGTERM / SIGINT
 * finish the requests in flight and exit 0.
 */
import type { Command } from "commander";
import { emit, nonNegativeInt, note, withJson, type JsonOption } from "./common";

interface AppOpts extends JsonOption {
  dataset?: string;
  pairs?: string;
  model?: string;
  port: number;
  host: string;
  token?: string;
  runsDir?: string;
  reportsDir?: string;
  store?: string;
}

export function registerApp(program: Command): void {
  withJson(
    program
      .command("app")
      .description("Open the course's web app: review pairs, explore base vs fine-tuned retrieval, see the runs.")
      .option(
        "-d, --dataset <name|folder>",
        "dataset built under runs/, a shipped one, or a BEIR folder (default: the course's)",
      )
      .option(
        "--pairs <file>",
        "pairs (.jsonl / .parquet) or a review sheet (.csv) to review (default: notebook 01's sheet)",
      )
      .option("-m, --model <spec>", "base model (default: the course's model)")
      .option("-p, --port <n>", "port (0: any free port)", nonNegativeInt("--port"), 8765)
      .option("--host <addr>", "address to bind; anything but loopback needs --token", "127.0.0.1")
      .option("--token <secret>", "required on every request (open the printed address once to set it in the browser)")
      .option("--runs-dir <folder>", "where the course's runs are (default: runs/ or COURSE_RUNS_DIR)")
      .option("--reports-dir <folder>", "results.json and the exported notebooks (default: reports/)")
      .option("--store <spec>", "explorer's vectors: memory (default) or lancedb[:uri], a table per dataset and model"),
  ).action(async (opts: AppOpts) => {
    const { startApp } = await import("../app/start");
    const started = await startApp({
      dataset: opts.dataset,
      pairs: opts.pairs,
      model: opts.model,
      port: opts.port,
      host: opts.host,
      token: opts.token,
      runsDir: opts.runsDir,
      reportsDir: opts.reportsDir,
      store: opts.store,
      log: (line) => note(opts, line),
    });
    emit(
      opts,
      [
        `app at ${started.openUrl}  (review: /review, explore: /explore, runs: /runs)`,
        "Ctrl-C or SIGTERM stops after the requests in flight",
      ],
      { ok: true, event: "ready", url: started.url, reviewSheet: started.reviewSheet ?? null, pid: process.pid },
    );
    await new Promise<void>((done) => {
      const stop = (signal: string) => {
        note(opts, `${signal}: finishing requests in flight ...`);
        started.server.close().then(done, done);
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    emit(opts, "stopped", { ok: true, event: "stopped" });
  });
}
