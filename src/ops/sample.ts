// Sampling from logits (gumbel_max.wgsl): one draw per row, as ELECTRA's generator samples its
// replacements. Not differentiable (the result is an index).
import gumbelMaxSource from '../../shaders/gumbel_max.wgsl';
import philoxSource from '../../shaders/philox.wgsl';
import argBetterSource from '../../shaders/arg-better.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, shapeStr } from '../tensor.js';
import { defaultGenerator, type Generator } from './creation.js';
import { checkDtype } from './util.js';

const GUMBEL_MAX = defineShader('gumbel_max', gumbelMaxSource, [philoxSource, argBetterSource]);

/**
 * One sample per row of logits [N, C] from softmax(logits) by the Gumbel-max trick: i32 [N], the
 * same ids as argmax(logits - log(-log(rand([N, C], { low, high: 1, generator }))), 1) bit for bit
 * (it draws the same numbers and takes one offset of `generator`), in one dispatch.
 */
export function gumbelMaxSample(
  logits: Tensor,
  { generator = defaultGenerator, low = 1e-12 }: { generator?: Generator; low?: number } = {},
): Tensor {
  checkDtype('gumbelMaxSample', 'logits', logits, 'f32');
  if (logits.rank !== 2) throw new Error(`gumbelMaxSample: logits must be [rows, classes], got ${shapeStr(logits.shape)}`);
  const [rows, cols] = logits.shape;
  if (cols === 0) throw new Error(`gumbelMaxSample: logits ${shapeStr(logits.shape)} have no classes`);
  if (!(low > 0 && low < 1)) throw new Error(`gumbelMaxSample: low must be in (0, 1) (log(-log(u)) needs 0 < u < 1), got ${low}`);
  const out = Tensor.empty([rows], 'i32', 'gumbelMaxSample');
  const s = generator.next();
  runtime().dispatch(
    GUMBEL_MAX,
    'gumbel_max_sample',
    { logits, sample: out, p: { rows, cols, seed_lo: s.seedLo, seed_hi: s.seedHi, offset: s.offset, a: low, b: 1, pad0: 0 } },
    { threads: rows * 64 },
  );
  out.intRange = [0, cols];
  return out;
}
