// Small helpers shared by the ops: shape checks, broadcasting, packing strides for the kernels.
import { Tensor, shapeStr, type Shape } from '../tensor.js';
import type { DType } from '../runtime.js';

export const MAX_RANK = 8;

export function checkDtype(op: string, arg: string, t: Tensor, dtype: DType): void {
  t.assertAlive(op);
  if (t.dtype !== dtype) throw new Error(`${op}: ${arg} must be ${dtype}, got ${t.dtype} (${shapeStr(t.shape)})`);
}

export function checkRank(op: string, t: Tensor): void {
  if (t.rank > MAX_RANK) throw new Error(`${op}: tensors of rank ${t.rank} are not supported (at most ${MAX_RANK})`);
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** NumPy broadcasting of two shapes; the error names the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides to read a tensor of `shape` as if it had `outShape` (0 on broadcast dimensions). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((d, i) => {
    const k = i - offset;
    if (k < 0 || shape[k] === 1) return 0;
    return strides[k];
  });
}

/** Packs up to 8 values as two vec4<u32> ([lo, hi]) for the strided kernels. */
export function pack8(values: readonly number[]): [number[], number[]] {
  const v = [...values];
  while (v.length < 8) v.push(1);
  return [v.slice(0, 4), v.slice(4, 8)];
}

export function normalizeAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
