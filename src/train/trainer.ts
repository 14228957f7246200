// The pre-training loop shared by the CLI, Deno scripts and browser demos: one recorded
// submission per step, losses read back every `logEvery` steps, periodic evaluation on held-back
// batches, and whole-state checkpoints (models, optimizer moments, step, RNG and data state)
// written atomically, from which a resumed run continues with exactly the same losses.
import { scope, noGrad, Tensor } from '../tensor.js';
import { runtime } from '../runtime.js';
import { mulScalar, requireF16, setAutocast } from '../ops/index.js';
import { loadMatmulTuning, tuneMatmul } from '../ops/matmul.js';
import { AdamW, type AdamWStateDict } from '../optim/adamw.js';
import { linearWarmupDecaySchedule } from '../optim/schedule.js';
import {
  createObjective,
  rate,
  OBJECTIVES,
  type Count,
  type StepTensors,
  type Objective,
  type ObjectiveName,
  type PretrainingBatch,
} from './objectives.js';
import { fromPretrained, exportPretrained, PRETRAINED_FILES } from '../io/pretrained.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { joinPath, readText, readBytes, writeAtomic, makeDir, replaceDir, recoverDir, removeLeftovers } from '../io/files.js';
import { Generator } from '../ops/creation.js';
import type { BertConfig } from '../models/config.js';
import type { ElectraForMaskedLM, ElectraForPreTraining } from '../models/tasks.js';
import type { WordPieceTokenizer } from '../tokenizers/wordpiece.js';

/** Rebuilds the objective of a checkpoint that is not a pre-training one (models, generators made from `generators`). */
export type ObjectiveBuilder<B> = (state: SavedState, dir: string, generators: Record<string, Generator>) => Promise<Objective<B>>;

/** Where batches come from; its state goes into checkpoints. */
export interface BatchSource<B = PretrainingBatch> {
  nextBatch(): B;
  state(): unknown;
  restore(state: unknown): void;
}

export interface TrainerOptions {
  steps: number;
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  accumulationSteps?: number;
  /** Read the loss back (and compute accuracies) every this many steps. */
  logEvery?: number;
  evalEvery?: number;
  seed?: number;
  /** ELECTRA: the generator's hidden size as a fraction of the discriminator's (default 0.25). */
  generatorSize?: number;
  /** Parameters that get no gradient in a step keep their values and moments (AdamW's skipMissingGrads; default: an error). */
  skipMissingGrads?: boolean;
  /**
   * 'f16': each step's forward under autocast (the linear layers' matmuls on f16 operands, f32
   * accumulation; needs 'shader-f16') and a dynamic loss scale (AdamW's lossScale 'dynamic', as
   * torch.amp.GradScaler): steps whose scaled gradients overflow are skipped and the scale halved.
   * Default 'f32'.
   */
  precision?: 'f32' | 'f16';
}

export interface LogRecord {
  step: number;
  loss: number;
  /** mlm / nsp, or generator / discriminator */
  parts: Record<string, number>;
  metrics: Record<string, number>;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  elapsed_s: number;
  /** Steps since the previous record whose update was skipped (gradient norm NaN or inf). */
  skipped_steps: number;
  /** With precision 'f16': the loss scale the next step uses (torch's GradScaler.get_scale()). */
  loss_scale?: number;
}

export interface EvalRecord {
  step: number;
  loss: number;
  parts: Record<string, number>;
  metrics: Record<string, number>;
}

/** trainer_state.json: everything but the tensors. */
export interface SavedState {
  version: 1;
  /** An ObjectiveName, or `finetune:<task>` (resumed by src/finetune). */
  objective: string;
  step: number;
  options: Required<TrainerOptions>;
  config: BertConfig;
  generators: Record<string, { seed: number; offset: number }>;
  optimizer: Omit<AdamWStateDict, 'm' | 'v'>;
  data: unknown;
  /** Whatever the caller asked to keep with the checkpoint (the CLI: its arguments). */
  meta?: Record<string, unknown>;
}

