/**
 * `export-onnx <folder> [--quantize int8] [--fused]`: adds onnx/model.onnx (and, with --quantize int8, the int8
 * onnx/model_quantized.onnx that `serve --dtype q8`, `loadModel(folder, { dtype: "q8" })` and transformers.js'
 * dtype "q8" load) to a saved model folder (src/model/onnx/export.ts); --fused also the fused graphs (onnx/fused.ts).
 * Each graph is checked before it is written.
 * A cross-encoder folder (config.json architectures *ForSequenceClassification) gets the classifier graph with its
 * `logits` output instead (src/rerank/onnx.ts).
 */
import type { Command } from "commander";
import { emit, existingFolder, UsageError, withJson, type JsonOption } from "./common";

interface ExportOnnxOpts extends JsonOption {
  quantize?: string;
  force?: boolean;
  overwriteForeign?: boolean;
  fused?: boolean;
}

export function registerExportOnnx(program: Command): void {
  withJson(
    program
      .command("export-onnx")
      .description(
        "Write onnx/model.onnx (and the int8 onnx/model_quantized.onnx) into a model folder, for ONNX Runtime and transformers.js.",
      )
      .argument(
        "<folder>",
        "model folder in sentence-transformers' layout, or a cross-encoder folder (BERT or RoBERTa)",
      )
      .option("--quantize <type>", "also write onnx/model_quantized.onnx: int8 (transformers.js dtype q8)")
      .option(
        "--fused",
        "also write onnx/model_fused.onnx (ONNX Runtime's fused kernels; with --quantize, its int8 form)",
      )
      .option("--force", "write the files even when fresh ones are there")
      .option("--overwrite-foreign", "replace ONNX files written by other tooling"),
  ).action(async (folder: string, opts: ExportOnnxOpts) => {
    const dir = existingFolder(folder, "export-onnx <folder>");
    if (opts.quantize !== undefined && opts.quantize !== "int8")
      throw new UsageError(`--quantize ${opts.quantize}: expected int8.`);
    const { isCrossEncoderFolder } = await import("../rerank/onnx");
    const { exportCrossEncoderOnnx } = await import("../rerank/index");
    const { exportOnnx } = await import("../model/onnx/export");
    const run = isCrossEncoderFolder(dir) ? exportCrossEncoderOnnx : exportOnnx;
    if (opts.fused && run === exportCrossEncoderOnnx)
      throw new UsageError(
        `--fused: ${dir} is a cross-encoder folder; the fused graph is written for embedding models.`,
      );
    const r = await run(dir, {
      quantize: opts.quantize === "int8" ? "int8" : undefined,
      force: opts.force,
      overwriteForeign: opts.overwriteForeign,
      fused: opts.fused,
      log: !opts.json,
    });
    const lines = [
      `${r.path}: ${r.written ? `written (${r.bytes.toLocaleString("en-US")} bytes)` : `${r.before}, kept`}`,
    ];
    if (r.quantized)
      lines.push(
        `${r.quantized.path}: ${r.quantized.written ? `written (${r.quantized.bytes.toLocaleString("en-US")} bytes)` : `${r.quantized.before}, kept`}`,
      );
    for (const f of ("fused" in r ? r.fused : undefined) ?? [])
      lines.push(`${f.path}: written (${f.bytes.toLocaleString("en-US")} bytes)`);
    if (r.tokenizerJsonWritten) lines.push(`${dir}/tokenizer.json: written from vocab.txt (transformers.js needs it)`);
    emit(opts, lines, { ok: true, ...r });
  });
}
