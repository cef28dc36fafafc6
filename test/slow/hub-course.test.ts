// The Hub download path end to end, against a stand-in Hub on loopback (test/fixtures/hub-stand-in.ts: the Hub's URL
// scheme and headers, LFS files redirected to a "CDN") serving a BERT-tiny-shaped folder under the id
// sentence-transformers/all-MiniLM-L6-v2 (CI-sized; bench/course-transformer.ts covers the full size):
//   - an interrupted download of model.safetensors resumes with a Range request, progress reported, Python's cache layout
//   - a wrong id (404), a gated model (401 / 403) and no network give errors that say what to do
//   - the README's command itself: COURSE_MODEL=sentence-transformers/all-MiniLM-L6-v2 npm run course -- 00 01 02 03,
//     with HF_ENDPOINT pointing at the stand-in and a fresh HF_HOME, downloads the model in the kernel and runs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DownloadProgress, resolveHubModel } from "../../src/model/hub";
import { loadModel } from "../../src/model/sentence-transformer";
import { StandInHub } from "../fixtures/hub-stand-in";
import { MODEL_SHAPES, writeShapedModelFolder } from "../fixtures/shaped-model";
import { jupyterReady, root } from "./helpers";

const ID = "sentence-transformers/all-MiniLM-L6-v2";
const GATED = "gated-org/embedder";
let hub: StandInHub;

before(async () => {
  const folder = mkdtempSync(join(tmpdir(), "hub-model-"));
  writeShapedModelFolder(folder, MODEL_SHAPES["bert-tiny"]);
  hub = new StandInHub({ models: { [ID]: folder, [GATED]: folder }, gated: [GATED], cutOnce: ["model.safetensors"] });
  await hub.start();
});

after(() => hub.stop());

test("an interrupted download resumes with a Range request, with progress, into Python's cache layout", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "hub-cache-"));
  const progress: DownloadProgress[] = [];
  const opts = { cacheDir, hubUrl: hub.url, onProgress: (p: DownloadProgress) => progress.push(p) };
  await assert.rejects(
    resolveHubModel(ID, opts),
    /model\.safetensors: the download was interrupted at \d+ of \d+ bytes .*run again to resume it/s,
  );
  const storage = join(cacheDir, "models--sentence-transformers--all-MiniLM-L6-v2");
  const weights = hub.fileOf(ID, "model.safetensors");
  const partial = readdirSync(join(storage, "blobs")).find((f) => f.endsWith(".incomplete"));
  assert.ok(partial, "the partial download is kept");
  const have = statSync(join(storage, "blobs", partial)).size;
  assert.ok(have > 0 && have < weights.length);

  progress.length = 0;
  const done = await resolveHubModel(ID, opts);
  assert.equal(done.commit, hub.commitOf(ID));
  const resumed = hub.requests.filter((r) => r.path.startsWith("/cdn/") && r.range !== undefined);
  assert.deepEqual(
    resumed.map((r) => r.range),
    [`bytes=${have}-`],
  );
  const last = progress.filter((p) => p.file === "model.safetensors").at(-1);
  assert.deepEqual(
    [last?.done, last?.bytes, last?.total, last?.resumedFrom],
    [true, weights.length, weights.length, have],
  );
  // refs/main -> the commit; snapshots/<commit>/<file> -> ../../blobs/<etag>; the safetensors blob named by its sha256.
  assert.equal(readFileSync(join(storage, "refs", "main"), "utf8"), done.commit);
  const link = join(done.folder, "model.safetensors");
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.match(readlinkSync(link), /^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
  assert.ok(readFileSync(link).equals(weights));
  assert.ok(readFileSync(join(done.folder, "vocab.txt")).equals(hub.fileOf(ID, "vocab.txt")));
  assert.equal(readdirSync(join(storage, "blobs")).filter((f) => f.endsWith(".incomplete")).length, 0);
  const model = await loadModel(ID, { cacheDir, hubUrl: hub.url, offline: true });
  assert.equal((await model.encode(["How many PTO days do I get?"])).dim, 128);
  model.dispose();
});

test("a wrong id, a gated model and no network: errors that say what to do", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "hub-errors-"));
  await assert.rejects(
    loadModel("sentence-transformers/all-MiniLM-L6-v3", { cacheDir, hubUrl: hub.url }),
    /HTTP 404 — the id or revision does not exist on http:\/\/127\.0\.0\.1:\d+ \(check the spelling/,
  );
  await assert.rejects(
    loadModel(GATED, { cacheDir, hubUrl: hub.url }),
    /HTTP 401 — the model is private\/gated: no valid token was sent\. Accept its conditions on .*gated-org\/embedder .*set HF_TOKEN/,
  );
  await assert.rejects(
    loadModel(GATED, { cacheDir, hubUrl: hub.url, token: "hf_nope" }),
    /HTTP 403 — the model is private\/gated: the token has no access/,
  );
  await assert.rejects(
    loadModel(ID, { cacheDir, hubUrl: "http://127.0.0.1:9" }),
    /not in the Hugging Face cache .*The Hub could not be reached/s,
  );
});

test("the README's command: COURSE_MODEL=sentence-transformers/all-MiniLM-L6-v2 npm run course -- 00 01 02 03", async () => {
  await jupyterReady();
  const home = mkdtempSync(join(tmpdir(), "hf-home-"));
  const reports = mkdtempSync(join(tmpdir(), "hub-course-"));
  const env = {
    ...process.env,
    COURSE_MODEL: ID,
    HF_ENDPOINT: hub.url,
    HF_HOME: home,
    HF_HUB_CACHE: "",
    HF_HUB_OFFLINE: "",
    COURSE_OFFLINE: "",
    COURSE_REPORTS_DIR: reports,
    COURSE_RUNS_DIR: mkdtempSync(join(tmpdir(), "hub-course-runs-")),
  };
  // Asynchronous: the stand-in answers from this process while the course runs.
  const child = spawn("npm", ["run", "course", "--", "00", "01", "02", "03", "--no-html"], { cwd: root, env });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? 1)));
  assert.equal(code, 0, output.slice(-4000));
  for (const nb of ["00_environment", "01_synthetic_data", "02_baseline_evaluation", "03_mnrl_finetuning"])
    assert.ok(existsSync(join(reports, `${nb}.ipynb`)), nb);
  // Downloaded once from the stand-in, into HF_HOME's hub cache, with progress in the notebook that loaded it.
  const snapshot = join(home, "hub", "models--sentence-transformers--all-MiniLM-L6-v2", "snapshots", hub.commitOf(ID));
  assert.ok(existsSync(join(snapshot, "model.safetensors")));
  const executed = readdirSync(reports)
    .filter((f) => f.endsWith(".ipynb"))
    .map((f) => readFileSync(join(reports, f), "utf8"))
    .join("\n");
  assert.match(executed, /downloaded sentence-transformers\/all-MiniLM-L6-v2: model\.safetensors/);
  assert.match(executed, /all-MiniLM-L6-v2/);
});
