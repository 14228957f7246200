// Test helpers: one device per process, a seeded float64 data generator, closeness checks and
// gradient checks against central finite differences of float64 CPU references.
import * as assert from 'uvu/assert';
import { init, hasRuntime, runtime, Tensor, tensor, backward, bertConfig, type Runtime, type BertConfig } from '../src/index.js';
import type { RowVariant } from '../src/runtime.js';

let ready: Promise<Runtime> | null = null;
export function device(): Promise<Runtime> {
  if (!ready) ready = hasRuntime() ? Promise.resolve(runtime()) : init();
  return ready;
}

/** Both row-kernel variants (layer norm, cross-entropy): each on this device, whatever it would pick. */
export const ROW_VARIANTS: RowVariant[] = ['thread', 'workgroup'];

/** Runs fn with the runtime's row kernels forced to `variant`, then restores the default choice. */
export async function withRowVariant(variant: RowVariant, fn: () => Promise<void>): Promise<void> {
  const rt = await device();
  rt.setRowVariant(variant);
  try {
    await fn();
  } finally {
    rt.setRowVariant(undefined);
  }
}

/** The fine-tuning tests' one-layer BERT (hidden 16, 2 heads), no dropout unless given. */
export function tinyBertConfig(fields: Partial<BertConfig> & { vocab_size: number }, dropout = 0): BertConfig {
  return bertConfig({
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 32,
    initializer_range: 0.2,
    hidden_dropout_prob: dropout,
    attention_probs_dropout_prob: dropout,
    ...fields,
  });
}

/** Deterministic data for tests (mulberry32). */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (n: number, lo = -1, hi = 1) => Float64Array.from({ length: n }, () => lo + (hi - lo) * next()),
    int: (n: number, lo: number, hi: number) => Int32Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo))),
  };
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** f32 data rounded from float64, so CPU references see exactly what the GPU sees. */
export function f32(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(values));
}

/** Max |a - b| / (atol + rtol * |b|) must be <= 1. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, what = 'value' } = {},
): void {
  assert.is(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const err = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err;
      at = i;
    }
  }
  if (worst > 1)
    assert.unreachable(
      `${what}: element ${at} is ${actual[at]}, expected ${expected[at]} (error ${worst.toFixed(2)}x tolerance; rtol ${rtol}, atol ${atol})`,
    );
}

export async function read(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.toArray());
}

export interface GradCase {
  /** Input values (float64, already f32-representable) and shapes. */
  inputs: { data: Float64Array; shape: number[]; grad?: boolean }[];
  /** The op on GPU tensors. */
  gpu: (xs: Tensor[]) => Tensor;
  /** The same function on float64 arrays: returns the flat output. */
  ref: (xs: Float64Array[]) => Float64Array;
  rtol?: number;
  atol?: number;
  gradRtol?: number;
  gradAtol?: number;
  what: string;
}

/**
 * Checks the forward against the float64 reference, then the backward (with a random upstream
 * gradient w, i.e. d(sum(w * f))/dx) against central finite differences of the reference.
 */
export async function checkOp(c: GradCase): Promise<void> {
  await device();
  const xs = c.inputs.map((i) => tensor(Float32Array.from(i.data), i.shape).setRequiresGrad(i.grad !== false));
  const out = c.gpu(xs);
  const expected = c.ref(c.inputs.map((i) => i.data));
  assertClose(await read(out), expected, { rtol: c.rtol ?? 1e-5, atol: c.atol ?? 1e-5, what: `${c.what} forward` });
  const r = rng(99);
  const w = f32(r.uniform(out.size));
  const wt = tensor(Float32Array.from(w), out.shape);
  if (c.inputs.some((i) => i.grad !== false)) backward(out, wt);
  for (const [k, input] of c.inputs.entries()) {
    if (input.grad === false) continue;
    const numeric = new Float64Array(input.data.length);
    const h = 1e-6;
    for (let j = 0; j < input.data.length; j++) {
      const plus = c.inputs.map((i) => Float64Array.from(i.data));
      const minus = c.inputs.map((i) => Float64Array.from(i.data));
      plus[k][j] += h;
      minus[k][j] -= h;
      const fp = c.ref(plus);
      const fm = c.ref(minus);
      let s = 0;
      for (let q = 0; q < w.length; q++) s += w[q] * (fp[q] - fm[q]);
      numeric[j] = s / (2 * h);
    }
    const g = xs[k].grad;
    assert.ok(g, `${c.what}: input ${k} got no gradient`);
    assertClose(await read(g), numeric, { rtol: c.gradRtol ?? 1e-4, atol: c.gradAtol ?? 1e-4, what: `${c.what} grad of input ${k}` });
  }
  for (const t of [...xs, out, wt]) {
    t.zeroGrad();
    t.dispose();
  }
}
