// bias + exact GELU (bias_gelu.wgsl): a linear layer's bias and its activation in one kernel each
// way, for BertIntermediate. The backward's one kernel gives both dx and dbias. linearGelu: the
// whole linear layer and its GELU in one matmul dispatch (the activation in the matmul's store).
import biasGeluSource from '../../shaders/bias_gelu.wgsl';
import geluSource from '../../shaders/gelu.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, needsGrad, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';
import { matmulInto } from './matmul.js';
import { autocastActive, halfCopy } from './cast.js';

const BIAS_GELU = defineShader('bias_gelu', biasGeluSource, [geluSource]);

/** dx = g * gelu'(x + bias) and dbias = its column sums: four columns per invocation when they divide by 4. */
function biasGeluBackward(x: Tensor, bias: Tensor, g: Tensor, dx: Tensor, dbias: Tensor, p: { rows: number; cols: number }): void {
  if (p.cols % 4 === 0)
    runtime().dispatch(BIAS_GELU, 'bias_gelu_backward4', { x4: x, bias4: bias, g4: g, dx4: dx, dbias4: dbias, p }, { threads: p.cols / 4 });
  else runtime().dispatch(BIAS_GELU, 'bias_gelu_backward', { x, bias, g, dx, dbias, p }, { threads: p.cols });
}

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
      if (cols > 0) biasGeluBackward(sx, sb, g, dx, dbias, p);
      if (!bias.requiresGrad) dbias.dispose();
      if (!x.requiresGrad) dx.dispose();
      return [x.requiresGrad ? dx : null, bias.requiresGrad ? dbias : null];
    },
    [x, bias],
  );
}

/**
 * gelu(x W^T + bias), the exact GELU, as one matmul dispatch (bias and GELU in its store, which
 * also keeps x W^T for the backward when a gradient is wanted); backward: bias_gelu_backward's one
 * kernel for d(x W^T) and dbias, then the two matmuls. x: [..., in], weight [out, in] (f16 when it
 * does not train), bias [out].
 */
export function linearGelu(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  checkDtype('linearGelu', 'x', x, 'f32');
  checkDtype('linearGelu', 'bias', bias, 'f32');
  if (weight.dtype === 'f16') {
    if (weight.requiresGrad)
      throw new Error(
        `linearGelu: weight ${shapeStr(weight.shape)} is f16 and requires grad; f16 storage is for weights that do not train`,
      );
  } else checkDtype('linearGelu', 'weight', weight, 'f32');
  const [out, inF] = weight.shape;
  if (weight.rank !== 2 || bias.rank !== 1 || bias.shape[0] !== out || x.rank === 0 || x.shape[x.rank - 1] !== inF)
    throw new Error(
      `linearGelu: x ${shapeStr(x.shape)} must end in the weight's columns and bias ${shapeStr(bias.shape)} match its rows (weight ${shapeStr(weight.shape)})`,
    );
  const rows = x.size / inF;
  const y = Tensor.empty([...x.shape.slice(0, -1), out], 'f32', 'linearGelu');
  const grad = needsGrad(x, weight, bias);
  const pre = grad ? Tensor.empty(y.shape, 'f32', 'linearGelu x W^T') : null;
  // autocast: f16 copies of x and the weight, kept for backward in place of the f32 ones
  const half = autocastActive();
  const [xs, ws] = half ? [halfCopy(x), halfCopy(weight)] : [x, weight];
  const dropHalves = () => {
    if (xs !== x) xs.dispose();
    if (ws !== weight) ws.dispose();
  };
  matmulInto({
    M: rows,
    N: out,
    K: inF,
    transB: true,
    a: { t: xs, ld: inF },
    b: { t: ws, ld: inF },
    c: { t: y, ld: out },
    bias: { t: bias },
    gelu: true,
    pre,
  });
  if (!pre) {
    dropHalves();
    return y;
  }
  const result = record(
    'linearGelu',
    y,
    [x, weight, bias],
    (g, [sx, sw, sb, spre]) => {
      const dh = Tensor.empty(y.shape, 'f32', 'linearGelu dh');
      const dbias = Tensor.empty([out], 'f32', 'linearGelu dbias');
      if (out > 0) biasGeluBackward(spre, sb, g, dh, dbias, { rows, cols: out });
      let dx: Tensor | null = null;
      let dw: Tensor | null = null;
      const dhs = half ? halfCopy(dh) : dh; // f16 operands take an f16 gradient
      if (x.requiresGrad) {
        dx = Tensor.empty(x.shape, 'f32', 'linearGelu dx');
        matmulInto({ M: rows, N: inF, K: out, a: { t: dhs, ld: out }, b: { t: sw, ld: inF }, c: { t: dx, ld: inF } });
      }
      if (weight.requiresGrad) {
        dw = Tensor.empty(weight.shape, 'f32', 'linearGelu dweight');
        matmulInto({ M: out, N: inF, K: rows, transA: true, a: { t: dhs, ld: out }, b: { t: sx, ld: inF }, c: { t: dw, ld: inF } });
      }
      if (dhs !== dh) dhs.dispose();
      dh.dispose();
      if (!bias.requiresGrad) dbias.dispose();
      return [dx, dw, bias.requiresGrad ? dbias : null];
    },
    [xs, ws, bias, pre],
  );
  pre.dispose(); // the tape holds its own handles
  dropHalves();
  return result;
}
