// The shaped-folder builder shared by the course bench, the stand-in Hub and the memory tests
// (test/fixtures/shaped-model.ts): the folder loads as the Hub model it stands for would (config, tokenizer from
// vocab.txt, pooling, Normalize, max_seq_length), and the MiniLM / bge shapes have the Hub models' parameter counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTransformerConfig } from "../src/model/config";
import { expectedWeightShapes } from "../src/model/encoder";
import { loadModel } from "../src/model/sentence-transformer";
import { bertConfigJson, MODEL_SHAPES, seededWordTexts, writeShapedModelFolder } from "./fixtures/shaped-model";

test("a BERT-tiny-shaped folder loads like a Hub sentence-transformers folder and encodes deterministically", async () => {
  const dir = mkdtempSync(join(tmpdir(), "shaped-"));
  writeShapedModelFolder(dir, MODEL_SHAPES["bert-tiny"], 7);
  assert.ok(existsSync(join(dir, "vocab.txt")) && !existsSync(join(dir, "tokenizer.json")));
  assert.ok(!existsSync(join(dir, "2_Normalize")), "listed in modules.json but, as on the Hub, not a folder");
  const model = await loadModel(dir);
  assert.deepEqual(
    [model.transformerConfig?.numHiddenLayers, model.dim, model.maxSeqLength, model.normalize],
    [2, 128, 128, true],
  );
  // The bert-base-uncased vocabulary: "Hello, world!" -> [CLS] hello , world ! [SEP], as the real tokenizer.
  assert.deepEqual([...model.tokenizer.encode("Hello, world!").ids], [101, 7592, 1010, 2088, 999, 102]);
  const e = await model.encode(["How many PTO days do I get?"]);
  const again = await model.encode(["How many PTO days do I get?"]);
  assert.deepEqual(e.data, again.data);
  assert.ok(Math.abs(Math.hypot(...e.data) - 1) < 1e-5);
  model.dispose();
  const dir2 = mkdtempSync(join(tmpdir(), "shaped-"));
  writeShapedModelFolder(dir2, MODEL_SHAPES["bert-tiny"], 7);
  assert.ok(readFileSync(join(dir, "model.safetensors")).equals(readFileSync(join(dir2, "model.safetensors"))));
});

test("the MiniLM-L6 and bge-small shapes have the Hub models' sizes", () => {
  const params = (name: keyof typeof MODEL_SHAPES) => {
    let n = 0;
    for (const shape of expectedWeightShapes(parseTransformerConfig(bertConfigJson(MODEL_SHAPES[name]))).values())
      n += shape.reduce((a, b) => a * b, 1);
    return n;
  };
  // all-MiniLM-L6-v2: 22,565,376 encoder parameters without the pooler (22.7 M with it); bge-small-en-v1.5: 33.2 M.
  assert.equal(params("minilm-l6"), 22_565_376);
  assert.equal(params("bge-small"), 33_212_160);
  assert.equal(MODEL_SHAPES["bge-small"].maxSeqLength, 512);
  assert.equal(MODEL_SHAPES["bge-small"].pooling, "cls");
  // Seeded texts are longer than asked, so that every one is cut to that many tokens.
  const [text] = seededWordTexts(1, 40, 3);
  assert.ok(text.split(" ").length >= 48);
});
