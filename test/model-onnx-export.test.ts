// The ONNX graph (src/model/onnx/graph.ts) run by onnxruntime-node computes what our tfjs encoder computes:
// token embeddings of the PyTorch fixture models (BERT and RoBERTa, test/fixtures/model-compute) equal PyTorch's
// and our tfjs forward pass within 1e-4; every pooling mode, Normalize, and the three activations equal tfjs; the
// embedded offline-bert encodes the same on both runtimes. Unsupported architectures and StaticEmbedding models
// are refused by name.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { initBackend, tf } from "../src/backend";
import { parseTransformerConfig } from "../src/model/config";
import { TransformerEncoder } from "../src/model/encoder";
import { GRAPH_SPEC_KEY, WEIGHTS_CHECKSUM_KEY, buildOnnxModel, weightsChecksum } from "../src/model/onnx/graph";
import { OnnxEncoder } from "../src/model/onnx/session";
import { l2Normalize, pool, poolingConfig } from "../src/model/pooling";
import { offlineModel } from "../src/model/sentence-transformer";
import type { PoolingConfig, TokenizedBatch, TransformerConfig, WeightMap } from "../src/model/types";
import { TINY_CONFIG, edgeBatch, randomWeights } from "./fixtures/model-io/tiny-bert";

interface FixtureModel {
  config: Record<string, unknown>;
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

function fixtureWeights(m: FixtureModel): WeightMap {
  const weights: WeightMap = new Map();
  for (const [name, t] of Object.entries(m.weights)) {
    const bytes = Buffer.from(t.float32_base64, "base64");
    weights.set(name, {
      shape: t.shape,
      data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
    });
  }
  return weights;
}

function fixtureBatch(m: FixtureModel): TokenizedBatch {
  return {
    inputIds: Int32Array.from(m.input_ids.flat()),
    attentionMask: Int32Array.from(m.attention_mask.flat()),
    tokenTypeIds: Int32Array.from(m.token_type_ids.flat()),
    batchSize: m.input_ids.length,
    seqLen: m.input_ids[0].length,
    truncated: 0,
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** tfjs: encoder -> pooling -> optional Normalize, as SentenceTransformer.forward. */
function tfjsSentence(
  encoder: TransformerEncoder,
  batch: TokenizedBatch,
  pooling: PoolingConfig,
  normalize: boolean,
): Float32Array {
  return tf.tidy(() => {
    const tokens = encoder.forward(batch);
    const mask = tf.tensor2d(batch.attentionMask, [batch.batchSize, batch.seqLen], "int32");
    const pooled = pool(tokens, mask, pooling);
    return (normalize ? l2Normalize(pooled) : pooled).dataSync() as Float32Array;
  });
}

for (const arch of ["bert", "roberta"] as const) {
  test(`${arch} fixture: ONNX Runtime token embeddings and mean / CLS pooling equal PyTorch and tfjs within 1e-4`, async () => {
    const fx = fixture[arch];
    const config = parseTransformerConfig(fx.config, `${arch} fixture`);
    const weights = fixtureWeights(fx);
    const batch = fixtureBatch(fx);
    const encoder = new TransformerEncoder(config, weights);
    for (const mode of ["mean", "cls"] as const) {
      const pooling = poolingConfig(config.hiddenSize, mode);
      const session = await OnnxEncoder.create(
        buildOnnxModel({ config, weights, pooling, normalize: false }),
        config.hiddenSize,
        { threads: 1 },
      );
      const tokens = await session.lastHiddenState(batch);
      const tfTokens = encoder.forward(batch);
      assert.ok(
        maxAbsDiff(tokens, fx.token_embeddings.flat(2)) < 1e-4,
        `${mode}: token embeddings vs PyTorch ${maxAbsDiff(tokens, fx.token_embeddings.flat(2))}`,
      );
      assert.ok(maxAbsDiff(tokens, tfTokens.dataSync()) < 1e-4, "token embeddings vs tfjs");
      tfTokens.dispose();
      const sentence = await session.sentenceEmbeddings(batch);
      const torch = (mode === "mean" ? fx.mean_pooled : fx.cls_pooled).flat();
      assert.ok(maxAbsDiff(sentence, torch) < 1e-4, `${mode} pooling vs PyTorch: ${maxAbsDiff(sentence, torch)}`);
      assert.ok(maxAbsDiff(sentence, tfjsSentence(encoder, batch, pooling, false)) < 1e-4, `${mode} pooling vs tfjs`);
      await session.release();
    }
    encoder.dispose();
  });
}

test("every pooling mode, several at once, Normalize, and gelu / gelu_new / relu equal tfjs within 1e-4", async () => {
  const batch = edgeBatch();
  const modes = ["cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"] as const;
  for (const act of ["gelu", "gelu_new", "relu"] as const) {
    const raw = { ...TINY_CONFIG, hidden_act: act, layer_norm_eps: 1e-5 };
    const config: TransformerConfig = parseTransformerConfig(raw);
    const weights = randomWeights(act.length + 3, raw);
    const encoder = new TransformerEncoder(config, weights);
    const poolings: PoolingConfig[] = modes.map((m) => poolingConfig(32, m));
    poolings.push({
      ...poolingConfig(32, "cls"),
      pooling_mode_mean_tokens: true,
      pooling_mode_max_tokens: true,
      pooling_mode_lasttoken: true,
    });
    for (const pooling of act === "gelu" ? poolings : poolings.slice(2, 3)) {
      for (const normalize of [false, true]) {
        const bytes = buildOnnxModel({ config, weights, pooling, normalize });
        const dim = 32 * Object.values(pooling).filter((v) => v === true).length;
        const session = await OnnxEncoder.create(bytes, dim, { threads: 1 });
        const got = await session.sentenceEmbeddings(batch);
        const want = tfjsSentence(encoder, batch, pooling, normalize);
        const diff = maxAbsDiff(got, want);
        assert.ok(
          diff < 1e-4,
          `${act}, pooling ${JSON.stringify(pooling)}, normalize ${normalize}: differs by ${diff}`,
        );
        await session.release();
      }
    }
    encoder.dispose();
  }
});

test("offline-bert: encode on ONNX Runtime equals encode on tfjs within 1e-4, rows in input order", async () => {
  const m = offlineModel("offline-bert");
  const texts = [
    "How many PTO days do I get?",
    "",
    "Café, naïve résumé — 日本語",
    "wfh",
    "Who approves remote work for contractors based outside the country?",
  ];
  assert.equal(m.encodeRuntime({}).runtime, "onnxruntime");
  const onnxRows = await m.encode(texts, { batchSize: 2, runtime: "onnxruntime" });
  assert.equal(m.lastEncodeStats?.runtime, "onnxruntime");
  const tfRows = await m.encode(texts, { batchSize: 2, runtime: "tfjs" });
  assert.equal(m.lastEncodeStats?.runtime, "tfjs");
  const diff = maxAbsDiff(onnxRows.data, tfRows.data);
  assert.ok(diff < 1e-4, `differs by ${diff}`);
  // The default (auto) is ONNX Runtime for a model that is not being trained.
  await m.encode(texts.slice(0, 1));
  assert.equal(m.lastEncodeStats?.runtime, "onnxruntime");
  m.dispose();
});

test("the file records the weights checksum and graph spec; one changed weight changes the checksum", () => {
  const config = parseTransformerConfig(TINY_CONFIG);
  const weights = randomWeights(7);
  const bytes = buildOnnxModel({ config, weights, pooling: poolingConfig(32, "mean"), normalize: true });
  const model = onnx.ModelProto.decode(bytes);
  assert.equal(Number(model.opsetImport[0].version), 17);
  assert.deepEqual(
    model.graph?.input?.map((i) => i.name),
    ["input_ids", "attention_mask", "token_type_ids"],
  );
  assert.deepEqual(
    model.graph?.output?.map((o) => o.name),
    ["last_hidden_state", "sentence_embedding"],
  );
  const props = new Map(model.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(props.get(WEIGHTS_CHECKSUM_KEY), weightsChecksum(weights));
  assert.deepEqual(JSON.parse(props.get(GRAPH_SPEC_KEY) as string).pooling, ["mean"]);
  const changed: WeightMap = new Map(weights);
  const w = weights.get("encoder.layer.1.output.dense.bias")!;
  const data = w.data.slice();
  data[3] += 1e-6;
  changed.set("encoder.layer.1.output.dense.bias", { shape: w.shape, data });
  assert.notEqual(weightsChecksum(changed), weightsChecksum(weights));
});

test("an architecture the exporter does not cover is refused by name; so is a StaticEmbedding model", async () => {
  const config = { ...parseTransformerConfig(TINY_CONFIG), architecture: "distilbert" } as unknown as TransformerConfig;
  assert.throws(
    () => buildOnnxModel({ config, weights: randomWeights(7), pooling: poolingConfig(32, "mean"), normalize: false }),
    /architecture "distilbert" is not supported by the exporter/,
  );
  const stat = offlineModel("offline");
  assert.throws(() => stat.toOnnx(), /StaticEmbedding model has no ONNX export/);
  assert.equal(stat.encodeRuntime().runtime, "tfjs");
  await assert.rejects(
    stat.encode(["x"], { runtime: "onnxruntime" }),
    /StaticEmbedding model \(a table lookup and a mean\) has no ONNX graph/,
  );
  stat.dispose();
});
