// Tensors (contiguous GPU storage, shape, dtype), scopes that free intermediates, and the
// autograd tape: each op output that needs a gradient carries a node with its inputs and a
// backward closure; `backward()` walks them once in reverse topological order.
import { runtime, type Bindable, type DType, type Runtime, BYTES_PER_ELEMENT } from './runtime.js';

export type Shape = readonly number[];

/** Reference-counted GPU storage; views and saved-for-backward handles share it. */
class Storage {
  refs = 1;
  /** The runtime the buffer was made on: it goes back to that one's pool, even after a new init(). */
  readonly rt: Runtime = runtime();
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
  retain(): void {
    this.refs++;
  }
  releaseRef(): void {
    if (--this.refs === 0) this.rt.release(this.buffer);
  }
}

export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Returns one gradient per input (null where the input needs none). */
  backward(grad: Tensor): (Tensor | null)[];
  /** Handles kept alive for backward; released once the node has run. */
  saved: Tensor[];
}

let nextId = 1;
let gradEnabled = true;
const scopes: Set<Tensor>[] = [];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`${what}: invalid shape ${shapeStr(shape)} (dimensions must be non-negative integers)`);
  }
}

export class Tensor implements Bindable {
  readonly id = nextId++;
  readonly shape: number[];
  readonly dtype: DType;
  readonly size: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  /** CPU copy of integer data uploaded from the CPU (ids, labels): lets ops check ranges without a readback. */
  hostData: Int32Array | null = null;
  /** For integer data made on the GPU by an op that bounds it (argmax: [0, n)): values lie in [lo, hi). */
  intRange: readonly [number, number] | null = null;
  name = '';
  private storage: Storage | null;

  constructor(storage: Storage, shape: Shape, dtype: DType) {
    this.storage = storage;
    this.shape = [...shape];
    this.dtype = dtype;
    this.size = shapeSize(shape);
    storage.rt.liveTensors++;
    scopes.at(-1)?.add(this);
  }

  /** A new tensor with uninitialised storage (for kernel outputs). */
  static empty(shape: Shape, dtype: DType = 'f32', what = 'tensor'): Tensor {
    checkShape(shape, what);
    const bytes = shapeSize(shape) * BYTES_PER_ELEMENT[dtype];
    const rt = runtime();
    return new Tensor(new Storage(rt.acquire(bytes, `${what} ${shapeStr(shape)} ${dtype}`, true), bytes), shape, dtype);
  }

