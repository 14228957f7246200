// Inverted dropout (dropout.wgsl). The mask comes from Philox with a seed drawn from the
// generator; the backward regenerates the same mask from that seed instead of storing it.
import dropoutSource from '../../shaders/dropout.wgsl';
import philoxSource from '../../shaders/philox.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record } from '../tensor.js';
import { checkDtype } from './util.js';
import { reshape } from './shape.js';
import { defaultGenerator } from './creation.js';

const DROPOUT = defineShader('dropout', dropoutSource, [philoxSource]);

/** Zeroes each element with probability p and scales the rest by 1/(1-p); identity when !training. */
export function dropout(x: Tensor, p: number, { training = true, generator = defaultGenerator } = {}): Tensor {
  checkDtype('dropout', 'x', x, 'f32');
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return reshape(x, x.shape);
  const s = generator.next();
  const params = { n: x.size, seed_lo: s.seedLo, seed_hi: s.seedHi, offset: s.offset, p, scale: 1 / (1 - p), pad1: 0, pad2: 0 };
  const out = Tensor.empty(x.shape, 'f32', 'dropout');
  runtime().dispatch(DROPOUT, 'dropout', { x, y: out, params }, { threads: Math.ceil(x.size / 4) });
  return record('dropout', out, [x], (g) => {
    const dx = Tensor.empty(x.shape, 'f32', 'dropout backward');
    runtime().dispatch(DROPOUT, 'dropout', { x: g, y: dx, params }, { threads: Math.ceil(x.size / 4) });
    return [dx];
  });
}
