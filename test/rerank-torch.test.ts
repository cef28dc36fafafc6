// The cross-encoder against PyTorch (fixtures/rerank/make_cross_encoder_fixture.py, plain torch 1.13 with Hugging
// Face's BertForSequenceClassification / RobertaForSequenceClassification math): logits of padded pairs for a small
// BERT, a small RoBERTa and all-MiniLM-L6-v2's real shape; BinaryCrossEntropyLoss's value and gradients; one
// clip + AdamW step; MultipleNegativesRankingLoss's and ListNetLoss's values and gradients from logits. All within 1e-4.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend, tf } from "../src/backend";
import { parseTransformerConfig } from "../src/model/config";
import { expectedWeightShapes } from "../src/model/encoder";
import { offlineBertTokenizer, Tokenizer } from "../src/model/tokenizer";
import type { TokenizedBatch, WeightMap } from "../src/model/types";
import { CrossEncoder } from "../src/rerank/cross-encoder";
import { headShapes } from "../src/rerank/folder";
import {
  binaryCrossEntropyFromLogits,
  listNetFromLogits,
  multipleNegativesRankingFromScores,
} from "../src/rerank/losses";
import { AdamW, clipGradNorm } from "../src/train/optimizer";
import { fixtureWeights } from "./fixtures/rerank/weights";

interface ModelCase {
  config: Record<string, unknown>;
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  logits: number[];
}
const fx = JSON.parse(readFileSync(join(__dirname, "fixtures", "rerank", "cross-encoder-torch.json"), "utf8")) as {
  bert_small: ModelCase & {
    labels: number[];
    pos_weight: number;
    bce: number;
    grads: Record<string, number[]>;
    grad_norms: Record<string, number>;
    grad_norm: number;
    lr: number;
    weight_decay: number;
    after_step: Record<string, number[]>;
  };
  roberta_small: ModelCase;
  bert_minilm_shape: ModelCase;
  losses: {
    mnrl_scores: number[][];
    mnrl_scale: number;
    mnrl: number;
    mnrl_grad: number[][];
    listnet_logits: number[];
    listnet_labels: number[][];
    listnet: number;
    listnet_grad: number[];
  };
};

const TOL = 1e-4;

