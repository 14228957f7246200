// Elementwise functions (unary.wgsl): forward y = f(x), backward dx = g * f'(x) in one kernel.
import unarySource from '../../shaders/unary.wgsl';
import geluSource from '../../shaders/gelu.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record } from '../tensor.js';
import { checkDtype } from './util.js';

const UNARY = defineShader('unary', unarySource, [geluSource]);

const OPS = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  rsqrt: 4,
  tanh: 5,
  relu: 6,
  sigmoid: 7,
  gelu: 8,
  geluTanh: 9,
  pow: 10,
  addScalar: 11,
  mulScalar: 12,
  abs: 13,
} as const;
type UnaryName = keyof typeof OPS;

function unary(name: UnaryName, x: Tensor, alpha = 0): Tensor {
  checkDtype(name, 'x', x, 'f32');
  if (!Number.isFinite(alpha)) throw new Error(`${name}: scalar must be finite, got ${alpha}`);
  const out = Tensor.empty(x.shape, 'f32', name);
  const constants = { OP: OPS[name] };
  runtime().dispatch(UNARY, 'unary_forward', { x, y: out, p: { n: x.size, alpha } }, { threads: x.size }, constants);
  return record(
    name,
    out,
    [x],
    (g, [xs, ys]) => {
      const dx = Tensor.empty(x.shape, 'f32', `${name} backward`);
      runtime().dispatch(UNARY, 'unary_backward', { x: xs, g, saved_y: ys, dx, p: { n: x.size, alpha } }, { threads: x.size }, constants);
      return [dx];
    },
    [x, out],
  );
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const relu = (x: Tensor) => unary('relu', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const abs = (x: Tensor) => unary('abs', x);
/** GELU; `approximate: 'tanh'` is the tanh form (HF "gelu_new"), the default is exact (erf, HF "gelu"). */
export const gelu = (x: Tensor, { approximate = 'none' } = {}) => unary(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
export const pow = (x: Tensor, exponent: number) => unary('pow', x, exponent);
export const addScalar = (x: Tensor, s: number) => unary('addScalar', x, s);
export const mulScalar = (x: Tensor, s: number) => unary('mulScalar', x, s);
export const subScalar = (x: Tensor, s: number) => unary('addScalar', x, -s);
export const divScalar = (x: Tensor, s: number) => {
  if (s === 0) throw new Error('divScalar: division by zero');
  return unary('mulScalar', x, 1 / s);
};
