// Learning-rate schedules, as functions of the number of optimizer steps already taken
// (0 for the first step), matching Hugging Face's schedulers stepped once per optimizer step.

export interface WarmupDecayOptions {
  warmupSteps: number;
  totalSteps: number;
  peakLr: number;
}

/**
 * Linear warmup from 0 to `peakLr` over `warmupSteps`, then linear decay to 0 at `totalSteps`:
 * `peakLr * lambda(step)` with transformers.get_linear_schedule_with_warmup's lambda. `step` is
 * the number of steps already taken, so the first update uses lr 0 when warmupSteps > 0 (as HF).
 */
export function linearWarmupDecay(step: number, { warmupSteps, totalSteps, peakLr }: WarmupDecayOptions): number {
  if (step < warmupSteps) return (peakLr * step) / Math.max(1, warmupSteps);
  return peakLr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/** `linearWarmupDecay` bound to its options: pass it as AdamW's `lr`. */
export function linearWarmupDecaySchedule(opts: WarmupDecayOptions): (step: number) => number {
  return (step) => linearWarmupDecay(step, opts);
}

/** A constant learning rate after linear warmup (transformers.get_constant_schedule_with_warmup). */
export function constantWithWarmup(step: number, { warmupSteps, peakLr }: { warmupSteps: number; peakLr: number }): number {
  return step < warmupSteps ? (peakLr * step) / Math.max(1, warmupSteps) : peakLr;
}
