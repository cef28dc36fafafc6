// Tokenizer: ids equal the real bert-base-uncased tokenizer's, truncation keeps [CLS] ... [SEP] like Python,
// RoBERTa-style BPE (hand-built fixture with hand-computed ids), padding, casing options and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer, offlineBertTokenizer, offlineBertTokenizerFiles, offlineBertVocab } from "../src/model/tokenizer";

const ROBERTA_TINY = join(__dirname, "fixtures", "model-io", "roberta-tiny");

test("offline vocabulary is bert-base-uncased's in WordPiece notation", () => {
  const vocab = offlineBertVocab();
  assert.equal(vocab.length, 30522);
  assert.equal(new Set(vocab).size, 30522, "pieces are unique");
  // Known ids of bert-base-uncased's vocab.txt (line number - 1).
  assert.equal(vocab[0], "[PAD]");
  assert.equal(vocab[1], "[unused0]");
  assert.equal(vocab[100], "[UNK]");
  assert.equal(vocab[101], "[CLS]");
  assert.equal(vocab[102], "[SEP]");
  assert.equal(vocab[103], "[MASK]");
  assert.equal(vocab[1996], "the");
  assert.equal(vocab[7592], "hello");
  assert.equal(vocab[11108], "##world");
  assert.equal(vocab[30521], "##～");
});

// Expected ids come from the real tokenizer (Python transformers / Rust tokenizers), quoted from:
//  [a] "Hello, world!": the toolchain notes (/work/shared/notes/toolchain.md), checked against Python there;
//      also printed in juniuszhou/de-LLM basic/tokenization/tokenization.py.
//  [b] elixir-nx/bumblebee test/bumblebee/text/bert_tokenizer_test.exs (bert-base-uncased from the Hub).
//  [c] tuananhphan97vn/Citation_Context_Analysis test.py (BertTokenizer bert-base-uncased output in a comment).
//  [d] a public script asserting AutoTokenizer('sentence-transformers/all-MiniLM-L6-v2') ids (same vocabulary;
//      found through code search, repository not recorded).
const KNOWN: [string, number[], string][] = [
  ["Hello, world!", [101, 7592, 1010, 2088, 999, 102], "a"],
  ["Test sentence with [MASK].", [101, 3231, 6251, 2007, 103, 1012, 102], "b"],
  ["Here is some text to encode", [101, 2182, 2003, 2070, 3793, 2000, 4372, 16044, 102], "c"],
  ["Hello there friend!", [101, 7592, 2045, 2767, 999, 102], "d"],
  [
    "I don't sleep cuz sleep is the cousin of death.",
    [101, 1045, 2123, 1005, 1056, 3637, 12731, 2480, 3637, 2003, 1996, 5542, 1997, 2331, 1012, 102],
    "d",
  ],
  ["hello?goodbye", [101, 7592, 1029, 9119, 102], "d"],
  ["hello\ngoodbye", [101, 7592, 9119, 102], "d"],
  ["poof deleon", [101, 13433, 11253, 3972, 10242, 102], "d"],
  ["poivrée", [101, 13433, 12848, 9910, 102], "d"],
];

test("offline tokenizer gives the real bert-base-uncased ids for known sentences", () => {
  const tok = offlineBertTokenizer(128);
  for (const [text, ids, src] of KNOWN) assert.deepEqual(tok.encode(text).ids, ids, `${JSON.stringify(text)} [${src}]`);
});

test("truncation keeps [CLS] ... [SEP] and counts truncated inputs", () => {
  const tok = offlineBertTokenizer(5);
  const r = tok.encode("Hello, world! How are you?");
  // Content cut to 5 - 2 = 3 tokens, then wrapped (Python: truncation="longest_first", max_length=5).
  assert.deepEqual(r.ids, [101, 7592, 1010, 2088, 102]);
  assert.equal(r.truncated, true);
  assert.deepEqual(tok.encode("Hello, world").ids, [101, 7592, 1010, 2088, 102]);
  assert.equal(tok.encode("Hello, world").truncated, false, "exactly max length is not truncated");

  const long = "policy ".repeat(7200); // 50,400 characters
  const tok256 = offlineBertTokenizer(256);
  const e = tok256.encode(long);
  assert.equal(e.ids.length, 256);
  assert.equal(e.ids[0], 101);
  assert.equal(e.ids[255], 102);
  assert.equal(e.ids[1], 3343); // "policy" in bert-base-uncased
  assert.equal(e.truncated, true);

  const batch = tok256.encodeBatch(["short one", long, long.slice(0, 50000), "x"]);
  assert.equal(batch.truncated, 2);
  assert.equal(batch.seqLen, 256);
});

test("batches are padded to their longest member with mask and token types", () => {
  const tok = offlineBertTokenizer(128);
  const b = tok.encodeBatch(["Hello, world!", "hello?goodbye", ""]);
  assert.equal(b.batchSize, 3);
  assert.equal(b.seqLen, 6);
  assert.deepEqual(
    [...b.inputIds],
    [101, 7592, 1010, 2088, 999, 102, 101, 7592, 1029, 9119, 102, 0, 101, 102, 0, 0, 0, 0],
  );
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual([...b.tokenTypeIds], new Array(18).fill(0));
  assert.equal(b.truncated, 0);
});

