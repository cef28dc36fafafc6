// LangChain's LanceDB vector store over the project's LanceDBStore table: its similaritySearch returns the store's
// own top-k (same ids, same order) for the course's questions, before and after the IVF-PQ index is built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadShippedSplit } from "../src/data";
import { loadModel } from "../src/model";
import { lanceDBVectorStore, SentenceTransformerEmbeddings } from "../src/rag";
import { DenseRetriever } from "../src/retrieval";
import { LanceDBStore } from "../src/retrieval/lancedb-store";

const split = loadShippedSplit("policy-handbook", "test");
const questions = [...split.queries.values()].slice(0, 10);

test("lanceDBVectorStore: LangChain's similaritySearch gives the LanceDBStore's top-5, with the passage and its id", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rag-lancedb-"));
  try {
    const model = await loadModel("offline");
    const store = await LanceDBStore.open({
      uri: dir,
      table: "policy",
      dim: model.dim,
      modelKey: "offline",
      indexThreshold: 100,
    });
    const retriever = await DenseRetriever.build(model, split.corpus, { store });
    const lc = lanceDBVectorStore(store, new SentenceTransformerEmbeddings({ model }));
    const check = async (when: string) => {
      const ours = await retriever.retrieve(questions, 5);
      for (const [q, question] of questions.entries()) {
        const docs = await lc.similaritySearch(question, 5);
        assert.deepEqual(
          docs.map((d) => d.metadata.id),
          ours[q].map((h) => h.id),
          `${when}, question ${q}`,
        );
        const first = split.corpus.get(String(docs[0].metadata.id));
        assert.equal(docs[0].pageContent, first?.text);
        assert.equal(docs[0].metadata.title, first?.title ?? "");
        assert.ok(Math.abs(docs[0].metadata.score - ours[q][0].score) < 1e-6);
      }
    };
    await check("exact scan");
    await store.persist();
    assert.equal(store.kind, "ivf-pq");
    await check("with the IVF-PQ index");
    const viaRetriever = await lc.asRetriever(3).invoke(questions[0]);
    assert.equal(viaRetriever.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
