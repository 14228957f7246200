// Fused attention (attention.wgsl): softmax(q k^T * scale + mask), dropout on the probabilities,
// times v, per head, with the [T, T] probabilities never stored: the forward keeps each row's
// logsumexp, the backward recomputes the probabilities from it and regenerates the dropout mask
// from its Philox seed (the same mask ops.dropout would draw for the [B, heads, T, T] tensor).
import attentionSource from '../../shaders/attention.wgsl';
import philoxSource from '../../shaders/philox.wgsl';
import { defineShader, runtime, type AttentionVariant } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';
import { defaultGenerator, type Generator } from './creation.js';
import { matmulInto, type MatrixView } from './matmul.js';
import { softmaxRun } from './softmax.js';
import { autocastActive, halfCopy } from './cast.js';

const ATTENTION = defineShader('attention', attentionSource, [philoxSource]);
/** Query (key) rows per workgroup, as in the shader. */
const ROWS_PER_GROUP = 64;
/** The largest head size the shader's per-row arrays hold. */
export const MAX_ATTENTION_HEAD_DIM = 128;

export interface AttentionOptions {
  /** Heads the last axis of q, k and v is split into (head h is columns h*D .. h*D + D - 1). */
  heads: number;
  /** Multiplies q . k (default 1 / sqrt(D)). */
  scale?: number;
  /** Additive mask over keys, [B, 1, 1, T] (Hugging Face's extended attention mask) or [B, T]. */
  mask?: Tensor | null;
  /** Dropout probability on the attention probabilities (applied only when training). */
  dropout?: number;
  training?: boolean;
  generator?: Generator;
  /** Force a kernel variant (tests, benchmarks); default: the runtime's choice for the adapter. */
  variant?: AttentionVariant;
}

/**
 * Multi-head scaled dot-product attention: q, k, v [B, T, heads * D] (the projections, heads not
 * split out) -> [B, T, heads * D], context rows merged back as BERT's self-attention does.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    checkDtype('attention', name, t, 'f32');
    if (t.rank !== 3) throw new Error(`attention: ${name} must be [batch, seq, hidden], got ${shapeStr(t.shape)}`);
    if (shapeStr(t.shape) !== shapeStr(q.shape))
      throw new Error(`attention: q, k and v must have one shape, got q ${shapeStr(q.shape)}, ${name} ${shapeStr(t.shape)}`);
  }
  return attend(q, k, v, q.shape[2], false, options);
}

/**
 * attention() on one packed QKV projection [B, T, 3 * hidden] (q, k, v side by side in each row,
 * as one matmul by the concatenated weights makes it): no split copies, and the backward writes
 * one [B, T, 3 * hidden] gradient.
 */
export function attentionQkv(qkv: Tensor, options: AttentionOptions): Tensor {
  checkDtype('attentionQkv', 'qkv', qkv, 'f32');
  if (qkv.rank !== 3 || qkv.shape[2] % 3 !== 0)
    throw new Error(`attentionQkv: qkv must be [batch, seq, 3 * hidden], got ${shapeStr(qkv.shape)}`);
  return attend(qkv, qkv, qkv, qkv.shape[2] / 3, true, options);
}

