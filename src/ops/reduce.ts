// Reductions over one axis (reduce.wgsl): sum, mean, max, argmax, with keepdim; and
// sumToShape, which undoes broadcasting in backward passes.
import reduceSource from '../../shaders/reduce.wgsl';
import argBetterSource from '../../shaders/arg-better.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, type Shape, shapeStr } from '../tensor.js';
import { checkDtype, normalizeAxis } from './util.js';
import { expand, reshape, setSumToShape } from './shape.js';

const REDUCE = defineShader('reduce', reduceSource, [argBetterSource]);

function split(x: Tensor, ax: number) {
  const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  return { outer, n: x.shape[ax], inner };
}

function reducedShape(x: Tensor, ax: number, keepdim: boolean): number[] {
  const s = [...x.shape];
  if (keepdim) s[ax] = 1;
  else s.splice(ax, 1);
  return s;
}

/** Rows per first-pass invocation of a long sum (CHUNK in reduce.wgsl). */
const SUM_CHUNK = 256;

/** out[o, k] = scale * sum_j x[o, j, k]; sums over more than 4 chunks run in two passes. */
function reduceSumInto(x: Tensor, out: Tensor, outer: number, n: number, inner: number, scale: number): void {
  const rt = runtime();
  rt.profileShape = `${outer}x${n}x${inner}`;
  if (n <= 4 * SUM_CHUNK) {
    rt.dispatch(REDUCE, 'reduce_sum', { x, out, p: { outer, n, inner, scale } }, { threads: outer * inner });
    return;
  }
  const chunks = Math.ceil(n / SUM_CHUNK);
  const partial = Tensor.empty([outer, chunks, inner], 'f32', 'sum partials');
  rt.dispatch(REDUCE, 'reduce_sum_partial', { x, out: partial, p: { outer, n, inner, scale: 1 } }, { threads: outer * chunks * inner });
  reduceSumInto(partial, out, outer, chunks, inner, scale);
  partial.dispose();
}

function sumScaled(op: string, x: Tensor, axis: number | undefined, keepdim: boolean, mean: boolean): Tensor {
  checkDtype(op, 'x', x, 'f32');
  if (axis === undefined) {
    // Over every element: flatten, reduce, reshape to [] (or [1, ..., 1] with keepdim).
    const flat = reshape(x, [x.size]);
    const r = sumScaled(op, flat, 0, false, mean);
    flat.dispose();
    if (!keepdim) return r;
    const kept = reshape(
      r,
      x.shape.map(() => 1),
    );
    r.dispose();
    return kept;
  }
  const ax = normalizeAxis(op, axis, x.rank);
  const { outer, n, inner } = split(x, ax);
  if (mean && n === 0) throw new Error(`${op}: mean over an empty axis ${axis} of ${shapeStr(x.shape)}`);
  const outShape = reducedShape(x, ax, keepdim);
  const out = Tensor.empty(outShape, 'f32', op);
  const scale = mean ? 1 / n : 1;
  reduceSumInto(x, out, outer, n, inner, scale);
  return record(op, out, [x], (g) => {
    const kept = reshape(g, reducedShape(x, ax, true));
    const dx = expand(kept, x.shape);
    kept.dispose();
    if (scale === 1) return [dx];
    const scaled = mulScalarHook!(dx, scale);
    dx.dispose();
    return [scaled];
  });
}

export const sum = (x: Tensor, axis?: number, keepdim = false) => sumScaled('sum', x, axis, keepdim, false);
export const mean = (x: Tensor, axis?: number, keepdim = false) => sumScaled('mean', x, axis, keepdim, true);

/** A row reduction (inner = 1) takes a workgroup per row under the 'workgroup' row variant (GPUs). */
function maxKernel(entry: string, outer: number, inner: number): [string, { threads: number }] {
  return inner === 1 && runtime().rowVariant() === 'workgroup'
    ? [`${entry}_wg`, { threads: outer * 64 }]
    : [entry, { threads: outer * inner }];
}

/** Maximum over `axis` (torch.amax); the gradient flows to the first maximum. */
export function max(x: Tensor, axis: number, keepdim = false): Tensor {
  checkDtype('max', 'x', x, 'f32');
  const ax = normalizeAxis('max', axis, x.rank);
  const { outer, n, inner } = split(x, ax);
  if (n === 0) throw new Error(`max: axis ${axis} of ${shapeStr(x.shape)} is empty`);
  const outShape = reducedShape(x, ax, keepdim);
  const out = Tensor.empty(outShape, 'f32', 'max');
  const index = Tensor.empty(outShape, 'i32', 'max index');
  const [entry, grid] = maxKernel('reduce_max', outer, inner);
  runtime().dispatch(REDUCE, entry, { x, out, out_index: index, p: { outer, n, inner, scale: 1 } }, grid);
  const result = record(
    'max',
    out,
    [x],
    (g, [arg]) => {
      const dx = Tensor.empty(x.shape, 'f32', 'max backward');
      runtime().dispatch(REDUCE, 'max_backward', { g, arg, out: dx, p: { outer, n, inner, scale: 1 } }, { threads: x.size });
      return [dx];
    },
    [index],
  );
  index.dispose();
  return result;
}

/** Index of the first maximum over `axis` (i32). */
export function argmax(x: Tensor, axis: number, keepdim = false): Tensor {
  checkDtype('argmax', 'x', x, 'f32');
  const ax = normalizeAxis('argmax', axis, x.rank);
  const { outer, n, inner } = split(x, ax);
  if (n === 0) throw new Error(`argmax: axis ${axis} of ${shapeStr(x.shape)} is empty`);
  const out = Tensor.empty(reducedShape(x, ax, keepdim), 'i32', 'argmax');
  const [entry, grid] = maxKernel('reduce_argmax', outer, inner);
  runtime().dispatch(REDUCE, entry, { x, out_index: out, p: { outer, n, inner, scale: 1 } }, grid);
  out.intRange = [0, n];
  return out;
}

/** Sums a broadcast result back to `shape` (the backward of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g.view(shape, 'sumToShape');
  let t = g;
  const lead = g.rank - shape.length;
  const owned: Tensor[] = [];
  for (let i = 0; i < lead; i++) {
    t = sum(t, 0, false);
    owned.push(t);
  }
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1 && t.shape[i] !== 1) {
      t = sum(t, i, true);
      owned.push(t);
    }
  }
  const out = reshape(t, shape);
  for (const o of owned) o.dispose();
  return out;
}
setSumToShape(sumToShape);

let mulScalarHook: ((x: Tensor, s: number) => Tensor) | null = null;
export function setMulScalar(fn: (x: Tensor, s: number) => Tensor): void {
  mulScalarHook = fn;
}
