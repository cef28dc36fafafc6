// The embedded offline models: deterministic from a seed, the documented shapes and weights, and the
// static model behaving lexically (texts that share content words are closer than texts that share
// only stop words).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend";
import { TransformerEncoder } from "../src/model/encoder";
import {
  OFFLINE_VOCAB_SIZE,
  bertBaseUncasedVocab,
  offlineBertModel,
  offlineStaticModel,
  offlineTokenWeight,
} from "../src/model/embedded";
import { StaticEmbedding } from "../src/model/static-embedding";

before(async () => {
  await initBackend();
});

test("bert-base-uncased vocabulary in original notation: known ids", () => {
  const vocab = bertBaseUncasedVocab();
  assert.equal(vocab.length, OFFLINE_VOCAB_SIZE);
  // Ids from the real bert-base-uncased vocab.txt ("Hello, world!" -> 101 7592 1010 2088 999 102).
  assert.equal(vocab[101], "[CLS]");
  assert.equal(vocab[102], "[SEP]");
  assert.equal(vocab[7592], "hello");
  assert.equal(vocab[1010], ",");
  assert.equal(vocab[2088], "world");
  assert.equal(vocab[999], "!");
  assert.equal(vocab[11108], "##world");
  assert.equal(vocab[1], "[unused0]");
});

test("token weights: specials 0, punctuation 0.1, 'the' 0.1, 'how' log(134)/log(5001), rare words 1", () => {
  assert.equal(offlineTokenWeight(101, "[CLS]"), 0);
  assert.equal(offlineTokenWeight(1010, ","), 0.1);
  assert.equal(offlineTokenWeight(1996, "the"), 0.1);
  assert.ok(Math.abs(offlineTokenWeight(2129, "how") - Math.log(134) / Math.log(5001)) < 1e-12);
  assert.equal(offlineTokenWeight(12436, "vacation"), 1);
});

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

test("offline static model: deterministic per seed, unit-scaled rows, lexical cosine", () => {
  const a = offlineStaticModel();
  const b = offlineStaticModel();
  const c = offlineStaticModel({ seed: 7 });
  const wa = a.weights.get("embedding.weight")!;
  assert.deepEqual(wa.shape, [OFFLINE_VOCAB_SIZE, 256]);
  assert.deepEqual(
    Array.from(wa.data.subarray(0, 20_000)),
    Array.from(b.weights.get("embedding.weight")!.data.subarray(0, 20_000)),
  );
  assert.notDeepEqual(
    Array.from(wa.data.subarray(512, 520)),
    Array.from(c.weights.get("embedding.weight")!.data.subarray(512, 520)),
  );
  const rowNorm = (id: number) => Math.hypot(...wa.data.subarray(id * 256, (id + 1) * 256));
  assert.equal(rowNorm(101), 0);
  assert.ok(Math.abs(rowNorm(12436) - 1) < 1e-5); // "vacation": weight 1, unit vector
  assert.ok(Math.abs(rowNorm(1996) - 0.1) < 1e-5); // "the"

  const vocab = bertBaseUncasedVocab();
  const id = (w: string) => {
    const i = vocab.indexOf(w);
    assert.ok(i >= 0, `${w} not in vocabulary`);
    return i;
  };
  const ids = (text: string) => text.split(" ").map(id);
  const model = new StaticEmbedding(a.weights);
  const e = model.forward([
    ids("the vacation policy"),
    ids("vacation request form"), // shares one rare word
    ids("the request form"), // shares one frequent word
    ids("laptop repair"), // shares nothing
  ]);
  const rows = e.arraySync().map((r) => Float32Array.from(r));
  const rare = cosine(rows[0], rows[1]);
  const frequent = cosine(rows[0], rows[2]);
  const none = cosine(rows[0], rows[3]);
  assert.ok(rare > 0.3 && rare > frequent + 0.2, `cos(shares "vacation") ${rare} vs cos(shares "the") ${frequent}`);
  assert.ok(Math.abs(none) < 0.15, `cos(nothing shared) ${none}`);
  model.dispose();
});

test("offline BERT: BERT-Tiny shape, Hugging Face init statistics, runs through TransformerEncoder", () => {
  const m = offlineBertModel();
  assert.equal(m.config.hiddenSize, 128);
  assert.equal(m.config.numHiddenLayers, 2);
  assert.equal(m.pooling.pooling_mode_mean_tokens, true);
  const q = m.weights.get("encoder.layer.0.attention.self.query.weight")!.data;
  const mean = q.reduce((s, v) => s + v, 0) / q.length;
  const std = Math.sqrt(q.reduce((s, v) => s + (v - mean) ** 2, 0) / q.length);
  assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  assert.ok(Math.abs(mean) < 0.001, `mean ${mean}`);
  assert.deepEqual(
    Array.from(m.weights.get("encoder.layer.1.output.LayerNorm.weight")!.data.subarray(0, 3)),
    [1, 1, 1],
  );
  assert.ok(
    m.weights
      .get("embeddings.word_embeddings.weight")!
      .data.subarray(0, 128)
      .every((v) => v === 0),
  ); // [PAD] row
  assert.deepEqual(
    Array.from(offlineBertModel().weights.get("encoder.layer.0.attention.self.query.weight")!.data.subarray(0, 5)),
    Array.from(q.subarray(0, 5)),
  );
  const encoder = new TransformerEncoder(m.config, m.weights);
  // 30522*128 + 512*128 + 2*128 + 2*128 (embeddings) + 2 * (4*(128*128+128) + 2*(128*512) + 512 + 128 + 4*128) = 4,369,408
  assert.equal(encoder.parameterCount(), 4_369_408);
  const out = encoder.forward({
    inputIds: Int32Array.from([101, 7592, 1010, 2088, 999, 102]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1]),
    tokenTypeIds: new Int32Array(6),
    batchSize: 1,
    seqLen: 6,
    truncated: 0,
  });
  assert.deepEqual(out.shape, [1, 6, 128]);
  assert.ok(Array.from(out.dataSync()).every(Number.isFinite));
  encoder.dispose();
});
