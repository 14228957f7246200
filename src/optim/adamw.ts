// AdamW as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with global-norm
// gradient clipping as torch.nn.utils.clip_grad_norm_, on the GPU without readbacks.
//
// Layout: each parameter stays its own tensor; the moments m and v of all parameters live in
// flat f32 buffers ("chunks", each at most one storage binding large), a parameter's moments at
// an offset. A step records, into the runtime's pending encoder (nothing is submitted):
//   1. grad_sumsq_many, one dispatch per 7 parameters: partial sums of squares of their gradients;
//   2. grad_norm_finalize, one dispatch: global norm, clip coefficient, non-finite skip flag;
//   3. adamw_pair, one dispatch per 2 parameters (adamw for an odd one out): the update, reading
//      the coefficient and flag.
// So about P/7 + P/2 + 1 dispatches for P parameter tensors, within the 8 storage bindings per
// stage WebGPU guarantees. (One dispatch over all parameters would need the parameters themselves
// in one flat buffer; grouping keeps Module tensors as they are.) The grouped kernels do the
// per-parameter kernels' arithmetic in the same order, so results are bit-identical.
// Step-dependent scalars (lr, bias corrections) are computed on the CPU in float64 and passed
// in a small uniform per dispatch.
import adamwSource from '../../shaders/adamw.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, shapeStr } from '../tensor.js';
import { full, zeros } from '../ops/creation.js';
import { mul } from '../ops/binary.js';

const ADAMW = defineShader('adamw', adamwSource);
const WG = 256;
/** Gradients per grad_sumsq_many dispatch (its g0..g6 bindings). */
const SUMSQ_GROUP = 7;
/** Most partial sums one parameter's norm uses (its workgroups in grad_sumsq_many). */
const MAX_PARTIALS = 256;

export type NamedParameters = Iterable<readonly [string, Tensor]>;

export interface ParamGroup {
  /** Named parameters, or bare tensors (named by `tensor.name` or `group{g}.param{i}`). */
  params: NamedParameters | Tensor[];
  /** Overrides the optimizer's weight decay (and its no-decay rule) for the whole group. */
  weightDecay?: number;
  /** Multiplies the learning rate for this group (default 1). */
  lrScale?: number;
}

export interface AdamWOptions {
  /** A constant, or a function of the number of steps already taken (see schedule.ts). Default 1e-4. */
  lr?: number | ((step: number) => number);
  betas?: [number, number];
  /** Default 1e-6 (BERT's; torch's default is 1e-8). */
  eps?: number;
  /** Decoupled weight decay, default 0.01, not applied where `noDecay(name)` holds. */
  weightDecay?: number;
  /** Default: names ending in `bias` or containing `LayerNorm` / `layer_norm`. */
  noDecay?: (name: string) => boolean;
  /** Global-norm clipping threshold (default 1.0); null or 0 disables clipping (the norm is still computed). */
  maxGradNorm?: number | null;
  /**
   * Gradients are multiplied by 1 / accumulationSteps before clipping and the update: call
   * backward() this many times (grads accumulate), then step() once, then zeroGrad().
   */
  accumulationSteps?: number;
  /**
   * Parameters that require grad but have none: false (default) makes step() throw before
   * recording anything; true skips them as torch does for `grad is None` (their moments and
   * step count stay as they are).
   */
  skipMissingGrads?: boolean;
  /**
   * Loss scaling for training under autocast (f16 gradients underflow without it), as torch's
   * GradScaler: backward from `scaleLoss(loss)`, then step() unscales the gradients (the norm it
   * returns and clips by is the unscaled one) and skips the update when they hold an inf or NaN.
   * A number is a fixed scale; 'dynamic' (GradScaler's defaults: 2^16, growth 2, backoff 0.5,
   * interval 2000) or an object makes the GPU halve the scale after a skipped step and double it
   * after `growthInterval` finite steps in a row. Default: none (scale 1).
   */
  lossScale?: number | 'dynamic' | LossScaleOptions;
}

