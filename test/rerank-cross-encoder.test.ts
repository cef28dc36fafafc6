// CrossEncoder I/O and inference: pairs tokenized as Hugging Face's fast tokenizers do (compared with transformers.js'
// own text_pair encoding, and Rust's longest_first truncation), predict / rank / tokenCounts semantics, save() in the
// layout Python's CrossEncoder(path) reads and the round trip, a plain encoder folder getting a new head, a Hub id
// through the stand-in Hub, and the errors for a folder that does not match.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as transformers from "@huggingface/transformers";
import { initBackend } from "../src/backend";
import { parseTransformerConfig } from "../src/model/config";
import { initBertWeights } from "../src/model/embedded";
import { readSafetensors, writeSafetensors } from "../src/model/safetensors";
import { longestFirstLengths } from "../src/model/pair-template";
import { offlineBertTokenizer, offlineBertTokenizerFiles, Tokenizer } from "../src/model/tokenizer";
import { crossEncoderFromEncoder } from "../src/rerank/cross-encoder";
import { loadCrossEncoder } from "../src/rerank/load";
import { tinyConfig, tinyCrossEncoder } from "./fixtures/rerank/tiny";
import { StandInHub } from "./fixtures/hub-stand-in";

const ROBERTA_DIR = join(__dirname, "fixtures", "model-io", "roberta-tiny");

const PAIRS: [string, string][] = [
  ["how many vacation days do I get?", "Employees receive 25 days of paid leave per calendar year."],
  ["Who approves expenses?", "Your manager approves expense claims within five working days."],
  ["parking", "The office has no parking; use the public garage on Main Street."],
];

test("pairs are tokenized as transformers.js encodes text_pair: [CLS] q [SEP] p [SEP] with token types 0 | 1 (BERT), <s> q </s></s> p </s> (RoBERTa)", async () => {
  const files = offlineBertTokenizerFiles();
  const ours = new Tokenizer(files, { maxSeqLength: 512 });
  const hf = new transformers.BertTokenizer(files.tokenizerJson, files.tokenizerConfig) as unknown as (
    t: string,
    o: object,
  ) => { input_ids: { data: BigInt64Array }; token_type_ids: { data: BigInt64Array } };
  for (const [q, p] of PAIRS) {
    const got = ours.encodePair(q, p);
    const want = hf(q, { text_pair: p });
    assert.deepEqual(got.ids, [...want.input_ids.data].map(Number), `ids of (${q}, ${p})`);
    assert.deepEqual(got.typeIds, [...want.token_type_ids.data].map(Number), `token types of (${q}, ${p})`);
    assert.equal(got.ids[0], 101);
    assert.equal(got.ids.filter((id) => id === 102).length, 2);
  }
  const rTok = Tokenizer.fromFolder(ROBERTA_DIR, { maxSeqLength: 64 });
  const rHf = new transformers.RobertaTokenizer(rTok.files.tokenizerJson, rTok.files.tokenizerConfig) as unknown as (
    t: string,
    o: object,
  ) => { input_ids: { data: BigInt64Array } };
  const got = rTok.encodePair("cats sleep", "dogs bark");
  assert.deepEqual(got.ids, [...rHf("cats sleep", { text_pair: "dogs bark" }).input_ids.data].map(Number));
  assert.deepEqual(got.ids.slice(0, 1), [0]);
  assert.equal(got.ids.filter((id) => id === 2).length, 3, "<s> A </s></s> B </s>");
});

test("longest_first truncation follows the Rust tokenizers: cut the longer to the budget, else both to halves", () => {
  assert.deepEqual(longestFirstLengths(2, 9, 5), [2, 3]);
  assert.deepEqual(longestFirstLengths(9, 2, 5), [3, 2]);
  assert.deepEqual(longestFirstLengths(4, 9, 5), [2, 3]);
  assert.deepEqual(longestFirstLengths(9, 4, 5), [3, 2]);
  assert.deepEqual(longestFirstLengths(3, 3, 5), [2, 3]);
  assert.deepEqual(longestFirstLengths(20, 30, 10), [5, 5]);
  assert.deepEqual(longestFirstLengths(2, 2, 5), [2, 2]);
  const tok = offlineBertTokenizer(16);
  const long = "the quick brown fox jumps over the lazy dog again and again and again";
  const e = tok.encodePair("short question", long);
  assert.equal(e.ids.length, 16);
  assert.ok(e.truncated);
  assert.deepEqual(e.ids.slice(0, 4), [101, ...tok.encodeContent("short question"), 102]);
  assert.equal(e.ids.at(-1), 102);
  assert.deepEqual(e.typeIds, [...Array(4).fill(0), ...Array(12).fill(1)]);
  const batch = tok.encodePairBatch([
    ["a", "b"],
    ["short question", long],
  ]);
  assert.equal(batch.seqLen, 16);
  assert.deepEqual([...batch.tokenTypeIds.subarray(0, 5)], [0, 0, 0, 1, 1]);
  assert.deepEqual([...batch.attentionMask.subarray(0, 6)], [1, 1, 1, 1, 1, 0]);
});

