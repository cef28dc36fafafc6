/**
 * `train-reranker`: fine-tune a cross-encoder on mined rows (the output of `mine`), as sentence-transformers v4's
 * CrossEncoderTrainer does, and save it in the folder layout Python's `CrossEncoder(path)` reads.
 *
 *   npm run cli -- mine --model models/mine/best --data data-mine --format labeled-pair --out mined-pairs.jsonl
 *   npm run cli -- train-reranker --model offline --data mined-pairs.jsonl --loss bce --out models/reranker
 *
 * Losses and the rows they take: `bce` (BinaryCrossEntropyLoss) labeled pairs (`mine --format labeled-pair`),
 * `mnrl` (the cross-encoder MultipleNegativesRankingLoss) and `listnet` (ListNetLoss) n-tuples (`--format n-tuple`
 * or `triplet`). `--random-negatives n` mixes n random passages per query into its negatives (drawn from every
 * passage of the file): hard negatives alone hurt a re-ranker that re-orders deep lists. The output folder gets
 * best/ (when an evaluator ran), final/, checkpoints/ and history.json; an interrupted run resumes from its newest
 * checkpoint.
 */
import type { Command } from "commander";
import { readJsonl } from "../data/jsonl";
import {
  emit,
  existingFile,
  nonNegativeInt,
  note,
  positiveInt,
  positiveNumber,
  UsageError,
  withJson,
  type JsonOption,
} from "./common";

interface TrainRerankerOpts extends JsonOption {
  model: string;
  data: string;
  out: string;
  loss: string;
  posWeight?: number;
  randomNegatives: number;
  epochs: number;
  batchSize: number;
  lr: number;
  maxSteps?: number;
  checkpointSteps: number;
  seed: number;
}

const LOSSES = ["bce", "mnrl", "listnet"] as const;

export function registerTrainReranker(program: Command): void {
  withJson(
    program
      .command("train-reranker")
      .description("Fine-tune a cross-encoder re-ranker on mined rows; saves CrossEncoder's folder layout.")
      .requiredOption("-m, --model <spec>", "base cross-encoder: a folder, a Hub id, or offline", "offline")
      .requiredOption("-d, --data <file>", "mined rows (.jsonl from `mine`: labeled-pair for bce, else n-tuple)")
      .requiredOption("-o, --out <dir>", "output folder (best/, final/, checkpoints/, history.json)")
      .option("--loss <name>", `one of ${LOSSES.join(", ")}`, "bce")
      .option(
        "--pos-weight <w>",
        "bce: weight of the positive term (e.g. negatives per positive)",
        positiveNumber("--pos-weight"),
      )
      .option("--random-negatives <n>", "random passages per query mixed in", nonNegativeInt("--random-negatives"), 1)
      .option("--epochs <n>", "passes over the rows", positiveInt("--epochs"), 1)
      .option("--batch-size <n>", "rows per step", positiveInt("--batch-size"), 16)
      .option("--lr <x>", "peak learning rate", positiveNumber("--lr"), 2e-5)
      .option("--max-steps <n>", "stop after n optimizer steps", positiveInt("--max-steps"))
      .option("--checkpoint-steps <n>", "checkpoint every n steps (0: none)", nonNegativeInt("--checkpoint-steps"), 50)
      .option("--seed <n>", "seed of shuffling and negative draws", nonNegativeInt("--seed"), 42),
  ).action(async (opts: TrainRerankerOpts) => {
    if (!(LOSSES as readonly string[]).includes(opts.loss))
      throw new UsageError(`--loss ${opts.loss}: expected one of ${LOSSES.join(", ")}.`);
    if (opts.posWeight !== undefined && opts.loss !== "bce")
      throw new UsageError(`--pos-weight applies to --loss bce only (got --loss ${opts.loss}).`);
    const file = existingFile(opts.data, "--data");
    const { records, skipped } = readJsonl(file);
    if (skipped.length > 0)
      throw new UsageError(
        `${file}:${skipped[0].line ?? "?"}: ${skipped[0].reason} (${skipped.length} bad line(s)); fix the file or mine it again.`,
      );
    if (records.length === 0) throw new UsageError(`${file}: no rows; run \`mine\` first.`);
    const rows = records.map((r) => r.value as Record<string, string | number>);
    const labeled = "label" in rows[0];
    if (opts.loss === "bce" && !labeled)
      throw new UsageError(
        `${file}: --loss bce takes labeled pairs (anchor, positive, label); mine with --format labeled-pair, or use --loss mnrl.`,
      );
    if (opts.loss !== "bce" && labeled)
      throw new UsageError(
        `${file}: --loss ${opts.loss} takes n-tuples (anchor, positive, negative_1..); mine with --format n-tuple, or use --loss bce.`,
      );
    const rerank = await import("../rerank/index");
    // Random negatives come from every passage the file holds (positives and mined negatives).
    const corpus = [
      ...new Set(
        rows.flatMap((r) =>
          Object.entries(r).flatMap(([k, v]) => (k === "anchor" || k === "label" ? [] : [String(v)])),
        ),
      ),
    ];
    const examples = rerank.rerankingExamples(rows, { corpus, randomNegatives: opts.randomNegatives, seed: opts.seed });
    const loss =
      opts.loss === "bce"
        ? new rerank.BinaryCrossEntropyLoss({ posWeight: opts.posWeight })
        : opts.loss === "mnrl"
          ? new rerank.CrossEncoderMultipleNegativesRankingLoss({ seed: opts.seed })
          : new rerank.ListNetLoss();
    const model = await rerank.loadCrossEncoder(opts.model);
    note(opts, `${examples.length} training examples from ${rows.length} rows (${loss.name}); training ${model.name}`);
    const result = await rerank.trainCrossEncoder(model, examples, {
      loss,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      learningRate: opts.lr,
      maxSteps: opts.maxSteps,
      seed: opts.seed,
      outputDir: opts.out,
      checkpointSteps: opts.checkpointSteps,
    });
    emit(
      opts,
      [
        `trained ${result.steps} / ${result.totalSteps} steps in ${result.seconds.toFixed(1)} s` +
          (result.resumedFrom ? ` (resumed from ${result.resumedFrom})` : ""),
        `final training loss ${result.trainLoss.toFixed(4)}; model saved to ${result.finalModelPath}`,
      ],
      {
        model: model.name,
        loss: loss.name,
        rows: rows.length,
        examples: examples.length,
        steps: result.steps,
        total_steps: result.totalSteps,
        train_loss: result.trainLoss,
        seconds: result.seconds,
        final: result.finalModelPath,
        resumed_from: result.resumedFrom ?? null,
      },
    );
  });
}
