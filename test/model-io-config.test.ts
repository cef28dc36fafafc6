// config.json parsing: real configs of the course's models, defaults, and refusals that name the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTransformerConfig, readTransformerConfig, transformerConfigToJson } from "../src/model/config";

// sentence-transformers/all-MiniLM-L6-v2 config.json (as published on the Hub).
const MINILM = {
  _name_or_path: "nreimers/MiniLM-L6-H384-uncased",
  architectures: ["BertModel"],
  attention_probs_dropout_prob: 0.1,
  gradient_checkpointing: false,
  hidden_act: "gelu",
  hidden_dropout_prob: 0.1,
  hidden_size: 384,
  initializer_range: 0.02,
  intermediate_size: 1536,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: "bert",
  num_attention_heads: 12,
  num_hidden_layers: 6,
  pad_token_id: 0,
  position_embedding_type: "absolute",
  transformers_version: "4.8.2",
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 30522,
};

test("all-MiniLM-L6-v2's config.json", () => {
  const c = parseTransformerConfig(MINILM);
  assert.equal(c.architecture, "bert");
  assert.equal(c.hiddenSize, 384);
  assert.equal(c.numHiddenLayers, 6);
  assert.equal(c.numAttentionHeads, 12);
  assert.equal(c.intermediateSize, 1536);
  assert.equal(c.vocabSize, 30522);
  assert.equal(c.layerNormEps, 1e-12);
  assert.equal(c.padTokenId, 0);
  // Written back: unknown fields kept, ours consistent.
  assert.deepEqual(transformerConfigToJson(c), MINILM);
});

test("RoBERTa defaults: pad_token_id 1 when absent", () => {
  const c = parseTransformerConfig({
    model_type: "roberta",
    vocab_size: 50265,
    hidden_size: 768,
    max_position_embeddings: 514,
    type_vocab_size: 1,
    layer_norm_eps: 1e-5,
  });
  assert.equal(c.architecture, "roberta");
  assert.equal(c.padTokenId, 1);
  assert.equal(c.maxPositionEmbeddings, 514);
  assert.equal(c.numHiddenLayers, 12);
  assert.equal(c.layerNormEps, 1e-5);
});

test("unsupported architectures and bad fields are refused naming the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  const path = join(dir, "config.json");
  writeFileSync(path, JSON.stringify({ model_type: "t5", architectures: ["T5EncoderModel"] }));
  assert.throws(
    () => readTransformerConfig(path),
    (err: Error) => {
      assert.ok(err.message.startsWith(path), err.message);
      assert.match(
        err.message,
        /model_type "t5" \(architectures: T5EncoderModel\) is not supported\. Supported architectures: bert, roberta/,
      );
      return true;
    },
  );
  assert.throws(
    () => parseTransformerConfig({ ...MINILM, position_embedding_type: "relative_key" }, "x/config.json"),
    /^Error: x\/config\.json: position_embedding_type "relative_key"/,
  );
  assert.throws(
    () => parseTransformerConfig({ ...MINILM, hidden_act: "swish" }, "x/config.json"),
    /x\/config\.json: hidden_act "swish" is not supported/,
  );
  assert.throws(
    () => parseTransformerConfig({ ...MINILM, num_attention_heads: 5 }, "c.json"),
    /c\.json: hidden_size 384 is not a multiple of num_attention_heads 5/,
  );
  assert.throws(
    () => parseTransformerConfig({ ...MINILM, hidden_size: "384" }, "c.json"),
    /c\.json: "hidden_size" must be an integer/,
  );
  writeFileSync(path, "{ not json");
  assert.throws(
    () => readTransformerConfig(path),
    new RegExp(`^Error: ${path.replace(/[/.]/g, "\\$&")}: not valid JSON`),
  );
  assert.throws(() => readTransformerConfig(join(dir, "nope.json")), /nope\.json: missing config\.json/);
});
