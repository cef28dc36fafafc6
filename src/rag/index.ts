/**
 * src/rag: the fine-tuned model inside the TypeScript RAG stack people use (LangChain.js).
 *
 *   SentenceTransformer ──SentenceTransformerEmbeddings (LangChain Embeddings)──▶ FaissStore (RagVectorStore),
 *     or LangChain's LanceDB over a persistent LanceDBStore table (lanceDBVectorStore)
 *     question ──search──▶ top-k contexts ──buildRagPrompt──▶ chat messages ──answerQuestion──▶ answer
 *       (ChatOpenAI on any OpenAI-compatible endpoint, or the offline extractive answer)
 *   second stage: CrossEncoderReranker (a cross-encoder as BaseDocumentCompressor, for ContextualCompressionRetriever)
 *   base vs fine-tuned: compareContexts ──▶ contextsTable (side by side), ragReportTable / writeRagReport (CSV)
 *
 * In a notebook: `import { ... } from "./src/rag/index"` (tslab resolves files, not folder indexes).
 * Helpers (modelPrompts, citedIds, sentences, hitRateByK, firstHitRank, the LLM resolution) stay in their files.
 */
export type { AnswerOptions, ContextSource, RetrievedContext } from "./types";
export { SentenceTransformerEmbeddings } from "./embeddings";
export { IndexRetriever, RagVectorStore } from "./vector-store";
export { CrossEncoderReranker } from "./reranker";
export { lanceDBVectorStore } from "./lancedb";
export { buildRagPrompt, promptMarkdown } from "./prompt";
export { answerQuestion, describeAnswerMode, extractiveAnswer, type RagAnswer } from "./answer";
export {
  answersTable,
  atK,
  compareContexts,
  contextsTable,
  describeRagComparison,
  exampleQuestion,
  hitRateFigure,
  outcomeTable,
  ragQuestions,
  ragReportTable,
  ragSummaryTable,
  writeRagReport,
  type RagComparison,
  type RagQuestion,
} from "./compare";