export interface CheckpointWriteOptions {
  meta?: Record<string, unknown>;
  /** More files of the caller's (path inside the checkpoint -> bytes), written before trainer_state.json. */
  files?: Record<string, Uint8Array>;
  /** A test hook: runs between replaceDir's two renames (the kill test stops the process there). */
  betweenRenames?: () => void | Promise<void>;
}

/**
 * A run fails (trainStep throws) when more than this share of its steps were skipped as
 * non-finite (checked at each log step once 10 steps have run, 40 with precision f16, and at the last step) ...
 */
export const MAX_SKIPPED_SHARE = 0.5;
/** ... or when this many steps or more in a row were skipped (whole log windows). */
export const MAX_SKIPPED_STREAK = 20;

const DEFAULTS: Required<TrainerOptions> = {
  steps: 100,
  lr: 1e-4,
  warmupSteps: 0,
  weightDecay: 0.01,
  maxGradNorm: 1.0,
  accumulationSteps: 1,
  logEvery: 10,
  evalEvery: 0,
  seed: 0,
  generatorSize: 0.25,
  skipMissingGrads: false,
  precision: 'f32',
};

function rates(counts: Record<string, Count>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, rate(c)]));
}

export class Trainer<B = PretrainingBatch> {
  step = 0;
  readonly options: Required<TrainerOptions>;
  readonly optimizer: AdamW;
  onLog: ((r: LogRecord) => void) | null = null;
  onEval: ((r: EvalRecord) => void) | null = null;
  /** Set (e.g. by a SIGINT handler) to make run() return after the step in flight. */
  stopRequested = false;
  private tokensSinceLog = 0;
  /** Non-finite step accounting of this trainer object (not of the checkpoint it came from). */
  private checkedStep: number | null = null;
  private skippedSeen = 0;
  private stepsRun = 0;
  private skippedRun = 0;
  private skippedStreak = 0;
  private lastLogTime = 0;
  private readonly startTime: number;

  constructor(
    readonly objective: Objective<B>,
    readonly config: BertConfig,
    readonly data: BatchSource<B>,
    options: TrainerOptions,
    readonly evalBatches: B[] = [],
  ) {
    this.options = { ...DEFAULTS, ...options };
    const o = this.options;
    if (!(Number.isInteger(o.steps) && o.steps > 0)) throw new Error(`trainer: steps must be a positive integer, got ${o.steps}`);
    if (!(o.lr > 0)) throw new Error(`trainer: lr must be > 0, got ${o.lr}`);
    if (o.precision !== 'f32' && o.precision !== 'f16') throw new Error(`trainer: precision must be 'f32' or 'f16', got '${o.precision}'`);
    if (o.precision === 'f16') requireF16('trainer precision f16');
    this.optimizer = new AdamW(objective.namedParameters(), {
      ...(o.precision === 'f16' && { lossScale: 'dynamic' as const }),
      lr: linearWarmupDecaySchedule({ warmupSteps: o.warmupSteps, totalSteps: o.steps, peakLr: o.lr }),
      weightDecay: o.weightDecay,
      maxGradNorm: o.maxGradNorm,
      accumulationSteps: o.accumulationSteps,
      skipMissingGrads: o.skipMissingGrads,
    });
    this.startTime = this.lastLogTime = now();
  }

  /** A fresh run. */
  static create(
    objectiveName: ObjectiveName,
    config: BertConfig,
    data: BatchSource,
    options: TrainerOptions,
    evalBatches: PretrainingBatch[] = [],
  ): Trainer {
    const objective = createObjective(objectiveName, config, options.seed ?? 0, {}, options.generatorSize);
    return new Trainer(objective, config, data, options, evalBatches);
  }

