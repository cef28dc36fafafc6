/**
 * src/data: from a folder of documents (or the datasets in data/) to train / dev / test sets that
 * do not leak, in the forms sentence-transformers and BEIR use.
 *
 *   documents ──chunkFolder──▶ chunks ──generateQuestions (LLM) / generateOffline──▶ (anchor, positive) rows
 *     ──filterPairs──▶ kept rows ──exportForReview / importReview──▶ reviewed rows
 *     ──buildBeir + writeBeir──▶ data/<name>/{corpus,queries}.jsonl + qrels/{train,dev,test}.tsv
 *     ──loadBeir──▶ IRSplit (queries, corpus, relevant) for the evaluator; trainingPairs ──▶ rows for the loss
 *
 * In a notebook: `import * as data from "./src/data/index"` (tslab resolves files, not folder indexes).
 *
 * Public API (every write is atomic; bad input is a DataError naming file, line and reason):
 *   Shipped data   shippedDatasets(): string[]; loadShippedDataset(name): BeirDataset;
 *                  loadShippedSplit(name, split): IRSplit; loadTutorialTriplets(): ReadPairsResult
 *   BEIR           loadBeir(dir, split, opts?): IRSplit; loadBeirDataset(dir, opts?): BeirDataset;
 *                  toIRSplit(ds, split); trainingPairs(split, {withTitle?}): PairRow[]; passageText(doc);
 *                  writeBeir(dir, files); buildBeir(chunks, rows, {fractions?, seed?}): BeirFiles
 *   Rows           readPairs(path .jsonl|.parquet, {onInvalid?}): ReadPairsResult; writePairs(path, rows);
 *                  pairsToDataFrame(rows): pl.DataFrame
 *   Splits         splitByDocument(docIds, {fractions?, seed?}): Map<doc, split>; splitRows(rows, opts);
 *                  assertNoLeak(splits: IRSplit[]): LeakReport; documentsOf(split): Set<doc_id>
 *   Chunking       chunkFolder(dir, {unit?, size?, overlap?, countTokens?}): {chunks, report};
 *                  chunkDocument(docId, text, opts): Chunk[]
 *   Generation     generateQuestions(chunks, {out, questionsPerChunk?, paraphrases?, concurrency?, llm?, prices?}):
 *                  Promise<GenerateReport>; chatJson(messages, schema, llm?); validateJson(value, schema)
 *                  generateOffline(chunks, {questionsPerChunk?, seed?, ...}): PairRow[]  ("offline template generator")
 *   Quality        filterPairs(rows, opts?): {kept, removed, report}; filterReportFrame(report); dedupePairs(rows)
 *   Review         exportForReview(rows, path.csv): columns; importReview(path.csv): ReviewResult
 *   JSONL          readJsonl(path, opts?); writeJsonl(path, rows); appendJsonl(path, rows); writeFileAtomic(path, data)
 */
export * from "./types";
export { appendJsonl, readJsonl, writeJsonl, type JsonlOptions, type JsonlRecord, type JsonlResult } from "./jsonl";
export { writeFileAtomic, SaveError } from "../files";
export { buildBeir, loadBeir, loadBeirDataset, passageText, toIRSplit, trainingPairs, writeBeir, type BeirDataset, type BeirFiles, type LoadBeirOptions, type QrelRow } from "./beir";
export { pairsToDataFrame, readPairs, writePairs, type ReadPairsResult } from "./pairs";
export { assertNoLeak, DEFAULT_FRACTIONS, documentsOf, splitByDocument, splitRows, type LeakReport, type SplitFractions, type SplitOptions } from "./split";
export { chunkDocument, chunkFolder, type ChunkOptions, type ChunkReport } from "./chunk";
export { chatJson, LlmError, type ChatMessage, type LlmOptions, type TokenUsage } from "./llm";
export { validateJson, type JsonSchema } from "./schema";
export { defaultPrompt, generateQuestions, questionSchema, type GenerateOptions, type GenerateReport, type Prices } from "./generate";
export { DEFAULT_ABBREVIATIONS, DEFAULT_LAY_WORDS, generateOffline, OFFLINE_GENERATOR, type OfflineOptions } from "./template-generator";
export { dedupePairs, FILTER_NAMES, filterPairs, filterReportFrame, type FilterName, type FilterOptions, type FilterReport } from "./filters";
export { DECISIONS, exportForReview, importReview, type Decision, type ReviewResult } from "./review";
export { domainAdaptationPairs, sectionHeading, splitSentences, type DomainPairOptions } from "./domain-pairs";
export { loadIndependentQueries, loadShippedDataset, loadShippedSplit, loadTutorialTriplets, shippedDatasets } from "./shipped";
