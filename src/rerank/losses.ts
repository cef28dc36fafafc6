/**
 * The cross-encoder losses of sentence-transformers v4 (sentence_transformers/cross_encoder/losses), on the logits s
 * of (query, passage) pairs:
 *
 *   BinaryCrossEntropyLoss      rows (query, passage, label in [0, 1]);  torch's BCEWithLogitsLoss, mean over pairs:
 *                               l = -[pos_weight * y * log sigmoid(s) + (1 - y) * log(1 - sigmoid(s))]
 *   MultipleNegativesRankingLoss rows (query, positive, negative_1..n): per query, the positive against `numNegatives`
 *                               passages drawn at random from the OTHER rows of the batch (their positives and
 *                               negatives; torch.multinomial without replacement) and the row's own negatives;
 *                               l = CrossEntropy(scale * sigmoid(s_q,.), 0)   (defaults: 4 in-batch negatives, scale 10)
 *   ListNetLoss                 rows (query, [passages], [labels]) (Cao et al., 2007, "Learning to Rank: From Pairwise
 *                               Approach to Listwise Approach"): l = -sum_j softmax(labels)_j log softmax(s)_j, mean
 *                               over queries; an n-tuple row is the list [positive, negatives] with labels [1, 0, ...].
 *
 * Each loss names the rows it takes (`input`), so the trainer (./train.ts) builds its batches from mined rows, and
 * splits `forward` (tokenize + logits) from the formula (`fromLogits`), which test/rerank-torch.test.ts checks
 * against PyTorch.
 */
import { tf } from "../backend";
import { embeddingLookup } from "../model/layers";
import { mulberry32, type Rng, rngFor } from "../random";
import { DEFAULT_SEED } from "../defaults";
import type { CrossEncoder } from "./cross-encoder";
import type { TextPair } from "./types";

/** One training example of a cross-encoder: a labeled pair, or a query with its positive and negatives. */
export type RerankExample =
  | { kind: "labeled-pair"; query: string; passage: string; label: number }
  | { kind: "n-tuple"; query: string; positive: string; negatives: string[] }
  | { kind: "list"; query: string; passages: string[]; labels: number[] };

export interface CrossEncoderLossResult {
  loss: number;
  grads: Map<tf.Variable, tf.Tensor>;
}

export interface CrossEncoderLoss {
  /** The sentence-transformers class name. */
  readonly name: string;
  /** The example kinds it accepts. */
  readonly input: readonly RerankExample["kind"][];
  /** Hyperparameters (checkpoints, history). */
  config(): Record<string, unknown>;
  /**
   * Loss value and its gradients with respect to `variables` for one batch of examples; `step` (the trainer's step)
   * seeds a loss's random draws, so a resumed run draws what an uninterrupted one did.
   */
  lossAndGrads(
    model: CrossEncoder,
    batch: readonly RerankExample[],
    variables: tf.Variable[],
    step?: number,
  ): CrossEncoderLossResult;
}

/** Logits [pairs] of the model for pairs, in one forward pass (differentiable). */
function pairLogits(model: CrossEncoder, pairs: readonly TextPair[]): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(model.logits(model.tokenizePairs(pairs)), [-1]) as tf.Tensor1D);
}

function valueAndGrads(f: () => tf.Scalar, variables: tf.Variable[]): CrossEncoderLossResult {
  const { value, grads } = tf.variableGrads(f, variables);
  const loss = value.dataSync()[0];
  value.dispose();
  const out = new Map<tf.Variable, tf.Tensor>();
  for (const v of variables) out.set(v, grads[v.name] ?? tf.zerosLike(v));
  return { loss, grads: out };
}

function wrongKind(loss: string, accepted: readonly string[], got: string, index: number): Error {
  return new Error(
    `${loss}: example ${index} is a "${got}" row, but this loss takes ${accepted.map((k) => `"${k}"`).join(" or ")} rows ` +
      "(mineHardNegatives' outputFormat: labeled-pair for BinaryCrossEntropyLoss, n-tuple for the others).",
  );
}

export interface BinaryCrossEntropyOptions {
  /** Weight of the positive term (BCEWithLogitsLoss's pos_weight; e.g. the negatives per positive). */
  posWeight?: number;
}

/** BCEWithLogitsLoss(pos_weight) of logits [n] and labels [n], mean over the pairs. */
export function binaryCrossEntropyFromLogits(logits: tf.Tensor1D, labels: readonly number[], posWeight = 1): tf.Scalar {
  return tf.tidy(() => {
    const y = tf.tensor1d(labels as number[], "float32");
    // log sigmoid(s) = -softplus(-s); log(1 - sigmoid(s)) = -softplus(s)  (stable for large |s|)
    const pos = tf.mul(tf.mul(y, posWeight), tf.softplus(tf.neg(logits)));
    const neg = tf.mul(tf.sub(1, y), tf.softplus(logits));
    return tf.mean(tf.add(pos, neg)) as tf.Scalar;
  });
}

