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
 * Public API (every write is atomic; bad input is a DataError naming file, line and reason). Everything else
 * (prompt schema, filter names, constants) stays importable from its file:
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
 *                  chunkDocument(docId, text, opts): CorpusRow[]
 *   Generation     generateQuestions(chunks, {out, questionsPerChunk?, paraphrases?, concurrency?, llm?, prices?}):
 *                  Promise<GenerateReport>; chatJson(messages, schema, llm?)
 *                  generateOffline(chunks, {questionsPerChunk?, seed?, ...}): PairRow[]  ("offline template generator")
 *   Quality        filterPairs(rows, opts?): {kept, removed, report}; filterReportFrame(report); dedupePairs(rows)
 *   Review         exportForReview(rows, path.csv): columns; importReview(path.csv): ReviewResult
 *   JSONL          readJsonl(path, opts?); writeJsonl(path, rows); appendJsonl(path, rows)
 */
export { DataError, type DataIssue, type IRSplit, type CorpusRow, type PairRow, type SplitName } from "./types";
export { SaveError } from "../files";
export { loadShippedDataset, loadShippedSplit, loadTutorialTriplets, shippedDatasets } from "./shipped";
export { buildBeir, loadBeir, loadBeirDataset, passageText, toIRSplit, trainingPairs, writeBeir } from "./beir";
export type { BeirDataset, BeirFiles, LoadBeirOptions } from "./beir";
export { pairsToDataFrame, readPairs, writePairs, type ReadPairsResult } from "./pairs";
export { assertNoLeak, documentsOf, splitByDocument, splitRows } from "./split";
export type { LeakReport, SplitFractions, SplitOptions } from "./split";
export { chunkDocument, chunkFolder, type ChunkOptions, type ChunkReport } from "./chunk";
export { chatJson, LlmError, type ChatMessage, type LlmOptions } from "./llm";
export { generateQuestions, type GenerateOptions, type GenerateReport, type Prices } from "./generate";
export { generateOffline, OFFLINE_GENERATOR, type OfflineOptions } from "./template-generator";
export { dedupePairs, filterPairs, filterReportFrame, type FilterOptions, type FilterReport } from "./filters";
export { exportForReview, importReview, type Decision, type ReviewResult } from "./review";
export { appendJsonl, readJsonl, writeJsonl, type JsonlOptions } from "./jsonl";
export { domainAdaptationPairs, type DomainPairOptions } from "./domain-pairs";
export { loadIndependentQueries } from "./shipped";
