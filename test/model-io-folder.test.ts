// sentence-transformers folder layout: a tiny random BERT folder written with our own safetensors writer is
// loaded, encoded, saved and reloaded bit-identically; Python's layout is written; bad folders name the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, offlineModel } from "../src/model/sentence-transformer";
import { readModelFolder } from "../src/model/folder";
import { readSafetensors, writeSafetensors } from "../src/model/safetensors";
import { TINY_CONFIG, randomWeights, writeTinyBert } from "./fixtures/model-io/tiny-bert";

const TEXTS = [
  "How many PTO days do I get?",
  "",
  "   ",
  "Remote work policy for contractors " + "and employees ".repeat(40),
  "日本語 🤗",
  "Hello, world!",
];

test("load(save(m)) gives bit-identical embeddings and Python's folder layout", async () => {
  const root = mkdtempSync(join(tmpdir(), "folder-"));
  writeTinyBert(join(root, "tiny"), { pooling: "cls", normalize: true });
  const m = await loadModel(join(root, "tiny"));
  assert.equal(m.dim, 32);
  assert.equal(m.maxSeqLength, 16);
  assert.equal(m.normalize, true);
  const e1 = await m.encode(TEXTS, { batchSize: 4 });
  assert.equal(m.lastEncodeStats?.truncated, 1);
  await m.save(join(root, "saved"));
  const files = readdirSync(join(root, "saved")).sort();
  for (const f of [
    "1_Pooling",
    "2_Normalize",
    "config.json",
    "config_sentence_transformers.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
  ])
    assert.ok(files.includes(f), `saved folder has ${f}`);
  assert.deepEqual(
    JSON.parse(readFileSync(join(root, "saved", "modules.json"), "utf8")).map((x: { type: string; path: string }) => [
      x.path,
      x.type,
    ]),
    [
      ["", "sentence_transformers.models.Transformer"],
      ["1_Pooling", "sentence_transformers.models.Pooling"],
      ["2_Normalize", "sentence_transformers.models.Normalize"],
    ],
  );
  assert.deepEqual(JSON.parse(readFileSync(join(root, "saved", "sentence_bert_config.json"), "utf8")), {
    max_seq_length: 16,
    do_lower_case: false,
  });
  // Weights written back unchanged, extra weights (pooler.*) kept.
  const before = readSafetensors(join(root, "tiny", "model.safetensors")).tensors;
  const after = readSafetensors(join(root, "saved", "model.safetensors")).tensors;
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
  for (const [k, t] of before) assert.ok(Buffer.from(t.data.buffer).equals(Buffer.from(after.get(k)!.data.buffer)), k);
  const m2 = await loadModel(join(root, "saved"));
  const e2 = await m2.encode(TEXTS, { batchSize: 4 });
  assert.ok(Buffer.from(e1.data.buffer).equals(Buffer.from(e2.data.buffer)), "bit-identical embeddings after reload");
  m.dispose();
  m2.dispose();
});

test("save replaces an existing folder atomically and leaves no temp folders", async () => {
  const root = mkdtempSync(join(tmpdir(), "folder-atomic-"));
  const target = join(root, "model");
  const m = offlineModel("offline-random");
  // A folder save() wrote (issue 9: a folder that is not ours is refused, see model-io-save.test.ts), holding a
  // stale file of an older save: the new save replaces the whole folder.
  await m.save(target);
  writeFileSync(join(target, "vocab.txt"), "old");
  await m.save(target);
  assert.deepEqual(readdirSync(root), ["model"]);
  assert.equal(existsSync(join(target, "vocab.txt")), false);
  assert.deepEqual(readdirSync(join(target, "0_StaticEmbedding")).sort(), ["model.safetensors", "tokenizer.json"]);
  const again = await loadModel(target);
  const a = await m.encode(TEXTS);
  const b = await again.encode(TEXTS);
  assert.ok(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer)));
  m.dispose();
  again.dispose();
});

test("a plain Hugging Face folder (no modules.json) loads with mean pooling; max_seq_length from config", async () => {
  const root = mkdtempSync(join(tmpdir(), "folder-plain-"));
  writeTinyBert(root, { modules: false });
  const f = readModelFolder(root);
  assert.equal(f.pooling?.pooling_mode_mean_tokens, true);
  assert.equal(f.normalize, false);
  // min(max_position_embeddings 64, tokenizer model_max_length 512)
  assert.equal(f.first.tokenizer.maxSeqLength, 64);
});

