// Comparison against PyTorch fixtures: outputs within 1e-4 and gradients within 1e-3 of the
// reference's scale (a gradient that is zero in exact arithmetic is measured against 1e-3 of the
// largest gradient).
import * as assert from 'uvu/assert';

export type NamedArrays = Map<string, { data: ArrayLike<number>; shape: number[] }>;

const maxAbs = (xs: ArrayLike<number>) => Array.from(xs).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** max |a - e| / max |e| over a tensor: error relative to the reference's scale. */
function relativeToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, floor: number): number {
  let err = 0;
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(actual[i] - expected[i]));
  return err / Math.max(maxAbs(expected), floor, 1e-30);
}

export function compareOutputs(dir: string, actual: NamedArrays, expected: NamedArrays, worst: Record<string, number>): void {
  let gradScale = 0;
  for (const [name, e] of expected) if (name.startsWith('grad.')) gradScale = Math.max(gradScale, maxAbs(e.data));
  for (const [name, e] of expected) {
    const a = actual.get(name);
    assert.ok(a, `${dir}: output ${name} is missing`);
    assert.equal(a.shape, e.shape, `${dir}: ${name} shape`);
    const err = relativeToScale(a.data, e.data, name.startsWith('grad.') ? 1e-3 * gradScale : 0);
    const tol = name.startsWith('grad.') ? 1e-3 : 1e-4;
    const kind = name.startsWith('grad.') ? 'grad' : 'output';
    worst[kind] = Math.max(worst[kind] ?? 0, err);
    assert.ok(err <= tol, `${dir}: ${name} differs from PyTorch by ${err.toExponential(2)} of its scale (tolerance ${tol})`);
  }
  for (const name of actual.keys()) assert.ok(expected.has(name), `${dir}: unexpected output ${name}`);
}