export interface LossScaleOptions {
  init?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

export const defaultNoDecay = (name: string): boolean => name.endsWith('bias') || name.includes('LayerNorm') || name.includes('layer_norm');

interface Slot {
  name: string;
  param: Tensor;
  weightDecay: number;
  lrScale: number;
  chunk: number;
  offset: number;
  /** Updates applied to this parameter (torch's per-parameter `step`), for bias corrections. */
  steps: number;
}

export interface AdamWStateDict {
  /** Calls to step() (drives the learning-rate schedule). */
  step: number;
  /** Updates applied per parameter (bias corrections), after subtracting skipped steps. */
  paramSteps: Record<string, number>;
  /** Steps skipped because the gradient norm was not finite. */
  skippedSteps: number;
  /** The loss scale for the next step and GradScaler's growth tracker (with a dynamic scale). */
  lossScale?: { scale: number; growthTracker: number };
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  hyperparameters: {
    lr: number | null;
    betas: [number, number];
    eps: number;
    weightDecay: Record<string, number>;
    maxGradNorm: number | null;
    accumulationSteps: number;
  };
}

function isNamedPair(x: unknown): x is readonly [string, Tensor] {
  return Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && x[1] instanceof Tensor;
}

export class AdamW {
  lr: number | ((step: number) => number);
  readonly betas: [number, number];
  readonly eps: number;
  maxGradNorm: number | null;
  accumulationSteps: number;
  skipMissingGrads: boolean;
  /** Calls to step(): the schedule's argument. */
  stepCount = 0;
  private readonly slots: Slot[] = [];
  private readonly chunks: { m: Tensor; v: Tensor; size: number }[] = [];
  private readonly partials: Tensor;
  private readonly clip: Tensor;
  private readonly skipped: Tensor;
  /** The scale the next backward's gradients carry ([1]; 1 without loss scaling): `scaleLoss` multiplies by it. */
  readonly lossScale: Tensor;
  private readonly growthTracker: Tensor;
  private readonly scaling: { dynamic: boolean; growthFactor: number; backoffFactor: number; growthInterval: number };
  /** The global gradient norm of the last step (overwritten by each step; 1 element). */
  readonly gradNorm: Tensor;
  private skippedSeen = 0;
  private disposed = false;

