// Creating tensors: from data, constants, ranges (fill.wgsl) and seeded random numbers (rng.wgsl).
import fillSource from '../../shaders/fill.wgsl';
import rngSource from '../../shaders/rng.wgsl';
import philoxSource from '../../shaders/philox.wgsl';
import { defineShader, runtime, type DType, type Shader } from '../runtime.js';
import { Tensor, type Shape } from '../tensor.js';

const FILL = defineShader('fill', fillSource);
export const RNG: Shader = defineShader('rng', rngSource, [philoxSource]);

export function tensor(data: ArrayLike<number> | Float32Array | Int32Array, shape?: Shape, dtype?: DType): Tensor {
  return Tensor.fromData(data, shape, dtype);
}

export function full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  const out = Tensor.empty(shape, dtype, 'full');
  fillInto(out, value, 0);
  return out;
}

function fillInto(out: Tensor, value: number, step: number): void {
  if (out.dtype === 'i32' && (!Number.isInteger(value) || !Number.isInteger(step))) {
    throw new Error(`full/arange: an i32 tensor needs integer values, got ${value} (step ${step})`);
  }
  runtime().dispatch(FILL, `fill_${out.dtype}`, { [`out_${out.dtype}`]: out, p: { n: out.size, value, step } }, { threads: out.size });
}

export const zeros = (shape: Shape, dtype: DType = 'f32') => full(shape, 0, dtype);
export const ones = (shape: Shape, dtype: DType = 'f32') => full(shape, 1, dtype);
export const zerosLike = (t: Tensor) => full(t.shape, 0, t.dtype);
export const onesLike = (t: Tensor) => full(t.shape, 1, t.dtype);

/** [start, start + step, ...) below `end`, like torch.arange. */
export function arange(start: number, end?: number, step = 1, dtype: DType = 'i32'): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const out = Tensor.empty([n], dtype, 'arange');
  fillInto(out, start, step);
  return out;
}

// ---- random numbers ----

/**
 * A counter-based generator: numbers depend only on (seed, offset, index), so the same seed
 * gives the same bits on every runtime and device (rng.wgsl says how). Each draw advances the offset.
 */
export class Generator {
  constructor(
    public seed: number = 0,
    public offset: number = 0,
  ) {
    checkSeed(seed);
  }
  /** Reserves a fresh counter stream for one draw. */
  next(): { seedLo: number; seedHi: number; offset: number } {
    const offset = this.offset;
    this.offset = (this.offset + 1) >>> 0;
    return { seedLo: this.seed >>> 0, seedHi: Math.floor(this.seed / 2 ** 32) >>> 0, offset };
  }
  state(): { seed: number; offset: number } {
    return { seed: this.seed, offset: this.offset };
  }
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative safe integer, got ${seed}`);
}

export const defaultGenerator = new Generator(0);

/** Sets the default generator's seed (and resets its stream), like torch.manual_seed. */
export function manualSeed(seed: number): void {
  checkSeed(seed);
  defaultGenerator.seed = seed;
  defaultGenerator.offset = 0;
}

function random(entry: string, shape: Shape, a: number, b: number, gen: Generator): Tensor {
  const out = Tensor.empty(shape, 'f32', entry);
  const s = gen.next();
  runtime().dispatch(
    RNG,
    entry,
    { out, p: { n: out.size, seed_lo: s.seedLo, seed_hi: s.seedHi, offset: s.offset, a, b, pad0: 0, pad1: 0 } },
    { threads: out.size },
  );
  return out;
}

/** Uniform in [low, high). */
export const rand = (shape: Shape, { low = 0, high = 1, generator = defaultGenerator } = {}) =>
  random('rand_uniform', shape, low, high, generator);
/** Normal with the given mean and std. */
export const randn = (shape: Shape, { mean = 0, std = 1, generator = defaultGenerator } = {}) =>
  random('rand_normal', shape, mean, std, generator);
/** 1 with probability p, else 0 (f32). */
export function bernoulli(shape: Shape, p: number, { generator = defaultGenerator } = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`bernoulli: p must be in [0, 1], got ${p}`);
  return random('rand_bernoulli', shape, p, 0, generator);
}
