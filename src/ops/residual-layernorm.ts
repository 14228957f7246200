// LayerNorm(dropout(h) + residual) in one kernel each way (residual_layernorm.wgsl): BERT's
// post-LN block after BertSelfOutput's / BertOutput's dense, with the same dropout masks as
// ops.dropout (one draw from the generator, the mask regenerated in backward, never stored).
import residualLayernormSource from '../../shaders/residual_layernorm.wgsl';
import philoxSource from '../../shaders/philox.wgsl';
import rowReduceSource from '../../shaders/row-reduce.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype, sameShape } from './util.js';
import { defaultGenerator, type Generator } from './creation.js';
import { layerNormParamGrads, rowKernel } from './layernorm.js';

const RESIDUAL_LAYERNORM = defineShader('residual_layernorm', residualLayernormSource, [philoxSource, rowReduceSource]);

export interface ResidualLayerNormOptions {
  eps?: number;
  /** Dropout probability on h (0: none). */
  dropout?: number;
  /** Dropout applies only when training (as ops.dropout). */
  training?: boolean;
  generator?: Generator;
}

/** layerNorm(dropout(h) + residual, weight, bias): h and residual [..., N], weight and bias [N]. */
export function residualLayerNorm(
  h: Tensor,
  residual: Tensor,
  weight: Tensor,
  bias: Tensor,
  options: ResidualLayerNormOptions = {},
): Tensor {
  const { eps = 1e-12, dropout = 0, training = true, generator = defaultGenerator } = options;
  const op = 'residualLayerNorm';
  checkDtype(op, 'h', h, 'f32');
  checkDtype(op, 'residual', residual, 'f32');
  checkDtype(op, 'weight', weight, 'f32');
  checkDtype(op, 'bias', bias, 'f32');
  if (h.rank === 0 || !sameShape(h.shape, residual.shape)) {
    throw new Error(`${op}: h ${shapeStr(h.shape)} and residual ${shapeStr(residual.shape)} must have the same shape of rank >= 1`);
  }
  const cols = h.shape[h.rank - 1];
  if (weight.rank !== 1 || weight.shape[0] !== cols || bias.rank !== 1 || bias.shape[0] !== cols) {
    throw new Error(
      `${op}: weight ${shapeStr(weight.shape)} and bias ${shapeStr(bias.shape)} must be [${cols}] for h ${shapeStr(h.shape)}`,
    );
  }
  if (!(eps > 0)) throw new Error(`${op}: eps must be > 0, got ${eps}`);
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`${op}: dropout must be in [0, 1), got ${dropout}`);
  const rows = cols === 0 ? 0 : h.size / cols;
  const drop = training && dropout > 0;
  const seed = drop ? generator.next() : { seedLo: 0, seedHi: 0, offset: 0 };
  const p = {
    rows,
    cols,
    eps,
    has_dropout: drop ? 1 : 0,
    seed_lo: seed.seedLo,
    seed_hi: seed.seedHi,
    offset: seed.offset,
    p: drop ? dropout : 0,
    scale: drop ? 1 / (1 - dropout) : 1,
    pad0: 0,
    pad1: 0,
    pad2: 0,
  };
  const y = Tensor.empty(h.shape, 'f32', op);
  const s = Tensor.empty(h.shape, 'f32', `${op} sum`);
  const mean = Tensor.empty([rows], 'f32', `${op} mean`);
  const rstd = Tensor.empty([rows], 'f32', `${op} rstd`);
  const rt = runtime();
  if (rows > 0) {
    const [entry, grid] = rowKernel('residual_layernorm_forward', rows);
    rt.dispatch(RESIDUAL_LAYERNORM, entry, { h, residual, weight, bias, y, s, mean, rstd, p }, grid);
  }
  const out = record(
    op,
    y,
    [h, residual, weight, bias],
    (g, [ss, sw, sm, sr]) => {
      let dh: Tensor | null = null;
      let dres: Tensor | null = null;
      let dw: Tensor | null = null;
      let db: Tensor | null = null;
      if (h.requiresGrad || residual.requiresGrad) {
        dh = Tensor.empty(h.shape, 'f32', `${op} dh`);
        dres = Tensor.empty(h.shape, 'f32', `${op} dresidual`);
        const bindings = { weight: sw, g, saved_s: ss, saved_mean: sm, saved_rstd: sr, dresidual: dres, dh, p };
        if (rows > 0) {
          const [entry, grid] = rowKernel('residual_layernorm_backward', rows);
          rt.dispatch(RESIDUAL_LAYERNORM, entry, bindings, grid);
        }
        if (!h.requiresGrad) {
          dh.dispose();
          dh = null;
        }
        if (!residual.requiresGrad) {
          dres.dispose();
          dres = null;
        }
      }
      if (weight.requiresGrad || bias.requiresGrad) [dw, db] = layerNormParamGrads(ss, g, sm, sr, rows, cols);
      return [dh, dres, dw, db];
    },
    [s, weight, mean, rstd],
  );
  s.dispose();
  mean.dispose();
  rstd.dispose();
  return out;
}
