import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VectorIndex, flatIndexBytes } from "../src/retrieval/vector-index";
import { loadFaiss } from "../src/retrieval/faiss";
import { readHnswParams, withHnswParams } from "../src/retrieval/faiss-hnsw";
import { DenseRetriever, l2Normalize } from "../src/retrieval/dense";
import type { Embedder, Embeddings } from "../src/model/types";
import { mulberry32 } from "../src/random";

const faissAvailable = loadFaiss().module !== undefined;

/** Small-integer vectors: every dot product is exact in float32, so faiss and TypeScript must agree bit for bit. */
function integerVectors(n: number, dim: number, seed: number): Embeddings {
  const rng = mulberry32(seed);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 5) - 2;
  return { count: n, dim, data };
}

/** Independent reference: score every document, full sort by (score desc, position asc). */
function bruteForce(docs: Embeddings, queries: Embeddings, k: number): number[][] {
  const out: number[][] = [];
  for (let q = 0; q < queries.count; q++) {
    const scored = [];
    for (let d = 0; d < docs.count; d++) {
      let s = 0;
      for (let t = 0; t < docs.dim; t++) s += docs.data[d * docs.dim + t] * queries.data[q * queries.dim + t];
      scored.push({ d, s });
    }
    scored.sort((a, b) => b.s - a.s || a.d - b.d);
    out.push(scored.slice(0, k).map((x) => x.d));
  }
  return out;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `doc${i}`);

test("hand example: ties go to the earlier document, in both implementations", () => {
  const docs = [
    [1, 0],
    [0, 1],
    [1, 1],
    [1, 0],
  ];
  // query [1, 0] scores 1, 0, 1, 1: doc0, doc2, doc3 tie; doc1 last.
  for (const implementation of faissAvailable ? (["typescript", "faiss"] as const) : (["typescript"] as const)) {
    const index = VectorIndex.create(2, { implementation });
    index.add(["a", "b", "c", "d"], docs);
    assert.equal(index.implementation, implementation);
    assert.deepEqual(index.search([[1, 0]], 2), [
      [
        { id: "a", score: 1 },
        { id: "c", score: 1 },
      ],
    ]);
    assert.deepEqual(
      index.search([[1, 0]], 4)[0].map((h) => h.id),
      ["a", "c", "d", "b"],
    );
    assert.deepEqual(index.search([[0, 2]], 1), [[{ id: "b", score: 2 }]]);
  }
});

test("TypeScript fallback gives the same ids and scores as faiss IndexFlatIP and as a brute-force sort", {
  skip: !faissAvailable && "faiss-node not loadable",
}, () => {
  const docs = integerVectors(300, 12, 1);
  const queries = integerVectors(41, 12, 2); // 41: exercises the 4-query blocks' remainder and faiss's BLAS path (>= 20 queries)
  const k = 15;
  const ts = VectorIndex.fromVectors(ids(300), docs, { implementation: "typescript" });
  const fa = VectorIndex.fromVectors(ids(300), docs, { implementation: "faiss" });
  const a = ts.searchPositions(queries, k);
  const b = fa.searchPositions(queries, k);
  assert.deepEqual(Array.from(a.indices), Array.from(b.indices));
  assert.deepEqual(Array.from(a.scores), Array.from(b.scores));
  assert.deepEqual(Array.from(a.indices), bruteForce(docs, queries, k).flat());
});

test("flat index bytes equal faiss's own serialisation of IndexFlatIP", {
  skip: !faissAvailable && "faiss-node not loadable",
}, () => {
  const faiss = loadFaiss().module!;
  const docs = integerVectors(7, 5, 8);
  const native = new faiss.IndexFlatIP(5);
  native.add(Array.from(docs.data));
  assert.deepEqual(flatIndexBytes(5, docs.data), native.toBuffer());
});