export class BinaryCrossEntropyLoss implements CrossEncoderLoss {
  readonly name = "BinaryCrossEntropyLoss";
  readonly input = ["labeled-pair"] as const;
  readonly posWeight: number | undefined;

  constructor(options: BinaryCrossEntropyOptions = {}) {
    if (options.posWeight !== undefined && !(options.posWeight > 0))
      throw new Error(`BinaryCrossEntropyLoss: posWeight ${options.posWeight} must be > 0.`);
    this.posWeight = options.posWeight;
  }

  config(): Record<string, unknown> {
    return { activation_fn: "torch.nn.modules.linear.Identity", pos_weight: this.posWeight ?? null };
  }

  lossAndGrads(model: CrossEncoder, batch: readonly RerankExample[], variables: tf.Variable[]): CrossEncoderLossResult {
    const pairs: TextPair[] = [];
    const labels: number[] = [];
    batch.forEach((ex, i) => {
      if (ex.kind !== "labeled-pair") throw wrongKind(this.name, this.input, ex.kind, i);
      if (!(ex.label >= 0 && ex.label <= 1))
        throw new Error(`${this.name}: example ${i} has label ${ex.label}; labels must be in [0, 1].`);
      pairs.push([ex.query, ex.passage]);
      labels.push(ex.label);
    });
    return valueAndGrads(
      () => binaryCrossEntropyFromLogits(pairLogits(model, pairs), labels, this.posWeight ?? 1),
      variables,
    );
  }
}

export interface MultipleNegativesRankingOptions {
  /** In-batch negatives drawn per query from the other rows (default 4; null: all of them). */
  numNegatives?: number | null;
  /** Multiplies the activated scores (default 10). */
  scale?: number;
  /** Applied to the logits before scaling (default "sigmoid", as sentence-transformers). */
  activation?: "sigmoid" | "identity";
  /** Seed of the in-batch negative draws (default 42). */
  seed?: number;
}

/** CrossEntropy(scale * act(scores), column 0), mean over rows; scores [rows, 1 + negatives]. */
export function multipleNegativesRankingFromScores(
  scores: tf.Tensor2D,
  scale = 10,
  activation: "sigmoid" | "identity" = "sigmoid",
): tf.Scalar {
  return tf.tidy(() => {
    const activated = activation === "sigmoid" ? tf.sigmoid(scores) : scores;
    const logp = tf.logSoftmax(tf.mul(activated, scale) as tf.Tensor2D);
    return tf.neg(tf.mean(tf.slice(logp, [0, 0], [scores.shape[0], 1]))) as tf.Scalar;
  });
}

/**
 * For each of `size` rows, `k` distinct indices into the flattened candidates (column-major, `columns` columns of
 * `size`), none of the row's own (the diagonal of every column), drawn uniformly without replacement, as
 * torch.multinomial on sentence-transformers' mask; null k: all other rows' candidates in order.
 */
export function inBatchNegativeIndices(size: number, columns: number, k: number | null, rng: Rng): number[][] {
  const all = size * columns;
  return Array.from({ length: size }, (_, row) => {
    const pool: number[] = [];
    for (let j = 0; j < all; j++) if (j % size !== row) pool.push(j);
    if (k === null || k >= pool.length) return pool;
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, k);
  });
}

export class MultipleNegativesRankingLoss implements CrossEncoderLoss {
  readonly name = "MultipleNegativesRankingLoss";
  readonly input = ["n-tuple"] as const;
  readonly numNegatives: number | null;
  readonly scale: number;
  readonly activation: "sigmoid" | "identity";
  readonly seed: number;
  private readonly rng: Rng;

  constructor(options: MultipleNegativesRankingOptions = {}) {
    this.numNegatives = options.numNegatives === undefined ? 4 : options.numNegatives;
    if (this.numNegatives !== null && !(Number.isInteger(this.numNegatives) && this.numNegatives >= 0))
      throw new Error(
        `MultipleNegativesRankingLoss: numNegatives ${this.numNegatives} must be an integer >= 0 or null.`,
      );
    this.scale = options.scale ?? 10;
    this.activation = options.activation ?? "sigmoid";
    this.seed = options.seed ?? DEFAULT_SEED;
    this.rng = mulberry32(this.seed);
  }

  config(): Record<string, unknown> {
    return {
      scale: this.scale,
      num_negatives: this.numNegatives,
      activation_fn:
        this.activation === "sigmoid" ? "torch.nn.modules.activation.Sigmoid" : "torch.nn.modules.linear.Identity",
    };
  }

