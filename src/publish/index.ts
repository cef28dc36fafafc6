/**
 * src/publish: a trained model to the Hugging Face Hub with a sentence-transformers-style model card.
 *
 *   publishModel(folder, { repo, token?, hubUrl?, private?, evaluation? })   token check, create repo, one commit
 *   generateModelCard({ repo, model, training?, evaluation? })              README.md with YAML metadata
 *   readModelFacts(folder) / readTrainingSummary(folder)                    the card's inputs, read from disk
 */
export { publishModel, type PublishOptions, type PublishResult } from "./hub";
export { generateModelCard, readModelFacts, type CardInputs, type EvalResults } from "./model-card";