test("incremental add equals one add; duplicate ids and wrong dimensions are named", () => {
  const docs = integerVectors(100, 6, 3);
  const queries = integerVectors(5, 6, 4);
  const whole = VectorIndex.fromVectors(ids(100), docs, { implementation: "typescript" });
  for (const implementation of faissAvailable ? (["typescript", "faiss"] as const) : (["typescript"] as const)) {
    const parts = VectorIndex.create(6, { implementation });
    // 70 then 30: faiss takes the first batch as bytes, the second (< 64 vectors) through add()
    parts.add(ids(100).slice(0, 70), { count: 70, dim: 6, data: docs.data.subarray(0, 420) });
    parts.add(ids(100).slice(70), { count: 30, dim: 6, data: docs.data.subarray(420) });
    assert.equal(parts.size, 100);
    assert.deepEqual(parts.search(queries, 7), whole.search(queries, 7));
    assert.throws(() => parts.add(["doc3"], [[0, 0, 0, 0, 0, 1]]), /duplicate id "doc3".*index \(position 3\)/);
    assert.throws(
      () =>
        parts.add(
          ["x", "x"],
          [
            [1, 0, 0, 0, 0, 0],
            [0, 1, 0, 0, 0, 0],
          ],
        ),
      /duplicate id "x" at entry 1/,
    );
    assert.throws(() => parts.add(["y"], [[1, 2, 3]]), /vector 0 has dimension 3, the index has 6/);
    assert.throws(
      () => parts.search({ count: 1, dim: 5, data: new Float32Array(5) }, 3),
      /dimension 5, the index has 6/,
    );
    assert.throws(
      () => parts.add(["z"], [[0, 0, NaN, 0, 0, 0]]),
      /vector 0 has a non-finite value \(NaN\) at position 2/,
    );
    assert.throws(() => parts.search(queries, 101), /k=101 is larger than the corpus \(100 documents\)/);
    assert.throws(() => VectorIndex.create(6, { implementation }).search(queries, 1), /corpus is empty/);
    assert.equal(parts.size, 100, "failed adds must not change the index");
    assert.deepEqual(parts.search(queries, 7), whole.search(queries, 7));
  }
});

test("save/load round-trips ids, vectors and results, atomically", () => {
  const dir = mkdtempSync(join(tmpdir(), "vindex-"));
  const docs = integerVectors(120, 8, 5);
  const queries = integerVectors(9, 8, 6);
  const kinds = faissAvailable ? (["flat", "hnsw"] as const) : (["flat"] as const);
  for (const kind of kinds) {
    const index = VectorIndex.fromVectors(ids(120), docs, { kind });
    const path = join(dir, `${kind}.vindex`);
    index.save(path);
    const back = VectorIndex.load(path);
    assert.equal(back.kind, kind);
    assert.deepEqual(back.ids, index.ids);
    assert.deepEqual(back.vector("doc7"), docs.data.slice(7 * 8, 8 * 8));
    assert.deepEqual(back.search(queries, 10), index.search(queries, 10));
    const fallback = VectorIndex.load(path, { implementation: "typescript" });
    assert.equal(fallback.implementation, "typescript");
    if (kind === "flat") assert.deepEqual(fallback.search(queries, 10), index.search(queries, 10));
  }
  assert.deepEqual(readdirSync(dir).sort(), kinds.map((k) => `${k}.vindex`).sort(), "no temporary files left behind");
  assert.throws(() => VectorIndex.load(join(dir, "missing.vindex")), /ENOENT/);
  assert.ok(!existsSync(join(dir, "missing.vindex")));
});

test("HNSW recall against exact search on clustered vectors", {
  skip: !faissAvailable && "faiss-node not loadable",
}, () => {
  const rng = mulberry32(7);
  const dim = 32;
  const centres = Array.from({ length: 20 }, () => Array.from({ length: dim }, () => rng() * 2 - 1));
  const point = () => centres[Math.floor(rng() * 20)].map((c) => c + (rng() - 0.5) * 0.6);
  const docs = l2Normalize({ count: 2000, dim, data: Float32Array.from(Array.from({ length: 2000 }, point).flat()) });
  const queries = l2Normalize({ count: 50, dim, data: Float32Array.from(Array.from({ length: 50 }, point).flat()) });
  const hnsw = VectorIndex.fromVectors(ids(2000), docs, { kind: "hnsw" });
  const recall = hnsw.recallAgainstExact(queries, 10);
  assert.ok(recall > 0.8 && recall <= 1, `HNSW recall@10 ${recall}`);
  const flat = VectorIndex.fromVectors(ids(2000), docs);
  assert.equal(flat.recallAgainstExact(queries, 10), 1);
  hnsw.setEfSearch(200); // a candidate list of 200 on 2,000 points: close to exhaustive
  assert.equal(hnsw.efSearch, 200);
  const wide = hnsw.recallAgainstExact(queries, 10);
  assert.ok(wide >= recall && wide > 0.97, `recall@10 with efSearch 200: ${wide} (16: ${recall})`);
  assert.throws(() => flat.setEfSearch(32), /only HNSW indexes have efSearch/);
});

