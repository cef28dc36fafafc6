// CrossEncoderReranker inside LangChain's ContextualCompressionRetriever (@langchain/classic): the base retriever's
// documents come back re-ranked by the cross-encoder (a real OnnxCrossEncoder on a random-weight folder), the best
// topN, each with its metadata and relevance_score equal to the scorer's; an empty list stays empty.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseRetriever } from "@langchain/core/retrievers";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { CrossEncoderReranker } from "../src/rag/reranker";
import { OnnxCrossEncoder } from "../src/rerank/onnx-scorer";
import { writeCrossEncoderFolder } from "./fixtures/rerank/folder";

const TEXTS = [
  "Employees accrue twenty days of paid time off per year.",
  "The cafeteria opens at eight.",
  "Remote work needs a manager's approval.",
  "PTO requests go to your manager two weeks ahead.",
  "Receipts over $25 need an itemised invoice.",
];

class FixedRetriever extends BaseRetriever {
  lc_namespace = ["test"];
  constructor(private readonly docs: DocumentInterface[]) {
    super();
  }
  override async _getRelevantDocuments(): Promise<DocumentInterface[]> {
    return this.docs;
  }
}

test("ContextualCompressionRetriever with CrossEncoderReranker returns the base documents re-ranked, best topN", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "rag-reranker-")), "reranker");
  writeCrossEncoderFolder(dir);
  const scorer = await OnnxCrossEncoder.load(dir, { threads: 1 });
  try {
    const docs = TEXTS.map(
      (t, i) => new Document({ pageContent: t, id: `doc-${i}`, metadata: { id: `d${i}`, title: "" } }),
    );
    const reranker = new CrossEncoderReranker(scorer, { topN: 3 });
    assert.ok(BaseDocumentCompressor.isBaseDocumentCompressor(reranker));
    const retriever = new ContextualCompressionRetriever({
      baseCompressor: reranker,
      baseRetriever: new FixedRetriever(docs),
    });
    const query = "How many PTO days do I get?";
    const got = await retriever.invoke(query);
    const want = await scorer.rank(query, TEXTS, { topK: 3 });
    assert.deepEqual(
      got.map((d) => d.metadata.id),
      want.map((w) => `d${w.corpusId}`),
    );
    got.forEach((d, i) => {
      assert.equal(d.pageContent, TEXTS[want[i].corpusId]);
      assert.equal(d.id, `doc-${want[i].corpusId}`);
      assert.equal(d.metadata.title, "");
      assert.ok(Math.abs(d.metadata.relevance_score - want[i].score) < 1e-6);
      if (i > 0) assert.ok(d.metadata.relevance_score <= got[i - 1].metadata.relevance_score);
    });
    assert.equal(
      (docs[0].metadata as Record<string, unknown>).relevance_score,
      undefined,
      "the base documents are not modified",
    );
    assert.deepEqual(await reranker.compressDocuments([], query), []);
    assert.throws(() => new CrossEncoderReranker(scorer, { topN: 0 }), /topN 0/);
  } finally {
    await scorer.release();
  }
});