  /** One optimizer step (accumulationSteps micro-batches), recorded and submitted once. */
  async trainStep(): Promise<LogRecord | null> {
    const log = (this.step + 1) % this.options.logEvery === 0 || this.step + 1 === this.options.steps;
    this.objective.train(true);
    let logged: StepTensors | null = null;
    const lr = this.optimizer.currentLr();
    const acc = this.options.accumulationSteps;
    const batches = Array.from({ length: acc }, () => this.data.nextBatch());
    // AdamW multiplies the summed gradients by 1/acc: weights acc * share give the mean over every
    // labelled unit of the accumulated batch (micro-batches may hold different numbers of them)
    const counts = this.objective.targetCount ? batches.map((b) => this.objective.targetCount!(b)) : null;
    const total = counts ? counts.reduce((a, c) => a + c, 0) : 0;
    for (let a = 0; a < acc; a++) {
      const batch = batches[a];
      this.tokensSinceLog += this.objective.tokenCount(batch);
      const last = a === acc - 1;
      const scale = counts && total > 0 ? (acc * counts[a]) / total : 1;
      const kept = scope(() => {
        const half = this.options.precision === 'f16';
        const prev = half ? setAutocast('f16') : null;
        let st: StepTensors;
        try {
          st = this.objective.step(batch, log && last);
        } finally {
          if (half) setAutocast(prev);
        }
        const weighted = scale === 1 ? st.loss : mulScalar(st.loss, scale);
        (half ? this.optimizer.scaleLoss(weighted) : weighted).backward();
        return log && last ? { loss: st.loss, parts: st.parts, metrics: st.metrics } : null;
      });
      if (kept) logged = kept;
    }
    this.checkedStep ??= this.step;
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.step++;
    if (!logged) {
      runtime().flush();
      return null;
    }
    const record: LogRecord = {
      step: this.step,
      loss: await logged.loss.item(),
      parts: {},
      metrics: rates(await logged.metrics()),
      lr,
      grad_norm: await this.optimizer.lastGradNorm(),
      tokens_per_s: 0,
      elapsed_s: 0,
      skipped_steps: await this.countSkipped(),
      ...(this.options.precision === 'f16' && { loss_scale: await this.optimizer.currentLossScale() }),
    };
    for (const [k, t] of Object.entries(logged.parts)) record.parts[k] = await t.item();
    logged.loss.dispose();
    for (const t of Object.values(logged.parts)) t.dispose();
    const t = now();
    record.tokens_per_s = this.tokensSinceLog / Math.max(1e-9, (t - this.lastLogTime) / 1000);
    record.elapsed_s = (t - this.startTime) / 1000;
    this.tokensSinceLog = 0;
    this.lastLogTime = t;
    this.onLog?.(record);
    this.checkDiverged();
    return record;
  }

  /** Reads the optimizer's skipped-step counter: the steps skipped since the last call. */
  private async countSkipped(): Promise<number> {
    const total = await this.optimizer.syncSkipped();
    const skipped = total - this.skippedSeen;
    const window = this.step - (this.checkedStep ?? this.step);
    this.skippedSeen = total;
    this.checkedStep = this.step;
    this.stepsRun += window;
    this.skippedRun += skipped;
    this.skippedStreak = skipped === window ? this.skippedStreak + window : 0;
    return skipped;
  }

  private checkDiverged(): void {
    // f16: the loss scale starts high (2^16) and halves on each overflowing step, so the first
    // steps of a run may be skipped by design: the share rule waits for 40 steps there
    const minSteps = this.options.precision === 'f16' ? 40 : 10;
    const share = this.skippedRun > MAX_SKIPPED_SHARE * this.stepsRun && (this.stepsRun >= minSteps || this.step === this.options.steps);
    if (!share && this.skippedStreak < MAX_SKIPPED_STREAK) return;
    throw new Error(
      `training diverged at step ${this.step}: ${share ? `${this.skippedRun} of the ${this.stepsRun} steps of this run` : `the last ${this.skippedStreak} steps`} were skipped ` +
        `because the gradient norm was not finite (NaN or inf); the parameters are those of the last finite step. Lower the learning rate (${this.options.lr}) or check the data`,
    );
  }

  /** Mean loss, parts and metrics over the held-back batches, in eval mode (dropout off). */
  async evaluate(): Promise<EvalRecord> {
    if (!this.evalBatches.length) throw new Error('evaluate: no held-back batches were given');
    const record = await this.evaluateOn(...this.evalBatches);
    this.onEval?.(record);
    return record;
  }

