/**
 * src/rag: the fine-tuned model inside the TypeScript RAG stack people use (LangChain.js).
 *
 *   SentenceTransformer ──SentenceTransformerEmbeddings (LangChain Embeddings)──▶ FaissStore (RagVectorStore)
 *     question ──search──▶ top-k contexts ──buildRagPrompt──▶ chat messages ──answerQuestion──▶ answer
 *       (ChatOpenAI on any OpenAI-compatible endpoint, or the offline extractive answer)
 *   base vs fine-tuned: compareContexts ──▶ contextsTable (side by side), ragReportTable / writeRagReport (CSV)
 *
 * In a notebook: `import { ... } from "./src/rag/index"` (tslab resolves files, not folder indexes).
 */
export * from "./types";
export {
  SentenceTransformerEmbeddings,
  modelPrompts,
  matrixRows,
  type SentenceTransformerEmbeddingsOptions,
} from "./embeddings";
export { RagVectorStore, IndexRetriever, cosineFromSquaredL2, type IndexRetrieverInput } from "./vector-store";
export { buildRagPrompt, DEFAULT_RAG_SYSTEM, promptMarkdown, type RagPrompt } from "./prompt";
export {
  answerQuestion,
  citedIds,
  describeAnswerMode,
  explainLlmError,
  extractiveAnswer,
  EXTRACTIVE_GENERATOR,
  resolveRagLlm,
  sentences,
  type RagAnswer,
} from "./answer";
export {
  answersTable,
  atK,
  compareContexts,
  contextsTable,
  describeRagComparison,
  exampleQuestion,
  hitRateByK,
  hitRateFigure,
  firstHitRank,
  outcome,
  outcomeTable,
  ragQuestions,
  ragReportTable,
  ragSummaryTable,
  writeRagReport,
  type Outcome,
  type RagComparison,
  type RagQuestion,
} from "./compare";
