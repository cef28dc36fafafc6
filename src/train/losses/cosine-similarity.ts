/**
 * CosineSimilarityLoss (Reimers & Gurevych 2019, "Sentence-BERT", section 3: the regression objective), as
 * sentence-transformers' losses.CosineSimilarityLoss.
 *
 * Input: (sentence_A, sentence_B) pairs with a float label y_i, the similarity the pair should have (here the rows
 * {anchor, positive, label} or {anchor, positive, score}; mineHardNegatives' "labeled-pair" output gives labels 1
 * for the positive and 0 for each mined negative). Per batch of n pairs:
 *
 *   c_i = cos(u_i, v_i) = u_i . v_i / (max(||u_i||, eps) max(||v_i||, eps))     (torch.cosine_similarity, eps 1e-8)
 *   L   = 1/n sum_i (c_i - y_i)^2                                             (torch.nn.MSELoss, mean)
 *
 * Defaults: MSE, identity transformation of the cosine (sentence-transformers' cos_score_transformation). Labels
 * should lie in the cosine's range [-1, 1]; 0/1 labels pull negatives towards orthogonal, not opposite, vectors.
 * CoSENTLoss (./cosent.ts) uses the same inputs and usually trains faster.
 */
import { tf } from "../../backend";
import type { SentenceTransformer } from "../../model/sentence-transformer";
import { embedColumns, gradsOf, validateBatch, validateLabels } from "./common";
import { tripletDistance } from "./triplet";
import type { EmbeddingLoss, LossResult, TrainingBatch } from "./types";

export class CosineSimilarityLoss implements EmbeddingLoss {
  readonly name = "CosineSimilarityLoss";
  readonly inBatchNegatives = false;

  config(): Record<string, unknown> {
    return { loss_fct: "torch.nn.modules.loss.MSELoss", cos_score_transformation: "torch.nn.modules.linear.Identity" };
  }

  validate(batch: TrainingBatch): void {
    validateBatch(this.name, batch, 2, 2);
    validateLabels(this.name, batch);
  }

  lossFromEmbeddings(embeddings: tf.Tensor2D[], batch: TrainingBatch): tf.Scalar {
    const labels = validateLabels(this.name, batch);
    return tf.tidy(() => {
      // 1 - cosine distance = torch.cosine_similarity with eps 1e-8 per norm.
      const cosine = tf.sub(1, tripletDistance("COSINE", embeddings[0], embeddings[1]));
      return tf.mean(tf.square(tf.sub(cosine, tf.tensor1d(labels, "float32")))) as tf.Scalar;
    });
  }

  lossAndGrads(model: SentenceTransformer, batch: TrainingBatch, variables: tf.Variable[]): LossResult {
    this.validate(batch);
    return gradsOf(this.name, () => this.lossFromEmbeddings(embedColumns(model, batch), batch), variables);
  }
}