  /** A tensor holding `data` (copied to the GPU). */
  static fromData(data: ArrayLike<number> | Float32Array | Int32Array, shape?: Shape, dtype?: DType): Tensor {
    dtype ??= data instanceof Int32Array ? 'i32' : 'f32';
    shape ??= [data.length];
    checkShape(shape, 'tensor');
    if (shapeSize(shape) !== data.length) {
      throw new Error(`tensor: data has ${data.length} elements but shape ${shapeStr(shape)} needs ${shapeSize(shape)}`);
    }
    if (dtype === 'f16') return Tensor.fromHalf(data, shape);
    const typed = dtype === 'f32' ? Float32Array.from(data as ArrayLike<number>) : Int32Array.from(data as ArrayLike<number>);
    if (dtype === 'i32') {
      for (let i = 0; i < data.length; i++) {
        const v = (data as ArrayLike<number>)[i];
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)
          throw new Error(`tensor: i32 data[${i}] = ${v} is not a 32-bit integer`);
      }
    }
    const bytes = typed.byteLength;
    const rt = runtime();
    const buffer = rt.acquire(bytes, `tensor ${shapeStr(shape)} ${dtype}`);
    if (bytes) rt.upload(buffer, typed);
    const t = new Tensor(new Storage(buffer, bytes), shape, dtype);
    if (dtype === 'i32') t.hostData = typed as Int32Array;
    return t;
  }

  /** f16 storage of `data` (rounded to nearest even), padded to whole 4-byte words as buffers are. */
  private static fromHalf(data: ArrayLike<number>, shape: Shape): Tensor {
    const rt = runtime();
    if (!rt.hasFeature('shader-f16'))
      throw new Error(
        `tensor: f16 storage needs the device feature 'shader-f16', which this adapter (${rt.report.adapter.description || rt.report.adapter.device || 'unnamed'}) does not offer; keep f32`,
      );
    const halves = new Uint16Array(data.length + (data.length % 2));
    for (let i = 0; i < data.length; i++) halves[i] = f32ToF16Bits(data[i]);
    const buffer = rt.acquire(halves.byteLength, `tensor ${shapeStr(shape)} f16`);
    if (halves.byteLength) rt.upload(buffer, halves);
    return new Tensor(new Storage(buffer, halves.byteLength), shape, 'f16');
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  get buffer(): GPUBuffer {
    return this.alive('use').buffer;
  }

  get bytes(): number {
    return this.alive('use').bytes;
  }

  get label(): string {
    return `${this.name || 'tensor#' + this.id} ${shapeStr(this.shape)} ${this.dtype}`;
  }

  private alive(what: string): Storage {
    if (!this.storage)
      throw new Error(`${what}: tensor#${this.id}${this.name ? ` '${this.name}'` : ''} ${shapeStr(this.shape)} was disposed`);
    if (this.storage.rt.destroyed)
      throw new Error(
        `${what}: tensor#${this.id}${this.name ? ` '${this.name}'` : ''} ${shapeStr(this.shape)} was made on a device that a later init() replaced; make it again (or load it again) on the new one`,
      );
    return this.storage;
  }

  /** Checks the tensor is usable by `op` (not disposed). */
  assertAlive(op: string): this {
    this.alive(op);
    return this;
  }

  /** A tensor of another shape over the same storage (same number of elements). */
  view(shape: Shape, op = 'reshape'): Tensor {
    const st = this.alive(op);
    const resolved = resolveShape(shape, this.size, op, this.shape);
    st.retain();
    const t = new Tensor(st, resolved, this.dtype);
    t.hostData = this.hostData;
    t.intRange = this.intRange;
    return t;
  }

  /** A handle on the same storage that outlives the user's dispose (for backward). */
  saveForBackward(): Tensor {
    const st = this.alive('save for backward');
    st.retain();
    const prev = scopes.pop();
    try {
      const t = new Tensor(st, this.shape, this.dtype);
      t.hostData = this.hostData;
      t.intRange = this.intRange;
      return t;
    } finally {
      if (prev) scopes.push(prev);
    }
  }

  /** Reads the data back (submits pending work). */
  async toArray(): Promise<Float32Array | Int32Array> {
    const st = this.alive('toArray');
    if (this.dtype === 'f16') {
      const bytes = Math.ceil(this.size / 2) * 4;
      const halves = new Uint16Array(await st.rt.read(st.buffer, 0, bytes), 0, this.size);
      return Float32Array.from(halves, f16BitsToF32);
    }
    const bytes = this.size * 4;
    const data = await st.rt.read(st.buffer, 0, bytes);
    return this.dtype === 'f32' ? new Float32Array(data) : new Int32Array(data);
  }

  /** Reads a one-element tensor back as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements, expected 1 (shape ${shapeStr(this.shape)})`);
    return (await this.toArray())[0];
  }

  dispose(): void {
    if (!this.storage) return;
    const rt = this.storage.rt;
    this.storage.releaseRef();
    this.storage = null;
    rt.liveTensors--;
    for (const s of scopes) s.delete(this);
  }

  /** Removes the tensor from the enclosing scopes, so they do not dispose it. */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  detach(): Tensor {
    const t = this.view(this.shape, 'detach');
    return t;
  }

  setRequiresGrad(v = true): this {
    this.requiresGrad = v;
    return this;
  }

  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /** Gradient of this (scalar, unless `grad` is given) tensor with respect to every leaf that requires one. */
  backward(grad?: Tensor): void {
    backward(this, grad);
  }
}

function resolveShape(shape: Shape, size: number, op: string, from: Shape): number[] {
  const out = [...shape];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = shapeSize(out.filter((_, i) => i !== unknown));
    if (known === 0 || size % known !== 0)
      throw new Error(`${op}: cannot reshape ${shapeStr(from)} (${size} elements) to ${shapeStr(shape)}`);
    out[unknown] = size / known;
  }
  checkShape(out, op);
  if (shapeSize(out) !== size) throw new Error(`${op}: cannot reshape ${shapeStr(from)} (${size} elements) to ${shapeStr(shape)}`);
  return out;
}

// ---- scopes ----

/** Runs `fn`; tensors created inside and not returned (or kept) are disposed when it ends. */
export function scope<T>(fn: () => T): T {
  const set = new Set<Tensor>();
  scopes.push(set);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of set) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) throw new Error('scope: the function returned a Promise; use scopeAsync');
  for (const t of collectTensors(result)) set.delete(t);
  for (const t of set) t.dispose();
  // Returned tensors belong to the enclosing scope now.
  const outer = scopes.at(-1);
  if (outer) for (const t of collectTensors(result)) outer.add(t);
  return result;
}

/** Like `scope` for async functions (ops still record synchronously). */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const set = new Set<Tensor>();
  scopes.push(set);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    // as scope(): a function that throws leaves nothing behind
    for (const t of set) t.dispose();
    throw e;
  } finally {
    const i = scopes.lastIndexOf(set);
    if (i >= 0) scopes.splice(i, 1);
  }
  for (const t of collectTensors(result)) set.delete(t);
  for (const t of set) t.dispose();
  const outer = scopes.at(-1);
  if (outer) for (const t of collectTensors(result)) outer.add(t);
  return result;
}