  constructor(params: NamedParameters | ParamGroup[] | Tensor[] | { namedParameters(): NamedParameters }, options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-4;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-6;
    this.maxGradNorm = options.maxGradNorm === undefined ? 1.0 : options.maxGradNorm;
    this.accumulationSteps = options.accumulationSteps ?? 1;
    this.skipMissingGrads = options.skipMissingGrads ?? false;
    const wd = options.weightDecay ?? 0.01;
    const noDecay = options.noDecay ?? defaultNoDecay;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`AdamW: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(this.eps >= 0)) throw new Error(`AdamW: eps must be >= 0, got ${this.eps}`);
    if (!(wd >= 0)) throw new Error(`AdamW: weightDecay must be >= 0, got ${wd}`);
    if (!(Number.isInteger(this.accumulationSteps) && this.accumulationSteps >= 1))
      throw new Error(`AdamW: accumulationSteps must be a positive integer, got ${this.accumulationSteps}`);
    const ls = options.lossScale;
    const lso: LossScaleOptions = ls === 'dynamic' ? {} : typeof ls === 'object' && ls ? ls : {};
    const initScale = typeof ls === 'number' ? ls : ls === undefined ? 1 : (lso.init ?? 2 ** 16);
    this.scaling = {
      dynamic: ls === 'dynamic' || (typeof ls === 'object' && ls !== null),
      growthFactor: lso.growthFactor ?? 2,
      backoffFactor: lso.backoffFactor ?? 0.5,
      growthInterval: lso.growthInterval ?? 2000,
    };
    const { growthFactor, backoffFactor, growthInterval } = this.scaling;
    if (ls !== undefined && typeof ls !== 'number' && ls !== 'dynamic' && (typeof ls !== 'object' || ls === null))
      throw new Error(
        `AdamW: lossScale must be a number, 'dynamic' or { init, growthFactor, backoffFactor, growthInterval }, got ${String(ls)}`,
      );
    if (!(Number.isFinite(initScale) && initScale > 0)) throw new Error(`AdamW: lossScale must be finite and > 0, got ${initScale}`);
    if (!(growthFactor > 1) || !(backoffFactor > 0 && backoffFactor < 1) || !(Number.isInteger(growthInterval) && growthInterval >= 1))
      throw new Error(
        `AdamW: lossScale needs growthFactor > 1, 0 < backoffFactor < 1 and a positive integer growthInterval, got ${growthFactor}, ${backoffFactor}, ${growthInterval}`,
      );

    // Normalise the argument into groups of named parameters.
    let groups: ParamGroup[];
    if (params && typeof (params as any).namedParameters === 'function') groups = [{ params: (params as any).namedParameters() }];
    else {
      const list = [...(params as Iterable<unknown>)];
      if (list.length && list.every((x) => x instanceof Tensor)) groups = [{ params: list }];
      else if (list.every(isNamedPair)) groups = [{ params: list as [string, Tensor][] }];
      else if (list.every((x) => x && typeof x === 'object' && 'params' in x)) groups = list as ParamGroup[];
      else throw new Error('AdamW: params must be [name, tensor] pairs, tensors, param groups or a module with namedParameters()');
    }
    const seen = new Set<Tensor>();
    const names = new Set<string>();
    groups.forEach((group, gi) => {
      [...(group.params as Iterable<unknown>)].forEach((item, i) => {
        const [name, param] = item instanceof Tensor ? [item.name || `group${gi}.param${i}`, item] : (item as [string, Tensor]);
        if (!(param instanceof Tensor)) throw new Error(`AdamW: parameter '${name}' is not a tensor`);
        param.assertAlive(`AdamW parameter '${name}'`);
        if (param.dtype !== 'f32') throw new Error(`AdamW: parameter '${name}' is ${param.dtype}; only f32 parameters can be optimised`);
        if (seen.has(param)) throw new Error(`AdamW: parameter '${name}' appears twice (tied weights must be listed once)`);
        if (names.has(name)) throw new Error(`AdamW: two parameters are named '${name}'`);
        seen.add(param);
        names.add(name);
        const weightDecay = group.weightDecay ?? (noDecay(name) ? 0 : wd);
        this.slots.push({ name, param, weightDecay, lrScale: group.lrScale ?? 1, chunk: 0, offset: 0, steps: 0 });
      });
    });
    if (!this.slots.length) throw new Error('AdamW: no parameters');

    // Pack the moments into chunks that each fit one storage binding.
    const rt = runtime();
    const limitBytes = Math.min(rt.maxBindingSize, rt.report.limits.maxBufferSize ?? Infinity, 1 << 30);
    const chunkElems = Math.floor(limitBytes / 4);
    const sizes: number[] = [];
    for (const s of this.slots) {
      if (s.param.size > chunkElems)
        throw new Error(`AdamW: parameter '${s.name}' ${shapeStr(s.param.shape)} is larger than one storage binding (${limitBytes} bytes)`);
      // offsets are multiples of 4 so that adamw_pair4 can read the moments as vec4s
      const at = sizes.length ? Math.ceil(sizes[sizes.length - 1] / 4) * 4 : 0;
      if (!sizes.length || at + s.param.size > chunkElems) sizes.push(0);
      s.chunk = sizes.length - 1;
      s.offset = Math.ceil(sizes[sizes.length - 1] / 4) * 4;
      sizes[sizes.length - 1] = s.offset + s.param.size;
    }
    for (const size of sizes) {
      const m = zeros([Math.max(1, size)]).keep();
      const v = zeros([Math.max(1, size)]).keep();
      m.name = 'adamw.m';
      v.name = 'adamw.v';
      this.chunks.push({ m, v, size });
    }
    const totalPartials = this.slots.reduce((a, s) => a + partialsFor(s.param.size), 0);
    this.partials = zeros([totalPartials]).keep();
    this.gradNorm = zeros([1]).keep();
    this.gradNorm.name = 'adamw.gradNorm';
    this.clip = zeros([2]).keep();
    this.skipped = zeros([1], 'i32').keep();
    this.lossScale = full([1], initScale).keep();
    this.lossScale.name = 'adamw.lossScale';
    this.growthTracker = zeros([1], 'i32').keep();
  }

  /**
   * loss times the current loss scale (recorded: backward from it gives scaled gradients, which
   * step() unscales). With no lossScale option the scale is 1 and this is a copy of loss.
   */
  scaleLoss(loss: Tensor): Tensor {
    if (loss.size !== 1) throw new Error(`AdamW.scaleLoss: loss must hold one value, got ${shapeStr(loss.shape)}`);
    const scale = this.lossScale.view(loss.shape);
    const out = mul(loss, scale);
    scale.dispose();
    return out;
  }

  /** Reads the loss scale the next step's gradients should carry (submits pending work). */
  async currentLossScale(): Promise<number> {
    return this.lossScale.item();
  }

  /** Parameter names in optimizer order, with their weight decay. */
  get parameters(): { name: string; tensor: Tensor; weightDecay: number }[] {
    return this.slots.map((s) => ({ name: s.name, tensor: s.param, weightDecay: s.weightDecay }));
  }

  /** The learning rate the next step will use. */
  currentLr(): number {
    return typeof this.lr === 'function' ? this.lr(this.stepCount) : this.lr;
  }

  /**
   * Records one update of every parameter from its `.grad` (nothing is submitted). Returns the
   * global gradient norm (of the grads times 1/accumulationSteps, before clipping) as a
   * 1-element tensor that the next step overwrites: read it when you want, no readback here.
   *
   * Failure behaviour: every gradient is checked (present, alive, f32, same shape) before
   * anything is recorded, so a throw leaves parameters and state untouched. A non-finite norm
   * (a NaN or inf anywhere in the gradients) makes the GPU skip the update: parameters, m and v
   * stay as they were, and the step is counted in a GPU counter. `stepCount` (the schedule's
   * argument) still advances, like Hugging Face's scheduler when the AMP scaler skips a step;
   * the per-parameter bias-correction step counts are corrected when `syncSkipped()` (or
   * `stateDict()`) reads that counter — until then later steps use a count one higher per
   * skipped step.
   */
  step(options: { lr?: number } = {}): Tensor {
    if (this.disposed) throw new Error('AdamW.step: the optimizer was disposed');
    const lr = options.lr ?? this.currentLr();
    if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`AdamW.step: learning rate must be finite and >= 0, got ${lr}`);
    const active: Slot[] = [];
    for (const s of this.slots) {
      s.param.assertAlive(`AdamW.step: parameter '${s.name}'`);
      const g = s.param.grad;
      if (!g) {
        if (this.skipMissingGrads) continue;
        throw new Error(
          `AdamW.step: parameter '${s.name}' ${shapeStr(s.param.shape)} has no gradient (call backward() first, or pass skipMissingGrads: true); nothing was updated`,
        );
      }
      if (g.disposed) throw new Error(`AdamW.step: the gradient of '${s.name}' was disposed; nothing was updated`);
      if (g.dtype !== 'f32' || shapeStr(g.shape) !== shapeStr(s.param.shape)) {
        throw new Error(
          `AdamW.step: the gradient of '${s.name}' is ${shapeStr(g.shape)} ${g.dtype}, expected ${shapeStr(s.param.shape)} f32; nothing was updated`,
        );
      }
      if (g.buffer === s.param.buffer)
        throw new Error(`AdamW.step: the gradient of '${s.name}' shares its parameter's storage; nothing was updated`);
      active.push(s);
    }
    const rt = runtime();
    const gradScale = 1 / this.accumulationSteps;
    const slot = recordGradSumsq(
      active.map((s) => s.param.grad!),
      this.partials,
      gradScale,
    );
    const maxNorm = this.maxGradNorm && this.maxGradNorm > 0 ? this.maxGradNorm : 0;
    rt.dispatch(
      ADAMW,
      'grad_norm_finalize',
      {
        partials_in: this.partials,
        norm: this.gradNorm,
        clip: this.clip,
        skipped: this.skipped,
        loss_scale: this.lossScale,
        growth_tracker: this.growthTracker,
        fp: { slots: slot, max_norm: maxNorm, ...this.finalizeScaling() },
      },
      { workgroups: [1, 1, 1] },
    );
    const [b1, b2] = this.betas;
    // per-parameter scalars (its own step count and learning-rate scale)
    const scalars = (s: Slot) => {
      const t = s.steps + 1;
      const slr = lr * s.lrScale;
      return { decay: 1 - slr * s.weightDecay, step_size: slr / (1 - b1 ** t), bc2_sqrt: Math.sqrt(1 - b2 ** t) };
    };
    const shared = { grad_scale: gradScale, eps: this.eps, beta1: b1, one_minus_beta1: 1 - b1, beta2: b2, one_minus_beta2: 1 - b2 };
    const vec4 = (t: Slot) => t.param.size % 4 === 0; // offsets are multiples of 4 already
    // adamw_pair's uniform for tensors s and u (u absent: an empty second)
    const pairParams = (s: Slot, u: Slot | undefined) => {
      const [x, y] = [scalars(s), scalars(u ?? s)];
      return {
        n0: s.param.size,
        n1: u ? u.param.size : 0,
        offset0: s.offset,
        offset1: u ? u.offset : 0,
        decay0: x.decay,
        decay1: y.decay,
        step_size0: x.step_size,
        step_size1: y.step_size,
        bc2_sqrt0: x.bc2_sqrt,
        bc2_sqrt1: y.bc2_sqrt,
        ...shared,
      };
    };
    for (let a = 0; a < active.length;) {
      const s = active[a];
      const u = active[a + 1];
      const chunk = this.chunks[s.chunk];
      const pair = u && u.chunk === s.chunk;
      if (vec4(s) && (!pair || vec4(u))) {
        // four elements per invocation, each tensor's from a fresh workgroup; a lone tensor goes as a pair with an empty second
        const groups = (t: Slot) => Math.ceil(t.param.size / 4 / WG);
        rt.dispatch(
          ADAMW,
          'adamw_pair4',
          {
            pa4: s.param,
            ga4: s.param.grad!,
            pb4: pair ? u.param : rt.placeholder('written'),
            gb4: pair ? u.param.grad! : rt.placeholder(),
            m4: chunk.m,
            v4: chunk.v,
            clip2: this.clip,
            ap2: pairParams(s, pair ? u : undefined),
          },
          { threads: (groups(s) + (pair ? groups(u) : 0)) * WG },
        );
        a += pair ? 2 : 1;
      } else if (pair) {
        rt.dispatch(
          ADAMW,
          'adamw_pair',
          {
            pa: s.param,
            ga: s.param.grad!,
            pb: u.param,
            gb: u.param.grad!,
            m2: chunk.m,
            v2: chunk.v,
            clip2: this.clip,
            ap2: pairParams(s, u),
          },
          { threads: s.param.size + u.param.size },
        );
        a += 2;
      } else {
        rt.dispatch(
          ADAMW,
          'adamw',
          {
            p: s.param,
            g: s.param.grad!,
            m: chunk.m,
            v: chunk.v,
            clip_in: this.clip,
            ap: { n: s.param.size, offset: s.offset, ...scalars(s), ...shared, pad0: 0 },
          },
          { threads: s.param.size },
        );
        a += 1;
      }
    }
    for (const s of active) s.steps++;
    this.stepCount++;
    return this.gradNorm;
  }

