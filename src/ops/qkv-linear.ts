// The fused QKV projection (qkv_linear.wgsl): three linear layers of one shape on one input
// (BERT's query, key, value) with their weights and biases packed into one buffer by one dispatch
// and multiplied by one matmul; the backward splits the packed gradients in one dispatch.
import qkvLinearSource from '../../shaders/qkv_linear.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype, sameShape } from './util.js';
import { matmulInto } from './matmul.js';
import { sum } from './reduce.js';
import { autocastActive, halfCopy } from './cast.js';

const QKV_LINEAR = defineShader('qkv_linear', qkvLinearSource);

/**
 * [x W_a^T + b_a, x W_b^T + b_b, x W_c^T + b_c] along the last axis: three linear layers of one
 * shape on one input (BERT's query, key, value) as 2 dispatches forward (the weights and biases
 * packed, one matmul with the bias in its store) and 4 backward (dx, the packed weight gradient,
 * the bias gradient, one split into the six parameters' gradients). x: [..., in], weights
 * [out, in], biases [out] -> [..., 3 * out].
 */
export function qkvLinear(x: Tensor, weights: [Tensor, Tensor, Tensor], biases: [Tensor, Tensor, Tensor]): Tensor {
  checkDtype('qkvLinear', 'x', x, 'f32');
  const [out, inF] = weights[0].shape;
  for (const [i, w] of weights.entries()) {
    checkDtype('qkvLinear', `weight ${i}`, w, 'f32');
    if (w.rank !== 2 || !sameShape(w.shape, weights[0].shape))
      throw new Error(
        `qkvLinear: the three weights must be [out, in] of one shape, got ${weights.map((t) => shapeStr(t.shape)).join(', ')}`,
      );
  }
  for (const [i, b] of biases.entries()) {
    checkDtype('qkvLinear', `bias ${i}`, b, 'f32');
    if (b.rank !== 1 || b.shape[0] !== out)
      throw new Error(`qkvLinear: each bias must be [${out}] (the weights' rows), got ${biases.map((t) => shapeStr(t.shape)).join(', ')}`);
  }
  if (x.rank === 0 || x.shape[x.rank - 1] !== inF)
    throw new Error(`qkvLinear: x ${shapeStr(x.shape)} must end in ${inF} (the weights' columns)`);
  const rt = runtime();
  const n = out * inF;
  const p = { n, m: out };
  const packed = Tensor.empty([3 * n + 3 * out], 'f32', 'qkvLinear packed weights and biases');
  const [wa, wb, wc] = weights;
  const [ba, bb, bc] = biases;
  if (n > 0)
    rt.dispatch(QKV_LINEAR, 'pack_qkv', { a: wa, b: wb, c: wc, bias_a: ba, bias_b: bb, bias_c: bc, out: packed, p }, { threads: n });
  const rows = x.size / inF;
  const y = Tensor.empty([...x.shape.slice(0, -1), 3 * out], 'f32', 'qkvLinear');
  // autocast: f16 copies of x and of the packed weights (the bias is read from the f32 pack)
  const half = autocastActive();
  const [xs, ws] = half ? [halfCopy(x), halfCopy(packed)] : [x, packed];
  const W = { t: ws, ld: inF }; // [3 out, in] from offset 0
  matmulInto({
    M: rows,
    N: 3 * out,
    K: inF,
    transB: true,
    a: { t: xs, ld: inF },
    b: W,
    c: { t: y, ld: 3 * out },
    bias: { t: packed, offset: 3 * n },
  });
  const params = [...weights, ...biases];
  const result = record(
    'qkvLinear',
    y,
    [x, ...params],
    (g0, [sx, sp]) => {
      const g = half ? halfCopy(g0) : g0; // f16 operands take an f16 gradient (as an f16 output's)
      let dx: Tensor | null = null;
      if (x.requiresGrad) {
        dx = Tensor.empty(x.shape, 'f32', 'qkvLinear dx');
        matmulInto({ M: rows, N: inF, K: 3 * out, a: { t: g, ld: 3 * out }, b: { t: sp, ld: inF }, c: { t: dx, ld: inF } });
      }
      if (!params.some((t) => t.requiresGrad)) {
        if (g !== g0) g.dispose();
        return [dx, null, null, null, null, null, null];
      }
      const dW = Tensor.empty([3 * out, inF], 'f32', 'qkvLinear dW');
      // the bias gradient (g's column sums) from the dW kernel's own loads where it can (f32 g)
      let dB: Tensor | null = g === g0 ? Tensor.empty([3 * out], 'f32', 'qkvLinear dB') : null;
      const summed = matmulInto({
        M: 3 * out,
        N: inF,
        K: rows,
        transA: true,
        a: { t: g, ld: 3 * out },
        b: { t: sx, ld: inF },
        c: { t: dW, ld: inF },
        rowSums: dB,
      });
      if (!summed) {
        dB?.dispose();
        const g2 = g0.view([rows, 3 * out]);
        dB = sum(g2, 0);
        g2.dispose();
      }
      if (g !== g0) g.dispose();
      const grads = params.map((t, i) => Tensor.empty(t.shape, 'f32', `qkvLinear d${i < 3 ? 'weight' : 'bias'} ${i % 3}`));
      const [da, db, dc, dba, dbb, dbc] = grads;
      if (n > 0) {
        const bind = { g: dW, g_bias: dB!, da, db, dc, d_bias_a: dba, d_bias_b: dbb, d_bias_c: dbc, p };
        rt.dispatch(QKV_LINEAR, 'unpack_qkv', bind, { threads: n });
      }
      dW.dispose();
      dB!.dispose();
      return [
        dx,
        ...grads.map((d, i) => {
          if (params[i].requiresGrad) return d;
          d.dispose();
          return null;
        }),
      ];
    },
    [xs, ws],
  );
  // the tape holds its own handles when a backward needs them
  packed.dispose();
  if (half) for (const t of [xs, ws]) t.dispose();
  return result;
}
