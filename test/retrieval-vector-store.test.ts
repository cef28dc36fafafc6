// One suite, every VectorStore (src/retrieval/vector-store): the in-memory index exact and HNSW, and a LanceDB
// table. Exact stores give the TypeScript exact search's top-k; HNSW is held to a recall. Then what only the
// persistent store does: reopening without re-embedding, refusing another model's table, clear errors for a
// missing or corrupt table, its IVF-PQ index's recall, and a second process writing while this one reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Embeddings } from "../src/model/types";
import { DenseRetriever } from "../src/retrieval";
import { LanceDBStore } from "../src/retrieval/lancedb-store";
import { openStore, parseStoreSpec } from "../src/retrieval/stores";
import { VectorIndex } from "../src/retrieval/vector-index";
import type { VectorStore } from "../src/retrieval/vector-store";
import { CountingEmbedder, clusteredVectors, ids, passages } from "./fixtures/vector-store/corpus";

const DIM = 16;
const root = join(__dirname, "..");

interface StoreCase {
  name: string;
  exact: boolean;
  open(dir: string, dim: number): Promise<VectorStore>;
  reopen(store: VectorStore, dir: string): Promise<VectorStore>;
}

const CASES: StoreCase[] = [
  {
    name: "memory-exact",
    exact: true,
    open: async (_dir, dim) => VectorIndex.create(dim),
    reopen: async (store, dir) => {
      await store.persist(join(dir, "index.vindex"));
      return VectorIndex.load(join(dir, "index.vindex"));
    },
  },
  {
    name: "memory-hnsw",
    exact: false,
    open: async (_dir, dim) => VectorIndex.create(dim, { kind: "hnsw", efSearch: 64 }),
    reopen: async (store, dir) => {
      await store.persist(join(dir, "index.vindex"));
      return VectorIndex.load(join(dir, "index.vindex"));
    },
  },
  {
    name: "lancedb",
    exact: true,
    open: (dir, dim) =>
      LanceDBStore.open({ uri: dir, table: "t", dim, modelKey: "test-key", metadataFields: { section: "string" } }),
    reopen: async (store, dir) => {
      await store.persist();
      return LanceDBStore.open({ uri: dir, table: "t", dim: store.dim, modelKey: "test-key", mode: "open" });
    },
  },
];

function rows(e: Embeddings, from: number, to: number): Embeddings {
  return { count: to - from, dim: e.dim, data: e.data.slice(from * e.dim, to * e.dim) };
}

/** Mean |found ∩ truth| / k over queries. */
function recall(found: { id: string }[][], truth: { id: string }[][], k: number): number {
  let total = 0;
  found.forEach((row, q) => {
    const t = new Set(truth[q].slice(0, k).map((h) => h.id));
    total += row.slice(0, k).filter((h) => t.has(h.id)).length / k;
  });
  return total / found.length;
}

const docs = clusteredVectors(400, DIM, 1);
const queries = clusteredVectors(20, DIM, 2);
const docIds = ids(400);
const metadata = docIds.map((_, i) => ({ section: i % 2 ? "odd" : "even", title: `T${i}`, text: `text ${i}` }));
const reference = VectorIndex.fromVectors(docIds, docs, { implementation: "typescript" });

