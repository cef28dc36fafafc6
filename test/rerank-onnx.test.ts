// The cross-encoder ONNX export against PyTorch (fixtures/rerank/make_classifier_fixture.py: Hugging Face's
// BertForSequenceClassification / XLMRobertaForSequenceClassification forward in plain torch 1.13, random weights,
// padded pair batches) within 1e-4; transformers.js' AutoModelForSequenceClassification + AutoTokenizer (text_pair)
// loading the exported folder offline and giving OnnxCrossEncoder's logits within 1e-4, fp32 and q8; the pair
// template and LongestFirst truncation; fresh / stale / foreign files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onnx } from "onnx-proto";
import { writeSafetensors } from "../src/model/safetensors";
import { offlineBertTokenizerFiles, wordPieceTokenizerJson } from "../src/model/tokenizer";
import type { TokenizedBatch, WeightMap } from "../src/model/types";
import {
  buildCrossEncoderOnnx,
  crossEncoderOnnxState,
  exportCrossEncoderOnnx,
  readCrossEncoderFolder,
} from "../src/rerank/onnx";
import { OnnxCrossEncoder } from "../src/rerank/onnx-scorer";
import { longestFirstLengths as longestFirst } from "../src/model/pair-template";
import { LogitsSession } from "../src/rerank/session";
import { writeCrossEncoderFolder } from "./fixtures/rerank/folder";

