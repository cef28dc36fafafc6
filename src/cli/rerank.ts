/**
 * `rerank`: one query against a list of documents with a cross-encoder folder (OnnxCrossEncoder on ONNX Runtime),
 * printed best first as CrossEncoder.rank returns them (`--json`: one object).
 *
 *   npm run cli -- rerank --model <dir> --query "..." --documents docs.jsonl     (or --documents - for stdin)
 *
 * The documents file is JSON Lines: each line a JSON string, or an object with a string `text` (its `_id` / `id`,
 * when there is one, is printed with it); blank lines are skipped. Errors name the file and line.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { emit, existingFile, existingFolder, fmt, positiveInt, UsageError, withJson, type JsonOption } from "./common";

interface RerankOpts extends JsonOption {
  model: string;
  query: string;
  documents: string;
  topK?: number;
  activation?: string;
  dtype: string;
  maxLength?: number;
  batchSize: number;
}

export interface DocumentLine {
  id?: string;
  text: string;
}

/** Parses a documents JSONL text; `source` names the file in errors. */
export function parseDocumentLines(content: string, source: string): DocumentLine[] {
  const docs: DocumentLine[] = [];
  content.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new UsageError(
        `${source}:${i + 1}: not JSON (${(err as Error).message}); each line is a JSON string or an object {"text": "..."}.`,
      );
    }
    if (typeof v === "string") docs.push({ text: v });
    else if (typeof v === "object" && v !== null && typeof (v as { text?: unknown }).text === "string") {
      const o = v as { text: string; _id?: unknown; id?: unknown };
      const id = o._id ?? o.id;
      docs.push({ text: o.text, ...(id === undefined || id === null ? {} : { id: String(id) }) });
    } else
      throw new UsageError(
        `${source}:${i + 1}: expected a JSON string or an object with a string "text" field, got ${JSON.stringify(v).slice(0, 80)}.`,
      );
  });
  if (docs.length === 0) throw new UsageError(`${source}: no documents (one JSON string or {"text": ...} per line).`);
  return docs;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

export function registerRerank(program: Command): void {
  withJson(
    program
      .command("rerank")
      .description("Re-rank documents for a query with a cross-encoder folder (ONNX Runtime), best first.")
      .requiredOption("-m, --model <dir>", "cross-encoder folder (BertForSequenceClassification / XLMRoberta...)")
      .requiredOption("-q, --query <text>", "the query")
      .requiredOption("--documents <file>", "JSON Lines: a string or {text, _id?} per line; - reads stdin")
      .option("-k, --top-k <n>", "print only the best n", positiveInt("--top-k"))
      .option(
        "--activation <fn>",
        "sigmoid or identity (raw logits); default: the model's, as CrossEncoder.predict (sigmoid unless config.json says Identity)",
      )
      .option("--dtype <dtype>", "fp32, or q8 (int8)", "fp32")
      .option("--max-length <n>", "tokens per pair (default: the model's)", positiveInt("--max-length"))
      .option("--batch-size <n>", "pairs per forward pass", positiveInt("--batch-size"), 32),
  ).action(async (opts: RerankOpts) => {
    if (opts.activation !== undefined && opts.activation !== "sigmoid" && opts.activation !== "identity")
      throw new UsageError(`--activation ${opts.activation}: expected sigmoid or identity.`);
    if (opts.dtype !== "fp32" && opts.dtype !== "q8")
      throw new UsageError(`--dtype ${opts.dtype}: expected fp32 or q8.`);
    if (opts.query.trim() === "") throw new UsageError("--query is empty; give the question to rank documents for.");
    const dir = existingFolder(opts.model, "--model");
    const source = opts.documents === "-" ? "<stdin>" : existingFile(opts.documents, "--documents");
    const docs = parseDocumentLines(opts.documents === "-" ? await readStdin() : readFileSync(source, "utf8"), source);
    const { OnnxCrossEncoder } = await import("../rerank/index");
    const scorer = await OnnxCrossEncoder.load(dir, { dtype: opts.dtype, maxLength: opts.maxLength });
    try {
      const started = performance.now();
      const ranked = await scorer.rank(
        opts.query,
        docs.map((d) => d.text),
        {
          topK: opts.topK,
          activation: opts.activation as "sigmoid" | "identity" | undefined,
          batchSize: opts.batchSize,
        },
      );
      const ms = performance.now() - started;
      const activation = opts.activation ?? scorer.defaultActivation;
      const results = ranked.map((r, i) => ({
        rank: i + 1,
        index: r.corpusId,
        ...(docs[r.corpusId].id === undefined ? {} : { id: docs[r.corpusId].id }),
        score: r.score,
        text: r.text,
      }));
      const short = (t: string) => (t.length > 100 ? `${t.slice(0, 97)}...` : t);
      emit(
        opts,
        [
          `${docs.length} documents re-ranked by ${scorer.name} (${activation}) in ${ms.toFixed(0)} ms; ${scorer.reason}`,
          ...results.map(
            (r) =>
              `${String(r.rank).padStart(3)}. ${fmt(r.score)}  [${r.id ?? r.index}] ${short(r.text.replace(/\s+/g, " "))}`,
          ),
        ],
        {
          ok: true,
          model: scorer.name,
          query: opts.query,
          activation,
          documents: docs.length,
          ms: Math.round(ms * 10) / 10,
          results,
        },
      );
    } finally {
      await scorer.release();
    }
  });
}
