// The fused encoder-layer ops: bias + GELU, dropout + residual + LayerNorm, softmax + dropout.
// Forward against float64 references, backward against finite differences (odd shapes), the
// dropout variants against the op-by-op path on the same generator seeds (same masks, same
// numbers), and bad input refused with the op and the shapes named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { assertClose, checkOp, device, f32, read, rng, ROW_VARIANTS, withRowVariant } from './helpers.js';

const erf = (x: number) => {
  // Abramowitz-Stegun 7.1.26 is too coarse for a float64 reference: integrate the series instead
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

test('biasGelu: gelu(x + bias) on odd shapes, forward and both gradients', async () => {
  for (const shape of [
    [1, 1],
    [3, 5],
    [2, 3, 7],
  ]) {
    const cols = shape[shape.length - 1];
    const n = shape.reduce((a, b) => a * b, 1);
    const r = rng(n);
    await checkOp({
      what: `biasGelu [${shape}]`,
      inputs: [
        { data: f32(r.uniform(n, -3, 3)), shape },
        { data: f32(r.uniform(cols)), shape: [cols] },
      ],
      gpu: ([x, b]) => bg.biasGelu(x, b),
      ref: ([x, b]) => x.map((v, i) => gelu(v + b[i % cols])),
      rtol: 1e-5,
      atol: 1e-6,
    });
  }
});

test('biasGelu: bad input names the op and the shapes', async () => {
  await device();
  assert.throws(
    () => bg.biasGelu(bg.zeros([2, 3]), bg.zeros([4])),
    /biasGelu: bias \[4\] must be \[3\] \(the last dimension of x \[2, 3\]\)/,
  );
  assert.throws(() => bg.biasGelu(bg.zeros([2, 3]), bg.zeros([1, 3])), /biasGelu: bias \[1, 3\] must be \[3\]/);
  assert.throws(() => bg.biasGelu(bg.tensor(new Int32Array(3), [3], 'i32'), bg.zeros([3])), /biasGelu: x must be f32, got i32/);
});

function layerNormRef(s: Float64Array, w: Float64Array, b: Float64Array, cols: number, eps: number) {
  const out = new Float64Array(s.length);
  for (let r = 0; r < s.length / cols; r++) {
    const row = s.subarray(r * cols, (r + 1) * cols);
    const mu = row.reduce((a, v) => a + v, 0) / cols;
    const variance = row.reduce((a, v) => a + (v - mu) ** 2, 0) / cols;
    for (let j = 0; j < cols; j++) out[r * cols + j] = ((row[j] - mu) / Math.sqrt(variance + eps)) * w[j] + b[j];
  }
  return out;
}

for (const variant of ROW_VARIANTS)
  test(`residualLayerNorm (${variant} rows): LayerNorm(h + residual) on odd shapes, forward and all four gradients`, () =>
    withRowVariant(variant, async () => {
      for (const shape of [
        [1, 2],
        [5, 7],
        [2, 3, 9],
        [3, 65],
        [2, 130],
      ]) {
        const cols = shape[shape.length - 1];
        const n = shape.reduce((a, b) => a * b, 1);
        const r = rng(n + 1);
        await checkOp({
          what: `residualLayerNorm [${shape}]`,
          inputs: [
            { data: f32(r.uniform(n)), shape },
            { data: f32(r.uniform(n)), shape },
            { data: f32(r.uniform(cols, 0.5, 1.5)), shape: [cols] },
            { data: f32(r.uniform(cols)), shape: [cols] },
          ],
          gpu: ([h, res, w, b]) => bg.residualLayerNorm(h, res, w, b, { eps: 1e-5 }),
          ref: ([h, res, w, b]) =>
            layerNormRef(
              h.map((v, i) => v + res[i]),
              w,
              b,
              cols,
              1e-5,
            ),
          rtol: 1e-4,
          atol: 1e-5,
          gradRtol: 2e-3,
          gradAtol: 2e-3,
        });
      }
    }));

/** Runs fn twice on fresh leaves of the same data; returns [outputs, gradients] of both. */
async function bothWays(
  data: { values: Float64Array; shape: number[] }[],
  fused: (xs: bg.Tensor[]) => bg.Tensor,
  unfused: (xs: bg.Tensor[]) => bg.Tensor,
) {
  const results: Float64Array[][] = [];
  for (const fn of [fused, unfused]) {
    const xs = data.map((d) => bg.tensor(Float32Array.from(d.values), d.shape).setRequiresGrad(true));
    const out = fn(xs);
    const w = bg.tensor(Float32Array.from(rng(5).uniform(out.size)), out.shape);
    bg.backward(out, w);
    results.push([await read(out), ...(await Promise.all(xs.map((x) => read(x.grad!))))]);
    for (const t of [...xs, out, w]) {
      t.zeroGrad();
      t.dispose();
    }
  }
  return results;
}

for (const variant of ROW_VARIANTS)
  test(`residualLayerNorm (${variant} rows) with dropout = layerNorm(dropout(h) + residual) on the same seed: output and gradients`, () =>
    withRowVariant(variant, async () => {
      const shape = [3, 5, 33];
      const n = 3 * 5 * 33;
      const r = rng(3);
      const data = [
        { values: f32(r.uniform(n)), shape },
        { values: f32(r.uniform(n)), shape },
        { values: f32(r.uniform(33, 0.5, 1.5)), shape: [33] },
        { values: f32(r.uniform(33)), shape: [33] },
      ];
      const [fused, plain] = await bothWays(
        data,
        ([h, res, w, b]) => bg.residualLayerNorm(h, res, w, b, { dropout: 0.3, generator: new bg.Generator(11, 4) }),
        ([h, res, w, b]) => bg.layerNorm(bg.add(bg.dropout(h, 0.3, { generator: new bg.Generator(11, 4) }), res), w, b),
      );
      assert.ok(
        fused[1].some((v) => v === 0),
        'some elements of h were dropped',
      );
      fused.forEach((v, i) => assertClose(v, plain[i], { rtol: 1e-5, atol: 1e-6, what: i ? `gradient ${i - 1}` : 'output' }));
    }));

test('residualLayerNorm: bad input names the op and the shapes', async () => {
  await device();
  const w = bg.ones([4]);
  assert.throws(
    () => bg.residualLayerNorm(bg.zeros([2, 4]), bg.zeros([3, 4]), w, w),
    /residualLayerNorm: h \[2, 4\] and residual \[3, 4\] must have the same shape/,
  );
  assert.throws(
    () => bg.residualLayerNorm(bg.zeros([2, 4]), bg.zeros([2, 4]), bg.ones([3]), w),
    /residualLayerNorm: weight \[3\] and bias \[4\] must be \[4\] for h \[2, 4\]/,
  );
  assert.throws(
    () => bg.residualLayerNorm(bg.zeros([2, 4]), bg.zeros([2, 4]), w, w, { dropout: 1 }),
    /residualLayerNorm: dropout must be in \[0, 1\), got 1/,
  );
  assert.throws(() => bg.residualLayerNorm(bg.zeros([2, 4]), bg.zeros([2, 4]), w, w, { eps: 0 }), /residualLayerNorm: eps must be > 0/);
});

test('softmax with dropout = dropout(softmax) on the same seed, attention-shaped mask: output and gradient', async () => {
  await device();
  const [B, H, T] = [2, 3, 13];
  const r = rng(8);
  const maskValues = Float32Array.from({ length: B * T }, (_, i) => (i % T > 9 && i >= T ? -3.4028234663852886e38 : 0));
  const mask = bg.tensor(maskValues, [B, 1, 1, T]);
  const data = [{ values: f32(r.uniform(B * H * T * T, -4, 4)), shape: [B, H, T, T] }];
  const [fused, plain] = await bothWays(
    data,
    ([x]) => bg.softmax(x, { mask, scale: 0.7, dropout: 0.25, generator: new bg.Generator(3, 9) }),
    ([x]) => bg.dropout(bg.softmax(x, { mask, scale: 0.7 }), 0.25, { generator: new bg.Generator(3, 9) }),
  );
  assert.ok(fused[0].some((v) => v === 0));
  assertClose(fused[0], plain[0], { rtol: 0, atol: 0, what: 'output' });
  assertClose(fused[1], plain[1], { rtol: 1e-6, atol: 1e-7, what: 'gradient' });
  // not training, or p = 0: the plain softmax
  const x = bg.tensor(Float32Array.from(data[0].values), [B, H, T, T]);
  assertClose(await read(bg.softmax(x, { dropout: 0.5, training: false })), await read(bg.softmax(x)), { rtol: 0, atol: 0, what: 'eval' });
  assert.throws(() => bg.softmax(x, { dropout: -0.1 }), /softmax: dropout must be in \[0, 1\), got -0.1/);
  assert.throws(
    () => bg.softmax(x, { dropout: 0.1, mask: bg.zeros([3, 1, 1, T]) }),
    /softmax: mask \[3, 1, 1, 13\] does not broadcast over x \[2, 3, 13, 13\]/,
  );
  for (const t of [x, mask]) t.dispose();
});

test('concat3: [a; b; c] along the first axis, forward and the three gradients; bad input', async () => {
  for (const shape of [[1], [2, 3], [3, 1, 5]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const r = rng(n + 7);
    await checkOp({
      what: `concat3 [${shape}]`,
      inputs: [0, 1, 2].map(() => ({ data: f32(r.uniform(n)), shape })),
      gpu: ([a, b, c]) => bg.concat3(a, b, c),
      ref: ([a, b, c]) => Float64Array.from([...a, ...b, ...c]),
    });
  }
  assert.throws(
    () => bg.concat3(bg.zeros([2, 3]), bg.zeros([2, 3]), bg.zeros([3, 3])),
    /concat3: the three tensors must have one shape of rank >= 1, got \[2, 3\], \[2, 3\], \[3, 3\]/,
  );
});

test('attentionQkv on one packed [B, T, 3H] projection = attention on its three parts: output and gradient', async () => {
  await device();
  const [B, T, heads, D] = [2, 11, 3, 5];
  const H = heads * D;
  const r = rng(12);
  const data = [{ values: f32(r.uniform(B * T * 3 * H)), shape: [B, T, 3 * H] }];
  const mask = bg.tensor(
    Float32Array.from({ length: B * T }, (_, i) => (i > T + 7 ? -3.4028234663852886e38 : 0)),
    [B, 1, 1, T],
  );
  for (const variant of ['rows', 'tiled'] as const) {
    const options = () => ({ heads, mask, dropout: 0.2, generator: new bg.Generator(6), variant });
    const [packed, split] = await bothWays(
      data,
      ([qkv]) => bg.attentionQkv(qkv, options()),
      ([qkv]) => {
        const [q, k, v] = [0, 1, 2].map((i) => bg.slice(qkv, 2, i * H, (i + 1) * H));
        return bg.attention(q, k, v, options());
      },
    );
    assertClose(packed[0], split[0], { rtol: 1e-6, atol: 1e-7, what: `${variant} output` });
    assertClose(packed[1], split[1], { rtol: 1e-5, atol: 1e-6, what: `${variant} gradient` });
  }
  assert.throws(
    () => bg.attentionQkv(bg.zeros([2, 3, 10]), { heads: 2 }),
    /attentionQkv: qkv must be \[batch, seq, 3 \* hidden\], got \[2, 3, 10\]/,
  );
  mask.dispose();
});

test.run();
