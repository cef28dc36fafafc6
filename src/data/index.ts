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
 * (prompt schema, filter names, constants, splitRows, chunkDocument, chatJson, filterReportFrame, appendJsonl,
 * domainAdaptationPairs) stays importable from its file:
 *   Shipped data   shippedDatasets(): string[]; loadShippedDataset(name): BeirDataset;
 *                  loadShippedSplit(name, split): IRSplit; loadTutorialTriplets(): ReadPairsResult;
 *                  loadIndependentQueries(name): IRSplit (people-written questions)
 *   BEIR           loadBeir(dir, split, opts?): IRSplit; loadBeirDataset(dir, opts?): BeirDataset;
 *                  toIRSplit(ds, split); trainingPairs(split, {withTitle?}): PairRow[]; passageText(doc);
 *                  writeBeir(dir, files); buildBeir(chunks, rows, {fractions?, seed?}): BeirFiles
 *   Rows           readPairs(path .jsonl|.parquet, {onInvalid?}): ReadPairsResult; writePairs(path, rows);
 *                  pairsToDataFrame(rows): pl.DataFrame
 *   Splits         splitByDocument(docIds, {fractions?, seed?}): Map<doc, split>;
 *                  assertNoLeak(splits: IRSplit[]): LeakReport; documentsOf(split): Set<doc_id>
 *   Chunking       chunkFolder(dir, {unit?, size?, overlap?, countTokens?}): {chunks, report}
 *   Generation     generateQuestions(chunks, {out, questionsPerChunk?, paraphrases?, concurrency?, llm?, prices?}):
 *                  Promise<GenerateReport> (LlmError when the endpoint fails)
 *                  generateOffline(chunks, {questionsPerChunk?, seed?, ...}): PairRow[]  ("offline template generator")
 *   Quality        filterPairs(rows, opts?): {kept, removed, report}; dedupePairs(rows)
 *   Review         exportForReview(rows, path.csv): columns; importReview(path.csv): ReviewResult
 *   JSONL          readJsonl(path, opts?); writeJsonl(path, rows)
 */
export { DataError, type CorpusRow, type IRSplit, type PairRow, type SplitName } from "./types";
export {
  loadIndependentQueries,
  loadShippedDataset,
  loadShippedSplit,
  loadTutorialTriplets,
  shippedDatasets,
} from "./shipped";
export { buildBeir, loadBeir, loadBeirDataset, passageText, toIRSplit, trainingPairs, writeBeir } from "./beir";
export type { BeirDataset } from "./beir";
export { pairsToDataFrame, readPairs, writePairs } from "./pairs";
export { assertNoLeak, documentsOf, splitByDocument } from "./split";
export { leakTable } from "./settings";
export { chunkFolder, type ChunkOptions } from "./chunk";
export { LlmError } from "./llm";
export { generateQuestions, type GenerateOptions, type GenerateReport } from "./generate";
export { generateOffline, OFFLINE_GENERATOR } from "./template-generator";
export { dedupePairs, filterPairs, type FilterOptions, type FilterReport } from "./filters";
export { exportForReview, importReview, type ReviewResult } from "./review";
export { readJsonl, writeJsonl } from "./jsonl";