for (const c of CASES) {
  test(`${c.name}: top-10 ${c.exact ? "equals the exact search's" : "recalls >= 0.9 of the exact search's"}, and survives a reopen`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vs-${c.name}-`));
    try {
      const store = await c.open(dir, DIM);
      await store.add(docIds.slice(0, 150), rows(docs, 0, 150), metadata.slice(0, 150));
      await store.add(docIds.slice(150), rows(docs, 150, 400), metadata.slice(150));
      assert.equal(await store.count(), 400);
      assert.deepEqual(store.ids, docIds);
      const truth = reference.search(queries, 10);
      const hits = await store.search(queries, 10);
      if (c.exact) {
        hits.forEach((row, q) => {
          assert.deepEqual(
            row.map((h) => h.id),
            truth[q].map((h) => h.id),
            `query ${q}`,
          );
          row.forEach((h, j) =>
            assert.ok(Math.abs(h.score - truth[q][j].score) < 1e-5, `${h.score} vs ${truth[q][j].score}`),
          );
        });
      } else assert.ok(recall(hits, truth, 10) >= 0.9, `recall ${recall(hits, truth, 10)}`);
      const back = await c.reopen(store, dir);
      assert.equal(await back.count(), 400);
      assert.deepEqual(
        (await back.search(queries, 10)).map((r) => r.map((h) => h.id)),
        hits.map((r) => r.map((h) => h.id)),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${c.name}: delete removes ids (unknown ones ignored), duplicates are refused, filters keep matching rows`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vs-${c.name}-`));
    try {
      const store = await c.open(dir, DIM);
      await store.add(docIds, docs, metadata);
      await assert.rejects(async () => store.add(["d3"], rows(docs, 0, 1)), /duplicate id "d3"/);
      const gone = docIds.slice(0, 400).filter((_, i) => i % 40 === 0);
      assert.equal(await store.delete([...gone, "no-such-id"]), gone.length);
      assert.equal(await store.count(), 400 - gone.length);
      assert.deepEqual(
        store.ids,
        docIds.filter((id) => !gone.includes(id)),
      );
      for (const row of await store.search(queries, 10))
        for (const h of row) assert.ok(!gone.includes(h.id), `${h.id} was deleted`);

      // Filtered: exact over the matching rows, whatever the store's kind.
      const odd = docIds.map((id, i) => [id, i] as const).filter(([id, i]) => i % 2 === 1 && !gone.includes(id));
      const oddIndex = VectorIndex.fromVectors(
        odd.map(([id]) => id),
        {
          count: odd.length,
          dim: DIM,
          data: Float32Array.from(odd.flatMap(([, i]) => [...docs.data.subarray(i * DIM, (i + 1) * DIM)])),
        },
        { implementation: "typescript" },
      );
      const filtered = await store.search(queries, 5, { filter: { section: "odd" } });
      assert.deepEqual(
        filtered.map((r) => r.map((h) => h.id)),
        oddIndex.search(queries, 5).map((r) => r.map((h) => h.id)),
      );
      const either = await store.search(queries, 400 - gone.length, { filter: { section: ["odd", "even"] } });
      assert.equal(either[0].length, 400 - gone.length, "a list matches any of its values");
      assert.deepEqual(
        await store.search(queries, 3, { filter: { section: "none" } }),
        Array.from({ length: 20 }, () => []),
        "no row matches: no hits",
      );
      await assert.rejects(
        async () => store.search(queries, 3, { filter: { section: { $gt: 1 } as never } }),
        /values are strings/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${c.name}: DenseRetriever over the store ranks as the default in-memory retriever`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vs-${c.name}-`));
    try {
      const embedder = new CountingEmbedder(DIM);
      const corpus = passages(200);
      const questions = ["topic 1 passage", "version text", "about topic 4", "passage 17"];
      const plain = await DenseRetriever.build(embedder, corpus);
      const stored = await DenseRetriever.build(embedder, corpus, { store: await c.open(dir, DIM) });
      const a = await stored.retrieve(questions, 10);
      const b = await plain.retrieve(questions, 10);
      if (c.exact)
        assert.deepEqual(
          a.map((r) => r.map((h) => h.id)),
          b.map((r) => r.map((h) => h.id)),
        );
      else assert.ok(recall(a, b, 10) >= 0.9);
      const byDoc = await stored.retrieve(questions, 5, { filter: { doc_id: "doc1" } });
      for (const row of byDoc) for (const h of row) assert.equal(Number(h.id.slice(1)) % 3, 1, `${h.id} is in doc1`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("lancedb: a restart reopens the table without re-embedding; only new or changed passages are embedded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vs-sync-"));
  try {
    const open = () => openStore(`lancedb:${dir}`, { table: "corpus", dim: DIM, modelKey: "hash-16" });
    const first = new CountingEmbedder(DIM);
    const built = await DenseRetriever.build(first, passages(120), { store: await open() });
    assert.equal(first.encoded, 120);
    const expected = await built.retrieve(["topic 3"], 5);

    const second = new CountingEmbedder(DIM);
    const again = await DenseRetriever.build(second, passages(120), { store: await open() });
    assert.equal(second.encoded, 0, "nothing re-embedded after a restart");
    assert.equal(second.calls, 0);
    assert.deepEqual(await again.retrieve(["topic 3"], 5), expected);

    // Version 1 changes every 7th passage's text; the last 5 passages leave the corpus.
    const third = new CountingEmbedder(DIM);
    const next = passages(120, 1).slice(0, 115);
    const updated = await DenseRetriever.build(third, next, { store: await open() });
    assert.equal(third.encoded, next.filter((_, i) => i % 7 === 0).length);
    assert.equal(await updated.index.count(), 115);
    assert.equal(updated.index.size, 115);
    const hashes = await updated.index.contentHashes();
    assert.equal(hashes.size, 115);
    assert.ok(!hashes.has("p119"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lancedb: another model's or dimension's table is refused naming both; a missing or corrupt table is a clear error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vs-errors-"));
  try {
    await LanceDBStore.open({ uri: dir, table: "t", dim: DIM, modelKey: "key-a", model: "model-a" });
    await assert.rejects(
      LanceDBStore.open({ uri: dir, table: "t", dim: 32, modelKey: "key-b", model: "model-b" }),
      (e: Error) =>
        /made with model "model-a" \(key key-a, 16-d vectors\)/.test(e.message) &&
        /this run's model is "model-b" \(key key-b, 32-d\)/.test(e.message) &&
        e.message.includes(join(dir, "t.lance")),
    );
    await assert.rejects(
      LanceDBStore.open({ uri: dir, table: "absent", dim: DIM, modelKey: "key-a", mode: "open" }),
      new RegExp(`${join(dir, "absent.lance")}: no such LanceDB table. Build it first`),
    );
    mkdirSync(join(dir, "broken.lance", "_versions"), { recursive: true });
    writeFileSync(join(dir, "broken.lance", "_versions", "1.manifest"), "not a manifest");
    await assert.rejects(
      LanceDBStore.open({ uri: dir, table: "broken", dim: DIM, modelKey: "key-a" }),
      (e: Error) =>
        e.message.startsWith(`${join(dir, "broken.lance")}: not a readable LanceDB table`) &&
        /move the folder aside/.test(e.message),
    );
    assert.throws(() => parseStoreSpec("redis://x"), /"memory" \(default\), "lancedb"/);
    assert.deepEqual(parseStoreSpec("lancedb:s3://bucket/db"), { kind: "lancedb", uri: "s3://bucket/db" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lancedb: past indexThreshold, persist() builds IVF-PQ and search keeps recall@10 >= 0.95", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vs-ivf-"));
  try {
    const n = 4000;
    const dim = 32;
    const vectors = clusteredVectors(n, dim, 7, 40);
    const qs = clusteredVectors(40, dim, 8, 40);
    const store = await LanceDBStore.open({ uri: dir, table: "ivf", dim, modelKey: "k", indexThreshold: 2000 });
    await store.add(ids(n), vectors);
    assert.equal(store.kind, "flat");
    await store.persist();
    assert.equal(store.kind, "ivf-pq");
    const truth = VectorIndex.fromVectors(ids(n), vectors, { implementation: "typescript" }).search(qs, 10);
    const r = recall(await store.search(qs, 10), truth, 10);
    assert.ok(r >= 0.95, `recall@10 ${r}`);
    assert.match(store.describe(), /IVF-PQ \(nprobes 20, refine x60\), 4000 x 32/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lancedb: a second process appends while this one reads; every read sees whole commits only", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vs-shared-"));
  try {
    const reader = await LanceDBStore.open({ uri: dir, table: "shared", dim: DIM, modelKey: "k" });
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(__dirname, "fixtures", "vector-store", "lancedb-writer.ts"), "append", dir, "8"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    let done = false;
    void exited.then(() => (done = true));
    const seen: number[] = [];
    while (!done) {
      const n = await reader.count();
      seen.push(n);
      assert.equal(n % 50, 0, `a read saw ${n} rows: half a commit`);
      if (n > 0) assert.ok((await reader.search(queries, 1))[0].length === 1);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      "counts never go back",
    );
    assert.equal(await reader.count(), 400);
    await reader.refresh();
    assert.equal(reader.size, 400);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
