// Three same-shaped tensors joined along the first axis in one dispatch, and their gradients
// split out of the result's in one (concat3.wgsl); ops.concat takes a copy per input and a slice
// per gradient. Used for the fused QKV projection's weight and bias.
import concat3Source from '../../shaders/concat3.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype, sameShape } from './util.js';

const CONCAT3 = defineShader('concat3', concat3Source);

/** [a; b; c] along axis 0: a, b and c of one shape [d0, ...] -> [3 * d0, ...]. */
export function concat3(a: Tensor, b: Tensor, c: Tensor): Tensor {
  const parts = [a, b, c];
  for (const [i, t] of parts.entries()) {
    checkDtype('concat3', `tensor ${i}`, t, 'f32');
    if (t.rank === 0 || !sameShape(t.shape, a.shape))
      throw new Error(`concat3: the three tensors must have one shape of rank >= 1, got ${parts.map((x) => shapeStr(x.shape)).join(', ')}`);
  }
  const n = a.size;
  const p = { n, pad: 0 };
  const out = Tensor.empty([3 * a.shape[0], ...a.shape.slice(1)], 'f32', 'concat3');
  const rt = runtime();
  if (n > 0) rt.dispatch(CONCAT3, 'concat3_forward', { a, b, c, out, p }, { threads: n });
  return record('concat3', out, parts, (g) => {
    const grads = parts.map((t, i) => Tensor.empty(t.shape, 'f32', `concat3 backward ${i}`));
    if (n > 0) rt.dispatch(CONCAT3, 'concat3_backward', { g, da: grads[0], db: grads[1], dc: grads[2], p }, { threads: n });
    return grads.map((d, i) => {
      if (parts[i].requiresGrad) return d;
      d.dispose();
      return null;
    });
  });
}
