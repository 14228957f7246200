// Losses: cross-entropy with ignore_index (cross_entropy.wgsl), binary cross-entropy with logits
// and per-element weights (bce.wgsl), mean-squared error (composed of sub / mul / mean).
import ceSource from '../../shaders/cross_entropy.wgsl';
import rowReduceSource from '../../shaders/row-reduce.wgsl';
import bceSource from '../../shaders/bce.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, noGrad, shapeStr } from '../tensor.js';
import { checkDtype, sameShape } from './util.js';
import { sum, mean } from './reduce.js';
import { div, maximumNoGrad, mul, sub } from './binary.js';
import { full, ones } from './creation.js';
import { rowKernel } from './layernorm.js';

const CE = defineShader('cross_entropy', ceSource, [rowReduceSource]);
const BCE = defineShader('bce', bceSource);

/**
 * Mean cross-entropy of logits [..., C] against integer targets [...] (torch's
 * F.cross_entropy): positions whose target is ignoreIndex are skipped and not counted. When
 * no position is counted the loss is 0 (torch gives NaN) and the gradient is zero.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, { ignoreIndex = -100 } = {}): Tensor {
  checkDtype('crossEntropy', 'logits', logits, 'f32');
  checkDtype('crossEntropy', 'targets', targets, 'i32');
  const cols = logits.shape[logits.rank - 1];
  if (logits.rank < 1 || !sameShape(logits.shape.slice(0, -1), targets.shape)) {
    throw new Error(`crossEntropy: targets ${shapeStr(targets.shape)} must match logits ${shapeStr(logits.shape)} without its last axis`);
  }
  const rows = targets.size;
  if (targets.hostData) {
    targets.hostData.forEach((t, i) => {
      if (t !== ignoreIndex && (t < 0 || t >= cols))
        throw new Error(`crossEntropy: target ${t} at position ${i} is out of range [0, ${cols}) (ignore_index = ${ignoreIndex})`);
    });
  } else if (!(targets.intRange && targets.intRange[0] >= 0 && targets.intRange[1] <= cols)) {
    // made on the GPU: the kernel would skip a bad target; the check fails the next readback instead
    runtime().checkRange(
      targets,
      0,
      cols,
      `crossEntropy: targets ${shapeStr(targets.shape)} (range [0, ${cols}), ignore_index ${ignoreIndex})`,
      ignoreIndex,
    );
  }
  const rt = runtime();
  const p = { rows, cols, ignore_index: ignoreIndex, pad: 0 };
  const rowLoss = Tensor.empty([rows], 'f32', 'crossEntropy rows');
  const lse = Tensor.empty([rows], 'f32', 'crossEntropy lse');
  const counted = Tensor.empty([rows], 'f32', 'crossEntropy counted');
  // vec4 kernels: rows of >= 4 classes (a vector then spans at most two rows), buffers of whole vec4s
  const vec4 = cols >= 4 && logits.buffer.size % 16 === 0;
  const [forward, grid] = rowKernel('cross_entropy_forward', rows);
  // CPU adapters: one workgroup per row over vec4s beats one invocation per row
  if (vec4 && forward === 'cross_entropy_forward')
    rt.dispatch(CE, 'cross_entropy_forward4', { logits4: logits, targets, loss: rowLoss, lse, counted, p }, { threads: rows * 64 });
  else rt.dispatch(CE, forward, { logits, targets, loss: rowLoss, lse, counted, p }, grid);
  const loss = noGrad(() => {
    const total = sum(rowLoss);
    const n = sum(counted);
    const one = full([], 1);
    const denom = maximumNoGrad(n, one);
    const l = div(total, denom);
    for (const t of [total, n, one, rowLoss, counted]) t.dispose();
    return { l, denom };
  });
  const out = record(
    'crossEntropy',
    loss.l,
    [logits],
    (g, [sl, st, slse, sdenom]) => {
      const factor = div(g, sdenom);
      const dx = Tensor.empty(logits.shape, 'f32', 'crossEntropy backward');
      if (vec4 && dx.buffer.size % 16 === 0)
        rt.dispatch(
          CE,
          'cross_entropy_backward4',
          { logits4: sl, targets: st, saved_lse: slse, factor, dx4: dx, p },
          { threads: rows * 64 },
        );
      else rt.dispatch(CE, 'cross_entropy_backward', { logits: sl, targets: st, saved_lse: slse, factor, dx, p }, { threads: rows * 64 });
      factor.dispose();
      return [dx];
    },
    [logits, targets, lse, loss.denom],
  );
  lse.dispose();
  loss.denom.dispose();
  return out;
}

/**
 * Mean over all elements of weight * BCE(sigmoid(x), target), as torch's
 * F.binary_cross_entropy_with_logits(x, target, weight). target and weight have x's shape.
 */
export function bceWithLogits(x: Tensor, target: Tensor, weight?: Tensor): Tensor {
  checkDtype('bceWithLogits', 'x', x, 'f32');
  checkDtype('bceWithLogits', 'target', target, 'f32');
  if (!sameShape(x.shape, target.shape))
    throw new Error(`bceWithLogits: target ${shapeStr(target.shape)} must have the shape of x ${shapeStr(x.shape)}`);
  if (weight) {
    checkDtype('bceWithLogits', 'weight', weight, 'f32');
    if (!sameShape(x.shape, weight.shape))
      throw new Error(`bceWithLogits: weight ${shapeStr(weight.shape)} must have the shape of x ${shapeStr(x.shape)}`);
  }
  if (x.size === 0) throw new Error('bceWithLogits: x is empty');
  const rt = runtime();
  const w = weight ?? ones(x.shape);
  const p = { n: x.size, pad0: 0, pad1: 0, pad2: 0 };
  const elementLoss = Tensor.empty(x.shape, 'f32', 'bceWithLogits elements');
  rt.dispatch(BCE, 'bce_forward', { x, labels: target, weight: w, loss: elementLoss, p }, { threads: x.size });
  const l = noGrad(() => mean(elementLoss));
  elementLoss.dispose();
  const out = record(
    'bceWithLogits',
    l,
    [x],
    (g, [sx, st, sw]) => {
      const factor = noGrad(() => mulScalarLocal(g, 1 / x.size));
      const dx = Tensor.empty(x.shape, 'f32', 'bceWithLogits backward');
      rt.dispatch(BCE, 'bce_backward', { x: sx, labels: st, weight: sw, factor, dx, p }, { threads: x.size });
      factor.dispose();
      return [dx];
    },
    [x, target, w],
  );
  if (!weight) w.dispose();
  return out;
}

function mulScalarLocal(g: Tensor, s: number): Tensor {
  const c = full([], s);
  const r = mul(g, c);
  c.dispose();
  return r;
}

/** Mean of (a - b)^2 (torch's F.mse_loss); gradients flow to both inputs. */
export function mseLoss(a: Tensor, b: Tensor): Tensor {
  if (!sameShape(a.shape, b.shape)) throw new Error(`mseLoss: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ`);
  const d = sub(a, b);
  const sq = mul(d, d);
  const m = mean(sq);
  d.dispose();
  sq.dispose();
  return m;
}