function attend(q: Tensor, k: Tensor, v: Tensor, H: number, packed: boolean, options: AttentionOptions): Tensor {
  const [B, T] = q.shape;
  const { heads, mask = null, dropout = 0, training = true, generator = defaultGenerator } = options;
  if (!(Number.isInteger(heads) && heads > 0 && H % heads === 0))
    throw new Error(`attention: heads must be a positive divisor of the hidden size ${H}, got ${heads}`);
  const D = H / heads;
  const rt = runtime();
  const variant = options.variant ?? rt.attentionVariant(D);
  if (variant !== 'rows' && variant !== 'tiled' && variant !== 'unfused')
    throw new Error(`attention: unknown kernel variant '${variant}' (one of rows, tiled, unfused)`);
  if (variant !== 'unfused' && D > MAX_ATTENTION_HEAD_DIM)
    throw new Error(
      `attention: head size ${D} exceeds the fused kernel's ${MAX_ATTENTION_HEAD_DIM}; use the unfused path (variant 'unfused')`,
    );
  const scale = options.scale ?? 1 / Math.sqrt(D);
  if (mask) {
    checkDtype('attention', 'mask', mask, 'f32');
    const ok =
      (mask.rank === 4 && mask.shape[0] === B && mask.shape[1] === 1 && mask.shape[2] === 1 && mask.shape[3] === T) ||
      (mask.rank === 2 && mask.shape[0] === B && mask.shape[1] === T);
    if (!ok)
      throw new Error(`attention: mask must be [${B}, 1, 1, ${T}] or [${B}, ${T}] (additive, over keys), got ${shapeStr(mask.shape)}`);
  }
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`attention: dropout must be in [0, 1), got ${dropout}`);
  if (variant === 'unfused') return attendUnfused(q, k, v, H, packed, scale, options);
  const drop = training && dropout > 0;
  const seed = drop ? generator.next() : { seedLo: 0, seedHi: 0, offset: 0 };
  const p = {
    T,
    heads,
    row_stride: H,
    scale,
    has_mask: mask ? 1 : 0,
    has_dropout: drop ? 1 : 0,
    drop_p: dropout,
    drop_scale: drop ? 1 / (1 - dropout) : 1,
    seed_lo: seed.seedLo,
    seed_hi: seed.seedHi,
    offset: seed.offset,
    head_dim: D,
    qkv_stride: packed ? 3 * H : H,
    k_col: packed ? H : 0,
    v_col: packed ? 2 * H : 0,
    packed: packed ? 1 : 0,
  };
  if (B * heads > rt.report.limits.maxComputeWorkgroupsPerDimension)
    throw new Error(
      `attention: batch * heads = ${B * heads} exceeds this device's maxComputeWorkgroupsPerDimension (${rt.report.limits.maxComputeWorkgroupsPerDimension})`,
    );
  const workgroups: [number, number, number] = [Math.ceil(T / ROWS_PER_GROUP), B * heads, 1];
  // rows variants: 4 rows per invocation where they fit the shader's 128 lanes of 4 per array
  const rows = variant === 'tiled' ? 1 : [4, 2, 1].find((r) => r * Math.ceil(D / 4) <= 128)!;
  const constants = { ROWS: rows, ROWS_GROUP: ROWS_PER_GROUP / rows };
  const maskBinding = mask ?? rt.placeholder();
  const out = Tensor.empty([B, T, H], 'f32', 'attention');
  const lse = Tensor.empty([B, heads, T], 'f32', 'attention logsumexp');
  if (out.size > 0)
    rt.dispatch(ATTENTION, `attention_forward_${variant}`, { q, k, v, mask: maskBinding, p, o: out, lse }, { workgroups }, constants);
  const inputs = packed ? [q] : [q, k, v];
  const saved = [...inputs, out, lse, ...(mask ? [mask] : [])];
  const result = record(
    'attention',
    out,
    inputs,
    (g, savedTensors) => {
      const [sq, sk, sv] = packed ? [savedTensors[0], savedTensors[0], savedTensors[0]] : savedTensors;
      const [so, slse, smask] = savedTensors.slice(inputs.length);
      const m = smask ?? rt.placeholder();
      // packed: one gradient for the QKV projection, dq / dk / dv writing their columns of it
      const dq = Tensor.empty(q.shape, 'f32', packed ? 'attention backward dqkv' : 'attention backward dq');
      const dk = packed ? dq : Tensor.empty(q.shape, 'f32', 'attention backward dk');
      const dv = packed ? rt.placeholder() : Tensor.empty(q.shape, 'f32', 'attention backward dv');
      const delta = Tensor.empty([B, heads, T], 'f32', 'attention backward rowsum(dO * O)');
      if (out.size > 0) {
        rt.dispatch(
          ATTENTION,
          `attention_dq_${variant}`,
          { q: sq, k: sk, v: sv, mask: m, p, dout: g, saved_o: so, saved_lse: slse, dq, delta },
          { workgroups },
          constants,
        );
        rt.dispatch(
          ATTENTION,
          `attention_dkv_${variant}`,
          { q: sq, k: sk, v: sv, mask: m, p, dout: g, saved_lse: slse, saved_delta: delta, dk, dv },
          { workgroups },
          constants,
        );
      }
      delta.dispose();
      return packed ? [dq] : [dq, dk, dv as Tensor];
    },
    saved,
  );
  lse.dispose(); // the tape holds its own handle when a backward needs it
  return result;
}

/**
 * The unfused variant (CPU adapters' default): scores = scale * q k^T per head as one batched
 * matmul reading each head's columns of the projections in place, softmax with the mask and
 * dropout in one kernel, and context = probabilities @ v written straight into [B, T, H] rows:
 * 3 dispatches forward, 5 backward (dP, dV, softmax, dQ, dK; packed, the three gradients fill
 * the columns of one [B, T, 3H] tensor). Keeps the [B, heads, T, T] probabilities for backward
 * (with dropout, before and after it) and no head split / merge copies.
 */
