/**
 * `train`: fine-tune a model on pairs (or triplets) with MultipleNegativesRankingLoss and friends, evaluate
 * on the dev split while training, keep the best model (notebooks 3-4). Writes <out>/best, <out>/final,
 * checkpoints (a rerun resumes), history.json, and training_summary.json (read by `publish` for the card).
 * Defaults: src/defaults.ts FINE_TUNE_DEFAULTS (sentence-transformers' Transformer fine-tuning recipe: lr 2e-5,
 * 10% warm-up, batch 32), not train()'s API defaults (TRAIN_DEFAULTS, transformers' 5e-5); see defaults.ts.
 */
import { existsSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { PairRow } from "../data/index";
import { writeFileAtomic } from "../files";
import type { Loss, ProgressReporter } from "../train/index";
import {
  emit,
  loadSplit,
  nonNegativeInt,
  note,
  positiveInt,
  positiveNumber,
  progressBar,
  UsageError,
  withJson,
  type JsonOption,
} from "./common";
import { frameworkVersions } from "../publish/versions";
import { FINE_TUNE_DEFAULTS } from "../defaults";

export const LOSSES = ["mnrl", "cached-mnrl", "symmetric-mnrl", "triplet"] as const;
type LossName = (typeof LOSSES)[number];

interface TrainOpts extends JsonOption {
  model: string;
  data: string;
  eval?: string | false;
  out: string;
  loss: string;
  epochs: number;
  batchSize: number;
  lr: number;
  warmupRatio: number;
  maxSteps?: number;
  evalSteps?: number;
  seed: number;
  scale: number;
  miniBatchSize: number;
  restart?: boolean;
}

export async function makeLoss(name: string, scale: number, miniBatchSize: number): Promise<Loss> {
  const {
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
    MultipleNegativesSymmetricRankingLoss,
    TripletLoss,
  } = await import("../train/index");
  switch (name as LossName) {
    case "mnrl":
      return new MultipleNegativesRankingLoss({ scale });
    case "cached-mnrl":
      return new CachedMultipleNegativesRankingLoss({ scale, miniBatchSize });
    case "symmetric-mnrl":
      return new MultipleNegativesSymmetricRankingLoss({ scale });
    case "triplet":
      return new TripletLoss();
    default:
      throw new UsageError(`--loss ${name}: expected one of ${LOSSES.join(", ")}.`);
  }
}

/** Training rows from a pairs file, or the train split of a BEIR folder / shipped dataset. */
async function trainingRows(data: string): Promise<{ rows: PairRow[]; source: string; beir: boolean }> {
  const { readPairs, trainingPairs } = await import("../data/index");
  const ext = extname(data).toLowerCase();
  if (ext === ".jsonl" || ext === ".parquet") {
    const p = resolve(data);
    if (!existsSync(p)) throw new UsageError(`--data ${data}: no such file ${p}.`);
    return { rows: readPairs(p).rows, source: p, beir: false };
  }
  return { rows: trainingPairs(await loadSplit(data, "train")), source: data, beir: true };
}

export function registerTrain(program: Command): void {
  withJson(
    program
      .command("train")
      .description("Fine-tune a model; evaluates on dev while training and keeps the best (notebooks 3-4).")
      .option("-m, --model <id>", "base model: Hub id, folder, offline, offline-bert", "offline")
      .requiredOption(
        "-d, --data <dataset>",
        "shipped dataset name, BEIR folder (train split), or pairs .jsonl/.parquet",
      )
      .option("--eval <dataset>", "dataset whose dev split is evaluated (default: --data when it is a dataset)")
      .option("--no-eval", "do not evaluate while training")
      .option("-o, --out <folder>", "output folder (best/, final/, checkpoints/, history.json)", "models/run")
      .option("--loss <name>", `loss: ${LOSSES.join(", ")}`, "mnrl")
      .option("--epochs <n>", "epochs", positiveInt("--epochs"), FINE_TUNE_DEFAULTS.epochs)
      .option(
        "--batch-size <n>",
        "batch size (in-batch negatives: batch size - 1)",
        positiveInt("--batch-size"),
        FINE_TUNE_DEFAULTS.batchSize,
      )
      .option("--lr <x>", "peak learning rate", positiveNumber("--lr"), FINE_TUNE_DEFAULTS.learningRate)
      .option("--warmup-ratio <x>", "share of steps with linear warm-up", Number, FINE_TUNE_DEFAULTS.warmupRatio)
      .option("--max-steps <n>", "stop after this many steps", positiveInt("--max-steps"))
      .option("--eval-steps <n>", "evaluate every n steps (default: at the end)", positiveInt("--eval-steps"))
      .option("--scale <x>", "MNRL scale (20 = temperature 0.05)", positiveNumber("--scale"), FINE_TUNE_DEFAULTS.scale)
      .option("--mini-batch-size <n>", "cached-mnrl mini-batch size", positiveInt("--mini-batch-size"), 32)
      .option("--seed <n>", "seed", nonNegativeInt("--seed"), FINE_TUNE_DEFAULTS.seed)
      .option("--restart", "start over instead of resuming from the newest checkpoint in --out"),
  ).action(async (opts: TrainOpts) => {
    const loss = await makeLoss(opts.loss, opts.scale, opts.miniBatchSize);
    if (!(opts.warmupRatio >= 0 && opts.warmupRatio < 1))
      throw new UsageError(`--warmup-ratio ${opts.warmupRatio} must be in [0, 1).`);
    const { rows, source, beir } = await trainingRows(opts.data);
    const { InformationRetrievalEvaluator } = await import("../eval/index");
    const { loadModel } = await import("../model/index");
    const { train } = await import("../train/index");
    const evalSpec = opts.eval === false ? undefined : (opts.eval ?? (beir ? opts.data : undefined));
    const evaluator = evalSpec
      ? InformationRetrievalEvaluator.fromSplit(await loadSplit(evalSpec, "dev"), { name: "dev" })
      : undefined;
    const model = await loadModel(opts.model);
    let bar: ReturnType<typeof progressBar> | undefined;
    const reporter: ProgressReporter = {
      update(state) {
        bar ??= progressBar(opts, "train", state.totalSteps, " | loss {loss}");
        bar.update(state.step, { loss: state.loss === undefined ? "-" : state.loss.toFixed(4) });
      },
      end() {
        bar?.stop();
      },
    };
    const out = resolve(opts.out);
    const result = await train(model, rows, {
      loss,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      learningRate: opts.lr,
      warmupRatio: opts.warmupRatio,
      maxSteps: opts.maxSteps,
      evaluator,
      evalSteps: opts.evalSteps,
      seed: opts.seed,
      outputDir: out,
      resumeFrom: opts.restart ? false : "auto",
      progress: reporter,
      onWarning: (m) => note(opts, `warning: ${m}`),
    });
    const summary = {
      baseModel: opts.model,
      dataset: source,
      trainRows: rows.length,
      columns: Object.keys(rows[0] ?? {}).filter((k) => ["anchor", "positive", "negative"].includes(k)),
      sampleRows: rows
        .slice(0, 3)
        .map((r) => ({ anchor: r.anchor, positive: r.positive, ...(r.negative ? { negative: r.negative } : {}) })),
      loss: { name: loss.name, config: loss.config() },
      hyperparameters: {
        epochs: opts.epochs,
        batch_size: opts.batchSize,
        learning_rate: opts.lr,
        warmup_ratio: opts.warmupRatio,
        max_steps: opts.maxSteps ?? null,
        seed: opts.seed,
        batch_sampler: "no_duplicates",
        optimizer: "AdamW",
        weight_decay: 0.01,
        lr_scheduler: "linear",
        max_grad_norm: 1,
      },
      steps: result.steps,
      trainLoss: result.trainLoss,
      best: result.best,
      seconds: result.seconds,
      frameworkVersions: frameworkVersions(),
    };
    const text = JSON.stringify(summary, null, 2);
    writeFileAtomic(join(out, "training_summary.json"), text);
    for (const sub of ["best", "final"])
      if (existsSync(join(out, sub))) writeFileAtomic(join(out, sub, "training_summary.json"), text);
    emit(
      opts,
      [
        `trained ${result.steps} steps in ${result.seconds.toFixed(1)} s; mean loss ${result.trainLoss.toFixed(4)}`,
        result.best
          ? `best ${result.best.metric} ${result.best.value.toFixed(4)} at step ${result.best.step} -> ${result.best.path ?? "(not saved)"}`
          : "no evaluation",
        `final model: ${result.finalModelPath ?? "(not saved)"}`,
      ],
      {
        ok: true,
        out,
        steps: result.steps,
        trainLoss: result.trainLoss,
        best: result.best,
        finalModelPath: result.finalModelPath,
        seconds: result.seconds,
        resumedFrom: result.resumedFrom ?? null,
      },
    );
  });
}
