// TransformerEncoder + pooling against a fixture computed by PyTorch (test/fixtures/model-compute/
// make_fixture.py: a tiny random BERT and RoBERTa in plain torch following Hugging Face's math, run
// in float64 on a padded batch). The fixture is committed; this test needs no torch.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend, tf } from "../src/backend";
import { TransformerEncoder } from "../src/model/encoder";
import { pool, poolingConfig } from "../src/model/pooling";
import type { TokenizedBatch, TransformerConfig, WeightMap } from "../src/model/types";

interface FixtureModel {
  config: Record<string, number | string>;
  weights: Record<string, { shape: number[]; float32_base64: string }>;
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  token_embeddings: number[][][];
  mean_pooled: number[][];
  cls_pooled: number[][];
}

const fixture = JSON.parse(
  readFileSync(join(__dirname, "fixtures", "model-compute", "bert-tiny-torch.json"), "utf8"),
) as Record<"bert" | "roberta", FixtureModel>;

before(async () => {
  await initBackend();
});

function toConfig(raw: Record<string, number | string>): TransformerConfig {
  return {
    architecture: raw.model_type as "bert" | "roberta",
    vocabSize: raw.vocab_size as number,
    hiddenSize: raw.hidden_size as number,
    numHiddenLayers: raw.num_hidden_layers as number,
    numAttentionHeads: raw.num_attention_heads as number,
    intermediateSize: raw.intermediate_size as number,
    hiddenAct: raw.hidden_act as "gelu",
    maxPositionEmbeddings: raw.max_position_embeddings as number,
    typeVocabSize: raw.type_vocab_size as number,
    layerNormEps: raw.layer_norm_eps as number,
    padTokenId: raw.pad_token_id as number,
    raw,
  };
}

function toWeights(m: FixtureModel): WeightMap {
  const weights: WeightMap = new Map();
  for (const [name, t] of Object.entries(m.weights)) {
    const bytes = Buffer.from(t.float32_base64, "base64");
    const data = new Float32Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(4 * i);
    weights.set(name, { shape: t.shape, data });
  }
  return weights;
}

function toBatch(m: FixtureModel): TokenizedBatch {
  const B = m.input_ids.length;
  const S = m.input_ids[0].length;
  return {
    inputIds: Int32Array.from(m.input_ids.flat()),
    attentionMask: Int32Array.from(m.attention_mask.flat()),
    tokenTypeIds: Int32Array.from(m.token_type_ids.flat()),
    batchSize: B,
    seqLen: S,
    truncated: 0,
  };
}

function maxAbsDiff(ours: ArrayLike<number>, expected: number[]): number {
  assert.equal(ours.length, expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(ours[i] - expected[i]));
  return worst;
}

for (const arch of ["bert", "roberta"] as const) {
  test(`${arch}: token embeddings, mean and CLS pooling match PyTorch within 1e-4`, () => {
    const m = fixture[arch];
    const config = toConfig(m.config);
    const batch = toBatch(m);
    const encoder = new TransformerEncoder(config, toWeights(m));
    const tokens = encoder.forward(batch);
    const diffTokens = maxAbsDiff(tokens.dataSync(), m.token_embeddings.flat(2));
    assert.ok(diffTokens < 1e-4, `token embeddings differ by ${diffTokens}`);
    const mask = tf.tensor2d(batch.attentionMask, [batch.batchSize, batch.seqLen], "int32");
    const mean = pool(tokens, mask, poolingConfig(config.hiddenSize, "mean"));
    const cls = pool(tokens, mask, poolingConfig(config.hiddenSize, "cls"));
    const diffMean = maxAbsDiff(mean.dataSync(), m.mean_pooled.flat());
    const diffCls = maxAbsDiff(cls.dataSync(), m.cls_pooled.flat());
    assert.ok(diffMean < 1e-4, `mean pooling differs by ${diffMean}`);
    assert.ok(diffCls < 1e-4, `CLS pooling differs by ${diffCls}`);
    tf.dispose([tokens, mask, mean, cls]);
    encoder.dispose();
  });
}