function attendUnfused(q: Tensor, k: Tensor, v: Tensor, H: number, packed: boolean, scale: number, options: AttentionOptions): Tensor {
  const [B, T] = q.shape;
  const { heads, mask = null } = options;
  const D = H / heads;
  const ld = packed ? 3 * H : H; // row length of the projections
  const [kCol, vCol] = packed ? [H, 2 * H] : [0, 0];
  const batch = B * heads;
  // one head's [T, D] block of a projection (or of [B, T, H] gradients / context): row stride ld
  const head = (t: Tensor, col: number, rowLength: number): MatrixView => ({
    t,
    ld: rowLength,
    offset: col,
    batchStride: T * rowLength,
    headStride: D,
  });
  const square = (t: Tensor): MatrixView => ({ t, ld: T, batchStride: heads * T * T, headStride: T * T });
  const dims = { batch, heads };
  // autocast: both products on f16 operands (f16 copies of the projections and of the
  // probabilities, kept for backward in place of the f32 ones), f32 accumulation and outputs;
  // the softmax and its saved probabilities stay f32 (as torch.autocast keeps softmax in f32)
  const half = autocastActive();
  const inputs = packed ? [q] : [q, k, v];
  const operands = half ? inputs.map(halfCopy) : inputs;
  const [oq, ok, ov] = packed ? [operands[0], operands[0], operands[0]] : operands;
  const scores = Tensor.empty([B, heads, T, T], 'f32', 'attention scores');
  matmulInto({ ...dims, M: T, N: T, K: D, transB: true, alpha: scale, a: head(oq, 0, ld), b: head(ok, kCol, ld), c: square(scores) });
  const mask4 = mask && mask.rank === 2 ? mask.view([B, 1, 1, T]) : mask;
  const soft = softmaxRun(scores, {
    mask: mask4 ?? undefined,
    dropout: options.dropout,
    training: options.training,
    generator: options.generator,
  });
  scores.dispose();
  if (mask4 !== mask) mask4?.dispose();
  const probs = soft.out; // after dropout
  const probsOperand = half ? halfCopy(probs) : probs;
  const out = Tensor.empty([B, T, H], 'f32', 'attention');
  matmulInto({ ...dims, M: T, N: D, K: T, a: square(probsOperand), b: head(ov, vCol, ld), c: head(out, 0, H) });
  // the softmax's own saved probabilities when the context product does not use them as they are
  const softSaved = soft.saved !== probsOperand ? soft.saved : null;
  const result = record(
    'attention',
    out,
    inputs,
    (g0, saved) => {
      const [sq, sk, sv] = packed ? [saved[0], saved[0], saved[0]] : saved;
      const [sp, sy] = saved.slice(inputs.length);
      const g = half ? halfCopy(g0) : g0; // f16 operands take an f16 gradient
      const dq = Tensor.empty(q.shape, 'f32', packed ? 'attention backward dqkv' : 'attention backward dq');
      const dk = packed ? dq : Tensor.empty(q.shape, 'f32', 'attention backward dk');
      const dv = packed ? dq : Tensor.empty(q.shape, 'f32', 'attention backward dv');
      const dProbs = Tensor.empty([B, heads, T, T], 'f32', 'attention backward dprobs');
      matmulInto({ ...dims, M: T, N: T, K: D, transB: true, a: head(g, 0, H), b: head(sv, vCol, ld), c: square(dProbs) });
      matmulInto({ ...dims, M: T, N: D, K: T, transA: true, a: square(sp), b: head(g, 0, H), c: head(dv, vCol, ld) });
      if (g !== g0) g.dispose();
      const dScores32 = soft.backward(dProbs, sy ?? sp);
      dProbs.dispose();
      const dScores = half ? halfCopy(dScores32) : dScores32;
      matmulInto({ ...dims, M: T, N: D, K: T, alpha: scale, a: square(dScores), b: head(sk, kCol, ld), c: head(dq, 0, ld) });
      matmulInto({ ...dims, M: T, N: D, K: T, transA: true, alpha: scale, a: square(dScores), b: head(sq, 0, ld), c: head(dk, kCol, ld) });
      dScores.dispose();
      if (dScores !== dScores32) dScores32.dispose();
      return packed ? [dq] : [dq, dk, dv];
    },
    [...operands, probsOperand, ...(softSaved ? [softSaved] : [])],
  );
  // the tape holds its own handles when a backward needs them
  for (const t of new Set([probs, probsOperand, ...(softSaved ? [softSaved] : []), ...(half ? operands : [])])) t.dispose();
  return result;
}
