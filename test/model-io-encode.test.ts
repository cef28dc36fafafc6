// SentenceTransformer.encode: order restored after length sorting, hand-computed static embeddings, progress,
// truncation count, bad input, no tensor leak (bounded memory), describe() naming the offline default.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../src/backend";
import { loadModel, offlineModel, OFFLINE_HINT } from "../src/model/sentence-transformer";
import { embeddingRow } from "../src/model/types";

const TEXTS = [
  "How many PTO days do I get?",
  "Expense reports are due within thirty days of travel.",
  "",
  "   ",
  "Who approves remote work for contractors based outside the country?",
  "日本語のテキスト",
  "🤗🤗",
  "wfh",
  "Safety glasses are required in the lab at all times, including visitors.",
  "Hello, world!",
];

test("static model: rows equal a hand computation of normalize(mean of token vectors), in input order", async () => {
  const m = offlineModel("offline-random");
  const e = await m.encode(TEXTS, { batchSize: 3 });
  assert.equal(e.count, TEXTS.length);
  assert.equal(e.dim, 256);
  const table = m.staticEmbedding!.toWeightMap().get("embedding.weight")!;
  const D = table.shape[1];
  TEXTS.forEach((text, i) => {
    const ids = m.tokenizer.encodeContent(text);
    const ref = new Float64Array(D);
    for (const id of ids) for (let j = 0; j < D; j++) ref[j] += table.data[id * D + j] / ids.length;
    const norm = Math.sqrt(ref.reduce((s, v) => s + v * v, 0));
    const row = embeddingRow(e, i);
    for (let j = 0; j < D; j++) {
      const want = norm > 1e-12 ? ref[j] / norm : 0;
      assert.ok(Math.abs(row[j] - want) < 1e-5, `text ${i} dim ${j}: ${row[j]} vs ${want}`);
    }
  });
  // "Hello, world!" uses ids 7592 1010 2088 999 (no [CLS]/[SEP] for StaticEmbedding, as in Python).
  assert.deepEqual(m.tokenizer.encodeContent("Hello, world!"), [7592, 1010, 2088, 999]);
  // Empty and whitespace-only texts: no tokens -> zero vector.
  assert.ok(embeddingRow(e, 2).every((v) => v === 0));
  assert.ok(embeddingRow(e, 3).every((v) => v === 0));
  m.dispose();
});

test("transformer model: batch composition and sorting do not change a text's embedding", async () => {
  const m = offlineModel("offline-bert");
  const all = await m.encode(TEXTS, { batchSize: 4 });
  for (const i of [0, 4, 7]) {
    const one = await m.encode([TEXTS[i]]);
    const row = embeddingRow(all, i);
    for (let j = 0; j < m.dim; j++) assert.ok(Math.abs(row[j] - one.data[j]) < 1e-5, `text ${i} dim ${j}`);
  }
  // Unit length (Normalize module).
  for (let i = 0; i < all.count; i++) {
    const n = Math.hypot(...embeddingRow(all, i));
    assert.ok(Math.abs(n - 1) < 1e-5, `row ${i} norm ${n}`);
  }
  const raw = await m.encode(TEXTS.slice(0, 2), { normalize: false });
  assert.ok(Math.abs(Math.hypot(...embeddingRow(raw, 0)) - 1) > 1e-3, "normalize: false gives the raw pooled vector");
  m.dispose();
});

test("progress, stats and truncation count for 50,000-character texts", async () => {
  const m = offlineModel("offline-bert");
  const long = "The travel policy covers flights, hotels and meals. ".repeat(1000); // 52,000 characters
  const texts = [long, "short", long.slice(0, 50000), "", "another short one"];
  const calls: [number, number][] = [];
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (msg: string) => warnings.push(msg);
  try {
    await m.encode(texts, { batchSize: 2, onProgress: (done, total) => calls.push([done, total]) });
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(calls, [
    [2, 5],
    [4, 5],
    [5, 5],
  ]);
  const s = m.lastEncodeStats!;
  assert.equal(s.texts, 5);
  assert.equal(s.batches, 3);
  assert.equal(s.truncated, 2);
  // The two long texts fill max_seq_length 128; the batch of both is exactly 2 x 128 positions.
  assert.ok(s.paddedTokens >= 256 && s.tokens <= s.paddedTokens);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /2 of 5 texts were longer than max_seq_length 128 tokens/);
  m.dispose();
});

