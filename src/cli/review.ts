/**
 * `review export` writes a CSV sheet (decision, edited_anchor, anchor, positive, ...) to open in a
 * spreadsheet; `review import` reads it back and writes the accepted and fixed rows (notebook 1).
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { emit, existingFile, UsageError, withJson, type JsonOption } from "./common";

export function registerReview(program: Command): void {
  const review = program
    .command("review")
    .description("Review generated pairs in a spreadsheet (export, then import).");
  withJson(
    review
      .command("export")
      .description("Write a review sheet (CSV) for the pairs.")
      .argument("<pairs>", "pairs .jsonl or .parquet")
      .option("-o, --out <sheet>", "CSV sheet to write", "review.csv"),
  ).action(async (pairs: string, opts: JsonOption & { out: string }) => {
    const { exportForReview, readPairs } = await import("../data/index");
    const { rows } = readPairs(existingFile(pairs, "review export <pairs>"));
    if (!opts.out.toLowerCase().endsWith(".csv")) throw new UsageError(`--out ${opts.out}: the sheet is a .csv file.`);
    const out = resolve(opts.out);
    const columns = exportForReview(rows, out);
    emit(
      opts,
      [
        `wrote ${rows.length} rows to ${out}`,
        "fill the decision column with accept / reject / fix (fix: put the new question in edited_anchor)",
      ],
      {
        ok: true,
        rows: rows.length,
        sheet: out,
        columns,
      },
    );
  });
  withJson(
    review
      .command("import")
      .description("Read a filled review sheet; write the accepted and fixed pairs.")
      .argument("<sheet>", "the CSV sheet")
      .option("-o, --out <pairs>", "pairs file to write (.jsonl or .parquet)", "reviewed.jsonl")
      .option("--allow-pending", "keep going when some rows have no decision yet (they are left out)"),
  ).action(async (sheet: string, opts: JsonOption & { out: string; allowPending?: boolean }) => {
    const { importReview, writePairs } = await import("../data/index");
    const res = importReview(existingFile(sheet, "review import <sheet>"));
    if (res.pending.length > 0 && !opts.allowPending)
      throw new Error(
        `${sheet}: ${res.pending.length} row(s) have no decision yet; decide them or pass --allow-pending.`,
      );
    const out = resolve(opts.out);
    writePairs(out, res.accepted);
    emit(
      opts,
      [
        `accept ${res.counts.accept}, fix ${res.counts.fix}, reject ${res.counts.reject}, pending ${res.counts.pending}`,
        `wrote ${res.accepted.length} rows to ${out}`,
      ],
      {
        ok: true,
        counts: res.counts,
        written: res.accepted.length,
        out,
      },
    );
  });
}