function collectTensors(x: unknown, out: Tensor[] = [], depth = 0): Tensor[] {
  if (x instanceof Tensor) out.push(x);
  else if (depth < 4 && Array.isArray(x)) for (const v of x) collectTensors(v, out, depth + 1);
  else if (depth < 4 && x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    for (const v of Object.values(x)) collectTensors(v, out, depth + 1);
  }
  return out;
}

// ---- autograd ----

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording the tape. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t?.requiresGrad);
}

/**
 * Attaches a tape node to `out` when any input requires a gradient. `save` lists tensors the
 * backward closure reads; they are kept alive (even if the caller disposes them) until it ran.
 */
export function record(
  op: string,
  out: Tensor,
  inputs: Tensor[],
  backwardFn: (grad: Tensor, saved: Tensor[]) => (Tensor | null)[],
  save: Tensor[] = [],
): Tensor {
  if (!needsGrad(...inputs)) return out;
  const saved = save.map((t) => t.saveForBackward());
  out.requiresGrad = true;
  out.node = { op, inputs, saved, backward: (g) => backwardFn(g, saved) };
  return out;
}

/** Tensors whose tape node an earlier backward() ran and freed (a second backward through them fails, as in torch). */
const freedGraphs = new WeakSet<Tensor>();

/** Frees a node's saved tensors and drops it from the tape. */
function releaseNode(t: Tensor): void {
  if (!t.node) return;
  for (const s of t.node.saved) s.dispose();
  t.node = null;
  freedGraphs.add(t);
}

function freedGraphError(t: Tensor): Error {
  return new Error(
    `backward: tensor ${t.label} was computed by a graph that an earlier backward() already ran and freed; run the forward again before a second backward() (torch: "Trying to backward through the graph a second time")`,
  );
}

let addForGrad: ((a: Tensor, b: Tensor) => Tensor) | null = null;
let onesLike: ((t: Tensor) => Tensor) | null = null;
/** Set by ops/index.ts: the adds used to accumulate gradients (avoids an import cycle). */
export function setGradHelpers(add: (a: Tensor, b: Tensor) => Tensor, ones: (t: Tensor) => Tensor): void {
  addForGrad = add;
  onesLike = ones;
}

function topoOrder(root: Tensor): Tensor[] {
  // Iterative DFS post-order: each node visited once, however many paths lead to it.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward: tensor ${root.label} does not require grad (no input of its graph has requiresGrad)`);
  if (!grad && root.size !== 1)
    throw new Error(`backward: tensor ${shapeStr(root.shape)} is not a scalar; pass the gradient of its output`);
  if (grad && shapeStr(grad.shape) !== shapeStr(root.shape)) {
    throw new Error(`backward: gradient shape ${shapeStr(grad.shape)} does not match tensor shape ${shapeStr(root.shape)}`);
  }
  if (freedGraphs.has(root)) throw freedGraphError(root);
  const order = topoOrder(root);
  for (const t of order) if (freedGraphs.has(t)) throw freedGraphError(t);
  const grads = new Map<Tensor, Tensor>();
  const prevGrad = gradEnabled;
  gradEnabled = false;
  try {
    grads.set(root, grad ? grad.view(grad.shape, 'backward') : onesLike!(root));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      grads.delete(t);
      if (!g) {
        releaseNode(t);
        continue;
      }
      if (!t.node) {
        // A leaf: accumulate into .grad, which outlives any scope.
        if (t.grad) {
          const sum = addForGrad!(t.grad, g);
          t.grad.dispose();
          g.dispose();
          t.grad = sum.keep();
        } else t.grad = g.keep();
        continue;
      }
      const node = t.node;
      const inGrads = node.backward(g);
      g.dispose();
      node.inputs.forEach((input, k) => {
        const gi = inGrads[k];
        if (!gi) return;
        if (!input.requiresGrad) {
          gi.dispose();
          return;
        }
        if (shapeStr(gi.shape) !== shapeStr(input.shape)) {
          throw new Error(
            `backward of ${node.op}: gradient for input ${k} has shape ${shapeStr(gi.shape)}, expected ${shapeStr(input.shape)}`,
          );
        }
        const prev = grads.get(input);
        if (prev) {
          grads.set(input, addForGrad!(prev, gi));
          prev.dispose();
          gi.dispose();
        } else grads.set(input, gi);
      });
      releaseNode(t);
    }
  } finally {
    gradEnabled = prevGrad;
    for (const g of grads.values()) g.dispose();
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE binary16 bits of v, rounded to nearest even (overflow to infinity, NaN kept). */
export function f32ToF16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    if (e < -10) return sign; // too small: zero
    // subnormal: shift in the implicit bit, round to nearest even
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // a carry out of the mantissa moves to the exponent, as it should (up to infinity)
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** The f32 value of IEEE binary16 bits. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
