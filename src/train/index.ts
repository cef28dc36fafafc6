/**
 * src/train: fine-tuning a SentenceTransformer, the counterpart of sentence-transformers' trainer.
 *
 *   rows / DataFrame ──prepareTrainingData──▶ columns ──sampler (seeded, no duplicate text per batch)──▶ batches
 *     ──loss.lossAndGrads (./losses)──▶ gradients ──clipGradNorm──▶ AdamW + linear warmup/decay ──▶ weights
 *     every evalSteps: evaluator ──▶ history + <outputDir>/best   every checkpointSteps: <outputDir>/checkpoints
 *
 * Public API (the rest, optimizer, schedule, sampler, parameter freezing, the variants' option types, is
 * importable from its file):
 *   train(model, rows | DataFrame, TrainOptions): Promise<TrainResult>      trainer.ts, options.ts
 *   the losses (MultipleNegativesRankingLoss, ...)                         losses/
 *   listCheckpoints                                                        checkpoint.ts
 *   trainSteps, evaluations, trainingCurvesFigure (Plotly)                 history.ts
 *   ProgressReporter (your own display)                                   progress.ts
 *   a step's memory: planStepMemory (train() plans before the first step; import from the file)   memory.ts
 * Hard-negative mining is in src/mining; the offline model's sparse trainer in src/offline.
 *
 * Output folder of train({ outputDir }):
 *   best/          the model with the best evaluation metric (sentence-transformers layout; loadModel() reads it)
 *   final/         the model after the last step
 *   checkpoints/   checkpoint-NNNNNN/ (weights, AdamW state, trainer_state.json); the last keepCheckpoints kept
 *   history.json   { entries: [...] }: per step loss / lr / grad norm, per evaluation the metrics
 */
export { train, TrainingDivergedError, type TrainResult } from "./trainer";
export type { TrainEvaluator, TrainOptions } from "./options";
export { listCheckpoints } from "./checkpoint";
export { evaluations, trainingCurvesFigure, trainSteps, type HistoryEntry } from "./history";
export type { ProgressReporter } from "./progress";
// tslab resolves no folder imports: name the index file.
export {
  CachedMultipleNegativesRankingLoss,
  CachedMultipleNegativesSymmetricRankingLoss,
  CoSENTLoss,
  CosineSimilarityLoss,
  MatryoshkaLoss,
  MultipleNegativesRankingLoss,
  MultipleNegativesSymmetricRankingLoss,
  TripletLoss,
  type Loss,
  type MatryoshkaLossOptions,
  type MultipleNegativesRankingOptions,
  type TripletLossOptions,
} from "./losses/index";
