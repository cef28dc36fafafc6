// LangChain's FaissStore with our embeddings: cosines recovered from its L2 distances match an exact
// cosine search by the project's index, and a saved store loads back with the same answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../src/model";
import { loadShippedSplit } from "../src/data";
import { DenseRetriever } from "../src/retrieval";
import { loadFaiss } from "../src/retrieval/faiss";
import { IndexRetriever, RagVectorStore, SentenceTransformerEmbeddings } from "../src/rag";
import { cosineFromSquaredL2 } from "../src/rag/vector-store";

const faiss = loadFaiss().module !== undefined;
const split = loadShippedSplit("policy-handbook", "test");
const questions = [...split.queries.values()].slice(0, 12);

test("cosineFromSquaredL2: unit vectors at 0, 90 and 180 degrees", () => {
  assert.equal(cosineFromSquaredL2(0), 1);
  assert.equal(cosineFromSquaredL2(2), 0);
  assert.equal(cosineFromSquaredL2(4), -1);
});

test("FaissStore ranks as the exact cosine index and gives back its cosines", {
  skip: !faiss && "faiss-node not built",
}, async () => {
  const model = await loadModel("offline");
  const emb = new SentenceTransformerEmbeddings({ model });
  const store = await RagVectorStore.build(emb, split.corpus, { name: "offline in FaissStore" });
  assert.equal(store.size, split.corpus.size);
  const exact = await DenseRetriever.build(model, split.corpus, { implementation: "typescript" });
  const ours = await store.search(questions, 5);
  const reference = await exact.retrieve(questions, 5);
  ours.forEach((row, q) => {
    assert.equal(row.length, 5);
    row.forEach((c, i) => {
      assert.equal(c.rank, i + 1);
      assert.ok(Math.abs(c.score - (1 - (c.distance as number) / 2)) < 1e-12);
      // Same document at the same rank unless two scores tie to float precision (faiss orders ties arbitrarily).
      const ref = reference[q][i];
      if (c.id !== ref.id)
        assert.ok(Math.abs(c.score - ref.score) < 1e-5, `query ${q} rank ${i + 1}: ${c.id} vs ${ref.id}`);
      assert.ok(Math.abs(c.score - ref.score) < 1e-5, `cosine ${c.score} vs ${ref.score}`);
    });
    assert.ok(split.corpus.has(row[0].id));
    assert.ok(row[0].text.includes(split.corpus.get(row[0].id)!.text));
  });
  const docs = await store.asRetriever(3).invoke(questions[0]);
  assert.deepEqual(
    docs.map((d) => d.metadata.id),
    ours[0].slice(0, 3).map((c) => c.id),
  );
});

test("save / load round trip: same hits, and a store from another model's dimension is refused", {
  skip: !faiss && "faiss-node not built",
}, async () => {
  const model = await loadModel("offline");
  const emb = new SentenceTransformerEmbeddings({ model });
  const store = await RagVectorStore.build(emb, split.corpus);
  const dir = join(mkdtempSync(join(tmpdir(), "rag-store-")), "policy");
  await store.save(dir);
  assert.deepEqual(readdirSync(dir).sort(), ["docstore.json", "faiss.index"]);
  const loaded = await RagVectorStore.load(dir, emb);
  assert.deepEqual(await loaded.search(questions, 4), await store.search(questions, 4));
  await store.save(dir); // replacing a saved store leaves one whole folder
  assert.deepEqual(readdirSync(dir).sort(), ["docstore.json", "faiss.index"]);
  const bert = new SentenceTransformerEmbeddings({ model: await loadModel("offline-bert") });
  await assert.rejects(RagVectorStore.load(dir, bert), /256-d.*128-d|holds \d+-d vectors but/);
  await assert.rejects(RagVectorStore.load(join(dir, "missing"), emb), /faiss\.index is missing/);
  assert.ok(!existsSync(join(dir, "missing")));
});

test("IndexRetriever: a LangChain retriever over the project's index", async () => {
  const model = await loadModel("offline");
  const dense = await DenseRetriever.build(model, split.corpus, { name: "offline (project index)" });
  const retriever = new IndexRetriever({ retriever: dense, corpus: split.corpus, k: 3 });
  assert.equal(retriever.name, "offline (project index)");
  const docs = await retriever.invoke(questions[1]);
  const [hits] = await dense.retrieve([questions[1]], 3);
  assert.deepEqual(
    docs.map((d) => d.metadata.id),
    hits.map((h) => h.id),
  );
  assert.deepEqual(
    docs.map((d) => d.metadata.score),
    hits.map((h) => h.score),
  );
  assert.ok(docs[0].pageContent.includes(split.corpus.get(hits[0].id)!.text));
  assert.throws(
    () => new IndexRetriever({ retriever: dense, corpus: new Map([...split.corpus].slice(0, 5)) }),
    /not in the corpus given/,
  );
});