function maxDiff(a: ArrayLike<number>, b: readonly number[]): number {
  assert.equal(a.length, b.length, "length");
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Every k-th value, as the fixture samples large tensors. */
function sampled(data: ArrayLike<number>): number[] {
  const step = Math.max(1, Math.floor(data.length / 256));
  const out: number[] = [];
  for (let i = 0; i < data.length; i += step) out.push(data[i]);
  return out;
}

function modelFor(c: ModelCase): CrossEncoder {
  const config = parseTransformerConfig(c.config, "fixture config");
  const prefix = `${config.architecture}.`;
  const encoderShapes = new Map([...expectedWeightShapes(config)].map(([n, s]) => [prefix + n, s]));
  const all: WeightMap = fixtureWeights(new Map([...encoderShapes, ...headShapes(config, 1)]));
  const encoderWeights: WeightMap = new Map();
  const headWeights: WeightMap = new Map();
  for (const [n, t] of all) {
    if (n.startsWith(prefix) && !n.includes("pooler")) encoderWeights.set(n.slice(prefix.length), t);
    else headWeights.set(n, t);
  }
  const tokenizer =
    config.architecture === "bert"
      ? offlineBertTokenizer(64)
      : Tokenizer.fromFolder(join(__dirname, "fixtures", "model-io", "roberta-tiny"), { maxSeqLength: 64 });
  return new CrossEncoder(
    {
      config,
      encoderWeights,
      headWeights,
      numLabels: 1,
      id2label: { "0": "LABEL_0" },
      tokenizer,
      maxLength: 64,
      activation: "sigmoid",
      headTrained: true,
    },
    "fixture",
  );
}

function batchOf(c: ModelCase): TokenizedBatch {
  return {
    inputIds: Int32Array.from(c.input_ids.flat()),
    attentionMask: Int32Array.from(c.attention_mask.flat()),
    tokenTypeIds: Int32Array.from(c.token_type_ids.flat()),
    batchSize: c.input_ids.length,
    seqLen: c.input_ids[0].length,
    truncated: 0,
  };
}

function logitsOf(model: CrossEncoder, c: ModelCase): Float32Array {
  const out = model.logits(batchOf(c));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

test("sequence-classification logits equal PyTorch's: small BERT, small RoBERTa, all-MiniLM-L6-v2's shape", async () => {
  await initBackend();
  for (const c of [fx.bert_small, fx.roberta_small, fx.bert_minilm_shape]) {
    const model = modelFor(c);
    const before = tf.memory().numTensors;
    const got = logitsOf(model, c);
    assert.equal(tf.memory().numTensors, before, "logits leave no tensors behind");
    const d = maxDiff(got, c.logits);
    assert.ok(d < TOL, `${c.config.model_type} hidden ${c.config.hidden_size}: max |ours - torch| = ${d}`);
    model.dispose();
  }
});

test("BinaryCrossEntropyLoss (pos_weight 2): value, gradients and one clip + AdamW step equal PyTorch's", async () => {
  await initBackend();
  const c = fx.bert_small;
  const model = modelFor(c);
  const params = model.namedParameters();
  const byName = new Map(params.map((p) => [p.name, p.variable]));
  const { value, grads } = tf.variableGrads(
    () =>
      binaryCrossEntropyFromLogits(tf.reshape(model.logits(batchOf(c)), [-1]) as tf.Tensor1D, c.labels, c.pos_weight),
    params.map((p) => p.variable),
  );
  assert.ok(Math.abs(value.dataSync()[0] - c.bce) < TOL, `loss ${value.dataSync()[0]} vs torch ${c.bce}`);
  for (const [name, want] of Object.entries(c.grads)) {
    const g = grads[(byName.get(name) as tf.Variable).name];
    const data = Array.from(g.dataSync());
    const norm = Math.sqrt(data.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - c.grad_norms[name]) < TOL, `${name}: |grad| ${norm} vs torch ${c.grad_norms[name]}`);
    const d = maxDiff(sampled(data), want);
    assert.ok(d < TOL, `${name}: max |grad ours - torch| = ${d}`);
  }
  const gradMap = new Map(params.map((p) => [p.variable, grads[p.variable.name]]));
  const norm = clipGradNorm(gradMap, 1.0);
  assert.ok(Math.abs(norm - c.grad_norm) < TOL, `global grad norm ${norm} vs torch ${c.grad_norm}`);
  const opt = new AdamW(params, { weightDecay: c.weight_decay });
  opt.step(gradMap, c.lr);
  for (const [name, want] of Object.entries(c.after_step)) {
    const d = maxDiff(sampled((byName.get(name) as tf.Variable).dataSync()), want);
    assert.ok(d < TOL, `${name} after one step: max |ours - torch| = ${d}`);
  }
  for (const g of gradMap.values()) g.dispose();
  value.dispose();
  opt.dispose();
  model.dispose();
});

test("MultipleNegativesRankingLoss (sigmoid, scale 10) and ListNetLoss from logits: values and gradients equal PyTorch's", async () => {
  await initBackend();
  const L = fx.losses;
  const scores = tf.variable(tf.tensor2d(L.mnrl_scores));
  const m = tf.variableGrads(() => multipleNegativesRankingFromScores(scores as tf.Tensor2D, L.mnrl_scale), [scores]);
  assert.ok(Math.abs(m.value.dataSync()[0] - L.mnrl) < TOL, `MNRL ${m.value.dataSync()[0]} vs torch ${L.mnrl}`);
  assert.ok(maxDiff(m.grads[scores.name].dataSync(), L.mnrl_grad.flat()) < TOL, "MNRL gradient");
  const logits = tf.variable(tf.tensor1d(L.listnet_logits));
  const l = tf.variableGrads(() => listNetFromLogits(logits as tf.Tensor1D, L.listnet_labels), [logits]);
  assert.ok(
    Math.abs(l.value.dataSync()[0] - L.listnet) < TOL,
    `ListNet ${l.value.dataSync()[0]} vs torch ${L.listnet}`,
  );
  assert.ok(maxDiff(l.grads[logits.name].dataSync(), L.listnet_grad) < TOL, "ListNet gradient");
  tf.dispose([scores, logits, m.value, l.value, ...Object.values(m.grads), ...Object.values(l.grads)]);
});