  /**
   * Loss and parts averaged over the given batches, metrics pooled over them (hits over all
   * batches / total over all batches), in eval mode (dropout off).
   */
  async evaluateOn(...batches: B[]): Promise<EvalRecord> {
    this.objective.train(false);
    const sums: Record<string, number> = {};
    const add = (k: string, v: number) => (sums[k] = (sums[k] ?? 0) + v);
    const counts: Record<string, Count> = {};
    for (const batch of batches) {
      const st = noGrad(() =>
        scope(() => {
          const s = this.objective.step(batch, true);
          return { loss: s.loss, parts: s.parts, metrics: s.metrics };
        }),
      );
      add('loss', await st.loss.item());
      for (const [k, t] of Object.entries(st.parts)) add(`part.${k}`, await t.item());
      for (const [k, c] of Object.entries(await st.metrics())) {
        counts[k] ??= { hits: 0, total: 0 };
        counts[k].hits += c.hits;
        counts[k].total += c.total;
      }
      st.loss.dispose();
      for (const t of Object.values(st.parts)) t.dispose();
    }
    this.objective.train(true);
    const n = batches.length;
    const record: EvalRecord = { step: this.step, loss: sums.loss / n, parts: {}, metrics: rates(counts) };
    for (const [k, v] of Object.entries(sums)) if (k.startsWith('part.')) record.parts[k.slice(5)] = v / n;
    return record;
  }

  private kernelsTuned = false;
  private kernelChoicesLoaded = false;

  /** The device's stored matmul choices, read once per trainer before its first step (so a resumed run's steps use the same kernels). */
  async loadKernelChoices(): Promise<void> {
    if (this.kernelChoicesLoaded) return;
    this.kernelChoicesLoaded = true;
    await loadMatmulTuning();
  }

  /**
   * Matmul kernels measured for this model's shapes (ops.tuneMatmul): run() calls it after its
   * first step, so that every later step uses the fastest variant of each product on this
   * device. The choices are read from and written to the per-device cache (when matmulTuning is
   * true, the default), so the first step of the first run on a device is the only one on the
   * default variants. Nothing happens with matmulTuning false (the tests) or once done.
   */
  async tuneKernels(): Promise<void> {
    if (this.kernelsTuned) return;
    this.kernelsTuned = true;
    await tuneMatmul();
  }

  /** Runs until `steps` (or `until`), evaluating every evalEvery steps. */
  async run(until = this.options.steps): Promise<void> {
    await this.loadKernelChoices();
    while (this.step < Math.min(until, this.options.steps) && !this.stopRequested) {
      await this.trainStep();
      await this.tuneKernels();
      await nextTurn();
      if (this.options.evalEvery && this.step % this.options.evalEvery === 0 && this.evalBatches.length) await this.evaluate();
    }
    await runtime().sync();
  }

