// f32 <-> f16 conversion on the GPU (cast.wgsl), for autocast's f16 matmul operands. The backward
// converts the gradient back, as torch's .half() / .float() do.
import castSource from '../../shaders/cast.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, noGrad, record } from '../tensor.js';
import { checkDtype } from './util.js';

const CAST = defineShader('cast', castSource, ['enable f16;']);

/** Throws unless the device can store f16 (the 'shader-f16' feature). */
export function requireF16(op: string): void {
  const rt = runtime();
  if (!rt.hasFeature('shader-f16'))
    throw new Error(
      `${op}: f16 needs the device feature 'shader-f16', which this adapter (${rt.report.adapter.description || rt.report.adapter.device || 'unnamed'}) does not offer (SwiftShader has none); run in f32`,
    );
}

/** x as `dtype` ('f16' rounds to nearest even; past 65504 becomes inf). A tensor already of that dtype is returned as is. */
export function cast(x: Tensor, dtype: 'f16' | 'f32'): Tensor {
  if (dtype !== 'f16' && dtype !== 'f32') throw new Error(`cast: dtype must be 'f16' or 'f32', got '${dtype}'`);
  if (x.dtype === dtype) return x;
  const from = dtype === 'f16' ? 'f32' : 'f16';
  checkDtype('cast', 'x', x, from);
  requireF16('cast');
  const rt = runtime();
  const out = Tensor.empty(x.shape, dtype, `cast ${dtype}`);
  const p = { n: x.size, pad: 0 };
  if (x.size > 0) {
    if (dtype === 'f16') rt.dispatch(CAST, 'cast_to_f16', { x32: x, y16: out, p }, { threads: x.size });
    else rt.dispatch(CAST, 'cast_to_f32', { x16: x, y32: out, p }, { threads: x.size });
  }
  // a gradient already of x's dtype (an f32 product's under autocast) passes as a new handle:
  // the tape frees the incoming one
  return record(`cast ${dtype}`, out, [x], (g) => [g.dtype === from ? g.view(g.shape) : cast(g, from)]);
}

// ---- autocast: f16 operands for the linear layers' matmuls ----

let autocastDtype: 'f16' | null = null;

/** Whether ops are inside autocast (their matmuls then take f16 operands). */
export function autocastActive(): boolean {
  return autocastDtype !== null;
}

/**
 * Turns autocast on ('f16') or off (null) and returns the previous setting. While on, matmul, the
 * fused linear ops (qkvLinear, linearGelu) and the unfused attention's two products cast their
 * f32 operands to f16 (one cast dispatch each), multiply them accumulating in f32 and write f32,
 * and keep the f16 copies for backward; their backward casts the incoming gradient to f16 too (as
 * torch.autocast's f16 matmuls, whose outputs and so gradients are f16), which is why training
 * under autocast wants a loss scale (AdamW's `lossScale`). Layer norms, softmax, the fused
 * attention kernels and the losses stay f32.
 */
export function setAutocast(dtype: 'f16' | null): 'f16' | null {
  if (dtype !== null && dtype !== 'f16') throw new Error(`autocast: dtype must be 'f16' (or null to turn it off), got '${dtype}'`);
  if (dtype) requireF16('autocast');
  const prev = autocastDtype;
  autocastDtype = dtype;
  return prev;
}

/** Runs fn with autocast on (see setAutocast), restoring the previous setting after it (or its promise) ends. */
export function autocast<T>(fn: () => T, dtype: 'f16' = 'f16'): T {
  const prev = setAutocast(dtype);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    autocastDtype = prev;
    throw err;
  }
  if (result && typeof (result as any).then === 'function') {
    return (result as any).finally(() => {
      autocastDtype = prev;
    }) as T;
  }
  autocastDtype = prev;
  return result;
}

/** x cast to f16 with no tape entry (for ops that own their backward); x itself when already f16. */
export function halfCopy(x: Tensor): Tensor {
  return x.dtype === 'f16' ? x : noGrad(() => cast(x, 'f16'));
}
