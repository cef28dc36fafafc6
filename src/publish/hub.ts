/**
 * Publishing a model folder to the Hugging Face Hub with @huggingface/hub: check the token first (nothing
 * is created or uploaded with a missing or rejected token), create the repository when it does not exist,
 * then upload every file of the folder plus the generated model card in one commit.
 *
 * The Hub endpoint is HF_ENDPOINT (default https://huggingface.co), so a mirror, a private Hub, or the
 * tests' loopback stand-in can take its place. The user's folder is never modified: the card is generated
 * in memory; a README.md already in the folder is uploaded as it is unless `card: "generate"` is asked for.
 */
import { openAsBlob, readdirSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { createRepo, uploadFiles, whoAmI } from "@huggingface/hub";
import { getConfig } from "../env";
import { generateModelCard, readModelFacts, readTrainingSummary, type EvalResults } from "./model-card";
import { frameworkVersions } from "./versions";

export interface PublishOptions {
  /** "user/name" or "org/name". */
  repo: string;
  /** Default: HF_TOKEN (or $HF_HOME/token). */
  token?: string;
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  private?: boolean;
  /** `eval --results` output, for the card's evaluation section and model-index. */
  evaluation?: EvalResults;
  evalSystem?: string;
  license?: string;
  language?: string;
  /** "auto" (default): keep a README.md the folder has, else generate; "generate": always generate. */
  card?: "auto" | "generate";
  commitTitle?: string;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
  onProgress?: (message: string) => void;
}

export interface PublishResult {
  repo: string;
  url: string;
  created: boolean;
  files: string[];
  cardGenerated: boolean;
  commit?: { oid: string; url: string };
  user: string;
}

/** Files of a folder, relative paths with "/" separators; dotfiles and dot-folders are left out. */
export function folderFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith(".")) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(folder, p).split(sep).join("/"));
    }
  };
  walk(folder);
  return out;
}

function httpStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: number; status?: number })?.statusCode ?? (err as { status?: number })?.status;
  return typeof s === "number" ? s : undefined;
}

export async function publishModel(folder: string, options: PublishOptions): Promise<PublishResult> {
  const dir = resolve(folder);
  const log = options.onProgress ?? (() => undefined);
  if (!/^[\w.-]+\/[\w.-]+$/.test(options.repo))
    throw new Error(`--repo ${options.repo}: expected "user/name" or "org/name" (letters, digits, "-", "_", ".").`);
  const token = options.token ?? getConfig().hfToken;
  const hubUrl = (options.hubUrl ?? getConfig().hfEndpoint).replace(/\/+$/, "");
  if (!token)
    throw new Error(
      "No Hugging Face token: set HF_TOKEN to a write token from https://huggingface.co/settings/tokens (nothing was uploaded).",
    );
  if (!token.startsWith("hf_"))
    throw new Error('HF_TOKEN does not look like a Hugging Face token (they start with "hf_"); nothing was uploaded.');

  // Everything local is checked before the network is touched.
  const facts = readModelFacts(dir);
  const files = folderFiles(dir);
  const hasReadme = files.includes("README.md");
  const generate = options.card === "generate" || !hasReadme;
  const card = generate
    ? generateModelCard({
        repo: options.repo,
        model: facts,
        training: readTrainingSummary(dir),
        evaluation: options.evaluation,
        evalSystem: options.evalSystem,
        license: options.license,
        language: options.language,
        frameworkVersions: frameworkVersions(),
      })
    : undefined;

  let user: string;
  try {
    const me = await whoAmI({ accessToken: token, hubUrl, fetch: options.fetch });
    user = me.name;
  } catch (err) {
    const status = httpStatus(err);
    if (status === 401 || status === 403)
      throw new Error(
        `${hubUrl} rejected HF_TOKEN (HTTP ${status}); create a write token at https://huggingface.co/settings/tokens. Nothing was uploaded.`,
      );
    throw new Error(`Cannot reach ${hubUrl} to check the token: ${(err as Error).message}. Nothing was uploaded.`);
  }
  log(`token ok (${user})`);

  let created = false;
  try {
    await createRepo({
      repo: { type: "model", name: options.repo },
      accessToken: token,
      hubUrl,
      fetch: options.fetch,
      ...(options.private ? { visibility: "private" as const } : {}),
    });
    created = true;
    log(`created ${options.repo}${options.private ? " (private)" : ""}`);
  } catch (err) {
    if (httpStatus(err) !== 409)
      throw new Error(`Creating ${options.repo} on ${hubUrl} failed: ${(err as Error).message}`);
    log(`${options.repo} exists; uploading a new commit`);
  }

  const uploads: { path: string; content: Blob }[] = [];
  for (const f of files)
    if (!(generate && f === "README.md")) uploads.push({ path: f, content: await openAsBlob(join(dir, f)) });
  if (card) uploads.push({ path: "README.md", content: new Blob([card], { type: "text/markdown" }) });
  log(`uploading ${uploads.length} files`);
  const commit = await uploadFiles({
    repo: { type: "model", name: options.repo },
    accessToken: token,
    hubUrl,
    fetch: options.fetch,
    files: uploads,
    commitTitle: options.commitTitle ?? `Upload ${facts.modules.join(" + ")} model from ts-embedding-finetune`,
  });
  return {
    repo: options.repo,
    url: `${hubUrl}/${options.repo}`,
    created,
    files: uploads.map((u) => u.path),
    cardGenerated: generate,
    commit: commit ? { oid: commit.commit.oid, url: commit.commit.url } : undefined,
    user,
  };
}