  lossAndGrads(
    model: CrossEncoder,
    batch: readonly RerankExample[],
    variables: tf.Variable[],
    step?: number,
  ): CrossEncoderLossResult {
    const rows = batch.map((ex, i) => {
      if (ex.kind !== "n-tuple") throw wrongKind(this.name, this.input, ex.kind, i);
      return ex;
    });
    const hard = rows[0]?.negatives.length ?? 0;
    rows.forEach((r, i) => {
      if (r.negatives.length !== hard)
        throw new Error(
          `${this.name}: example ${i} has ${r.negatives.length} negatives, example 0 has ${hard}; every row needs the same number.`,
        );
    });
    const B = rows.length;
    // Candidates column-major: positives, then each negative column (sentence-transformers' inputs[1:]).
    const candidates = [
      rows.map((r) => r.positive),
      ...Array.from({ length: hard }, (_, c) => rows.map((r) => r.negatives[c])),
    ];
    const flat = candidates.flat();
    const rng = step === undefined ? this.rng : rngFor(this.seed, `cross-encoder-mnrl-step-${step}`);
    const drawn = inBatchNegativeIndices(B, candidates.length, this.numNegatives, rng);
    const k = drawn[0]?.length ?? 0;
    // Score columns: positive, k in-batch negatives, the hard negatives; pairs column by column.
    const pairs: TextPair[] = [];
    for (let i = 0; i < B; i++) pairs.push([rows[i].query, rows[i].positive]);
    for (let c = 0; c < k; c++) for (let i = 0; i < B; i++) pairs.push([rows[i].query, flat[drawn[i][c]]]);
    for (let c = 0; c < hard; c++) for (let i = 0; i < B; i++) pairs.push([rows[i].query, rows[i].negatives[c]]);
    const columns = 1 + k + hard;
    return valueAndGrads(() => {
      const scores = tf.transpose(tf.reshape(pairLogits(model, pairs), [columns, B])) as tf.Tensor2D;
      return multipleNegativesRankingFromScores(scores, this.scale, this.activation);
    }, variables);
  }
}

/**
 * ListNet's loss from the flat logits of ragged lists (list q holds labels[q].length passages, in order): the logits
 * padded to the longest list with -1e16 and the labels with -inf (probability 0), as sentence-transformers does.
 */
export function listNetFromLogits(logits: tf.Tensor1D, labels: readonly (readonly number[])[]): tf.Scalar {
  const widest = Math.max(...labels.map((l) => l.length));
  const n = labels.reduce((s, l) => s + l.length, 0);
  const index = new Int32Array(labels.length * widest).fill(n); // row n of the table: the padding value
  const targets = new Float32Array(labels.length * widest);
  let k = 0;
  labels.forEach((row, q) => {
    const max = Math.max(...row);
    const exps = row.map((y) => Math.exp(y - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    row.forEach((_, j) => {
      index[q * widest + j] = k++;
      targets[q * widest + j] = exps[j] / sum;
    });
  });
  return tf.tidy(() => {
    const table = tf.concat([tf.reshape(logits, [n, 1]), tf.fill([1, 1], -1e16)]) as tf.Tensor2D;
    const matrix = tf.reshape(embeddingLookup(table, index), [labels.length, widest]) as tf.Tensor2D;
    const ce = tf.neg(tf.sum(tf.mul(tf.tensor2d(targets, [labels.length, widest]), tf.logSoftmax(matrix)), 1));
    return tf.mean(ce) as tf.Scalar;
  });
}

export class ListNetLoss implements CrossEncoderLoss {
  readonly name = "ListNetLoss";
  readonly input = ["list", "n-tuple"] as const;

  config(): Record<string, unknown> {
    return { activation_fn: "torch.nn.modules.linear.Identity", mini_batch_size: null };
  }

  lossAndGrads(model: CrossEncoder, batch: readonly RerankExample[], variables: tf.Variable[]): CrossEncoderLossResult {
    const pairs: TextPair[] = [];
    const labels: number[][] = [];
    batch.forEach((ex, i) => {
      if (ex.kind === "labeled-pair") throw wrongKind(this.name, this.input, ex.kind, i);
      const passages = ex.kind === "list" ? ex.passages : [ex.positive, ...ex.negatives];
      const ys = ex.kind === "list" ? ex.labels : [1, ...ex.negatives.map(() => 0)];
      if (passages.length !== ys.length || passages.length === 0)
        throw new Error(`${this.name}: example ${i} has ${passages.length} passages and ${ys.length} labels.`);
      for (const p of passages) pairs.push([ex.query, p]);
      labels.push(ys);
    });
    return valueAndGrads(() => listNetFromLogits(pairLogits(model, pairs), labels), variables);
  }
}