test("HNSW parameters are read from and patched into faiss's serialisation", {
  skip: !faissAvailable && "faiss-node not loadable",
}, () => {
  const faiss = loadFaiss().module!;
  const fresh = faiss.Index.fromFactory(4, "HNSW8,Flat", faiss.MetricType.METRIC_INNER_PRODUCT);
  assert.deepEqual(readHnswParams(fresh.toBuffer()), { efConstruction: 40, efSearch: 16 }); // faiss's documented defaults
  const index = VectorIndex.fromVectors(ids(30), integerVectors(30, 4, 9), {
    kind: "hnsw",
    hnswM: 8,
    efConstruction: 60,
    efSearch: 24,
  });
  const dir = mkdtempSync(join(tmpdir(), "hnsw-"));
  index.save(join(dir, "h.vindex"));
  const back = VectorIndex.load(join(dir, "h.vindex"));
  assert.equal(back.efSearch, 24);
  assert.equal(back.efConstruction, 60);
  assert.throws(
    () => withHnswParams(new faiss.IndexFlatIP(4).toBuffer(), { efSearch: 8 }),
    /starts with "IxFI", not "IHNf"/,
  );
  assert.throws(() => withHnswParams(fresh.toBuffer(), { efSearch: 0 }), /efSearch=0 must be a positive integer/);
});

/** Test double: a text becomes its counts of the letters a, b, c. */
const letterCounts: Embedder = {
  name: "letter-counts",
  async encode(texts: string[]): Promise<Embeddings> {
    const data = new Float32Array(texts.length * 3);
    texts.forEach((t, i) => {
      for (const ch of t) {
        const j = "abc".indexOf(ch);
        if (j >= 0) data[i * 3 + j] += 1;
      }
    });
    return { count: texts.length, dim: 3, data };
  },
};

test("DenseRetriever: cosine vs dot on a hand-computed example", async () => {
  // docs: "aaaa" = (4,0,0), "ab" = (1,1,0), "c" = (0,0,1); query "a" = (1,0,0)
  const corpus = [
    { _id: "d1", text: "aaaa" },
    { _id: "d2", text: "ab" },
    { _id: "d3", text: "c" },
  ];
  const cosine = await DenseRetriever.build(letterCounts, corpus);
  const [hits] = await cosine.retrieve(["a"], 3);
  assert.deepEqual(
    hits.map((h) => h.id),
    ["d1", "d2", "d3"],
  );
  assert.ok(Math.abs(hits[0].score - 1) < 1e-6 && Math.abs(hits[1].score - Math.SQRT1_2) < 1e-6 && hits[2].score === 0);
  // dot: "ab" with query "abbb" = (1,3,0): d1 -> 4, d2 -> 4 (tie: d1 first), d3 -> 0
  const dot = await DenseRetriever.build(letterCounts, corpus, { scoreFunction: "dot" });
  assert.deepEqual(await dot.retrieve(["abbb"], 2), [
    [
      { id: "d1", score: 4 },
      { id: "d2", score: 4 },
    ],
  ]);
  await assert.rejects(dot.retrieve(["a"], 4), /k=4 is larger than the corpus \(3 documents\)/);
  await assert.rejects(
    DenseRetriever.build(letterCounts, [
      { _id: "x", text: "a" },
      { _id: "x", text: "b" },
    ]),
    /duplicate id "x"/,
  );
  await assert.rejects(DenseRetriever.build(letterCounts, []), /corpus is empty/);
});

test("save never replaces a file that is not a vector index, unless asked to", () => {
  const dir = mkdtempSync(join(tmpdir(), "vindex-own-"));
  const path = join(dir, "corpus.jsonl");
  writeFileSync(path, '{"_id": "d1"}\n');
  const index = VectorIndex.fromVectors(ids(20), integerVectors(20, 4, 1), { kind: "flat" });
  assert.throws(
    () => index.save(path),
    /corpus\.jsonl exists and is not a vector index file .*pass \{ overwrite: true \}/,
  );
  assert.equal(readFileSync(path, "utf8"), '{"_id": "d1"}\n');
  const own = join(dir, "a.vindex");
  index.save(own);
  index.save(own); // our own file: replaced
  index.save(path, { overwrite: true });
  assert.deepEqual(VectorIndex.load(path).ids, index.ids);
  assert.throws(() => index.save(dir), /is a folder; give a file path/);
});
