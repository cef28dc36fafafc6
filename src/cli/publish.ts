/** `publish <folder> --repo user/name`: upload a model folder with a generated model card to the Hub (src/publish). */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { EvalResults } from "../publish/index";
import { emit, existingFile, existingFolder, note, UsageError, withJson, type JsonOption } from "./common";

interface PublishOpts extends JsonOption {
  repo: string;
  private?: boolean;
  eval?: string;
  evalSystem?: string;
  license?: string;
  language?: string;
  regenerateCard?: boolean;
  hubUrl?: string;
}

export function registerPublish(program: Command): void {
  withJson(
    program
      .command("publish")
      .description(
        "Upload a model folder (train's best/ or final/) to the Hugging Face Hub with a generated model card.",
      )
      .argument("<folder>", "model folder in sentence-transformers' layout")
      .requiredOption("-r, --repo <user/name>", "Hub repository (created when missing)")
      .option("--private", "create the repository private")
      .option("--eval <results.json>", "evaluation results written by `eval --results`, for the card and model-index")
      .option(
        "--eval-system <label>",
        "which system in the results is this model (default: the first that is not bm25)",
      )
      .option("--license <id>", "license for the card, e.g. apache-2.0")
      .option("--language <code>", "language for the card, e.g. en")
      .option("--regenerate-card", "generate README.md even when the folder has one")
      .option("--hub-url <url>", "Hub endpoint (default: HF_ENDPOINT, else https://huggingface.co)"),
  ).action(async (folder: string, opts: PublishOpts) => {
    const dir = existingFolder(folder, "publish <folder>");
    let evaluation: EvalResults | undefined;
    if (opts.eval) {
      const p = existingFile(opts.eval, "--eval");
      try {
        evaluation = JSON.parse(readFileSync(p, "utf8")) as EvalResults;
      } catch (err) {
        throw new UsageError(
          `--eval ${p}: not JSON (${(err as Error).message}); pass the file written by \`eval --results\`.`,
        );
      }
      if (!Array.isArray(evaluation?.systems))
        throw new UsageError(`--eval ${p}: no "systems" list; pass the file written by \`eval --results\`.`);
    }
    const { publishModel } = await import("../publish/index");
    const res = await publishModel(dir, {
      repo: opts.repo,
      private: opts.private,
      evaluation,
      evalSystem: opts.evalSystem,
      license: opts.license,
      language: opts.language,
      card: opts.regenerateCard ? "generate" : "auto",
      hubUrl: opts.hubUrl,
      onProgress: (m) => note(opts, m),
    });
    emit(
      opts,
      [
        `${res.created ? "created and uploaded" : "uploaded"} ${res.files.length} files to ${res.url}${res.commit ? ` (commit ${res.commit.oid})` : ""}`,
        res.cardGenerated ? "model card generated" : "model card: the folder's README.md",
      ],
      {
        ok: true,
        ...res,
      },
    );
  });
}
