/**
 * Learning-rate schedule: linear warmup from 0 to the peak, then linear decay to 0, as Hugging Face
 * transformers' get_linear_schedule_with_warmup (the default of sentence-transformers' trainer):
 *
 *   factor(s) = s / max(1, W)                          for s < W
 *             = max(0, (T - s) / max(1, T - W))         otherwise
 *
 * where s counts optimizer steps from 0 (the first update uses factor(0), i.e. lr 0 when W > 0, as in
 * PyTorch where scheduler.step() follows optimizer.step()), T is the number of training steps and W
 * the number of warmup steps. With a warmup ratio r, W = ceil(T * r) (transformers' TrainingArguments
 * .get_warmup_steps); an explicit warmupSteps > 0 wins over the ratio.
 *
 * type "cosine" (lr_scheduler_type="cosine": transformers' get_cosine_schedule_with_warmup, num_cycles 0.5) keeps the
 * warmup and decays along half a cosine instead of a line:
 *
 *   factor(s) = s / max(1, W)                                             for s < W
 *             = max(0, 0.5 (1 + cos(pi * 2 * 0.5 * p))),  p = (s - W) / max(1, T - W)   otherwise
 */

export type ScheduleType = "linear" | "cosine";

export interface LinearSchedule {
  peakLearningRate: number;
  totalSteps: number;
  warmupSteps: number;
  /** "linear" (default) or "cosine". */
  type?: ScheduleType;
}

/** Warmup steps from either a step count or a ratio of the total (ceil, as transformers). */
export function warmupStepsFor(totalSteps: number, options: { warmupSteps?: number; warmupRatio?: number }): number {
  const { warmupSteps, warmupRatio } = options;
  if (warmupSteps !== undefined && (!Number.isInteger(warmupSteps) || warmupSteps < 0))
    throw new RangeError(`warmupSteps ${warmupSteps} must be a non-negative integer.`);
  if (warmupRatio !== undefined && !(warmupRatio >= 0 && warmupRatio <= 1))
    throw new RangeError(`warmupRatio ${warmupRatio} must be between 0 and 1.`);
  if (warmupSteps !== undefined && warmupSteps > 0) return warmupSteps;
  return Math.ceil(totalSteps * (warmupRatio ?? 0));
}

/** The multiplier of the peak learning rate at 0-based step `step`. */
export function linearWarmupDecayFactor(step: number, totalSteps: number, warmupSteps: number): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/** The multiplier at 0-based step `step` of the cosine schedule (num_cycles 0.5: one half-cosine down to 0). */
export function cosineWarmupFactor(step: number, totalSteps: number, warmupSteps: number): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)));
}

/** The learning rate used by the update at 0-based step `step`. */
export function learningRateAt(schedule: LinearSchedule, step: number): number {
  const factor = schedule.type === "cosine" ? cosineWarmupFactor : linearWarmupDecayFactor;
  return schedule.peakLearningRate * factor(step, schedule.totalSteps, schedule.warmupSteps);
}