test("bad arguments are named; empty input gives an empty matrix; no tensors leak", async () => {
  const m = offlineModel("offline-bert");
  await assert.rejects(m.encode(["ok", 3 as unknown as string]), /texts\[1\] is number, expected a string/);
  await assert.rejects(m.encode(["ok"], { batchSize: 0 }), /batchSize 0 must be a positive integer/);
  const empty = await m.encode([]);
  assert.deepEqual([empty.count, empty.data.length], [0, 0]);
  await m.encode(TEXTS.slice(0, 3)); // warm up kernels that allocate once
  const before = tf.memory().numTensors;
  const many = Array.from({ length: 300 }, (_, i) => `policy question number ${i} about leave`);
  await m.encode(many, { batchSize: 64 });
  assert.equal(
    tf.memory().numTensors,
    before,
    "encode releases every tensor it makes (memory stays bounded by one batch)",
  );
  m.dispose();
});

test("describe() names the backend and says when the embedded offline default is used", async () => {
  const m = await loadModel("offline");
  const d = m.describe();
  assert.match(d, /tfjs backend (wasm|cpu|tensorflow)/);
  assert.ok(d.includes(OFFLINE_HINT));
  assert.ok(m.isOfflineDefault);
  assert.equal(m.maxSeqLength, Infinity);
  m.dispose();
});

test("forward() is differentiable: gradients reach the encoder's and the static table's variables", async () => {
  for (const which of ["offline-bert", "offline"] as const) {
    const m = offlineModel(which);
    await m.encode(["warm up"]);
    const input = m.tokenize(["vacation days", "expense report"]);
    const vars = m.trainableVariables();
    const { value, grads } = tf.variableGrads(() => {
      const e = m.forward(input);
      // Cosine of the two rows (rows are unit length): its gradient is non-zero for every used parameter.
      return tf.sum(tf.mul(tf.slice(e, [0, 0], [1, -1]), tf.slice(e, [1, 0], [1, -1]))) as tf.Scalar;
    }, vars);
    const names = Object.keys(grads);
    assert.ok(names.length > 0, `${which}: some gradients`);
    let nonZero = 0;
    for (const g of Object.values(grads)) if ((tf.max(tf.abs(g)).dataSync()[0] as number) > 0) nonZero++;
    assert.ok(nonZero >= Math.min(2, names.length), `${which}: ${nonZero} of ${names.length} gradients are non-zero`);
    assert.ok(Number.isFinite(value.dataSync()[0]));
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    m.dispose();
  }
});

test("texts that encode to the zero vector are counted and reported once per call (issue 9 item 7)", async () => {
  const m = offlineModel("offline");
  const texts = ["", "policy leave", "   ", "☃☃ ✓", "𝔘𝔫𝔨𝔫𝔬𝔴𝔫", "remote work"];
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (msg: string) => warnings.push(msg);
  let out: Awaited<ReturnType<typeof m.encode>> | undefined;
  try {
    out = await m.encode(texts, { batchSize: 2 });
  } finally {
    console.warn = warn;
  }
  const zero = texts.map((_, i) => embeddingRow(out!, i).every((x) => x === 0));
  assert.deepEqual(zero, [true, false, true, true, true, false]);
  assert.equal(m.lastEncodeStats!.zeroVectors, 4);
  assert.equal(warnings.length, 1, "one warning for the call, not one per batch");
  assert.match(
    warnings[0],
    /^offline \(embedded offline default, pretrained on WordNet, not a Hub model\): 4 of 6 texts were encoded as the zero vector \(2 empty or blank, 2 with no token the vocabulary knows\), e\.g\. texts\[0\] "", texts\[2\] " {3}", texts\[3\] "☃☃ ✓", \.\.\./,
  );
  await m.encode(["policy leave"]);
  assert.equal(m.lastEncodeStats!.zeroVectors, 0);
  m.dispose();
});
