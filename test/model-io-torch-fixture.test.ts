// End to end through the model I/O path against PyTorch: the tiny BERT and RoBERTa of
// test/fixtures/model-compute/bert-tiny-torch.json (made by make_fixture.py with PyTorch) are written as
// sentence-transformers folders (config.json, model.safetensors with our writer, modules.json, 1_Pooling),
// loaded with loadModel, and their mean-pooled embeddings of the fixture's padded batch must equal PyTorch's
// within 1e-4 — before and after save() + reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "../src/backend";
import { loadModel, type SentenceTransformer } from "../src/model/sentence-transformer";
import { writeSafetensors } from "../src/model/safetensors";
import { offlineBertTokenizerFiles } from "../src/model/tokenizer";
import type { WeightMap } from "../src/model/types";

interface FixtureModel {
  config: Record<string, unknown>;
  weights: Record<string, { shape: number[]; float32_base64: string }>;
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  mean_pooled: number[][];
}
const fixture = JSON.parse(
  readFileSync(join(__dirname, "fixtures", "model-compute", "bert-tiny-torch.json"), "utf8"),
) as Record<"bert" | "roberta", FixtureModel>;

function writeFolder(dir: string, fx: FixtureModel): void {
  mkdirSync(join(dir, "1_Pooling"), { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(fx.config));
  const weights: WeightMap = new Map();
  for (const [name, w] of Object.entries(fx.weights)) {
    const bytes = Buffer.from(w.float32_base64, "base64");
    weights.set(name, {
      shape: w.shape,
      data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
    });
  }
  writeSafetensors(join(dir, "model.safetensors"), weights);
  if (fx.config.model_type === "roberta") {
    for (const f of ["tokenizer.json", "tokenizer_config.json"])
      writeFileSync(join(dir, f), readFileSync(join(__dirname, "fixtures", "model-io", "roberta-tiny", f)));
  } else {
    const t = offlineBertTokenizerFiles();
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(t.tokenizerJson));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(t.tokenizerConfig));
  }
  writeFileSync(join(dir, "sentence_bert_config.json"), JSON.stringify({ max_seq_length: 16, do_lower_case: false }));
  writeFileSync(
    join(dir, "modules.json"),
    JSON.stringify([
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
    ]),
  );
  writeFileSync(
    join(dir, "1_Pooling", "config.json"),
    JSON.stringify({
      word_embedding_dimension: fx.config.hidden_size,
      pooling_mode_cls_token: false,
      pooling_mode_mean_tokens: true,
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
    }),
  );
}

function embed(m: SentenceTransformer, fx: FixtureModel): Float32Array {
  const B = fx.input_ids.length;
  const S = fx.input_ids[0].length;
  const batch = {
    inputIds: Int32Array.from(fx.input_ids.flat()),
    attentionMask: Int32Array.from(fx.attention_mask.flat()),
    tokenTypeIds: Int32Array.from(fx.token_type_ids.flat()), // the fixture's BERT batch is a sentence pair in row 0
    batchSize: B,
    seqLen: S,
    truncated: 0,
  };
  const out = m.forward({ kind: "transformer", batch });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

for (const arch of ["bert", "roberta"] as const) {
  test(`${arch}: loadModel(folder) matches PyTorch's mean-pooled embeddings within 1e-4, also after save + reload`, async () => {
    const fx = fixture[arch];
    const root = mkdtempSync(join(tmpdir(), `torch-${arch}-`));
    writeFolder(join(root, "model"), fx);
    const m = await loadModel(join(root, "model"));
    const got = embed(m, fx);
    const want = fx.mean_pooled.flat();
    assert.equal(got.length, want.length);
    let maxErr = 0;
    want.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - got[i]))));
    assert.ok(maxErr < 1e-4, `max |ours - torch| = ${maxErr}`);
    await m.save(join(root, "saved"));
    const again = await loadModel(join(root, "saved"));
    assert.ok(
      Buffer.from(embed(again, fx).buffer).equals(Buffer.from(got.buffer)),
      "bit-identical after save + reload",
    );
    const before = tf.memory().numTensors;
    embed(again, fx);
    assert.equal(tf.memory().numTensors, before, "forward + pool leave no tensors behind");
    m.dispose();
    again.dispose();
  });
}
