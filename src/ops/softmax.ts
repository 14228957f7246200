// Softmax / log-softmax over the last axis of (x * scale + mask) (softmax.wgsl).
import softmaxSource from '../../shaders/softmax.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';

const SOFTMAX = defineShader('softmax', softmaxSource);

export interface SoftmaxOptions {
  /** Multiplies x before the softmax. */
  scale?: number;
  /**
   * Additive mask (e.g. 0 / -10000 or -inf), broadcast over x: its last axis equals x's, and its
   * leading dimensions are a prefix of x's followed by ones (e.g. [B, 1, 1, T] for [B, H, T, T]).
   */
  mask?: Tensor;
}

function maskGroup(x: Tensor, mask: Tensor): number {
  const cols = x.shape[x.rank - 1];
  const bad = () =>
    new Error(
      `softmax: mask ${shapeStr(mask.shape)} does not broadcast over x ${shapeStr(x.shape)} (the last axis must be ${cols} and the leading dimensions a prefix of x's followed by ones)`,
    );
  if (mask.shape[mask.rank - 1] !== cols || mask.rank > x.rank) throw bad();
  const lead = [...new Array(x.rank - mask.rank).fill(1), ...mask.shape.slice(0, -1)];
  const xLead = x.shape.slice(0, -1);
  let k = 0;
  while (k < lead.length && lead[k] === xLead[k]) k++;
  for (let i = k; i < lead.length; i++) if (lead[i] !== 1) throw bad();
  // Leading dims with mask 1 before a matching one (e.g. [1, T, T] masks) would need strides.
  if (lead.slice(0, k).some((d, i) => d !== xLead[i])) throw bad();
  return xLead.slice(k).reduce((a, b) => a * b, 1);
}

function run(log: boolean, x: Tensor, options: SoftmaxOptions): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  checkDtype(op, 'x', x, 'f32');
  if (x.rank === 0) throw new Error(`${op}: x must have at least one dimension`);
  const { scale = 1, mask } = options;
  if (mask) checkDtype(op, 'mask', mask, 'f32');
  const cols = x.shape[x.rank - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const group = mask ? maskGroup(x, mask) : 1;
  const out = Tensor.empty(x.shape, 'f32', op);
  const p = { rows, cols, scale, has_mask: mask ? 1 : 0, mask_group: group, pad0: 0, pad1: 0, pad2: 0 };
  // An unused mask binding still needs a buffer: bind x itself (read-only).
  runtime().dispatch(SOFTMAX, 'softmax_forward', { x, mask: mask ?? x, y: out, p }, { threads: rows }, { LOG: log ? 1 : 0 });
  return record(
    op,
    out,
    [x],
    (g, [y]) => {
      const dx = Tensor.empty(x.shape, 'f32', `${op} backward`);
      runtime().dispatch(SOFTMAX, 'softmax_backward', { g, saved_y: y, dx, p }, { threads: rows }, { LOG: log ? 1 : 0 });
      return [dx];
    },
    [out],
  );
}

export const softmax = (x: Tensor, options: SoftmaxOptions = {}) => run(false, x, options);
export const logSoftmax = (x: Tensor, options: SoftmaxOptions = {}) => run(true, x, options);