  /**
   * Writes the whole training state into `dir`: Hugging Face directories of the models,
   * optimizer moments, and trainer_state.json (step, options, RNG and data state). The
   * directory is built beside `dir` and renamed into place, so `dir` is never half-written.
   */
  async saveCheckpoint(dir: string, tokenizer?: WordPieceTokenizer | null, options: CheckpointWriteOptions = {}): Promise<void> {
    await recoverCheckpoint(dir); // leftovers of an interrupted write go first
    const tmp = `${dir}.tmp-${Math.random().toString(36).slice(2)}`;
    await makeDir(tmp);
    const opt = await this.optimizer.stateDict();
    for (const [name, model] of Object.entries(this.objective.models)) {
      const files = await exportPretrained(model, tokenizer);
      await makeDir(joinPath(tmp, name));
      for (const [f, bytes] of Object.entries(files)) await writeAtomic(joinPath(joinPath(tmp, name), f), bytes);
    }
    const moments: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [k, v] of Object.entries(opt.m)) moments[`m.${k}`] = { data: v, shape: [v.length] };
    for (const [k, v] of Object.entries(opt.v)) moments[`v.${k}`] = { data: v, shape: [v.length] };
    await writeAtomic(joinPath(tmp, 'optimizer.safetensors'), writeSafetensors(moments));
    for (const [path, bytes] of Object.entries(options.files ?? {})) {
      const parts = path.split('/');
      let sub = tmp;
      for (const part of parts.slice(0, -1)) await makeDir((sub = joinPath(sub, part)));
      await writeAtomic(joinPath(sub, parts.at(-1)!), bytes);
    }
    const { m: _m, v: _v, ...optScalars } = opt;
    const state: SavedState = {
      version: 1,
      objective: this.objective.name,
      step: this.step,
      options: this.options,
      config: this.config,
      generators: Object.fromEntries(Object.entries(this.objective.generators).map(([k, g]) => [k, g.state()])),
      optimizer: optScalars,
      data: this.data.state(),
      ...(options.meta ? { meta: options.meta } : {}),
    };
    // written last: a directory with a valid trainer_state.json is complete (recoverCheckpoint)
    await writeAtomic(joinPath(tmp, 'trainer_state.json'), JSON.stringify(state, null, 1));
    await replaceDir(tmp, dir, options.betweenRenames);
  }

  /** Continues a run from a checkpoint directory (the data source must be built the same way). */
  static async resume<B = PretrainingBatch>(
    dir: string,
    data: BatchSource<B>,
    evalBatches: B[] = [],
    overrides: Partial<TrainerOptions> = {},
    build?: ObjectiveBuilder<B>,
  ): Promise<Trainer<B>> {
    await recoverCheckpoint(dir);
    const state = await readCheckpointState(dir);
    const gens = Object.fromEntries(Object.entries(state.generators).map(([k, g]) => [k, new Generator(g.seed)]));
    let objective: Objective<B>;
    if (build) objective = await build(state, dir, gens);
    else if (!(OBJECTIVES as string[]).includes(state.objective))
      throw new Error(
        `${dir}/trainer_state.json: objective '${state.objective}' is not a pre-training objective (${OBJECTIVES.join(', ')}); resume it with the code that wrote it`,
      );
    else if (state.objective === 'electra') {
      const d = await fromPretrained(joinPath(dir, 'discriminator'), { generator: gens.dropout });
      const disc = d.model as ElectraForPreTraining;
      const g = await fromPretrained(joinPath(dir, 'generator'), { generator: gens.dropout, embeddings: disc.electra.embeddings });
      objective = createObjective('electra', state.config, state.options.seed, {
        discriminator: disc,
        generator: g.model as ElectraForMaskedLM,
        generators: gens,
      }) as unknown as Objective<B>;
    } else {
      const m = await fromPretrained(joinPath(dir, 'model'), { generator: gens.model });
      objective = createObjective(state.objective as ObjectiveName, state.config, state.options.seed, {
        model: m.model,
        generators: gens,
      }) as unknown as Objective<B>;
    }
    const trainer = new Trainer<B>(objective, state.config, data, { ...state.options, ...overrides }, evalBatches);
    await trainer.restore(dir, state);
    return trainer;
  }

  /**
   * Puts a checkpoint's generator streams, optimizer moments, step and data position into this
   * trainer, whose models were loaded from that checkpoint (with generators of the saved seeds).
   */
  async restore(dir: string, state: SavedState): Promise<void> {
    // the objective's generators are the ones the models were built with: restore their streams
    for (const [k, g] of Object.entries(this.objective.generators)) {
      const saved = state.generators[k];
      if (!saved) throw new Error(`${dir}: no state for generator '${k}'`);
      g.seed = saved.seed;
      g.offset = saved.offset;
    }
    const bytes = await readBytes(joinPath(dir, 'optimizer.safetensors'));
    if (!bytes) throw new Error(`${dir}: no optimizer.safetensors`);
    const moments = readSafetensors(bytes, `${dir}/optimizer.safetensors`).tensors;
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const [k, t] of moments) (k.startsWith('m.') ? m : v)[k.slice(2)] = t.data as Float32Array;
    this.optimizer.loadStateDict({ ...state.optimizer, m, v });
    this.step = state.step;
    this.data.restore(state.data);
  }

  /** Writes the models for use elsewhere: ELECTRA's discriminator alone (the model to fine-tune). */
  async savePretrained(dir: string, tokenizer?: WordPieceTokenizer | null): Promise<void> {
    const model = this.objective.models.discriminator ?? this.objective.models.model;
    const files = await exportPretrained(model, tokenizer);
    await makeDir(dir);
    for (const name of PRETRAINED_FILES) {
      if (!files[name]) continue;
      await removeLeftovers(joinPath(dir, name)); // of an earlier write that was cut short
      await writeAtomic(joinPath(dir, name), files[name]);
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    const seen = new Set<Tensor>();
    for (const m of Object.values(this.objective.models)) {
      for (const [, p] of m.namedParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        p.zeroGrad();
        p.dispose();
      }
    }
  }
}

