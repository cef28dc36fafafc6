/**
 * The course recipe for fine-tuning the embedded offline model (loadModel("offline"), a StaticEmbedding
 * pretrained on WordNet) on a shipped dataset's train pairs with train() and MultipleNegativesRankingLoss.
 * Found by a small sweep on the dev splits only (`npm run bench -- offline-model --sweep`; the numbers are in
 * assets/offline-model/README.md); the test splits and the independent queries were not looked at to choose it.
 *
 *   const model = await loadModel("offline");
 *   await train(model, trainingPairs(loadShippedSplit("policy-handbook", "train")), {
 *     loss: new MultipleNegativesRankingLoss({ scale: OFFLINE_FINETUNE_RECIPE.scale }), ...OFFLINE_FINETUNE_RECIPE });
 */
export interface OfflineFinetuneRecipe {
  learningRate: number;
  epochs: number;
  batchSize: number;
  warmupRatio: number;
  weightDecay: number;
  /** MultipleNegativesRankingLoss scale. */
  scale: number;
  seed: number;
}

export const OFFLINE_FINETUNE_RECIPE: Readonly<OfflineFinetuneRecipe> = Object.freeze({
  learningRate: 1e-3,
  epochs: 2,
  batchSize: 32,
  warmupRatio: 0.1,
  weightDecay: 0,
  scale: 20,
  seed: 42,
});