test("bad folders: errors name the file", async () => {
  const root = mkdtempSync(join(tmpdir(), "folder-bad-"));
  const mk = (name: string) => {
    const d = join(root, name);
    writeTinyBert(d);
    return d;
  };
  const noTok = mk("no-tokenizer");
  rmSync(join(noTok, "tokenizer.json"));
  await assert.rejects(loadModel(noTok), (e: Error) => e.message.includes(join(noTok, "tokenizer.json")));

  const badArch = mk("bad-arch");
  writeFileSync(join(badArch, "config.json"), JSON.stringify({ ...TINY_CONFIG, model_type: "gpt2" }));
  await assert.rejects(
    loadModel(badArch),
    (e: Error) =>
      e.message.includes(join(badArch, "config.json")) && /Supported architectures: bert, roberta/.test(e.message),
  );

  const corrupt = mk("corrupt");
  const bytes = readFileSync(join(corrupt, "model.safetensors"));
  writeFileSync(join(corrupt, "model.safetensors"), bytes.subarray(0, bytes.length - 100));
  await assert.rejects(
    loadModel(corrupt),
    (e: Error) => e.message.startsWith(join(corrupt, "model.safetensors")) && /truncated/.test(e.message),
  );

  const binOnly = mk("bin-only");
  rmSync(join(binOnly, "model.safetensors"));
  writeFileSync(join(binOnly, "pytorch_model.bin"), "x");
  await assert.rejects(loadModel(binOnly), /model\.safetensors: missing\. The folder has pytorch_model\.bin/);

  const dense = mk("dense");
  writeFileSync(
    join(dense, "modules.json"),
    JSON.stringify([
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
      { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" },
    ]),
  );
  await assert.rejects(
    loadModel(dense),
    (e: Error) => e.message.includes(join(dense, "modules.json")) && /Dense/.test(e.message),
  );

  const tooLong = mk("too-long");
  writeFileSync(join(tooLong, "sentence_bert_config.json"), JSON.stringify({ max_seq_length: 100 }));
  await assert.rejects(loadModel(tooLong), /sentence_bert_config\.json: max_seq_length 100 exceeds the 64 positions/);

  await assert.rejects(loadModel(join(root, "does-not-exist")), /no such folder/);
});

test("a RoBERTa folder: <s> ... </s> tokenizer, pad id 1, positions after the pad id", async () => {
  const root = mkdtempSync(join(tmpdir(), "folder-roberta-"));
  const raw = {
    ...TINY_CONFIG,
    model_type: "roberta",
    architectures: ["RobertaModel"],
    vocab_size: 23,
    max_position_embeddings: 18,
    type_vocab_size: 1,
    pad_token_id: 1,
  };
  writeFileSync(join(root, "config.json"), JSON.stringify(raw));
  writeSafetensors(join(root, "model.safetensors"), randomWeights(3, raw));
  const fixture = join(__dirname, "fixtures", "model-io", "roberta-tiny");
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    writeFileSync(join(root, f), readFileSync(join(fixture, f)));
  const m = await loadModel(root);
  // 18 position embeddings minus pad id 1 minus 1: 16 usable positions (RoBERTa counts from pad + 1).
  assert.equal(m.maxSeqLength, 16);
  assert.deepEqual(m.tokenizer.encode("hello world").ids, [0, 17, 22, 2]);
  const input = m.tokenize(["hello", "hello world hello world"]);
  assert.ok(input.kind === "transformer");
  assert.deepEqual([...input.batch.inputIds.slice(0, 3)], [0, 17, 2]);
  assert.equal(input.batch.inputIds[3], 1, "padded with <pad> = 1");
  // Padding must not change an embedding: "hello" alone equals "hello" padded inside a batch.
  const alone = await m.encode(["hello"]);
  const batched = await m.encode(["hello", "hello world hello world"]);
  for (let j = 0; j < m.dim; j++) assert.ok(Math.abs(alone.data[j] - batched.data[j]) < 1e-5, `dim ${j}`);
  m.dispose();
});