/**
 * Reads and checks `dir`/trainer_state.json; every error names the file and the field. The
 * models and optimizer moments beside it are checked when `Trainer.resume` loads them.
 */
export async function readCheckpointState(dir: string): Promise<SavedState> {
  const file = joinPath(dir, 'trainer_state.json');
  const text = await readText(file);
  if (text === null) throw new Error(`${dir}: not a checkpoint (no trainer_state.json)`);
  let s: any;
  try {
    s = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const check = (holder: any, path: string, ok: (v: any) => boolean, expected: string) => {
    if (!isObject(holder)) return;
    const name = path.split('.').pop()!;
    if (!(name in holder)) throw new Error(`${file}: missing field '${path}' (expected ${expected})`);
    if (!ok(holder[name]))
      throw new Error(`${file}: field '${path}' is ${String(JSON.stringify(holder[name])).slice(0, 60)}, expected ${expected}`);
  };
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (!isObject(s)) throw new Error(`${file}: expected a JSON object, got ${String(JSON.stringify(s)).slice(0, 60)}`);
  check(s, 'version', (v) => v === 1, 'version 1');
  check(s, 'objective', (v) => OBJECTIVES.includes(v) || /^finetune:[a-z]+$/.test(v), `${OBJECTIVES.join(' | ')} | finetune:<task>`);
  check(s, 'step', count, 'a non-negative integer');
  check(s, 'options', isObject, 'an object');
  check(s.options, 'options.steps', (v) => count(v) && v > 0, 'a positive integer');
  check(s, 'config', isObject, 'an object (the model config)');
  check(s, 'generators', isObject, 'an object of {seed, offset}');
  for (const k of Object.keys(s.generators)) {
    check(s.generators, `generators.${k}`, isObject, 'an object {seed, offset}');
    check(s.generators[k], `generators.${k}.seed`, Number.isFinite, 'a number');
    check(s.generators[k], `generators.${k}.offset`, Number.isFinite, 'a number');
  }
  check(s, 'optimizer', isObject, 'an object (AdamW scalars)');
  check(s.optimizer, 'optimizer.step', count, 'a non-negative integer');
  check(s.optimizer, 'optimizer.paramSteps', isObject, 'an object');
  check(s, 'data', (v) => v !== undefined, 'the data source state');
  if ('meta' in s) check(s, 'meta', isObject, 'an object');
  return s as SavedState;
}

/**
 * Makes `dir` a complete checkpoint again after a write was interrupted (see recoverDir): the
 * newest complete copy beside it (the highest step) takes its place; leftovers are removed.
 * Returns the copy that was restored, or null.
 */
export async function recoverCheckpoint(dir: string): Promise<string | null> {
  return recoverDir(dir, async (candidate) => {
    try {
      return (await readCheckpointState(candidate)).step;
    } catch {
      return null; // incomplete: trainer_state.json is written last
    }
  });
}

/**
 * Lets signal handlers, timers and I/O callbacks run between steps: a step without a readback
 * awaits nothing, so without this a SIGINT would wait for the next log step.
 */
function nextTurn(): Promise<void> {
  return typeof setImmediate === 'function' ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve();
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** A PretrainingDataset (src/data) as the trainer's batch source. */
export function datasetSource(
  dataset: { nextBatch(batchSize: number): PretrainingBatch; state(): unknown; restore(s: any): void },
  batchSize: number,
): BatchSource {
  return {
    nextBatch: () => dataset.nextBatch(batchSize),
    state: () => dataset.state(),
    restore: (s) => dataset.restore(s),
  };
}