interface TorchCase {
  config: Record<string, unknown>;
  weights: Record<string, { shape: number[]; float32_base64: string }>;
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  logits: number[][];
}
const FIXTURE = JSON.parse(readFileSync(join(__dirname, "fixtures", "rerank", "classifier-torch.json"), "utf8")) as {
  bert: TorchCase;
  xlm_roberta: TorchCase;
};

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rerank-${name}-`));

/** A folder from a torch case: its config and weights, a tokenizer whose ids cover the fixture's (tokens unused). */
function torchFolder(c: TorchCase): string {
  const dir = tmp("torch");
  writeFileSync(join(dir, "config.json"), JSON.stringify(c.config));
  const weights: WeightMap = new Map();
  for (const [name, w] of Object.entries(c.weights)) {
    const b = Buffer.from(w.float32_base64, "base64");
    weights.set(name, {
      shape: w.shape,
      data: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)),
    });
  }
  writeSafetensors(join(dir, "model.safetensors"), weights);
  if (c.config.model_type === "bert") {
    const pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", ...Array.from({ length: 60 }, (_, i) => `w${i}`)];
    const cfg = { ...offlineBertTokenizerFiles().tokenizerConfig, model_max_length: 40 };
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(wordPieceTokenizerJson(pieces, cfg, "test vocabulary")));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(cfg));
  } else
    for (const f of ["tokenizer.json", "tokenizer_config.json"])
      writeFileSync(join(dir, f), readFileSync(join(__dirname, "fixtures", "model-io", "roberta-tiny", f)));
  return dir;
}

function batchOf(c: TorchCase, typeIds: number[][] = c.token_type_ids): TokenizedBatch {
  const flat = (rows: number[][]) => Int32Array.from(rows.flat());
  return {
    inputIds: flat(c.input_ids),
    attentionMask: flat(c.attention_mask),
    tokenTypeIds: flat(typeIds),
    batchSize: c.input_ids.length,
    seqLen: c.input_ids[0].length,
    truncated: 0,
  };
}

async function runLogits(bytes: Uint8Array, numLabels: number, batch: TokenizedBatch): Promise<Float32Array> {
  const s = await LogitsSession.create(bytes, numLabels, { threads: 1 });
  try {
    return await s.logits(batch);
  } finally {
    await s.release();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("BertForSequenceClassification: ONNX logits equal PyTorch's within 1e-4 on a padded pair batch", async () => {
  const c = FIXTURE.bert;
  const data = readCrossEncoderFolder(torchFolder(c));
  assert.equal(data.numLabels, 1);
  const got = await runLogits(buildCrossEncoderOnnx(data), 1, batchOf(c));
  const d = maxDiff(got, c.logits.flat());
  assert.ok(d < 1e-4, `ONNX vs torch: ${d}`);
  // The token types matter (the fixture's second segments are type 1): all zeros give other logits.
  const zeros = c.token_type_ids.map((r) => r.map(() => 0));
  assert.ok(maxDiff(await runLogits(buildCrossEncoderOnnx(data), 1, batchOf(c, zeros)), c.logits.flat()) > 1e-3);
});

test("XLMRobertaForSequenceClassification (3 labels): logits [batch, 3] equal PyTorch's; token types read as 0", async () => {
  const c = FIXTURE.xlm_roberta;
  const data = readCrossEncoderFolder(torchFolder(c));
  assert.equal(data.numLabels, 3);
  assert.equal(data.config.architecture, "roberta");
  const bytes = buildCrossEncoderOnnx(data);
  const d = maxDiff(await runLogits(bytes, 3, batchOf(c)), c.logits.flat());
  assert.ok(d < 1e-4, `ONNX vs torch: ${d}`);
  // transformers.js sends type 1 for a RoBERTa pair's second segment; the one-row type table still reads row 0.
  const ones = c.input_ids.map((r, i) => r.map((_, j) => (j > 2 && c.attention_mask[i][j] ? 1 : 0)));
  assert.ok(maxDiff(await runLogits(bytes, 3, batchOf(c, ones)), c.logits.flat()) < 1e-4);
});

test("a folder that is not a sequence classifier, or whose head does not fit, is refused naming the file", () => {
  const dir = tmp("bad");
  writeCrossEncoderFolder(dir);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, architectures: ["BertModel"] }));
  assert.throws(
    () => readCrossEncoderFolder(dir),
    /config\.json: architectures \["BertModel"\] is not a sequence classifier/,
  );
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, id2label: { 0: "a", 1: "b" } }));
  assert.throws(() => readCrossEncoderFolder(dir), /2 labels .* classifier\.weight in model\.safetensors has 1 rows/);
});

test("LongestFirst keeps what the Rust tokenizers library keeps", () => {
  assert.deepEqual(longestFirst(3, 4, 10), [3, 4]); // fits
  assert.deepEqual(longestFirst(3, 20, 10), [3, 7]); // the longer is cut
  assert.deepEqual(longestFirst(20, 3, 10), [7, 3]);
  assert.deepEqual(longestFirst(8, 9, 10), [5, 5]); // both cut to half
  assert.deepEqual(longestFirst(8, 9, 11), [5, 6]); // the longer gets the odd token
  assert.deepEqual(longestFirst(9, 8, 11), [6, 5]);
  assert.deepEqual(longestFirst(30, 30, 11), [5, 6]);
});

test("pairs are [CLS] q [SEP] p [SEP] with types 0 / 1; truncation keeps every special token", () => {
  const dir = tmp("pairs");
  writeCrossEncoderFolder(dir, { maxLength: 12 });
  const { pairs, tokenizer } = readCrossEncoderFolder(dir);
  const e = pairs.encode(["how many pto days", "employees get twenty days"]);
  const [cls, sep] = [tokenizer.encodeContent("[CLS]")[0], tokenizer.encodeContent("[SEP]")[0]];
  const q = tokenizer.encodeContent("how many pto days");
  const p = tokenizer.encodeContent("employees get twenty days");
  assert.deepEqual(e.ids, [cls, ...q, sep, ...p, sep]);
  assert.deepEqual(e.typeIds, [...Array(q.length + 2).fill(0), ...Array(p.length + 1).fill(1)]);
  assert.equal(e.truncated, false);
  const long = "the policy says that employees accrue vacation days every month of service";
  const t = pairs.encode(["short question", long]);
  assert.equal(t.ids.length, 12);
  assert.equal(t.truncated, true);
  const sq = tokenizer.encodeContent("short question");
  assert.deepEqual(t.ids, [cls, ...sq, sep, ...tokenizer.encodeContent(long).slice(0, 12 - 3 - sq.length), sep]);
  assert.deepEqual(
    pairs.tokenCounts([
      ["a", "b"],
      ["short question", long],
    ]),
    [5, 12],
  );
  // A RoBERTa template: <s> q </s></s> p </s>, all type 0.
  const rdir = tmp("pairs-roberta");
  writeCrossEncoderFolder(rdir, { arch: "xlm-roberta" });
  const r = readCrossEncoderFolder(rdir).pairs.encode(["hello", "world"]);
  assert.equal(r.ids[0], 0);
  assert.deepEqual(r.ids.filter((id) => id === 2).length, 3);
  assert.ok(r.typeIds.every((t) => t === 0));
});

type Tjs = {
  env: { allowRemoteModels: boolean; localModelPath: string };
  AutoTokenizer: { from_pretrained(dir: string, o: Record<string, unknown>): Promise<TjsTokenizer> };
  AutoModelForSequenceClassification: {
    from_pretrained(dir: string, o: Record<string, unknown>): Promise<TjsModel>;
  };
};
type TjsTokenizer = (q: string[], o: Record<string, unknown>) => Record<string, unknown>;
type TjsModel = ((inputs: Record<string, unknown>) => Promise<{ logits: { data: Float32Array; dims: number[] } }>) & {
  dispose(): Promise<void>;
};

async function transformersJsLogits(dir: string, pairs: [string, string][], dtype: "fp32" | "q8") {
  const tjs = require("@huggingface/transformers") as Tjs;
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = "";
  const tokenizer = await tjs.AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const model = await tjs.AutoModelForSequenceClassification.from_pretrained(dir, { local_files_only: true, dtype });
  try {
    const inputs = tokenizer(
      pairs.map((p) => p[0]),
      { text_pair: pairs.map((p) => p[1]), padding: true },
    );
    const { logits } = await model(inputs);
    return { data: Float32Array.from(logits.data), dims: [...logits.dims] };
  } finally {
    await model.dispose();
  }
}

const PAIRS: [string, string][] = [
  ["How many PTO days do I get?", "Employees accrue twenty days of paid time off per year."],
  ["wfh", "Remote work needs a manager's approval."],
  ["Café, naïve résumé", "The cafeteria opens at eight."],
  ["expense reports", "Receipts over $25 need an itemised invoice; reports are due within thirty days of travel."],
];

test("transformers.js loads the exported BERT cross-encoder (text_pair) and its logits equal ours within 1e-4; q8 too", async () => {
  const dir = join(tmp("tjs-bert"), "model");
  writeCrossEncoderFolder(dir);
  const result = await exportCrossEncoderOnnx(dir, { quantize: "int8", log: false });
  assert.equal(result.written, true);
  assert.equal(result.quantized?.written, true);
  // The files have Optimum's interface: three int64 inputs, one output `logits` [batch_size, num_labels].
  for (const file of ["model.onnx", "model_quantized.onnx"]) {
    const graph = onnx.ModelProto.decode(readFileSync(join(dir, "onnx", file))).graph;
    assert.deepEqual(
      graph?.input?.map((i) => i.name),
      ["input_ids", "attention_mask", "token_type_ids"],
    );
    assert.deepEqual(
      graph?.output?.map((o) => [o.name, o.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))]),
      [["logits", ["batch_size", 1]]],
    );
  }
  const check = result.quantized?.check;
  assert.ok(check && check.cosineMean >= 0.99 && check.cosineMin >= 0.97, JSON.stringify(check));
  for (const dtype of ["fp32", "q8"] as const) {
    const ours = await OnnxCrossEncoder.load(dir, { dtype, threads: 1 });
    assert.match(ours.reason, /fresh/);
    const rows = await ours.logits(PAIRS);
    const theirs = await transformersJsLogits(dir, PAIRS, dtype);
    assert.deepEqual(theirs.dims, [PAIRS.length, 1]);
    const d = maxDiff(
      rows.map((r) => r[0]),
      theirs.data,
    );
    assert.ok(d < 1e-4, `${dtype}: transformers.js vs OnnxCrossEncoder logits differ by ${d}`);
    // predict is the sigmoid of the logit (CrossEncoder.predict with one label), identity the logit itself.
    const scores = await ours.predict(PAIRS);
    scores.forEach((s, i) => assert.ok(Math.abs(s - 1 / (1 + Math.exp(-theirs.data[i]))) < 1e-4));
    assert.deepEqual(
      await ours.predict(PAIRS, { activation: "identity" }),
      rows.map((r) => r[0]),
    );
    // fp32 does not depend on how pairs are batched; int8 does (activations are quantized per batch).
    if (dtype === "fp32")
      assert.ok(maxDiff(await ours.predict(PAIRS, { activation: "identity", batchSize: 3 }), theirs.data) < 1e-5);
    await ours.release();
  }
  // The q8 file differs from fp32 by more than float rounding, and not by much.
  const [fp32, q8] = [await transformersJsLogits(dir, PAIRS, "fp32"), await transformersJsLogits(dir, PAIRS, "q8")];
  const gap = maxDiff(fp32.data, q8.data);
  assert.ok(gap > 1e-5 && gap < 0.1, `q8 vs fp32 logit gap ${gap}`);
});

test("transformers.js loads the exported XLM-RoBERTa-shaped cross-encoder; logits [batch, 2] equal ours", async () => {
  const dir = join(tmp("tjs-xlmr"), "model");
  writeCrossEncoderFolder(dir, { arch: "xlm-roberta", numLabels: 2 });
  await exportCrossEncoderOnnx(dir, { log: false });
  const pairs: [string, string][] = [
    ["hello world!", "hello"],
    ["world", "hello world hello world"],
    ["hell", "o"],
  ];
  const ours = await OnnxCrossEncoder.load(dir, { threads: 1 });
  const theirs = await transformersJsLogits(dir, pairs, "fp32");
  assert.deepEqual(theirs.dims, [3, 2]);
  const rows = await ours.logits(pairs);
  const d = maxDiff(
    rows.flatMap((r) => [...r]),
    theirs.data,
  );
  assert.ok(d < 1e-4, `transformers.js vs OnnxCrossEncoder logits differ by ${d}`);
  await assert.rejects(ours.predict(pairs), /2 labels, so a pair has no single score; use logits/);
  await ours.release();
});

test("fresh files are kept, stale ones rebuilt, foreign ones refused; rank sorts best first", async () => {
  const dir = join(tmp("states"), "model");
  writeCrossEncoderFolder(dir);
  assert.equal((await exportCrossEncoderOnnx(dir, { log: false })).before, "missing");
  const again = await exportCrossEncoderOnnx(dir, { log: false });
  assert.deepEqual([again.before, again.written], ["fresh", false]);
  writeCrossEncoderFolder(dir, { seed: 12 }); // other weights: the file is stale, and not used
  const data = readCrossEncoderFolder(dir);
  assert.equal(crossEncoderOnnxState(data), "stale");
  const scorer = await OnnxCrossEncoder.load(dir, { threads: 1 });
  assert.match(scorer.reason, /built in memory .* is stale/);
  const ranked = await scorer.rank(
    "pto days",
    PAIRS.map((p) => p[1]),
    { topK: 2 },
  );
  const scores = await scorer.predict(PAIRS.map((p) => ["pto days", p[1]] as const));
  const best = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  assert.deepEqual(
    ranked.map((r) => r.corpusId),
    best.slice(0, 2).map((b) => b[1]),
  );
  assert.equal(ranked[0].text, PAIRS[ranked[0].corpusId][1]);
  await scorer.release();
  const rebuilt = await exportCrossEncoderOnnx(dir, { log: false });
  assert.deepEqual([rebuilt.before, rebuilt.written], ["stale", true]);
  mkdirSync(join(dir, "onnx"), { recursive: true });
  writeFileSync(join(dir, "onnx", "model.onnx"), "not ours");
  await assert.rejects(exportCrossEncoderOnnx(dir, { log: false }), /written by other tooling .* overwriteForeign/);
  assert.equal((await exportCrossEncoderOnnx(dir, { log: false, overwriteForeign: true })).written, true);
  assert.ok(existsSync(join(dir, "onnx", "model.onnx")));
});

test("config.json's activation_fn (Identity) is predict's default, as CrossEncoder reads it; other functions are refused", async () => {
  const dir = join(tmp("activation"), "model");
  writeCrossEncoderFolder(dir);
  const configPath = join(dir, "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  writeFileSync(
    configPath,
    JSON.stringify({ ...config, sentence_transformers: { activation_fn: "torch.nn.modules.linear.Identity" } }),
  );
  const scorer = await OnnxCrossEncoder.load(dir, { threads: 1 });
  assert.equal(scorer.defaultActivation, "identity");
  const rows = await scorer.logits(PAIRS);
  assert.deepEqual(
    await scorer.predict(PAIRS),
    rows.map((r) => r[0]),
  );
  assert.ok(
    maxDiff(
      await scorer.predict(PAIRS, { activation: "sigmoid" }),
      rows.map((r) => 1 / (1 + Math.exp(-r[0]))),
    ) < 1e-7,
  );
  await scorer.release();
  writeFileSync(configPath, JSON.stringify({ ...config, sbert_ce_default_activation_function: "torch.nn.Tanh" }));
  assert.throws(() => readCrossEncoderFolder(dir), /activation function "torch\.nn\.Tanh" is not supported/);
});
