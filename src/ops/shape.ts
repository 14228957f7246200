// Shape ops: reshape (a view), and copies through copy.wgsl: permute/transpose, slice, concat,
// expand (broadcast to a shape) and contiguous copies.
import copySource from '../../shaders/copy.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr, type Shape } from '../tensor.js';
import { checkRank, contiguousStrides, normalizeAxis, pack8, MAX_RANK } from './util.js';
import { zeros } from './creation.js';

const COPY = defineShader('copy', copySource);

/** dst[dstOffset + c . dstStrides] = src[srcOffset + c . srcStrides] for every c in `region`. */
export function stridedCopy(
  src: Tensor,
  srcOffset: number,
  srcStrides: number[],
  dst: Tensor,
  dstOffset: number,
  dstStrides: number[],
  region: Shape,
): void {
  if (region.length > MAX_RANK) throw new Error(`copy: rank ${region.length} is more than ${MAX_RANK}`);
  if (src.dtype !== dst.dtype) throw new Error(`copy: dtype ${src.dtype} -> ${dst.dtype}`);
  let n = 1;
  for (const d of region) n *= d;
  if (n === 0) return;
  const [shape_lo, shape_hi] = pack8(region);
  const [src_lo, src_hi] = pack8(srcStrides);
  const [dst_lo, dst_hi] = pack8(dstStrides);
  const dt = src.dtype;
  runtime().dispatch(
    COPY,
    `copy_${dt}`,
    {
      [`src_${dt}`]: src,
      [`dst_${dt}`]: dst,
      p: { n, rank: region.length, src_offset: srcOffset, dst_offset: dstOffset, shape_lo, shape_hi, src_lo, src_hi, dst_lo, dst_hi },
    },
    { threads: n },
  );
}

export function reshape(x: Tensor, shape: Shape): Tensor {
  const out = x.view(shape, 'reshape');
  return record('reshape', out, [x], (g) => [reshape(g, x.shape)]);
}

export function permute(x: Tensor, dims: number[]): Tensor {
  x.assertAlive('permute');
  checkRank('permute', x);
  if (dims.length !== x.rank) throw new Error(`permute: got ${dims.length} dims for a tensor of rank ${x.rank}`);
  const axes = dims.map((d) => normalizeAxis('permute', d, x.rank));
  if (new Set(axes).size !== axes.length) throw new Error(`permute: dims [${dims.join(', ')}] repeat an axis`);
  const strides = contiguousStrides(x.shape);
  const outShape = axes.map((a) => x.shape[a]);
  const out = Tensor.empty(outShape, x.dtype, 'permute');
  stridedCopy(
    x,
    0,
    axes.map((a) => strides[a]),
    out,
    0,
    contiguousStrides(outShape),
    outShape,
  );
  const inverse = axes.map((_, i) => axes.indexOf(i));
  return record('permute', out, [x], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const dims = x.shape.map((_, i) => i);
  const i = normalizeAxis('transpose', a, x.rank);
  const j = normalizeAxis('transpose', b, x.rank);
  [dims[i], dims[j]] = [dims[j], dims[i]];
  return permute(x, dims);
}

/** x[..., start:end, ...] along `axis` (end exclusive; negative values count from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  x.assertAlive('slice');
  const ax = normalizeAxis('slice', axis, x.rank);
  const n = x.shape[ax];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  if (!(Number.isInteger(s) && Number.isInteger(e) && 0 <= s && s <= e && e <= n)) {
    throw new Error(`slice: range ${start}:${end ?? ''} is out of bounds for axis ${axis} of size ${n} (shape ${shapeStr(x.shape)})`);
  }
  const outShape = [...x.shape];
  outShape[ax] = e - s;
  const strides = contiguousStrides(x.shape);
  const out = Tensor.empty(outShape, x.dtype, 'slice');
  stridedCopy(x, s * strides[ax], strides, out, 0, contiguousStrides(outShape), outShape);
  return record('slice', out, [x], (g) => {
    const dx = zeros(x.shape);
    stridedCopy(g, 0, contiguousStrides(outShape), dx, s * strides[ax], strides, outShape);
    return [dx];
  });
}

/** Joins tensors along `axis`; all other dimensions must agree. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors given');
  const first = xs[0].assertAlive('concat');
  const ax = normalizeAxis('concat', axis, first.rank);
  for (const [i, t] of xs.entries()) {
    t.assertAlive('concat');
    if (t.dtype !== first.dtype) throw new Error(`concat: tensor ${i} is ${t.dtype}, tensor 0 is ${first.dtype}`);
    if (t.rank !== first.rank || t.shape.some((d, k) => k !== ax && d !== first.shape[k])) {
      throw new Error(`concat: tensor ${i} has shape ${shapeStr(t.shape)}, incompatible with ${shapeStr(first.shape)} along axis ${ax}`);
    }
  }
  const outShape = [...first.shape];
  outShape[ax] = xs.reduce((a, t) => a + t.shape[ax], 0);
  const out = Tensor.empty(outShape, first.dtype, 'concat');
  const outStrides = contiguousStrides(outShape);
  const offsets: number[] = [];
  let at = 0;
  for (const t of xs) {
    offsets.push(at);
    stridedCopy(t, 0, contiguousStrides(t.shape), out, at * outStrides[ax], outStrides, t.shape);
    at += t.shape[ax];
  }
  return record('concat', out, xs, (g) => xs.map((t, i) => slice(g, ax, offsets[i], offsets[i] + t.shape[ax])));
}

/** Broadcasts x to `shape` (a copy). The backward sums over the broadcast dimensions. */
export function expand(x: Tensor, shape: Shape): Tensor {
  x.assertAlive('expand');
  const offset = shape.length - x.rank;
  if (offset < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[i + offset])) {
    throw new Error(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  }
  const strides = contiguousStrides(x.shape);
  const srcStrides = shape.map((d, i) => (i < offset || x.shape[i - offset] === 1 ? 0 : strides[i - offset]));
  const out = Tensor.empty(shape, x.dtype, 'expand');
  stridedCopy(x, 0, srcStrides, out, 0, contiguousStrides(shape), shape);
  return record('expand', out, [x], (g) => [sumToShapeHook!(g, x.shape)]);
}

/** A copy with its own storage. */
export function clone(x: Tensor): Tensor {
  x.assertAlive('clone');
  const out = Tensor.empty(x.shape, x.dtype, 'clone');
  const s = contiguousStrides(x.shape);
  stridedCopy(x, 0, s, out, 0, s, x.shape);
  return record('clone', out, [x], (g) => [clone(g)]);
}

let sumToShapeHook: ((g: Tensor, shape: Shape) => Tensor) | null = null;
/** Set by reduce.ts (avoids an import cycle). */
export function setSumToShape(fn: (g: Tensor, shape: Shape) => Tensor): void {
  sumToShapeHook = fn;
}
