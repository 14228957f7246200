// Softmax / log-softmax over the last axis of (x * scale + mask) (softmax.wgsl), and softmax
// with dropout on its output in the same kernel (unfused attention's probabilities).
import softmaxSource from '../../shaders/softmax.wgsl';
import philoxSource from '../../shaders/philox.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';
import { defaultGenerator, type Generator } from './creation.js';

const SOFTMAX = defineShader('softmax', softmaxSource, [philoxSource]);

export interface SoftmaxOptions {
  /** Multiplies x before the softmax. */
  scale?: number;
  /**
   * Additive mask (e.g. 0 / -10000 or -inf), broadcast over x: its last axis equals x's, and its
   * leading dimensions are a prefix of x's followed by ones (e.g. [B, 1, 1, T] for [B, H, T, T]).
   */
  mask?: Tensor;
}

export interface SoftmaxDropoutOptions extends SoftmaxOptions {
  /** Dropout probability on the probabilities: the same masks as ops.dropout(softmax(x), p). */
  dropout?: number;
  /** Dropout applies only when training (as ops.dropout). */
  training?: boolean;
  generator?: Generator;
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

const NO_DROPOUT = { seed_lo: 0, seed_hi: 0, offset: 0, drop_p: 0, drop_scale: 1, pad0: 0, pad1: 0 };

function params(op: string, x: Tensor, { scale = 1, mask }: SoftmaxOptions) {
  checkDtype(op, 'x', x, 'f32');
  if (x.rank === 0) throw new Error(`${op}: x must have at least one dimension`);
  if (mask) checkDtype(op, 'mask', mask, 'f32');
  const cols = x.shape[x.rank - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const group = mask ? maskGroup(x, mask) : 1;
  return { rows, cols, scale, has_mask: mask ? 1 : 0, mask_group: group, ...NO_DROPOUT };
}

function run(log: boolean, x: Tensor, options: SoftmaxOptions): Tensor {
  const r = softmaxRun(x, options, log);
  return record(log ? 'logSoftmax' : 'softmax', r.out, [x], (g, [y]) => [r.backward(g, y)], [r.out]);
}

/**
 * softmax(x * scale + mask) with dropout on it (when training with dropout > 0), recorded by no
 * tape: `out` is what the caller uses, `saved` what its backward needs (`out` itself without
 * dropout, else the probabilities before dropout, which the caller disposes), and
 * `backward(g, saved)` dispatches dx. For ops that own their backward (unfused attention).
 */
export interface SoftmaxRun {
  out: Tensor;
  saved: Tensor;
  backward(g: Tensor, saved: Tensor): Tensor;
}

export function softmaxRun(x: Tensor, options: SoftmaxDropoutOptions = {}, log = false): SoftmaxRun {
  const { dropout = 0, training = true, generator = defaultGenerator } = options;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`softmax: dropout must be in [0, 1), got ${dropout}`);
  const rt = runtime();
  const drop = training && dropout > 0 && !log;
  const op = drop ? 'softmaxDropout' : log ? 'logSoftmax' : 'softmax';
  const base = params(op, x, options);
  const mask = options.mask ?? x; // an unused mask binding still needs a buffer: x itself (read-only)
  const out = Tensor.empty(x.shape, 'f32', op);
  if (!drop) {
    rt.dispatch(SOFTMAX, 'softmax_forward', { x, mask, y: out, p: base }, { threads: base.rows }, { LOG: log ? 1 : 0 });
    const backward = (g: Tensor, y: Tensor) => {
      const dx = Tensor.empty(x.shape, 'f32', `${op} backward`);
      rt.dispatch(SOFTMAX, 'softmax_backward', { g, saved_y: y, dx, p: base }, { threads: base.rows }, { LOG: log ? 1 : 0 });
      return dx;
    };
    return { out, saved: out, backward };
  }
  const s = generator.next();
  const p = { ...base, seed_lo: s.seedLo, seed_hi: s.seedHi, offset: s.offset, drop_p: dropout, drop_scale: 1 / (1 - dropout) };
  const y = Tensor.empty(x.shape, 'f32', `${op} probabilities`);
  rt.dispatch(SOFTMAX, 'softmax_dropout_forward', { x, mask, y, y_dropped: out, p }, { threads: p.rows });
  const backward = (g: Tensor, sy: Tensor) => {
    const dx = Tensor.empty(x.shape, 'f32', `${op} backward`);
    rt.dispatch(SOFTMAX, 'softmax_dropout_backward', { g, saved_y: sy, dx, p }, { threads: p.rows });
    return dx;
  };
  return { out, saved: y, backward };
}

/** softmax(x * scale + mask), then (when training with dropout > 0) dropout on it. */
export function softmax(x: Tensor, options: SoftmaxDropoutOptions = {}): Tensor {
  const r = softmaxRun(x, options);
  const dropped = r.saved !== r.out;
  const result = record(dropped ? 'softmaxDropout' : 'softmax', r.out, [x], (g, [sy]) => [r.backward(g, sy)], [r.saved]);
  if (dropped) r.saved.dispose(); // the tape holds its own handle
  return result;
}
export const logSoftmax = (x: Tensor, options: SoftmaxOptions = {}) => run(true, x, options);
