// Hub datasets by id (src/reproduce/hub-dataset.ts) against the stand-in Hub on loopback: a repository's own Parquet
// files, the Parquet conversion branch of a JSON dataset, Python's cache layout, the offline cache, resume of an
// interrupted download, and the errors (404, gated, offline with nothing cached, a wrong column or split).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { datasetCacheFolder, loadHubDataset } from "../src/reproduce/hub-dataset";
import { parquetBytes, StandInHub } from "./fixtures/hub-stand-in";

const tmp = mkdtempSync(join(tmpdir(), "hub-dataset-"));

const JSON_REPO = "test-org/json-pairs"; // JSON at main, Parquet only on refs/convert/parquet
const PARQUET_REPO = "test-org/parquet-triplets"; // its own data/<split>-00000-of-00001.parquet
const GATED = "test-org/gated-set";
const questions = Array.from({ length: 40 }, (_, i) => `question ${i}?`);
const contexts = Array.from({ length: 40 }, (_, i) => `context ${i}. `.repeat(200)); // ~3 KB per row: a real download
let hub: StandInHub;
let hubUrl = "";

before(async () => {
  const pairs = parquetBytes({ question: questions, context: contexts });
  const split = (name: string, n: number) =>
    parquetBytes({
      query: Array.from({ length: n }, (_, i) => `${name} query ${i}`),
      job_description_pos: Array.from({ length: n }, (_, i) => `${name} pos ${i}`),
      job_description_neg: Array.from({ length: n }, (_, i) => `${name} neg ${i}`),
    });
  hub = new StandInHub({
    datasets: {
      [JSON_REPO]: {
        files: { "README.md": Buffer.from("# pairs\n"), "data.json": Buffer.from("[]") },
        conversion: { "default/train/0000.parquet": pairs },
      },
      [PARQUET_REPO]: {
        files: {
          "README.md": Buffer.from("# triplets\n"),
          "data/train-00000-of-00001.parquet": split("train", 12),
          "data/validation-00000-of-00001.parquet": split("validation", 4),
          "data/test-00000-of-00001.parquet": split("test", 5),
        },
      },
      [GATED]: { files: { "data/train-00000-of-00001.parquet": split("train", 2) } },
    },
    gatedDatasets: [GATED],
    cutOnce: ["default/train/0000.parquet"],
  });
  hubUrl = await hub.start();
});

