// add / sub / mul / div / maximum / minimum with NumPy broadcasting (binary.wgsl), and
// where / maskedFill (where.wgsl). Backward passes sum gradients back to each input's shape.
import binarySource from '../../shaders/binary.wgsl';
import whereSource from '../../shaders/where.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, type Shape } from '../tensor.js';
import { broadcastShapes, broadcastStrides, checkDtype, checkRank, pack8, sameShape } from './util.js';
import { sumToShape } from './reduce.js';
import { neg, pow } from './unary.js';
import { full } from './creation.js';

const BINARY = defineShader('binary', binarySource);
const WHERE = defineShader('where', whereSource);
const OPS = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 } as const;
const ZERO4 = [0, 0, 0, 0];

function raw(name: keyof typeof OPS, a: Tensor, b: Tensor): Tensor {
  checkDtype(name, 'a', a, 'f32');
  checkDtype(name, 'b', b, 'f32');
  checkRank(name, a);
  checkRank(name, b);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = Tensor.empty(shape, 'f32', name);
  const same = sameShape(a.shape, b.shape);
  if (same && out.size % 4 === 0) {
    const p = {
      n: out.size,
      rank: 0,
      same_shape: 1,
      pad: 0,
      shape_lo: ZERO4,
      shape_hi: ZERO4,
      a_lo: ZERO4,
      a_hi: ZERO4,
      b_lo: ZERO4,
      b_hi: ZERO4,
    };
    runtime().dispatch(BINARY, 'binary4', { a4: a, b4: b, out4: out, p }, { threads: out.size / 4 }, { OP: OPS[name] });
    return out;
  }
  const [shape_lo, shape_hi] = pack8(shape);
  const [a_lo, a_hi] = pack8(broadcastStrides(a.shape, shape));
  const [b_lo, b_hi] = pack8(broadcastStrides(b.shape, shape));
  runtime().dispatch(
    BINARY,
    'binary',
    { a, b, out, p: { n: out.size, rank: shape.length, same_shape: same ? 1 : 0, pad: 0, shape_lo, shape_hi, a_lo, a_hi, b_lo, b_hi } },
    { threads: out.size },
    { OP: OPS[name] },
  );
  return out;
}

const reduceTo = (g: Tensor, shape: Shape): Tensor => sumToShape(g, shape);

/** f(t), then frees t. */
function then(t: Tensor, f: (t: Tensor) => Tensor): Tensor {
  const r = f(t);
  t.dispose();
  return r;
}

export function add(a: Tensor, b: Tensor): Tensor {
  return record('add', raw('add', a, b), [a, b], (g) => [reduceTo(g, a.shape), reduceTo(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return record('sub', raw('sub', a, b), [a, b], (g) => [reduceTo(g, a.shape), then(neg(g), (n) => reduceTo(n, b.shape))]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return record(
    'mul',
    raw('mul', a, b),
    [a, b],
    (g, [sa, sb]) => [
      a.requiresGrad ? then(raw('mul', g, sb), (t) => reduceTo(t, a.shape)) : null,
      b.requiresGrad ? then(raw('mul', g, sa), (t) => reduceTo(t, b.shape)) : null,
    ],
    [a, b],
  );
}

export function div(a: Tensor, b: Tensor): Tensor {
  return record(
    'div',
    raw('div', a, b),
    [a, b],
    (g, [sa, sb]) => {
      const da = a.requiresGrad ? then(raw('div', g, sb), (t) => reduceTo(t, a.shape)) : null;
      let db: Tensor | null = null;
      if (b.requiresGrad) {
        // d(a/b)/db = -a / b^2
        const b2 = pow(sb, 2);
        const q = raw('div', sa, b2);
        b2.dispose();
        const gq = raw('mul', g, q);
        q.dispose();
        db = then(then(gq, neg), (t) => reduceTo(t, b.shape));
      }
      return [da, db];
    },
    [a, b],
  );
}

/** Elementwise maximum with broadcasting; not differentiable (used on counts and constants). */
export function maximumNoGrad(a: Tensor, b: Tensor): Tensor {
  return raw('maximum', a, b);
}

/** out = cond ? a : b, with broadcasting; `cond` is an i32 tensor (nonzero = true). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  checkDtype('where', 'cond', cond, 'i32');
  checkDtype('where', 'a', a, 'f32');
  checkDtype('where', 'b', b, 'f32');
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  if (shape.length > 8) throw new Error(`where: rank ${shape.length} is more than 8`);
  const out = Tensor.empty(shape, 'f32', 'where');
  const [shape_lo, shape_hi] = pack8(shape);
  const [c_lo, c_hi] = pack8(broadcastStrides(cond.shape, shape));
  const [a_lo, a_hi] = pack8(broadcastStrides(a.shape, shape));
  const [b_lo, b_hi] = pack8(broadcastStrides(b.shape, shape));
  runtime().dispatch(
    WHERE,
    'where_',
    { cond, a, b, out, p: { n: out.size, rank: shape.length, pad0: 0, pad1: 0, shape_lo, shape_hi, c_lo, c_hi, a_lo, a_hi, b_lo, b_hi } },
    { threads: out.size },
  );
  return record(
    'where',
    out,
    [a, b],
    (g, [c]) => {
      const z = full([], 0);
      const ga = where(c, g, z);
      const gb = where(c, z, g);
      z.dispose();
      return [then(ga, (t) => reduceTo(t, a.shape)), then(gb, (t) => reduceTo(t, b.shape))];
    },
    [cond],
  );
}

/** x with `value` where mask != 0 (mask broadcasts to x). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const v = full([], value);
  const out = where(mask, v, x);
  v.dispose();
  return out;
}