  private finalizeScaling() {
    const c = this.scaling;
    return {
      dynamic: c.dynamic ? 1 : 0,
      growth_interval: c.growthInterval,
      growth_factor: c.growthFactor,
      backoff_factor: c.backoffFactor,
      pad0: 0,
      pad1: 0,
    };
  }

  /** Disposes every parameter's gradient (call after step()). */
  zeroGrad(): void {
    for (const s of this.slots) s.param.zeroGrad();
  }

  /** Reads the last step's global gradient norm (submits pending work). */
  async lastGradNorm(): Promise<number> {
    return this.gradNorm.item();
  }

  /**
   * Reads the GPU's count of skipped (non-finite) steps and takes the new ones off the
   * per-parameter step counts, so bias corrections match an optimizer that never took them.
   * Returns the total number of skipped steps.
   */
  async syncSkipped(): Promise<number> {
    const total = (await this.skipped.toArray())[0];
    const fresh = total - this.skippedSeen;
    if (fresh > 0) for (const s of this.slots) s.steps = Math.max(0, s.steps - fresh);
    this.skippedSeen = total;
    return total;
  }

  /** Everything needed to resume exactly (reads m and v back; submits pending work). */
  async stateDict(): Promise<AdamWStateDict> {
    const skippedSteps = await this.syncSkipped();
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    const paramSteps: Record<string, number> = {};
    const weightDecay: Record<string, number> = {};
    const data = await Promise.all(this.chunks.map(async (c) => [await c.m.toArray(), await c.v.toArray()] as Float32Array[]));
    for (const s of this.slots) {
      const [cm, cv] = data[s.chunk];
      m[s.name] = cm.slice(s.offset, s.offset + s.param.size);
      v[s.name] = cv.slice(s.offset, s.offset + s.param.size);
      paramSteps[s.name] = s.steps;
      weightDecay[s.name] = s.weightDecay;
    }
    const lossScale = this.scaling.dynamic
      ? { scale: (await this.lossScale.toArray())[0], growthTracker: (await this.growthTracker.toArray())[0] }
      : undefined;
    return {
      step: this.stepCount,
      paramSteps,
      skippedSteps,
      ...(lossScale && { lossScale }),
      m,
      v,
      hyperparameters: {
        lr: typeof this.lr === 'number' ? this.lr : null,
        betas: [...this.betas],
        eps: this.eps,
        weightDecay,
        maxGradNorm: this.maxGradNorm,
        accumulationSteps: this.accumulationSteps,
      },
    };
  }

