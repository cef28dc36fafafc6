// compareQuantization (src/cost/quantization.ts): on a saved Transformer model it writes the int8 file when missing,
// times fp32 and int8 on the split's passages, and reports NDCG@10 of both with the paired interval of the
// difference; the summary's sentences follow the numbers. A StaticEmbedding model is "not applicable", with why.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../src/backend";
import { compareQuantization, quantizationTable } from "../src/cost/quantization";
import type { IRSplit } from "../src/data/types";
import { offlineModel } from "../src/model/sentence-transformer";

before(async () => {
  await initBackend();
});

const topics = ["vacation days", "expense reports", "laptop security", "parental leave", "remote work", "overtime pay"];
const split: IRSplit = {
  split: "test",
  corpus: new Map(
    topics.map((t, i) => [
      `d${i}`,
      { _id: `d${i}`, doc_id: `doc${i}`, title: t, text: `The policy on ${t}: rules, limits and who approves ${t}.` },
    ]),
  ),
  queries: new Map(topics.map((t, i) => [`q${i}`, `what are the rules for ${t}?`])),
  relevant: new Map(topics.map((_, i) => [`q${i}`, new Set([`d${i}`])])),
};

test("compareQuantization on a saved Transformer: int8 file written, speeds, sizes, NDCG@10 and its interval", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "cost-q8-")), "model");
  const m = offlineModel("offline-bert");
  await m.save(dir, { onnx: true });
  m.dispose();
  const result = await compareQuantization(dir, split, { resamples: 200, seed: 1 });
  const c = result.measured;
  assert.ok(c, result.reason);
  assert.equal(result.reason, "");
  assert.ok(existsSync(join(dir, "onnx", "model_quantized.onnx")));
  assert.equal(c.passages, topics.length);
  assert.equal(c.queries, topics.length);
  assert.ok(c.fp32.textsPerSecond > 0 && c.q8.textsPerSecond > 0);
  assert.equal(c.fp32.runs.length, 2);
  assert.ok(c.sizeRatio > 3, `int8 file ${c.sizeRatio}x smaller`);
  assert.ok(c.cosineMean > 0.999 && c.cosineMin <= c.cosineMean);
  assert.ok(c.exportCheck && c.exportCheck.cosineMean >= 0.99);
  assert.match(c.q8.path, /int8/);
  assert.match(c.fp32.path, /ONNX Runtime, fp32/);
  const d = c.ndcgDifference;
  assert.ok(Math.abs(d.estimate - (c.q8.ndcgAt10 - c.fp32.ndcgAt10)) < 1e-9);
  assert.ok(d.low <= d.estimate && d.estimate <= d.high);
  const table = quantizationTable(result);
  assert.equal(table.height, 2);
  const q8 = table.toRecords()[1];
  const ci = q8[`NDCG@10 − fp32 (95% CI, ${c.queries} questions)`];
  assert.match(String(ci), /^[+−]\d\.\d{4} \[[+−]\d\.\d{4}, [+−]\d\.\d{4}\]$/);
  assert.equal(q8["NDCG@10 verdict"], d.low > 0 ? "above fp32" : d.high < 0 ? "below fp32" : "level with fp32");
  assert.equal(q8["speed vs fp32"], `${c.speedup.toFixed(2)}x`);
  // A second call finds the file fresh and writes nothing.
  const again = await compareQuantization(dir, split, { resamples: 50 });
  assert.ok(again.measured && again.measured.exportCheck === undefined);
});

test("compareQuantization on a StaticEmbedding model: not applicable, and says why", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "cost-q8-static-")), "model");
  const m = offlineModel("offline");
  await m.save(dir);
  m.dispose();
  const c = await compareQuantization(dir, split);
  assert.equal(c.measured, undefined);
  const table = quantizationTable(c);
  assert.equal(table.height, 1);
  assert.match(
    String(table.toRecords()[0]["int8 quantization"]),
    /not applicable: .*StaticEmbedding .*no matrix products/,
  );
});