test("empty, whitespace-only, non-Latin and emoji texts encode", () => {
  const tok = offlineBertTokenizer(64);
  assert.deepEqual(tok.encode("").ids, [101, 102]);
  assert.deepEqual(tok.encode(" \t\n ").ids, [101, 102]);
  // CJK ideographs are split one per token by BertNormalizer; 日 = 1864, 本 = 1876 in bert-base-uncased.
  assert.deepEqual(tok.encode("日本").ids, [101, 1864, 1876, 102]);
  // An emoji is not in the vocabulary: [UNK].
  assert.deepEqual(tok.encode("🤗").ids, [101, 100, 102]);
  assert.deepEqual(tok.encode("Привет 🤗 мир").ids.slice(0, 1), [101]);
});

test("casing: tokenizer_config do_lower_case and sentence_bert_config do_lower_case are honoured", () => {
  const files = offlineBertTokenizerFiles();
  const cased = new Tokenizer(
    { ...files, tokenizerConfig: { ...files.tokenizerConfig, do_lower_case: false } },
    { maxSeqLength: 16 },
  );
  // Without lower-casing, no piece of the uncased vocabulary starts with "H", so WordPiece fails on the whole word
  // and emits [UNK], as Python's BertTokenizerFast(do_lower_case=False) does.
  assert.deepEqual(cased.encode("Hello").ids, [101, 100, 102]);
  const lowered = new Tokenizer(cased.files, { maxSeqLength: 16, lowerCaseInput: true });
  assert.deepEqual(lowered.encode("Hello").ids, [101, 7592, 102]);
});

test("RoBERTa-style byte-level BPE: <s> ... </s>, pad id 1, truncation keeps </s> (hand-computed ids)", () => {
  // Fixture vocab: hello = 17, Ġworld = 22, Ġ = 9; merges build "hello" and "Ġworld" only.
  const tok = Tokenizer.fromFolder(ROBERTA_TINY, { maxSeqLength: 4 });
  assert.equal(tok.padTokenId, 1);
  assert.deepEqual(tok.encode("hello world"), { ids: [0, 17, 22, 2], truncated: false });
  assert.deepEqual(
    tok.encode("  hello world  "),
    { ids: [0, 17, 22, 2], truncated: false },
    "surrounding whitespace stripped",
  );
  assert.deepEqual(tok.encode("hello world hello world!"), { ids: [0, 17, 22, 2], truncated: true });
  assert.deepEqual(tok.encode("hello hello"), { ids: [0, 17, 9, 2], truncated: true });
  const b = tok.encodeBatch(["hello", "hello world"]);
  assert.deepEqual([...b.inputIds], [0, 17, 2, 1, 0, 17, 22, 2]);
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 0, 1, 1, 1, 1]);
});

test("a missing tokenizer file is an error naming the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "tok-missing-"));
  assert.throws(
    () => Tokenizer.fromFolder(dir, { maxSeqLength: 8 }),
    (err: Error) => err.message.includes(join(dir, "tokenizer.json")) && /missing/.test(err.message),
  );
});

test("a folder with only vocab.txt + tokenizer_config.json gets a WordPiece tokenizer built from it", () => {
  const dir = mkdtempSync(join(tmpdir(), "tok-vocab-"));
  offlineBertTokenizer(64).save(dir);
  rmSync(join(dir, "tokenizer.json"));
  const tok = Tokenizer.fromFolder(dir, { maxSeqLength: 64 });
  for (const [text, ids, src] of KNOWN) assert.deepEqual(tok.encode(text).ids, ids, `${JSON.stringify(text)} [${src}]`);
  // A cased vocabulary file with do_lower_case false keeps case: "Hello" is a piece only when it is in the vocab.
  writeFileSync(
    join(dir, "vocab.txt"),
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Hello", "hello", "##s"].join("\n") + "\n",
  );
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({ do_lower_case: false, tokenizer_class: "BertTokenizer" }),
  );
  const cased = Tokenizer.fromFolder(dir, { maxSeqLength: 8 });
  assert.deepEqual(cased.encode("Hello hellos HELLO").ids, [2, 5, 6, 7, 1, 3]);
});

test("save and reload give the same ids; vocab.txt is in id order", () => {
  const dir = mkdtempSync(join(tmpdir(), "tok-save-"));
  const tok = offlineBertTokenizer(64);
  tok.save(dir);
  const again = Tokenizer.fromFolder(dir, { maxSeqLength: 64 });
  for (const [text, ids] of KNOWN) assert.deepEqual(again.encode(text).ids, ids);
  const lines = readFileSync(join(dir, "vocab.txt"), "utf8").split("\n");
  assert.equal(lines[7592], "hello");
  assert.equal(lines[11108], "##world");
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "special_tokens_map.json"), "utf8")).cls_token, "[CLS]");
});
