// Layer norm over the last axis (layernorm.wgsl): fused forward saving mean / rstd, fused
// backward for x and for weight + bias.
import layernormSource from '../../shaders/layernorm.wgsl';
import rowReduceSource from '../../shaders/row-reduce.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype } from './util.js';
import { sum } from './reduce.js';

const LAYERNORM = defineShader('layernorm', layernormSource, [rowReduceSource]);

/** A row kernel's entry point and grid for the runtime's row variant (runtime.ts RowVariant). */
export function rowKernel(entry: string, rows: number): [string, { threads: number }] {
  return runtime().rowVariant() === 'workgroup' ? [`${entry}_wg`, { threads: rows * 64 }] : [entry, { threads: rows }];
}
/** Rows per invocation of the chunked weight / bias gradient (CHUNK in layernorm.wgsl). */
const ROW_CHUNK = 256;

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-12): Tensor {
  checkDtype('layerNorm', 'x', x, 'f32');
  checkDtype('layerNorm', 'weight', weight, 'f32');
  checkDtype('layerNorm', 'bias', bias, 'f32');
  const cols = x.shape[x.rank - 1];
  if (x.rank === 0 || weight.rank !== 1 || weight.shape[0] !== cols || bias.rank !== 1 || bias.shape[0] !== cols) {
    throw new Error(
      `layerNorm: weight ${shapeStr(weight.shape)} and bias ${shapeStr(bias.shape)} must be [${cols}] for x ${shapeStr(x.shape)}`,
    );
  }
  if (!(eps > 0)) throw new Error(`layerNorm: eps must be > 0, got ${eps}`);
  const rows = cols === 0 ? 0 : x.size / cols;
  const y = Tensor.empty(x.shape, 'f32', 'layerNorm');
  const mean = Tensor.empty([rows], 'f32', 'layerNorm mean');
  const rstd = Tensor.empty([rows], 'f32', 'layerNorm rstd');
  const p = { rows, cols, eps, pad: 0 };
  const rt = runtime();
  const [forward, grid] = rowKernel('layernorm_forward', rows);
  rt.dispatch(LAYERNORM, forward, { x, weight, bias, y, mean, rstd, p }, grid);
  const out = record(
    'layerNorm',
    y,
    [x, weight, bias],
    (g, [sx, sw, sm, sr]) => {
      let dx: Tensor | null = null;
      let dw: Tensor | null = null;
      let db: Tensor | null = null;
      if (x.requiresGrad) {
        dx = Tensor.empty(x.shape, 'f32', 'layerNorm dx');
        const [backward, bgrid] = rowKernel('layernorm_backward_x', rows);
        rt.dispatch(LAYERNORM, backward, { x: sx, weight: sw, g, saved_mean: sm, saved_rstd: sr, dx, p }, bgrid);
      }
      if (weight.requiresGrad || bias.requiresGrad) [dw, db] = layerNormParamGrads(sx, g, sm, sr, rows, cols);
      return [dx, dw, db];
    },
    [x, weight, mean, rstd],
  );
  mean.dispose();
  rstd.dispose();
  return out;
}

/**
 * dweight = sum over rows of g * xhat, dbias = sum of g, from the forward's input x and its saved
 * per-row mean / rstd (also used by residualLayerNorm).
 */
export function layerNormParamGrads(x: Tensor, g: Tensor, mean: Tensor, rstd: Tensor, rows: number, cols: number): [Tensor, Tensor] {
  const rt = runtime();
  const p = { rows, cols, eps: 0, pad: 0 };
  if (rows <= 4 * ROW_CHUNK) {
    const dw = Tensor.empty([cols], 'f32', 'layerNorm dweight');
    const db = Tensor.empty([cols], 'f32', 'layerNorm dbias');
    rt.dispatch(
      LAYERNORM,
      'layernorm_backward_weight',
      { x, g, saved_mean: mean, saved_rstd: rstd, dweight: dw, dbias: db, p },
      { threads: cols },
    );
    return [dw, db];
  }
  // many rows: per-chunk sums, then a sum over the chunks
  const chunks = Math.ceil(rows / ROW_CHUNK);
  const pw = Tensor.empty([chunks, cols], 'f32', 'layerNorm dweight partials');
  const pb = Tensor.empty([chunks, cols], 'f32', 'layerNorm dbias partials');
  rt.dispatch(
    LAYERNORM,
    'layernorm_backward_weight_partial',
    { x, g, saved_mean: mean, saved_rstd: rstd, dweight: pw, dbias: pb, p },
    { threads: chunks * cols },
  );
  const dw = sum(pw, 0);
  const db = sum(pb, 0);
  pw.dispose();
  pb.dispose();
  return [dw, db];
}
