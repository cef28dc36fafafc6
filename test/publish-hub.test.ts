// Publishing against a stand-in Hub on loopback (whoami-v2, repos/create, preupload, commit: the routes
// @huggingface/hub calls for "regular" uploads), and the generated model card's metadata and sections.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../src/model/index";
import { writeTinyBert } from "./fixtures/model-io/tiny-bert";
import {
  folderFiles,
  generateModelCard,
  publishModel,
  readModelFacts,
  type EvalResults,
  type TrainingSummary,
} from "../src/publish/index";

interface Commit {
  repo: string;
  header: Record<string, unknown>;
  files: Map<string, Buffer>;
}
const requests: string[] = [];
const repos = new Map<string, { private: boolean }>();
const commits: Commit[] = [];
let server: Server;
let hubUrl = "";
let folder = "";

function readBody(req: import("node:http").IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

before(async () => {
  server = createServer(async (req, res) => {
    const url = req.url ?? "";
    requests.push(`${req.method} ${url}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== "Bearer hf_good_token")
      return send(401, { error: "Invalid credentials in Authorization header" });
    const body = await readBody(req);
    if (url === "/api/whoami-v2") return send(200, { type: "user", name: "tester", auth: { type: "access_token" } });
    if (url === "/api/repos/create" && req.method === "POST") {
      const j = JSON.parse(body) as { name: string; organization: string; visibility?: string; type: string };
      const id = `${j.organization}/${j.name}`;
      if (repos.has(id)) return send(409, { error: "You already created this model repo", url: `${hubUrl}/${id}` });
      repos.set(id, { private: j.visibility === "private" });
      return send(200, { url: `${hubUrl}/${id}`, name: id });
    }
    const pre = /^\/api\/models\/([^/]+\/[^/]+)\/preupload\/main$/.exec(url);
    if (pre) {
      const j = JSON.parse(body) as { files: { path: string; size: number; sample: string }[] };
      return send(200, { files: j.files.map((f) => ({ path: f.path, uploadMode: "regular" })) });
    }
    const com = /^\/api\/models\/([^/]+\/[^/]+)\/commit\/main$/.exec(url);
    if (com) {
      const lines = body
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { key: string; value: Record<string, string> });
      const c: Commit = { repo: com[1], header: lines[0].value, files: new Map() };
      for (const l of lines.slice(1))
        if (l.key === "file") c.files.set(l.value.path, Buffer.from(l.value.content, "base64"));
      commits.push(c);
      return send(200, {
        commitOid: `c0ffee${commits.length}`,
        commitUrl: `${hubUrl}/${com[1]}/commit/c0ffee${commits.length}`,
      });
    }
    send(404, { error: `no route ${url}` });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.keepAliveTimeout = 60_000; // the client may take a while to encode the commit on a busy machine
  // A tiny BERT folder (a few hundred kB) keeps the upload quick; the static offline model is 31 MB.
  folder = join(mkdtempSync(join(tmpdir(), "publish-")), "final");
  writeTinyBert(folder, { maxSeqLength: 16 });
  const summary: TrainingSummary = {
    baseModel: "sentence-transformers/all-MiniLM-L6-v2",
    dataset: "policy-handbook",
    trainRows: 802,
    columns: ["anchor", "positive"],
    sampleRows: [{ anchor: "How many PTO days?", positive: "Employees get 25 days | per year." }],
    loss: { name: "MultipleNegativesRankingLoss", config: { scale: 20, similarity_fct: "cos_sim" } },
    hyperparameters: { epochs: 1, batch_size: 32, learning_rate: 2e-5 },
    steps: 26,
    trainLoss: 0.4321,
    best: { metric: "dev_cosine_ndcg@10", value: 0.71, step: 25 },
    seconds: 12.5,
    frameworkVersions: { node: "20.19.0", "@tensorflow/tfjs": "4.22.0" },
  };
  writeFileSync(join(folder, "training_summary.json"), JSON.stringify(summary));
});
after(() => new Promise<void>((r) => server.close(() => r())));

const card0 = (c: Commit) => c.files.get("README.md")?.toString("utf8") ?? "";

const evaluation: EvalResults = {
  dataset: "policy-handbook",
  split: "test",
  queries: 172,
  corpus: 303,
  systems: [
    { system: "bm25", metrics: { "ndcg@10": 0.6, "mrr@10": 0.55 } },
    { system: "run/final", scoreFunction: "cosine", metrics: { "ndcg@10": 0.7123456, "mrr@10": 0.65 } },
  ],
};

test("a missing, malformed or rejected token stops before anything is created or uploaded", async () => {
  requests.length = 0;
  await assert.rejects(
    publishModel(folder, { repo: "tester/m", token: "", hubUrl }),
    /No Hugging Face token: set HF_TOKEN/,
  );
  await assert.rejects(publishModel(folder, { repo: "tester/m", token: "abc", hubUrl }), /start with "hf_"/);
  assert.deepEqual(requests, []);
  await assert.rejects(
    publishModel(folder, { repo: "tester/m", token: "hf_wrong", hubUrl }),
    /rejected HF_TOKEN \(HTTP 401\).*Nothing was uploaded/,
  );
  assert.deepEqual(requests, ["GET /api/whoami-v2"]);
  await assert.rejects(
    publishModel(folder, { repo: "not a repo", token: "hf_good_token", hubUrl }),
    /expected "user\/name"/,
  );
  assert.equal(commits.length, 0);
});

test("publish creates the repo, uploads every file and a generated card in one commit; a second run reuses the repo", async () => {
  requests.length = 0;
  const res = await publishModel(folder, {
    repo: "tester/policy-model",
    token: "hf_good_token",
    hubUrl,
    private: true,
    evaluation,
    license: "apache-2.0",
  });
  assert.deepEqual(
    requests.map((r) => r.replace(/\?.*/, "")),
    [
      "GET /api/whoami-v2",
      "POST /api/repos/create",
      "POST /api/models/tester/policy-model/preupload/main",
      "POST /api/models/tester/policy-model/commit/main",
    ],
  );
  assert.equal(res.created, true);
  assert.equal(repos.get("tester/policy-model")?.private, true);
  assert.equal(res.commit?.oid, "c0ffee1");
  const c = commits[0];
  const local = folderFiles(folder);
  assert.deepEqual([...c.files.keys()].sort(), [...local, "README.md"].sort());
  assert.ok(local.includes("modules.json") && local.includes("model.safetensors"));
  assert.match(
    card0(c),
    /Transformer\(\{'architecture': 'BertModel', 'layers': \d+, 'hidden_size': \d+, 'max_seq_length': 16\}\)/,
  );
  for (const f of local) assert.ok(c.files.get(f)?.length, f);
  const card = c.files.get("README.md")?.toString("utf8") ?? "";
  assert.match(
    card,
    /^---\nlicense: apache-2.0\nlibrary_name: sentence-transformers\npipeline_tag: sentence-similarity\n/,
  );
  assert.match(card, /\nbase_model: sentence-transformers\/all-MiniLM-L6-v2\n/);
  assert.match(card, / {4}- type: cosine_ndcg@10\n {6}value: 0.7123456\n {6}name: Cosine Ndcg@10\n/);
  assert.match(card, /\| cosine_ndcg@10 \| 0\.6000 \| \*\*0\.7123\*\* \|/);
  assert.match(card, /`MultipleNegativesRankingLoss`/);
  assert.match(card, /- `learning_rate`: 0\.00002000|- `learning_rate`: 2\.000e-5/);
  assert.match(card, /SentenceTransformer\("tester\/policy-model"\)/);
  assert.match(card, /loadModel\("tester\/policy-model"\)/);
  assert.match(card, /- @tensorflow\/tfjs: 4\.22\.0/);
  assert.ok(!readdirSync(folder).includes("README.md"), "the user's folder is not modified");

  const again = await publishModel(folder, { repo: "tester/policy-model", token: "hf_good_token", hubUrl });
  assert.equal(again.created, false);
  assert.equal(commits.length, 2);
});

test("a README.md already in the folder is uploaded as it is", async () => {
  const own = join(mkdtempSync(join(tmpdir(), "publish-own-")), "m");
  writeTinyBert(own);
  writeFileSync(join(own, "README.md"), "# my own card\n");
  const res = await publishModel(own, { repo: "tester/own", token: "hf_good_token", hubUrl });
  assert.equal(res.cardGenerated, false);
  assert.equal(commits.at(-1)?.files.get("README.md")?.toString(), "# my own card\n");
});

test("the card from the folder alone: no invented numbers, and the static model's facts", async () => {
  const staticFolder = join(mkdtempSync(join(tmpdir(), "publish-static-")), "m");
  await (await loadModel("offline")).save(staticFolder);
  const facts = readModelFacts(staticFolder);
  assert.deepEqual(facts.modules, ["StaticEmbedding", "Normalize"]);
  assert.equal(facts.dimension, 256);
  assert.equal(facts.vocabSize, 30522);
  const card = generateModelCard({ repo: "a/b", model: facts });
  assert.ok(!/model-index/.test(card));
  assert.match(card, /No evaluation results were given/);
  assert.match(card, /No training summary/);
  assert.match(card, /StaticEmbedding\(\{'vocab_size': 30522, 'embedding_dim': 256\}\)/);
  assert.throws(() => readModelFacts(tmpdir()), /not a model folder/);
});
