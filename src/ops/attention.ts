// Fused attention (attention.wgsl): softmax(q k^T * scale + mask), dropout on the probabilities,
// times v, per head, with the [T, T] probabilities never stored: the forward keeps each row's
// logsumexp, the backward recomputes the probabilities from it and regenerates the dropout mask
// from its Philox seed (the same mask ops.dropout would draw for the [B, heads, T, T] tensor).
import attentionSource from '../../shaders/attention.wgsl';
import philoxSource from '../../shaders/philox.wgsl';
import { defineShader, runtime, type AttentionKernel } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';
import { defaultGenerator, type Generator } from './creation.js';

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
  variant?: AttentionKernel;
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
  if (D > MAX_ATTENTION_HEAD_DIM)
    throw new Error(
      `attention: head size ${D} exceeds the fused kernel's ${MAX_ATTENTION_HEAD_DIM}; use the unfused path (runtime attentionVariant 'unfused')`,
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
  const rt = runtime();
  const variant = options.variant ?? rt.attentionVariant(D);
  if (variant !== 'rows' && variant !== 'tiled') throw new Error(`attention: unknown kernel variant '${variant}' (one of rows, tiled)`);
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