test("predict = sigmoid(logit) by default, identity gives logits; rank sorts best first with topK; tokenCounts", async () => {
  await initBackend();
  const model = tinyCrossEncoder();
  const logits = await model.predict(PAIRS, { activation: "identity" });
  const scores = await model.predict(PAIRS);
  scores.forEach((s, i) => assert.ok(Math.abs(s - 1 / (1 + Math.exp(-logits[i]))) < 1e-6));
  assert.ok(new Set(logits.map((l) => l.toFixed(6))).size === 3, "different pairs score differently");
  const oneByOne = await model.predict(PAIRS, { batchSize: 1 });
  oneByOne.forEach((s, i) => assert.ok(Math.abs(s - scores[i]) < 1e-6, "padding does not change a score"));
  const passages = PAIRS.map((p) => p[1]);
  const ranked = await model.rank("vacation", passages);
  const sorted = [...ranked].sort((a, b) => b.score - a.score);
  assert.deepEqual(ranked, sorted);
  assert.deepEqual(new Set(ranked.map((r) => r.corpusId)), new Set([0, 1, 2]));
  assert.equal(ranked[0].text, passages[ranked[0].corpusId]);
  assert.equal((await model.rank("vacation", passages, { topK: 2 })).length, 2);
  const tied = await model.rank("q", ["same", "same"]);
  assert.deepEqual(
    tied.map((r) => r.corpusId),
    [0, 1],
    "ties keep the earlier passage first",
  );
  const counts = model.tokenCounts(PAIRS);
  assert.deepEqual(
    counts,
    PAIRS.map(([q, p]) => model.tokenizer.encodePair(q, p, 128).ids.length),
  );
  await assert.rejects(
    model.predict([["only one"] as unknown as [string, string]]),
    /pair 0 is not \[query, passage\]/,
  );
  model.dispose();
});

test("save() writes the layout Python's CrossEncoder(path) reads; loadCrossEncoder reads it back with identical scores", async () => {
  await initBackend();
  const model = tinyCrossEncoder();
  const dir = join(mkdtempSync(join(tmpdir(), "ce-save-")), "reranker");
  model.save(dir);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.deepEqual(config.architectures, ["BertForSequenceClassification"]);
  assert.equal(config.model_type, "bert");
  assert.deepEqual(config.id2label, { "0": "LABEL_0" });
  assert.deepEqual(config.label2id, { LABEL_0: 0 });
  assert.equal(config.sentence_transformers.activation_fn, "torch.nn.modules.activation.Sigmoid");
  const names = [...readSafetensors(join(dir, "model.safetensors")).tensors.keys()];
  for (const n of ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.output.dense.weight"])
    assert.ok(names.includes(n), n);
  for (const n of ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"])
    assert.ok(names.includes(n), n);
  assert.ok(
    names.every((n) => n.startsWith("bert.") || n.startsWith("classifier.")),
    names.join(),
  );
  const tokConfig = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  assert.equal(tokConfig.model_max_length, 128);
  for (const f of ["tokenizer.json", "special_tokens_map.json", "vocab.txt"]) readFileSync(join(dir, f));
  const again = await loadCrossEncoder(dir);
  assert.equal(again.maxLength, 128);
  assert.equal(again.numLabels, 1);
  assert.deepEqual(await again.predict(PAIRS), await model.predict(PAIRS), "bit-identical after save + reload");
  model.save(dir); // replacing a folder it wrote is fine
  writeFileSync(join(dir, "notes.md"), "mine");
  assert.throws(() => model.save(dir), /not a cross-encoder folder this library wrote/);
  model.dispose();
  again.dispose();
});

test("a plain encoder folder (BertModel) loads with a new seeded one-label head, as Python's CrossEncoder does", async () => {
  await initBackend();
  const dir = mkdtempSync(join(tmpdir(), "ce-plain-"));
  const config = tinyConfig();
  const weights = initBertWeights(config, 3, 0.2);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config.raw));
  writeSafetensors(join(dir, "model.safetensors"), new Map([...weights].map(([n, t]) => [`bert.${n}`, t])));
  const t = offlineBertTokenizerFiles(64);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(t.tokenizerJson));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(t.tokenizerConfig));
  const a = await loadCrossEncoder(dir, { seed: 1 });
  const b = await loadCrossEncoder(dir, { seed: 1 });
  const c = await loadCrossEncoder(dir, { seed: 2 });
  assert.equal(a.maxLength, 64, "tokenizer_config.json's model_max_length");
  assert.deepEqual(await a.predict(PAIRS), await b.predict(PAIRS));
  assert.notDeepEqual(await a.predict(PAIRS), await c.predict(PAIRS));
  for (const m of [a, b, c]) m.dispose();
});

