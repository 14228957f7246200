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
    [5, 260], // columns divisible by 4: the vec4 backward, over two workgroups
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
  for (const variant of ['rows', 'tiled', 'unfused'] as const) {
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

test('linearGelu: gelu(x W^T + b) in one matmul dispatch, forward and the three gradients; bad input', async () => {
  const cases: [number[], number][] = [
    [[1, 1], 1],
    [[3, 5], 7],
    [[2, 3, 4], 6],
    [[4, 6], 12], // outputs divisible by 4: the vec4 backward
  ];
  for (const [shape, out] of cases) {
    const inF = shape[shape.length - 1];
    const rows = shape.reduce((a, b) => a * b, 1) / inF;
    const r = rng(rows * 10 + out);
    await checkOp({
      what: `linearGelu [${shape}] x [${out}, ${inF}]`,
      inputs: [
        { data: f32(r.uniform(rows * inF, -2, 2)), shape: [...shape] },
        { data: f32(r.uniform(out * inF, -1, 1)), shape: [out, inF] },
        { data: f32(r.uniform(out)), shape: [out] },
      ],
      gpu: ([x, w, b]) => bg.linearGelu(x, w, b),
      ref: ([x, w, b]) => {
        const y = new Float64Array(rows * out);
        for (let i = 0; i < rows; i++)
          for (let o = 0; o < out; o++) {
            let acc = b[o];
            for (let k = 0; k < inF; k++) acc += x[i * inF + k] * w[o * inF + k];
            y[i * out + o] = gelu(acc);
          }
        return y;
      },
      rtol: 1e-5,
      atol: 1e-6,
    });
  }
  const rt = await device();
  const args = [bg.zeros([2, 3]), bg.zeros([4, 3]), bg.zeros([4])] as const;
  const dispatches = rt.dispatchCount;
  bg.noGrad(() => bg.linearGelu(...args).dispose());
  assert.is(rt.dispatchCount - dispatches, 1, 'one dispatch');
  assert.throws(
    () => bg.linearGelu(bg.zeros([2, 3]), bg.zeros([4, 3]), bg.zeros([5])),
    /linearGelu: x \[2, 3\] must end in the weight's columns and bias \[5\] match its rows \(weight \[4, 3\]\)/,
  );
});

test('qkvLinear: three linear layers as one packed matmul, forward and all seven gradients; bad input', async () => {
  const [out, inF] = [5, 4];
  const shape = [2, 3, inF];
  const rows = 6;
  const r = rng(41);
  await checkOp({
    what: 'qkvLinear',
    inputs: [
      { data: f32(r.uniform(rows * inF, -2, 2)), shape },
      ...[0, 1, 2].map(() => ({ data: f32(r.uniform(out * inF, -1, 1)), shape: [out, inF] })),
      ...[0, 1, 2].map(() => ({ data: f32(r.uniform(out)), shape: [out] })),
    ],
    gpu: ([x, wq, wk, wv, bq, bk, bv]) => bg.qkvLinear(x, [wq, wk, wv], [bq, bk, bv]),
    ref: ([x, ...p]) => {
      const y = new Float64Array(rows * 3 * out);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < 3; j++)
          for (let o = 0; o < out; o++) {
            let acc = p[3 + j][o];
            for (let k = 0; k < inF; k++) acc += x[i * inF + k] * p[j][o * inF + k];
            y[i * 3 * out + j * out + o] = acc;
          }
      return y;
    },
    rtol: 1e-5,
    atol: 1e-6,
  });
  const rt = await device();
  const w = () => bg.zeros([out, inF]);
  const b = () => bg.zeros([out]);
  const [x0, ws, bs] = [bg.zeros(shape), [w(), w(), w()] as const, [b(), b(), b()] as const];
  const d0 = rt.dispatchCount;
  bg.noGrad(() => bg.qkvLinear(x0, [...ws], [...bs]).dispose());
  assert.is(rt.dispatchCount - d0, 2, 'pack + matmul');
  assert.throws(
    () => bg.qkvLinear(bg.zeros(shape), [w(), w(), bg.zeros([4, 4])], [b(), b(), b()]),
    /qkvLinear: the three weights must be \[out, in\] of one shape, got \[5, 4\], \[5, 4\], \[4, 4\]/,
  );
  assert.throws(() => bg.qkvLinear(bg.zeros(shape), [w(), w(), w()], [b(), b(), bg.zeros([4])]), /qkvLinear: each bias must be \[5\]/);
  assert.throws(() => bg.qkvLinear(bg.zeros([2, 3]), [w(), w(), w()], [b(), b(), b()]), /qkvLinear: x \[2, 3\] must end in 4/);
});

test.run();
