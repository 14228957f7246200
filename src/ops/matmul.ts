// Batched matrix multiply (matmul.wgsl) with transpose flags; the kernel variant (shared-memory
// tiles or barrier-free register blocking) is chosen per adapter and shape by the runtime.
import matmulSource from '../../shaders/matmul.wgsl';
import { defineShader, runtime, type MatmulVariant } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';
import { reshape } from './shape.js';
import { sum } from './reduce.js';

const MATMUL = defineShader('matmul', matmulSource);

/**
 * Output rows x columns one workgroup of each variant's entry point (matmul_<variant>) covers:
 * its workgroup size (x = columns, y = rows) times the block of outputs of one invocation.
 */
const GROUP_TILE: Record<MatmulVariant, [number, number]> = {
  tiled: [16, 16], // 16x16 invocations, 1 output each
  register: [4 * 8, 16 * 8], // 16x4 invocations, 8x8 outputs each
  register16: [8 * 16, 8 * 16], // 8x8 invocations, 16x16 outputs each
};

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
  checkDtype('matmul', 'a', a, 'f32');
  checkDtype('matmul', 'b', b, 'f32');
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
  const rt = runtime();
  const variant = options.variant ?? rt.matmulVariant(M, N, K);
  const params = {
    M,
    N,
    K,
    alpha,
    stride_a: aBatch.length ? M * K : 0,
    stride_b: bBatch.length ? K * N : 0,
    stride_c: M * N,
    pad: 0,
  };
  const tile = GROUP_TILE[variant];
  if (!tile) throw new Error(`matmul: unknown kernel variant '${variant}' (one of ${Object.keys(GROUP_TILE).join(', ')})`);
  const [rowsPerGroup, colsPerGroup] = tile;
  const workgroups: [number, number, number] = [Math.ceil(N / colsPerGroup), Math.ceil(M / rowsPerGroup), batch];
  if (M * N * batch > 0) {
    if (K === 0) throw new Error(`matmul: K = 0 (a ${shapeStr(a.shape)}, b ${shapeStr(b.shape)})`);
    rt.dispatch(
      MATMUL,
      `matmul_${variant}`,
      { A: a, B: b, C: out, p: params, bias: bias ?? rt.placeholder() },
      { workgroups },
      { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0, HAS_BIAS: bias ? 1 : 0 },
    );
  }
  const inputs = bias ? [a, b, bias] : [a, b];
  return record(
    'matmul',
    out,
    inputs,
    (g, [sa, sb]) => {
      const opts = { alpha, variant: options.variant };
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      let dbias: Tensor | null = null;
      if (a.requiresGrad) {
        da = transA ? matmul(sb, g, { ...opts, transA: transB, transB: true }) : matmul(g, sb, { ...opts, transB: !transB });
        if (da.rank > a.rank) da = sumLeading(da, da.rank - a.rank);
      }
      if (b.requiresGrad) {
        db = transB ? matmul(g, sa, { ...opts, transA: true, transB: transA }) : matmul(sa, g, { ...opts, transA: !transA });
        if (db.rank > b.rank) db = sumLeading(db, db.rank - b.rank);
      }
      if (bias?.requiresGrad) {
        const rows = reshape(g, [-1, N]);
        dbias = sum(rows, 0);
        rows.dispose();
      }
      return bias ? [da, db, dbias] : [da, db];
    },
    [a, b],
  );
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