test("a sentence-transformers folder (unprefixed names, pooler.*) starts a cross-encoder with its pooler kept", async () => {
  await initBackend();
  const dir = mkdtempSync(join(tmpdir(), "ce-st-"));
  const config = tinyConfig();
  const weights = initBertWeights(config, 4, 0.2);
  const H = config.hiddenSize;
  const pooler = { shape: [H, H], data: Float32Array.from({ length: H * H }, (_, i) => ((i % 7) - 3) / 50) };
  weights.set("pooler.dense.weight", pooler);
  weights.set("pooler.dense.bias", { shape: [H], data: new Float32Array(H) });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config.raw));
  writeSafetensors(join(dir, "model.safetensors"), weights);
  const t = offlineBertTokenizerFiles(64);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(t.tokenizerJson));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(t.tokenizerConfig));
  writeFileSync(join(dir, "modules.json"), "[]");
  const m = await loadCrossEncoder(dir);
  assert.deepEqual(Array.from(m.head.get("bert.pooler.dense.weight")?.dataSync() ?? []), Array.from(pooler.data));
  assert.equal(m.encoder.variables.size, weights.size - 2);
  m.dispose();
});

test("a RoBERTa cross-encoder (classifier.dense + out_proj) round-trips; a head that does not match config.json is named", async () => {
  await initBackend();
  const dir = mkdtempSync(join(tmpdir(), "ce-roberta-"));
  const config = parseTransformerConfig(
    {
      architectures: ["RobertaForSequenceClassification"],
      model_type: "roberta",
      vocab_size: 1000,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 66,
      type_vocab_size: 1,
      pad_token_id: 1,
      id2label: { "0": "LABEL_0" },
    },
    "roberta config",
  );
  const tok = Tokenizer.fromFolder(ROBERTA_DIR, { maxSeqLength: 64 });
  assert.ok(tok.vocabSize <= 1000, `fixture vocabulary ${tok.vocabSize}`);
  const model = crossEncoderFromEncoder(config, initBertWeights(config, 5, 0.2), tok, { seed: 5 });
  model.save(join(dir, "m"));
  const names = [...readSafetensors(join(dir, "m", "model.safetensors")).tensors.keys()];
  assert.ok(names.includes("classifier.out_proj.weight") && names.includes("classifier.dense.bias"));
  assert.ok(!names.some((n) => n.includes("pooler")));
  const again = await loadCrossEncoder(join(dir, "m"));
  assert.deepEqual(await again.predict(PAIRS), await model.predict(PAIRS));
  const cfg = JSON.parse(readFileSync(join(dir, "m", "config.json"), "utf8"));
  writeFileSync(join(dir, "m", "config.json"), JSON.stringify({ ...cfg, id2label: { "0": "a", "1": "b" } }));
  await assert.rejects(
    loadCrossEncoder(join(dir, "m")),
    /classifier\.out_proj\.weight" has shape \[1,16\], expected \[2,16\]/,
  );
  model.dispose();
  again.dispose();
});

test("loadCrossEncoder(Hub id) downloads through the project's Hub code (stand-in Hub) and scores as the folder does", async () => {
  await initBackend();
  const model = tinyCrossEncoder();
  const root = mkdtempSync(join(tmpdir(), "ce-hub-"));
  model.save(join(root, "src"));
  const hub = new StandInHub({ models: { "cross-encoder/tiny-test": join(root, "src") } });
  const hubUrl = await hub.start();
  try {
    mkdirSync(join(root, "cache"));
    const loaded = await loadCrossEncoder("cross-encoder/tiny-test", {
      cacheDir: join(root, "cache"),
      hubUrl,
      onProgress: () => {},
    });
    assert.equal(loaded.name, "cross-encoder/tiny-test");
    assert.deepEqual(await loaded.predict(PAIRS), await model.predict(PAIRS));
    loaded.dispose();
    await assert.rejects(
      loadCrossEncoder("./no/such/folder"),
      /no such folder .* Give a cross-encoder folder or a Hub id/,
    );
  } finally {
    await hub.stop();
    model.dispose();
  }
});
