// bias + exact GELU (bias_gelu.wgsl): a linear layer's bias and its activation in one kernel each
// way, for BertIntermediate. The backward's one kernel gives both dx and dbias.
import biasGeluSource from '../../shaders/bias_gelu.wgsl';
import geluSource from '../../shaders/gelu.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';

const BIAS_GELU = defineShader('bias_gelu', biasGeluSource, [geluSource]);

/** gelu(x + bias) with the exact (erf) GELU, Hugging Face's "gelu". x: [..., N], bias: [N]. */
export function biasGelu(x: Tensor, bias: Tensor): Tensor {
  checkDtype('biasGelu', 'x', x, 'f32');
  checkDtype('biasGelu', 'bias', bias, 'f32');
  const cols = x.rank ? x.shape[x.rank - 1] : 0;
  if (x.rank === 0 || bias.rank !== 1 || bias.shape[0] !== cols) {
    throw new Error(`biasGelu: bias ${shapeStr(bias.shape)} must be [${cols}] (the last dimension of x ${shapeStr(x.shape)})`);
  }
  const rows = cols === 0 ? 0 : x.size / cols;
  const p = { rows, cols };
  const y = Tensor.empty(x.shape, 'f32', 'biasGelu');
  const rt = runtime();
  if (x.size > 0) rt.dispatch(BIAS_GELU, 'bias_gelu_forward', { x, bias, y, p }, { threads: x.size });
  return record(
    'biasGelu',
    y,
    [x, bias],
    (g, [sx, sb]) => {
      const dx = Tensor.empty(x.shape, 'f32', 'biasGelu dx');
      const dbias = Tensor.empty([cols], 'f32', 'biasGelu dbias');
      if (cols > 0) rt.dispatch(BIAS_GELU, 'bias_gelu_backward', { x: sx, bias: sb, g, dx, dbias, p }, { threads: cols });
      if (!bias.requiresGrad) dbias.dispose();
      if (!x.requiresGrad) dx.dispose();
      return [x.requiresGrad ? dx : null, bias.requiresGrad ? dbias : null];
    },
    [x, bias],
  );
}