  /**
   * Restores `stateDict()` output (every parameter name must match with the same size). The
   * learning rate (a schedule function cannot be serialised), betas and eps stay as constructed;
   * the step counts and moments are replaced.
   */
  loadStateDict(state: AdamWStateDict): void {
    for (const s of this.slots) {
      const m = state.m[s.name];
      const v = state.v[s.name];
      if (!m || !v) throw new Error(`AdamW.loadStateDict: no state for parameter '${s.name}'`);
      if (m.length !== s.param.size || v.length !== s.param.size)
        throw new Error(`AdamW.loadStateDict: state of '${s.name}' has ${m.length}/${v.length} elements, the parameter ${s.param.size}`);
    }
    const extra = Object.keys(state.m).filter((n) => !this.slots.some((s) => s.name === n));
    if (extra.length) throw new Error(`AdamW.loadStateDict: state for unknown parameter(s) ${extra.join(', ')}`);
    const rt = runtime();
    // Anything recorded before must run before these writes (queue writes overtake the pending encoder).
    rt.flush();
    for (const s of this.slots) {
      const c = this.chunks[s.chunk];
      const m = Float32Array.from(state.m[s.name]);
      const v = Float32Array.from(state.v[s.name]);
      rt.device.queue.writeBuffer(c.m.buffer, s.offset * 4, m.buffer, m.byteOffset, m.byteLength);
      rt.device.queue.writeBuffer(c.v.buffer, s.offset * 4, v.buffer, v.byteOffset, v.byteLength);
      s.steps = state.paramSteps[s.name] ?? state.step;
    }
    const zero = new Int32Array([0]);
    rt.device.queue.writeBuffer(this.skipped.buffer, 0, zero.buffer, 0, 4);
    if (state.lossScale && this.scaling.dynamic) {
      const { scale, growthTracker } = state.lossScale;
      if (!(Number.isFinite(scale) && scale > 0))
        throw new Error(`AdamW.loadStateDict: lossScale.scale must be finite and > 0, got ${scale}`);
      rt.device.queue.writeBuffer(this.lossScale.buffer, 0, new Float32Array([scale]).buffer, 0, 4);
      rt.device.queue.writeBuffer(this.growthTracker.buffer, 0, new Int32Array([growthTracker | 0]).buffer, 0, 4);
    }
    this.skippedSeen = 0;
    this.stepCount = state.step;
  }

