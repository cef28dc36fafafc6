/**
 * src/train: fine-tuning a SentenceTransformer, the counterpart of sentence-transformers' trainer.
 *
 *   rows / DataFrame ──prepareTrainingData──▶ columns ──sampler (seeded, no duplicate text per batch)──▶ batches
 *     ──loss.lossAndGrads (./losses)──▶ gradients ──clipGradNorm──▶ AdamW + linear warmup/decay ──▶ weights
 *     every evalSteps: evaluator ──▶ history + <outputDir>/best   every checkpointSteps: <outputDir>/checkpoints
 *
 * Public API:
 *   train(model, rows | DataFrame, TrainOptions): Promise<TrainResult>      trainer.ts
 *   the losses (MultipleNegativesRankingLoss, ...)                         losses/ (re-exported here)
 *   AdamW, clipGradNorm, noWeightDecay                                     optimizer.ts
 *   linearWarmupDecayFactor, learningRateAt, warmupStepsFor                schedule.ts
 *   noDuplicatesBatches, defaultBatches, epochPermutation                  sampler.ts
 *   writeCheckpoint, readCheckpoint, latestCheckpoint, listCheckpoints     checkpoint.ts
 *   trainSteps, evaluations, writeHistory, trainingCurvesFigure (Plotly)   history.ts
 *   autoProgress, NotebookProgress, TerminalProgress, LineProgress         progress.ts
 *
 * Output folder of train({ outputDir }):
 *   best/          the model with the best evaluation metric (sentence-transformers layout; loadModel() reads it)
 *   final/         the model after the last step
 *   checkpoints/   checkpoint-NNNNNN/ (weights, AdamW state, trainer_state.json); the last keepCheckpoints kept
 *   history.json   { entries: [...] }: per step loss / lr / grad norm, per evaluation the metrics
 */
export { train, TrainingDivergedError, type TrainResult } from "./trainer";
export type { FreezeOptions, TrainEvaluator, TrainOptions } from "./options";
export { namedParameters, splitFrozen } from "./parameters";
export { prepareTrainingData, textColumns, type TrainingData } from "./training-data";
export { AdamW, clipGradNorm, gradNormOf, noWeightDecay, type AdamWOptions, type AdamWParamState, type NamedParameter } from "./optimizer";
export { learningRateAt, linearWarmupDecayFactor, warmupStepsFor, type LinearSchedule } from "./schedule";
export { defaultBatches, epochBatches, epochPermutation, noDuplicatesBatches, noDuplicatesFromOrder, type BatchSamplerName, type BatchSamplerOptions } from "./sampler";
export { checkpointName, latestCheckpoint, listCheckpoints, readCheckpoint, writeCheckpoint, type Checkpoint, type TrainerState } from "./checkpoint";
export { evaluations, trainingCurvesFigure, trainSteps, writeHistory, type EvalLog, type HistoryEntry, type TrainStepLog } from "./history";
export { autoProgress, formatProgress, LineProgress, NotebookProgress, progressHtml, TerminalProgress, type ProgressReporter, type ProgressState } from "./progress";
export { OFFLINE_FINETUNE_RECIPE, type OfflineFinetuneRecipe } from "./offline-recipe";
export { staticMnrlLossAndGrads, trainStaticMnrl, type SparseStaticOptions, type SparseStaticResult } from "./sparse-static";
export * from "./losses/index"; // tslab resolves no folder imports: name the index file