after(async () => {
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const quiet = { onProgress: () => {}, token: "" };

test("a repository's own Parquet files: the split's file, in Python's cache layout, read with polars", async () => {
  const cacheDir = mkdtempSync(join(tmp, "cache-"));
  const ds = await loadHubDataset(PARQUET_REPO, { ...quiet, cacheDir, hubUrl, offline: false, split: "test" });
  assert.equal(ds.source, "repository");
  assert.equal(ds.commit, hub.datasetCommitOf(PARQUET_REPO));
  assert.deepEqual(ds.frame.columns, ["query", "job_description_pos", "job_description_neg"]);
  assert.equal(ds.frame.height, 5);
  assert.equal(ds.frame.getColumn("query").get(0), "test query 0");
  const storage = datasetCacheFolder(PARQUET_REPO, cacheDir);
  assert.equal(readFileSync(join(storage, "refs", "main"), "utf8"), ds.commit);
  const link = join(storage, "snapshots", ds.commit, "data", "test-00000-of-00001.parquet");
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.match(readlinkSync(link), /^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/); // LFS: the blob is named by its sha256
  // Only the asked split was fetched; the other splits' files are not in the snapshot.
  assert.deepEqual(readdirSync(join(storage, "snapshots", ds.commit, "data")), ["test-00000-of-00001.parquet"]);
  const cols = await loadHubDataset(`hf:${PARQUET_REPO}`, {
    ...quiet,
    cacheDir,
    hubUrl,
    offline: false,
    split: "train",
    columns: ["query", "job_description_pos"],
  });
  assert.deepEqual(cols.frame.columns, ["query", "job_description_pos"]);
  assert.equal(cols.frame.height, 12);
});

test("a JSON dataset comes from refs/convert/parquet; an interrupted download resumes; offline reads the cache", async () => {
  const cacheDir = mkdtempSync(join(tmp, "cache-"));
  const before = hub.requests.length;
  // The stand-in cuts the first download of the converted file half-way.
  await assert.rejects(
    loadHubDataset(JSON_REPO, { ...quiet, cacheDir, hubUrl, offline: false }),
    /interrupted at \d+ of \d+ bytes.*run again to resume/s,
  );
  const storage = datasetCacheFolder(JSON_REPO, cacheDir);
  const partial = readdirSync(join(storage, "blobs")).filter((f) => f.endsWith(".incomplete"));
  assert.equal(partial.length, 1, "the partial download is kept");
  const ds = await loadHubDataset(JSON_REPO, { ...quiet, cacheDir, hubUrl, offline: false });
  const ranged = hub.requests.slice(before).filter((r) => r.method === "GET" && r.range);
  assert.equal(ranged.length, 1, "the second attempt asks for the rest only");
  assert.match(ranged[0].range ?? "", /^bytes=[1-9]\d*-$/);
  assert.equal(ds.source, "parquet-conversion");
  assert.equal(ds.commit, hub.datasetCommitOf(JSON_REPO, "refs/convert/parquet"));
  assert.notEqual(ds.commit, hub.datasetCommitOf(JSON_REPO));
  assert.equal(ds.frame.height, 40);
  assert.deepEqual(ds.frame.getColumn("context").toArray(), contexts, "every byte arrived in order");
  assert.equal(readFileSync(join(storage, "refs", "refs", "convert", "parquet"), "utf8"), ds.commit);
  assert.ok(existsSync(join(storage, "snapshots", ds.commit, "default", "train", "0000.parquet")));
  // Offline: from the cache, no request.
  const n = hub.requests.length;
  const cached = await loadHubDataset(JSON_REPO, { ...quiet, cacheDir, hubUrl, offline: true });
  assert.equal(hub.requests.length, n);
  assert.equal(cached.online, false);
  assert.equal(cached.frame.height, 40);
  // The Hub unreachable (a closed port): the cache answers too.
  const down = await loadHubDataset(JSON_REPO, { ...quiet, cacheDir, hubUrl: "http://127.0.0.1:9", offline: false });
  assert.equal(down.online, false);
});

test("errors: 404, gated (401 / 403), offline with nothing cached, a wrong column or split", async () => {
  const cacheDir = mkdtempSync(join(tmp, "cache-"));
  const opts = { ...quiet, cacheDir, hubUrl, offline: false };
  await assert.rejects(loadHubDataset("test-org/no-such-set", opts), (err: Error) => {
    assert.match(err.message, /Hub dataset "test-org\/no-such-set".*HTTP 404.*does not exist/s);
    return true;
  });
  await assert.rejects(loadHubDataset(GATED, opts), (err: Error) => {
    assert.match(err.message, /HTTP 401 — the dataset is private\/gated: no valid token was sent/);
    assert.match(err.message, /\/datasets\/test-org\/gated-set with your account and set HF_TOKEN/);
    return true;
  });
  await assert.rejects(
    loadHubDataset(GATED, { ...opts, token: "hf_x" }),
    /HTTP 403 — the dataset is private\/gated: the token has no access/,
  );
  await assert.rejects(
    loadHubDataset(JSON_REPO, { ...opts, offline: true }),
    /Dataset "test-org\/json-pairs" \(revision main, split train\) is not in the Hugging Face cache.*Offline mode is on/s,
  );
  await assert.rejects(
    loadHubDataset(PARQUET_REPO, { ...opts, hubUrl: "http://127.0.0.1:9" }),
    /is not in the Hugging Face cache.*could not be reached/s,
  );
  await assert.rejects(
    loadHubDataset(PARQUET_REPO, { ...opts, split: "test", columns: ["anchor"] }),
    /no column "anchor"; its columns are "query", "job_description_pos", "job_description_neg"/,
  );
  await assert.rejects(
    loadHubDataset(PARQUET_REPO, { ...opts, split: "dev" }),
    /no Parquet files for split "dev".*the splits there are test, train, validation/s,
  );
  await assert.rejects(loadHubDataset("not an id", opts), /is not a Hub dataset id/);
});
