// Hub download into Python's cache layout, against a loopback server (127.0.0.1) that imitates the Hub's
// revision, paths-info and resolve endpoints; offline lookup through refs/; errors that say how to get a model.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { cachedSnapshot, parseHubId, resolveHubModel } from "../src/model/hub";
import { loadModel } from "../src/model/sentence-transformer";
import { writeTinyBert } from "./fixtures/model-io/tiny-bert";

const REPO = "test-org/tiny-model";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const files = new Map<string, Buffer>();
const requests: string[] = [];
const authHeaders: (string | undefined)[] = [];
let server: Server;
let hubUrl = "";

function listFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p, root) : [relative(root, p)];
  });
}

before(async () => {
  const src = mkdtempSync(join(tmpdir(), "hub-src-"));
  writeTinyBert(src, { pooling: "mean", normalize: true });
  for (const f of listFiles(src)) files.set(f, readFileSync(join(src, f)));
  files.set("README.md", Buffer.from("# tiny model\n"));
  files.set("pytorch_model.bin", Buffer.from("not needed"));
  const oid = (b: Buffer) => createHash("sha1").update(b).digest("hex");
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push(`${req.method} ${url.pathname}`);
    authHeaders.push(req.headers.authorization);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.startsWith("/api/models/private-org/")) return json(401, { error: "Invalid credentials" });
    if (url.pathname.startsWith("/api/models/slow-org/")) return; // never answers: a firewall that drops packets
    const revision = url.pathname.match(/^\/api\/models\/test-org\/tiny-model\/revision\/([^/]+)$/);
    if (req.method === "GET" && revision) {
      if (revision[1] !== "main" && revision[1] !== COMMIT) return json(404, { error: "Revision Not Found" });
      return json(200, {
        _id: "1",
        id: REPO,
        sha: COMMIT,
        private: false,
        downloads: 0,
        likes: 0,
        lastModified: "2024-01-01T00:00:00.000Z",
        siblings: [...files.keys()].map((rfilename) => ({ rfilename })),
      });
    }
    if (req.method === "POST" && url.pathname === `/api/models/${REPO}/paths-info/${COMMIT}`) {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const paths = (JSON.parse(body) as { paths: string[] }).paths;
        json(
          200,
          paths
            .filter((p) => files.has(p))
            .map((p) => ({ type: "file", path: p, oid: oid(files.get(p)!), size: files.get(p)!.length })),
        );
      });
      return;
    }
    const prefix = `/${REPO}/resolve/${COMMIT}/`;
    // GET, and HEAD as the Hub answers it (headers only; Node drops the body of a HEAD response).
    if ((req.method === "GET" || req.method === "HEAD") && url.pathname.startsWith(prefix)) {
      const path = decodeURIComponent(url.pathname.slice(prefix.length));
      const data = files.get(path);
      if (!data) {
        res.writeHead(404, { "X-Error-Code": "EntryNotFound" });
        return res.end();
      }
      const headers = { ETag: `"${oid(data)}"`, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream" };
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
        res.writeHead(206, {
          ...headers,
          "Content-Range": `bytes ${start}-${end}/${data.length}`,
          "Content-Length": end - start + 1,
        });
        return res.end(data.subarray(start, end + 1));
      }
      res.writeHead(200, { ...headers, "Content-Length": data.length });
      return res.end(data);
    }
    json(404, { error: `no route ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test("Hub ids parse, with an optional @revision", () => {
  assert.deepEqual(parseHubId("sentence-transformers/all-MiniLM-L6-v2"), {
    repo: "sentence-transformers/all-MiniLM-L6-v2",
    revision: "main",
  });
  assert.deepEqual(parseHubId("BAAI/bge-small-en-v1.5@v2"), { repo: "BAAI/bge-small-en-v1.5", revision: "v2" });
  assert.throws(() => parseHubId("a/b/c"), /not a Hub model id/);
});

test("download once into Python's cache layout, then serve from the cache", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "hub-cache-"));
  requests.length = 0;
  const quiet = console.debug;
  console.debug = () => {};
  try {
    const first = await resolveHubModel(REPO, { cacheDir, hubUrl, token: "hf_test123" });
    assert.equal(first.commit, COMMIT);
    assert.equal(first.online, true);
    const storage = join(cacheDir, "models--test-org--tiny-model");
    assert.equal(readFileSync(join(storage, "refs", "main"), "utf8"), COMMIT);
    assert.equal(first.folder, join(storage, "snapshots", COMMIT));
    // The files a sentence-transformers model needs, and nothing else (no README, no pytorch_model.bin).
    const got = listFiles(first.folder).sort();
    assert.deepEqual(got, [
      "1_Pooling/config.json",
      "config.json",
      "model.safetensors",
      "modules.json",
      "sentence_bert_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    // Snapshot entries are symlinks into blobs/, named by the file's etag, as huggingface_hub lays them out.
    const link = join(first.folder, "1_Pooling", "config.json");
    assert.ok(lstatSync(link).isSymbolicLink());
    const blob = createHash("sha1").update(files.get("1_Pooling/config.json")!).digest("hex");
    assert.equal(readlinkSync(link), join("..", "..", "..", "blobs", blob));
    assert.ok(readFileSync(link).equals(files.get("1_Pooling/config.json")!));
    assert.ok(authHeaders.includes("Bearer hf_test123"), "the token is sent");
    const downloads = requests.filter((r) => r.startsWith("GET /test-org")).length;
    assert.ok(downloads >= 7);

    requests.length = 0;
    const second = await resolveHubModel(REPO, { cacheDir, hubUrl });
    assert.equal(second.folder, first.folder);
    assert.deepEqual(
      requests.filter((r) => !r.includes("/revision/")),
      [],
      "nothing downloaded twice",
    );

    // Offline: found through refs/main, no network at all.
    requests.length = 0;
    const off = await resolveHubModel(REPO, { cacheDir, hubUrl, offline: true });
    assert.deepEqual([off.folder, off.online, requests.length], [first.folder, false, 0]);
    assert.equal(cachedSnapshot(REPO, COMMIT, cacheDir)?.folder, first.folder);

    // Hub unreachable: falls back to the cached snapshot.
    const down = await resolveHubModel(REPO, { cacheDir, hubUrl: "http://127.0.0.1:9" });
    assert.deepEqual([down.folder, down.online], [first.folder, false]);

    // Hub hanging: gives up after the metadata timeout and uses the cache.
    const slowCache = join(cacheDir, "models--slow-org--m");
    mkdirSync(join(slowCache, "refs"), { recursive: true });
    mkdirSync(join(slowCache, "snapshots", COMMIT), { recursive: true });
    writeFileSync(join(slowCache, "refs", "main"), COMMIT);
    writeFileSync(join(slowCache, "snapshots", COMMIT, "modules.json"), "[]");
    const started = Date.now();
    const slow = await resolveHubModel("slow-org/m", { cacheDir, hubUrl, metadataTimeoutMs: 300 });
    assert.deepEqual([slow.folder, slow.online], [join(slowCache, "snapshots", COMMIT), false]);
    assert.ok(Date.now() - started < 5000);

    // And the model loads and encodes from the snapshot.
    const m = await loadModel(REPO, { cacheDir, hubUrl, offline: true });
    assert.equal(m.name, "tiny-model");
    assert.match(m.source, new RegExp(`hub:${REPO}@${COMMIT}`));
    const e = await m.encode(["How many PTO days do I get?"]);
    assert.equal(e.dim, 32);
    m.dispose();
  } finally {
    console.debug = quiet;
  }
});

test("offline with no cached copy, unknown revisions and gated models give errors that say what to do", async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), "hub-empty-"));
  await assert.rejects(
    resolveHubModel("sentence-transformers/all-MiniLM-L6-v2", { cacheDir, offline: true }),
    (e: Error) => {
      assert.match(
        e.message,
        /Model "sentence-transformers\/all-MiniLM-L6-v2" \(revision main\) is not in the Hugging Face cache/,
      );
      assert.match(e.message, /run once with network access/);
      assert.match(e.message, /copy a saved model folder/);
      assert.match(e.message, /loadModel\("offline"\)/);
      return true;
    },
  );
  await assert.rejects(
    resolveHubModel(REPO, { cacheDir, hubUrl: "http://127.0.0.1:9" }),
    /not in the Hugging Face cache.*The Hub could not be reached/s,
  );
  await assert.rejects(
    resolveHubModel(`${REPO}@nope`, { cacheDir, hubUrl }),
    /HTTP 404 — the id or revision does not exist/,
  );
  await assert.rejects(resolveHubModel("private-org/secret", { cacheDir, hubUrl }), /HTTP 401.*set HF_TOKEN/s);
  await assert.rejects(
    resolveHubModel(REPO, { cacheDir, hubUrl, token: "bad" }),
    /Hub model "test-org\/tiny-model" \(revision main\): Your access token must start with 'hf_'/,
  );
  assert.equal(existsSync(join(cacheDir, "models--sentence-transformers--all-MiniLM-L6-v2")), false);
});