  /** Frees the optimizer's GPU state (not the parameters). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.chunks) {
      c.m.dispose();
      c.v.dispose();
    }
    for (const t of [this.partials, this.gradNorm, this.clip, this.skipped, this.lossScale, this.growthTracker]) t.dispose();
  }
}

/**
 * Records the partial sums of squares of `grads` (times `scale`) into `partials`, seven gradients
 * per dispatch, in order; returns how many partials were written.
 */
function recordGradSumsq(grads: Tensor[], partials: Tensor, scale: number): number {
  const rt = runtime();
  let slot = 0;
  for (let start = 0; start < grads.length; start += SUMSQ_GROUP) {
    const group = grads.slice(start, start + SUMSQ_GROUP);
    const n = new Array(8).fill(0),
      slots = new Array(8).fill(0),
      k = new Array(8).fill(0);
    const bindings: Record<string, Tensor | Record<string, number | number[]>> = { partials_many: partials };
    // the vec4 kernel reads whole vec4s (pool buffers are); k then counts vectors
    const vec4 = group.every((g) => g.buffer.size % 16 === 0);
    for (let y = 0; y < SUMSQ_GROUP; y++) {
      const g = group[Math.min(y, group.length - 1)]; // unused lanes re-bind the last gradient (read-only, never read)
      bindings[`${vec4 ? 'h' : 'g'}${y}`] = g;
      if (y >= group.length) continue;
      n[y] = g.size;
      slots[y] = slot;
      k[y] = partialsFor(vec4 ? Math.ceil(g.size / 4) : g.size);
      slot += k[y];
    }
    bindings.smp = {
      count: group.length,
      grad_scale: scale,
      pad0: 0,
      pad1: 0,
      n_lo: n.slice(0, 4),
      n_hi: n.slice(4),
      slot_lo: slots.slice(0, 4),
      slot_hi: slots.slice(4),
      k_lo: k.slice(0, 4),
      k_hi: k.slice(4),
    };
    rt.dispatch(ADAMW, vec4 ? 'grad_sumsq_many4' : 'grad_sumsq_many', bindings, { workgroups: [Math.max(...k), group.length, 1] });
  }
  return slot;
}

function partialsFor(n: number): number {
  return Math.max(1, Math.min(MAX_PARTIALS, Math.ceil(n / (WG * 16))));
}

/**
 * The global L2 norm of `scale` times the given tensors, as a 1-element tensor computed on the
 * GPU with the same kernels as AdamW.step (no readback). For logging and tests: AdamW clips by
 * applying the coefficient inside its own kernel, so gradients are never rewritten.
 */
export function globalGradNorm(grads: Tensor[], scale = 1): Tensor {
  const rt = runtime();
  const total = grads.reduce((a, g) => a + partialsFor(g.size), 0);
  const partials = zeros([Math.max(1, total)]);
  const slot = recordGradSumsq(grads, partials, scale);
  const norm = zeros([1]);
  const clip = zeros([2]);
  const skipped = zeros([1], 'i32');
  const lossScale = full([1], 1);
  const growthTracker = zeros([1], 'i32');
  const fp = { slots: slot, max_norm: 0, dynamic: 0, growth_interval: 1, growth_factor: 2, backoff_factor: 0.5, pad0: 0, pad1: 0 };
  rt.dispatch(
    ADAMW,
    'grad_norm_finalize',
    { partials_in: partials, norm, clip, skipped, loss_scale: lossScale, growth_tracker: growthTracker, fp },
    { workgroups: [1, 1, 1] },
  );
  for (const t of [partials, clip, skipped, lossScale, growthTracker]) t.dispose();
  return norm;
}
