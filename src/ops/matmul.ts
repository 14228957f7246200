// Batched matrix multiply (matmul.wgsl, matmul-subgroup.wgsl, matmul-subgroup4.wgsl) with
// transpose flags; the kernel variant (shared-memory tiles, barrier-free register blocking,
// subgroup broadcasts) is chosen per adapter and shape by the runtime, or by timing them once per
// device and shape class (tuneMatmul).
import matmulSource from '../../shaders/matmul.wgsl';
import matmulSubgroupSource from '../../shaders/matmul-subgroup.wgsl';
import matmulSubgroup4Source from '../../shaders/matmul-subgroup4.wgsl';
import matmulIoSource from '../../shaders/matmul-io.wgsl';
import geluSource from '../../shaders/gelu.wgsl';
import subgroupLanesSource from '../../shaders/subgroup-lanes.wgsl';
import { defineShader, runtime, matmulShapeClass, type Bindable, type MatmulShape, type MatmulVariant, type Runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';
import { reshape } from './shape.js';
import { sum } from './reduce.js';
import { full } from './creation.js';
import { autocastActive, cast, halfCopy } from './cast.js';

const MATMUL = defineShader('matmul', matmulSource, [geluSource, matmulIoSource]);
// `enable` must precede every declaration.
const MATMUL_SUBGROUP = defineShader('matmul_subgroup', matmulSubgroupSource, [
  'enable subgroups;',
  subgroupLanesSource,
  geluSource,
  matmulIoSource,
]);
// A and B read as vec4s (f32 only: f16 operands take matmul_subgroup)
const MATMUL_SUBGROUP4 = defineShader('matmul_subgroup4', matmulSubgroup4Source, [
  'enable subgroups;',
  subgroupLanesSource,
  geluSource,
  retype(matmulIoSource, ['A', 'B'], 'vec4f'),
]);
// 8 row groups of SG rows per workgroup instead of 4: twice the FMAs per B load (f32 only)
const MATMUL_SUBGROUP_TALL = defineShader('matmul_subgroup_tall', tallRowGroups(matmulSubgroupSource), [
  'enable subgroups;',
  subgroupLanesSource,
  geluSource,
  matmulIoSource,
]);
const MATMUL_SUBGROUP4_TALL = defineShader('matmul_subgroup4_tall', tallRowGroups(matmulSubgroup4Source), [
  'enable subgroups;',
  subgroupLanesSource,
  geluSource,
  retype(matmulIoSource, ['A', 'B'], 'vec4f'),
]);
// B stored as f16 (weights for inference on devices with shader-f16), every load widened to f32,
// so the products accumulate in f32 as in the f32 kernels; A and B both f16: autocast's operands
const MATMUL_F16B = defineShader('matmul_f16b', widen(matmulSource, 'B'), [
  'enable f16;',
  geluSource,
  retype(matmulIoSource, ['B'], 'f16'),
]);
const MATMUL_SUBGROUP_F16B = defineShader('matmul_subgroup_f16b', widen(matmulSubgroupSource, 'B'), [
  'enable f16;\nenable subgroups;',
  subgroupLanesSource,
  geluSource,
  retype(matmulIoSource, ['B'], 'f16'),
]);
const MATMUL_F16AB = defineShader('matmul_f16ab', widen(widen(matmulSource, 'B'), 'A'), [
  'enable f16;',
  geluSource,
  retype(matmulIoSource, ['A', 'B'], 'f16'),
]);
const MATMUL_SUBGROUP_F16AB = defineShader('matmul_subgroup_f16ab', widen(widen(matmulSubgroupSource, 'B'), 'A'), [
  'enable f16;\nenable subgroups;',
  subgroupLanesSource,
  geluSource,
  retype(matmulIoSource, ['A', 'B'], 'f16'),
]);

/** A subgroup kernel's source with 8 row groups per workgroup (its `const RG = 4u`). */
function tallRowGroups(source: string): string {
  const declared = 'const RG = 4u;';
  if (!source.includes(declared)) throw new Error(`matmul: no '${declared}' to widen in a subgroup kernel`);
  return source.replace(declared, 'const RG = 8u;');
}

/** The kernels that broadcast op(A) across a subgroup's lanes (need subgroups of 4 or 8). */
const SUBGROUP_VARIANTS: readonly MatmulVariant[] = ['subgroup', 'subgrouptall', 'subgroup4', 'subgroup4tall'];
/** Those that read A and B as vec4s (f32 operands, vec4Readable), and those with 8 row groups. */
const VEC4_VARIANTS: readonly MatmulVariant[] = ['subgroup4', 'subgroup4tall'];
const TALL_VARIANTS: readonly MatmulVariant[] = ['subgrouptall', 'subgroup4tall'];

/** matmul-io.wgsl with the named operands declared as array<element>. */
function retype(io: string, names: string[], element: string): string {
  let out = io;
  for (const name of names) {
    const decl = `var<storage, read> ${name}: array<f32>;`;
    if (!out.includes(decl)) throw new Error(`matmul: matmul-io.wgsl no longer declares '${decl}'`);
    out = out.replace(decl, `var<storage, read> ${name}: array<${element}>;`);
  }
  return out;
}

/** A kernel source with every load X[...] of operand `name` written f32(X[...]) (brackets matched). */
function widen(src: string, name: string): string {
  let out = '';
  let i = 0;
  const load = new RegExp(`(?<![A-Za-z0-9_.])${name}\\[`, 'g');
  for (let m = load.exec(src); m; m = load.exec(src)) {
    let depth = 0;
    let j = m.index + 1;
    for (; j < src.length; j++) {
      if (src[j] === '[') depth++;
      else if (src[j] === ']' && --depth === 0) break;
    }
    out += `${src.slice(i, m.index)}f32(${src.slice(m.index, j + 1)})`;
    i = j + 1;
    load.lastIndex = i;
  }
  return out + src.slice(i);
}

/**
 * Output rows x columns one workgroup of each variant's entry point (matmul_<variant>) covers:
 * its workgroup size (x = columns, y = rows) times the block of outputs of one invocation.
 */
const GROUP_TILE: Record<MatmulVariant, [number, number]> = {
  tiled: [16, 16], // 16x16 invocations, 1 output each
  register: [4 * 8, 16 * 8], // 16x4 invocations, 8x8 outputs each
  register16: [8 * 16, 8 * 16], // 8x8 invocations, 16x16 outputs each
  subgroup: [4 * 8, 8 * 8], // one subgroup of SG = 8 lanes, 4 SG rows x 8 columns each (matmul-subgroup.wgsl; halved for SG = 4)
  subgroup4: [4 * 8, 8 * 8], // the same blocks, loaded as vec4s (matmul-subgroup4.wgsl)
  subgroup4tall: [8 * 8, 8 * 8], // 8 SG rows x 8 columns, loaded as vec4s
  subgrouptall: [8 * 8, 8 * 8], // the same with scalar loads (matmul-subgroup.wgsl, RG = 8)
};

/**
 * Whether matmul_subgroup4 can read an operand as vec4s: f32, every stride and offset a multiple
 * of 4 elements, and a buffer of whole vec4s (pool buffers are).
 */
function vec4Readable(v: MatrixView): boolean {
  return (
    v.t.dtype === 'f32' &&
    v.ld % 4 === 0 &&
    (v.offset ?? 0) % 4 === 0 &&
    (v.batchStride ?? 0) % 4 === 0 &&
    (v.headStride ?? 0) % 4 === 0 &&
    v.t.buffer.size % 16 === 0
  );
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Multiplies the product (saves a separate scale op, e.g. attention's 1/sqrt(d)). */
  alpha?: number;
  /** [N], added to every output row in the same dispatch (a linear layer's bias). */
  bias?: Tensor | null;
  /** Force a kernel variant (benchmarks and tests). */
  variant?: MatmulVariant;
}

/**
 * alpha * op(a) @ op(b) (+ bias) where op transposes the last two axes when transA / transB is
 * set. a: [..., M, K], b: [..., K, N]; batch dimensions must be equal, or either operand 2-D
 * (shared over the batch); bias: [N]. Result: [..., M, N].
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false, alpha = 1, bias = null } = options;
  if (autocastActive() && a.dtype === 'f32') {
    // f16 operands (recorded casts: their backward hands the f32 gradients back), f32 product
    const [a16, b16] = [cast(a, 'f16'), cast(b, 'f16')];
    const out = matmul(a16, b16, options);
    a16.dispose();
    if (b16 !== b) b16.dispose();
    return out;
  }
  // f16 A: autocast's cast operand, with an f16 B
  checkDtype('matmul', 'a', a, b.dtype === 'f16' && a.dtype === 'f16' ? 'f16' : 'f32');
  if (b.dtype === 'f16') {
    // f16 parameters are for inference: their gradient would need an f16 accumulation path
    if (b.requiresGrad && !b.node)
      throw new Error(`matmul: b ${shapeStr(b.shape)} is f16 and requires grad; f16 storage is for weights that do not train`);
  } else checkDtype('matmul', 'b', b, 'f32');
  if (bias) checkDtype('matmul', 'bias', bias, 'f32');
  if (a.rank < 2 || b.rank < 2)
    throw new Error(`matmul: both operands need at least 2 dimensions, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  // A batched `a` times a shared 2-D `b` is one big 2-D product (the linear-layer case).
  if (a.rank > 2 && b.rank === 2 && !transA) {
    const M = a.shape[a.rank - 2];
    const a2 = reshape(a, [-1, a.shape[a.rank - 1]]);
    const c2 = matmul(a2, b, options);
    const out = reshape(c2, [...a.shape.slice(0, -2), M, c2.shape[1]]);
    a2.dispose();
    c2.dispose();
    return out;
  }
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const M = transA ? aCols : aRows;
  const K = transA ? aRows : aCols;
  const Kb = transB ? bCols : bRows;
  const N = transB ? bRows : bCols;
  if (K !== Kb) {
    throw new Error(
      `matmul: inner dimensions differ: a ${shapeStr(a.shape)}${transA ? ' (transposed)' : ''} has K = ${K}, b ${shapeStr(b.shape)}${transB ? ' (transposed)' : ''} has K = ${Kb}`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (aBatch.length && bBatch.length && shapeStr(aBatch) !== shapeStr(bBatch)) {
    throw new Error(`matmul: batch dimensions differ: a ${shapeStr(a.shape)} vs b ${shapeStr(b.shape)}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) {
    throw new Error(`matmul: bias must be [${N}] (the output's last dimension), got ${shapeStr(bias.shape)}`);
  }
  const batchShape = aBatch.length ? aBatch : bBatch;
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const out = Tensor.empty([...batchShape, M, N], 'f32', 'matmul');
  if (M * N * batch > 0 && K === 0) throw new Error(`matmul: K = 0 (a ${shapeStr(a.shape)}, b ${shapeStr(b.shape)})`);
  matmulInto({
    M,
    N,
    K,
    batch,
    transA,
    transB,
    alpha,
    a: { t: a, ld: transA ? M : K, batchStride: aBatch.length ? M * K : 0 },
    b: { t: b, ld: transB ? K : N, batchStride: bBatch.length ? K * N : 0 },
    c: { t: out, ld: N, batchStride: M * N },
    bias: bias ? { t: bias } : null,
    variant: options.variant,
  });
  const inputs = bias ? [a, b, bias] : [a, b];
  return record(
    'matmul',
    out,
    inputs,
    (g0, [sa, sb]) => {
      const opts = { alpha, variant: options.variant };
      // f16 operands (autocast): the gradient is cast to f16 too, as an f16 output's would be
      const g = sa.dtype === 'f16' ? halfCopy(g0) : g0;
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      let dbias: Tensor | null = null;
      if (a.requiresGrad) {
        da = transA ? matmul(sb, g, { ...opts, transA: transB, transB: true }) : matmul(g, sb, { ...opts, transB: !transB });
        if (da.rank > a.rank) da = sumLeading(da, da.rank - a.rank);
      }
      if (b.requiresGrad && bias?.requiresGrad && transB && !transA && g.dtype === 'f32' && g.rank === 2 && sa.rank === 2) {
        // a linear layer (x W^T + bias): dW = g^T x, and the kernel may sum g's columns (the
        // bias gradient) from the loads it makes anyway
        const [rows, K2] = sa.shape;
        db = Tensor.empty([N, K2], 'f32', 'matmul');
        dbias = Tensor.empty([N], 'f32', 'matmul bias grad');
        const summed = matmulInto({
          M: N,
          N: K2,
          K: rows,
          transA: true,
          alpha,
          a: { t: g, ld: N },
          b: { t: sa, ld: K2 },
          c: { t: db, ld: K2 },
          rowSums: dbias,
          variant: options.variant,
        });
        if (!summed) {
          dbias.dispose();
          dbias = null;
        }
      } else if (b.requiresGrad) {
        db = transB ? matmul(g, sa, { ...opts, transA: true, transB: transA }) : matmul(sa, g, { ...opts, transA: !transA });
        if (db.rank > b.rank) db = sumLeading(db, db.rank - b.rank);
      }
      if (bias?.requiresGrad && !dbias) {
        const rows = reshape(g0, [-1, N]);
        dbias = sum(rows, 0);
        rows.dispose();
      }
      if (g !== g0) g.dispose();
      return bias ? [da, db, dbias] : [da, db];
    },
    [a, b],
  );
}

/**
 * One operand of matmulInto read (or, for c, written) in place: element (r, c) of product z of
 * the batch at offset + (z / heads) * batchStride + (z % heads) * headStride + r * ld + c.
 */
export interface MatrixView {
  t: Bindable;
  ld: number;
  offset?: number;
  batchStride?: number;
  headStride?: number;
}

export interface MatmulIntoOptions {
  M: number;
  N: number;
  K: number;
  /** Products in the batch (default 1), numbered z = outer * heads + head. */
  batch?: number;
  /** How many consecutive products share an outer index (default 1): heads of attention. */
  heads?: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  a: MatrixView;
  b: MatrixView;
  c: MatrixView;
  /** [N] from offset, added to every row. */
  bias?: { t: Bindable; offset?: number } | null;
  /** c = gelu(alpha * a b + bias), the exact GELU. */
  gelu?: boolean;
  /** Also writes alpha * a b (before bias and GELU) here, laid out as c (GELU's backward input). */
  pre?: Bindable | null;
  /**
   * [M] f32: also the sums over k of op(a)'s rows (before alpha), from the loads the product
   * makes anyway (a linear layer's bias gradient beside its weight's). Only the subgroup kernels
   * ('subgroup', 'subgrouptall', 'subgroup4', 'subgroup4tall') write them, for batch 1:
   * matmulInto returns whether they were written (else sum them).
   */
  rowSums?: Bindable | null;
  variant?: MatmulVariant;
}

/**
 * Records one matmul dispatch c = alpha * op(a) @ op(b) (+ bias) (GELU) on views of existing
 * buffers, with no autograd: for ops that read a packed projection in place and write their
 * outputs (or gradients) into columns of a bigger tensor (attention's heads, the QKV projection).
 */
export function matmulInto(o: MatmulIntoOptions): boolean {
  const { M, N, K, batch = 1, heads = 1, transA = false, transB = false, alpha = 1, a, b, c } = o;
  const bias = o.bias ?? null;
  const rt = runtime();
  let variant = o.variant ?? rt.matmulVariant(M, N, K, transA, transB, batch);
  const sg = rt.report.subgroupSize;
  if (SUBGROUP_VARIANTS.includes(variant) && sg !== 4 && sg !== 8)
    throw new Error(
      `matmul: variant '${variant}' needs the 'subgroups' feature with a fixed subgroup size of 4 or 8 (this device: ${sg ?? 'none'})`,
    );
  if (VEC4_VARIANTS.includes(variant) && !(vec4Readable(a) && vec4Readable(b))) {
    // the same blocks with scalar loads (f16 operands always: there is no f16 vec4 kernel);
    // a forced choice on misaligned f32 operands says why it cannot run
    if (o.variant && a.t.dtype === 'f32' && b.t.dtype === 'f32')
      throw new Error(
        `matmul: variant '${variant}' reads A and B as vec4s: needs row strides (lda ${a.ld}, ldb ${b.ld}), offsets, batch and head strides that are multiples of 4 and buffers of whole vec4s`,
      );
    variant = variant === 'subgroup4tall' ? 'subgrouptall' : 'subgroup';
  }
  // f16 operands: the 4-row-group kernel, whose f16 twins exist
  if (variant === 'subgrouptall' && (a.t.dtype === 'f16' || b.t.dtype === 'f16')) variant = 'subgroup';
  const vec4Kernel = VEC4_VARIANTS.includes(variant);
  const subgroupKernel = SUBGROUP_VARIANTS.includes(variant);
  const tile = GROUP_TILE[variant];
  if (!tile) throw new Error(`matmul: unknown kernel variant '${variant}' (one of ${Object.keys(GROUP_TILE).join(', ')})`);
  if (M * N * batch === 0) return false;
  if (K === 0) throw new Error(`matmul: K = 0 (a product of ${M} x ${N} outputs)`);
  const rowSums = o.rowSums && subgroupKernel && batch === 1 ? o.rowSums : null;
  const params = {
    M,
    N,
    K,
    alpha,
    stride_a: a.batchStride ?? 0,
    stride_b: b.batchStride ?? 0,
    stride_c: c.batchStride ?? 0,
    heads,
    head_a: a.headStride ?? 0,
    head_b: b.headStride ?? 0,
    head_c: c.headStride ?? 0,
    lda: a.ld,
    ldb: b.ld,
    ldc: c.ld,
    off_a: a.offset ?? 0,
    off_b: b.offset ?? 0,
    off_c: c.offset ?? 0,
    bias_off: bias?.offset ?? 0,
    pad0: 0,
    pad1: 0,
  };
  const [rowsPerGroup, colsPerGroup] = subgroupKernel ? [(TALL_VARIANTS.includes(variant) ? 8 : 4) * sg!, 8 * sg!] : tile;
  const workgroups: [number, number, number] = [Math.ceil(N / colsPerGroup), Math.ceil(M / rowsPerGroup), batch];
  const halves = `${a.t.dtype === 'f16' ? 'a' : ''}${b.t.dtype === 'f16' ? 'b' : ''}`;
  if (halves === 'a') throw new Error('matmul: an f16 A needs an f16 B (autocast casts both)');
  const shaders = {
    '': [MATMUL, MATMUL_SUBGROUP],
    b: [MATMUL_F16B, MATMUL_SUBGROUP_F16B],
    ab: [MATMUL_F16AB, MATMUL_SUBGROUP_F16AB],
  }[halves]!;
  rt.profileShape = `${batch > 1 ? `${batch}x ` : ''}${M}x${N}x${K}${transA ? ' tA' : ''}${transB ? ' tB' : ''}`;
  const f32Only = { subgrouptall: MATMUL_SUBGROUP_TALL, subgroup4: MATMUL_SUBGROUP4, subgroup4tall: MATMUL_SUBGROUP4_TALL }[
    variant as string
  ];
  rt.dispatch(
    f32Only ?? shaders[variant === 'subgroup' ? 1 : 0],
    vec4Kernel ? 'matmul_subgroup4' : subgroupKernel ? 'matmul_subgroup' : `matmul_${variant}`,
    {
      A: a.t,
      B: b.t,
      C: c.t,
      p: params,
      bias: bias?.t ?? rt.placeholder(),
      C_pre: o.pre ?? rt.placeholder('written'),
      ...(subgroupKernel ? { row_sums: rowSums ?? rt.placeholder('row sums') } : {}),
    },
    { workgroups },
    {
      TRANS_A: transA ? 1 : 0,
      TRANS_B: transB ? 1 : 0,
      HAS_BIAS: bias ? 1 : 0,
      GELU: o.gelu ? 1 : 0,
      STORE_PRE: o.pre ? 1 : 0,
      ...(subgroupKernel ? { SG: sg! } : {}),
      ...(subgroupKernel ? { ROW_SUMS: rowSums ? 1 : 0 } : {}),
      ...(vec4Kernel ? { K_TAIL: K % 4 ? 1 : 0 } : {}),
    },
  );
  return rowSums !== null;
}

function sumLeading(t: Tensor, count: number): Tensor {
  let r = t;
  for (let i = 0; i < count; i++) {
    const next = sum(r, 0);
    r.dispose();
    r = next;
  }
  return r;
}

// ---- Measured variant choice (once per device and shape class, cached) ----

/** Bumped whenever a kernel changes: measurements of older kernels are then ignored. */
const TUNING_VERSION = 6;
const STORAGE_KEY = 'bertgpu:matmul-tuning';

/** The variants worth timing on this device: every kernel it can run. */
export function matmulCandidates(rt: Runtime = runtime()): MatmulVariant[] {
  const sg = rt.report.subgroupSize;
  return ['register', 'register16', 'tiled', ...(sg === 4 || sg === 8 ? SUBGROUP_VARIANTS : [])];
}

/** What identifies a device's measurements: adapter, runtime, subgroup size and kernel version. */
export function matmulDeviceKey(rt: Runtime = runtime()): string {
  const a = rt.report.adapter;
  return [
    rt.report.runtime,
    a.vendor,
    a.architecture,
    a.device,
    a.description,
    `sg${rt.report.subgroupSize ?? 0}`,
    `v${TUNING_VERSION}`,
  ].join('|');
}

function envValue(name: string): string | undefined {
  const g = globalThis as any;
  try {
    if (g.Deno?.env) return g.Deno.env.get(name) ?? undefined;
    return g.process?.env?.[name];
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/** The tuning mode in force: the init option, else BERTGPU_MATMUL_TUNING=0 turns it off. */
export function matmulTuningMode(rt: Runtime = runtime()): boolean | 'memory' {
  const option = rt.options.matmulTuning;
  if (option !== undefined) return option;
  const env = envValue('BERTGPU_MATMUL_TUNING');
  return env === '0' || env === 'off' || env === 'false' ? false : env === 'memory' ? 'memory' : true;
}

type Stored = Record<string, Record<string, MatmulVariant>>;

/** The cache file in Node / Deno ($XDG_CACHE_HOME or ~/.cache, then bertgpu/matmul-tuning.json), null elsewhere. */
export function matmulTuningFile(): string | null {
  if ((globalThis as any).localStorage && typeof (globalThis as any).Deno === 'undefined') return null;
  const base = envValue('XDG_CACHE_HOME') || (envValue('HOME') ? `${envValue('HOME')}/.cache` : envValue('LOCALAPPDATA'));
  return base ? `${base}/bertgpu/matmul-tuning.json` : null;
}

async function nodeFs(): Promise<any | null> {
  const name = 'node:fs/promises'; // in a variable so browser bundlers leave it alone
  try {
    return await import(/* @vite-ignore */ name);
  } catch {
    return null;
  }
}

async function readStored(): Promise<Stored> {
  const ls = (globalThis as any).localStorage;
  try {
    const file = matmulTuningFile();
    if (file) {
      const fs = await nodeFs();
      return fs ? (JSON.parse(await fs.readFile(file, 'utf8')) as Stored) : {};
    }
    return ls ? ((JSON.parse(ls.getItem(STORAGE_KEY) ?? '{}') as Stored) ?? {}) : {};
  } catch {
    return {}; // absent, unreadable or not JSON: measure again
  }
}

async function writeStored(all: Stored): Promise<void> {
  const text = JSON.stringify(all, null, 1);
  const file = matmulTuningFile();
  try {
    if (file) {
      const fs = await nodeFs();
      if (!fs) return;
      const dir = file.slice(0, file.lastIndexOf('/'));
      await fs.mkdir(dir, { recursive: true });
      const tmp = `${file}.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`;
      await fs.writeFile(tmp, text);
      await fs.rename(tmp, file); // atomic: a reader sees the old file or the new one
    } else {
      (globalThis as any).localStorage?.setItem(STORAGE_KEY, text);
    }
  } catch {
    // a read-only home or a full disk: the choices still hold for this process
  }
}

/**
 * Loads this device's stored matmul choices into the runtime (with tuning on and persisted).
 * Returns how many shape classes it found.
 */
export async function loadMatmulTuning(rt: Runtime = runtime()): Promise<number> {
  if (matmulTuningMode(rt) !== true) return 0;
  const mine = (await readStored())[matmulDeviceKey(rt)] ?? {};
  const known = new Set(matmulCandidates(rt));
  let n = 0;
  for (const [key, v] of Object.entries(mine)) {
    if (!known.has(v)) continue;
    rt.matmulChoices.set(key, v);
    rt.matmulUntuned.delete(key);
    n++;
  }
  return n;
}

export interface TuneMatmulOptions {
  /** Variants to time (default: matmulCandidates). */
  variants?: MatmulVariant[];
  /** Rounds of timed products, each variant in turn, after the warm-up (default 3; the best counts). */
  reps?: number;
  /** Products bigger than this many multiply-adds are timed with fewer rows (default 2^28). */
  maxMacs?: number;
  /** Measure classes that already have a choice too. */
  force?: boolean;
}

/**
 * Times every candidate kernel on one product of each shape class not measured yet (by default
 * the classes matmul has been asked for since init: runtime().matmulUntuned) and keeps the
 * fastest as that class's choice; with tuning persisted, the choices are stored for the next
 * process on this device. Does nothing when tuning is off (matmulTuning: false or
 * BERTGPU_MATMUL_TUNING=0). Returns the choices it made.
 */
export async function tuneMatmul(shapes?: MatmulShape[], options: TuneMatmulOptions = {}): Promise<Map<string, MatmulVariant>> {
  const rt = runtime();
  const made = new Map<string, MatmulVariant>();
  const mode = matmulTuningMode(rt);
  if (mode === false) return made;
  if (mode === true) await loadMatmulTuning(rt);
  const { variants = matmulCandidates(rt), reps = 3, maxMacs = 2 ** 28, force = false } = options;
  const todo = new Map<string, MatmulShape>();
  for (const s of shapes ?? [...rt.matmulUntuned.values()]) {
    const key = matmulShapeClass(s.M, s.N, s.K, s.transA, s.transB);
    if (force || !rt.matmulChoices.has(key)) todo.set(key, s);
  }
  for (const [key, s] of todo) {
    const { transA = false, transB = false, N, K } = s;
    // Fewer rows for a huge product: the kernels' speed per FMA hardly depends on M once every
    // core has workgroups (kept a multiple of 64, the tallest workgroup, so no kernel is timed on
    // a mostly empty last block; and of 4 when the real M is, so a transposed A keeps its vec4 rows)
    const fewer = Math.max(1, Math.min(s.M, Math.floor(maxMacs / Math.max(1, N * K))));
    const M = fewer < s.M ? (fewer >= 64 ? fewer - (fewer % 64) : s.M % 4 === 0 && fewer >= 4 ? fewer - (fewer % 4) : fewer) : fewer;
    const a = full(transA ? [K, M] : [M, K], 0.5);
    const b = full(transB ? [N, K] : [K, N], 0.25);
    const vec4 = vec4Readable({ t: a, ld: transA ? M : K }) && vec4Readable({ t: b, ld: transB ? K : N });
    // (the vec4 kernels cannot read every stride: there they would run their scalar twin)
    const timed = variants.filter((v) => vec4 || !VEC4_VARIANTS.includes(v));
    const once = async (variant: MatmulVariant) => {
      const t0 = performance.now();
      matmul(a, b, { transA, transB, variant }).dispose();
      await rt.sync();
      return performance.now() - t0;
    };
    for (const variant of timed) await once(variant); // compiles the pipelines (seconds on a CPU driver)
    // rounds over all variants in turn, so a machine that speeds up or slows down meanwhile
    // (a busy or shared box) skews them alike; the best time of each
    const ms = new Map(timed.map((v) => [v, Infinity]));
    for (let r = 0; r < reps; r++) {
      const bestSoFar = Math.min(...ms.values());
      for (const variant of timed) {
        if (ms.get(variant)! > 3 * bestSoFar) continue; // clearly slower: no need to time it again
        ms.set(variant, Math.min(ms.get(variant)!, await once(variant)));
      }
    }
    let best: MatmulVariant | null = null;
    for (const [variant, t] of ms) if (best === null || t < ms.get(best)!) best = variant;
    a.dispose();
    b.dispose();
    rt.matmulChoices.set(key, best!);
    rt.matmulUntuned.delete(key);
    made.set(key, best!);
  }
  if (mode === true && made.size) {
    const all = await readStored();
    const id = matmulDeviceKey(rt);
    all[id] = { ...(all[id] ?? {}), ...Object.fromEntries(made) };
    await writeStored(all);
  }
  return made;
}
