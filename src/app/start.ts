/**
 * Starts the app from command-line choices: finds the dataset, the review sheet and the models (./catalog),
 * listens at once, and loads the models behind the Explore page while the Review page already works.
 */
import { getConfig } from "../env";
import { findModels, resolveAppDataset, resolveReviewSource, type AppDataset } from "./catalog";
import { Explorer } from "./explorer";
import { createAppServer, isLoopback, type AppServer } from "./server";

export interface StartOptions {
  /** A dataset the course built under runsDir, a shipped one, or a BEIR folder (default: the course's dataset). */
  dataset?: string;
  /** Pairs (.jsonl / .parquet) or a review sheet (.csv) to review instead of notebook 1's. */
  pairs?: string;
  /** The base model (default: the course's model). */
  model?: string;
  port?: number;
  host?: string;
  token?: string;
  runsDir?: string;
  reportsDir?: string;
  dataDir?: string;
  /** Progress lines (what was found, reused, embedded). */
  log?: (line: string) => void;
  /** Where the explorer's corpus vectors live: "memory" (default) or "lancedb[:uri]" (a table per dataset and model). */
  store?: string;
}

export interface StartedApp {
  server: AppServer;
  url: string;
  /** The address to open (with the token when there is one). */
  openUrl: string;
  dataset?: AppDataset;
  reviewSheet?: string;
  /** Resolves when the Explore page's models are loaded (rejects when they cannot be). */
  explorerReady: Promise<Explorer | undefined>;
}

/** The course's dataset and model from course.config.json and the environment, without failing. */
async function courseDefaults(): Promise<{ dataset: string; model: string }> {
  try {
    const { courseSetup } = await import("../course/setup");
    const course = courseSetup();
    return { dataset: course.dataset.name, model: course.model };
  } catch {
    return {
      dataset: getConfig().course.dataset ?? "policy-handbook",
      model: getConfig().course.model ?? getConfig().model,
    };
  }
}

export async function startApp(options: StartOptions = {}): Promise<StartedApp> {
  const log = options.log ?? (() => {});
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host) && !options.token)
    throw new Error(
      `--host ${host} serves other machines: give --token <secret> too (every request must then carry it).`,
    );
  const runsDir = options.runsDir ?? getConfig().course.runsDir ?? `${getConfig().repoRoot}/runs`;
  const reportsDir = options.reportsDir ?? getConfig().reportsDir;
  const dataDir = options.dataDir ?? getConfig().dataDir;
  const defaults = options.dataset && options.model ? undefined : await courseDefaults();
  const datasetSpec = options.dataset ?? (defaults?.dataset as string);
  const modelSpec = options.model ?? (defaults?.model as string);

  let dataset: AppDataset | undefined;
  let explorerMissing: string | undefined;
  try {
    dataset = resolveAppDataset(datasetSpec, { runsDir, dataDir });
    log(`dataset ${dataset.name}: ${dataset.beir.corpus.size} passages (${dataset.dir})`);
  } catch (err) {
    if (options.dataset) throw err;
    explorerMissing = (err as Error).message;
  }
  const review = resolveReviewSource(options.pairs, dataset?.runsDir);
  if (review?.created) log(review.created);
  if (review?.notice) log(`note: ${review.notice}`);
  if (review) log(`review sheet: ${review.sheet}`);
  else log("review: no sheet yet (run notebook 01, or pass --pairs)");

  let explorer: Promise<Explorer> | undefined;
  if (dataset) {
    const models = findModels(dataset.runsDir, modelSpec);
    log(
      `models: base ${models.base.model}; ${models.tuned.length} fine-tuned${models.tuned.length ? ` (${models.tuned.map((t) => t.system).join(", ")})` : " (none yet under runs/: run notebook 03)"}`,
    );
    explorer = Explorer.open(dataset, models, log, { store: options.store });
    explorer.catch((err: Error) => log(`explore: could not load the models: ${err.message}`));
  }
  const corpus = dataset?.beir.corpus;
  const server = createAppServer({
    review,
    titles: corpus ? (id) => corpus.get(id)?.title : undefined,
    explorer,
    explorerMissing,
    reportsDir,
    token: options.token,
    host,
  });
  const url = await server.listen(options.port ?? 8765, host);
  const openUrl = options.token ? `${url}/?token=${encodeURIComponent(options.token)}` : url;
  return {
    server,
    url,
    openUrl,
    dataset,
    reviewSheet: review?.sheet,
    explorerReady: explorer ? explorer.catch(() => undefined) : Promise.resolve(undefined),
  };
}
