// Elementwise, broadcasting, reduction and shape ops: forward vs float64 references, backward
// vs central finite differences, on odd sizes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { checkOp, device, f32, rng, size, read, assertClose } from './helpers.js';

const SIZES = [1, 3, 17, 129, 257];

import { geluRef } from './engine-elementwise.ref.js';
const geluTanhRef = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

const UNARY: [string, (x: bg.Tensor) => bg.Tensor, (x: number) => number, [number, number]][] = [
  ['neg', bg.neg, (x) => -x, [-3, 3]],
  ['exp', bg.exp, Math.exp, [-3, 3]],
  ['log', bg.log, Math.log, [0.2, 4]],
  ['sqrt', bg.sqrt, Math.sqrt, [0.2, 4]],
  ['rsqrt', bg.rsqrt, (x) => 1 / Math.sqrt(x), [0.2, 4]],
  ['tanh', bg.tanh, Math.tanh, [-3, 3]],
  ['relu', bg.relu, (x) => Math.max(x, 0), [-3, 3]],
  ['sigmoid', bg.sigmoid, sigmoid, [-6, 6]],
  ['gelu (erf)', (x) => bg.gelu(x), geluRef, [-5, 5]],
  ['gelu (tanh)', (x) => bg.gelu(x, { approximate: 'tanh' }), geluTanhRef, [-5, 5]],
  ['abs', bg.abs, Math.abs, [-3, 3]],
  ['pow 3', (x) => bg.pow(x, 3), (x) => x ** 3, [-2, 2]],
  ['pow 2', (x) => bg.pow(x, 2), (x) => x ** 2, [-2, 2]],
  ['pow 0.5', (x) => bg.pow(x, 0.5), (x) => x ** 0.5, [0.3, 3]],
  ['pow -1', (x) => bg.pow(x, -1), (x) => 1 / x, [0.3, 3]],
  ['addScalar', (x) => bg.addScalar(x, 2.5), (x) => x + 2.5, [-3, 3]],
  ['subScalar', (x) => bg.subScalar(x, 2.5), (x) => x - 2.5, [-3, 3]],
  ['mulScalar', (x) => bg.mulScalar(x, -1.5), (x) => x * -1.5, [-3, 3]],
  ['divScalar', (x) => bg.divScalar(x, 4), (x) => x / 4, [-3, 3]],
];

for (const [name, gpu, ref, [lo, hi]] of UNARY) {
  test(`${name}: forward and backward, sizes ${SIZES.join('/')}`, async () => {
    for (const n of SIZES) {
      let data = f32(rng(n + name.length).uniform(n, lo, hi));
      if (name === 'relu' || name === 'abs') data = data.map((v) => (Math.abs(v) < 1e-3 ? 0.5 : v)); // away from the kink
      await checkOp({
        what: `${name} n=${n}`,
        inputs: [{ data, shape: [n] }],
        gpu: ([x]) => gpu(x),
        ref: ([x]) => x.map(ref),
        rtol: 2e-6,
        atol: 2e-6,
      });
    }
  });
}

function broadcastRef(a: Float64Array, as: number[], b: Float64Array, bs: number[], f: (x: number, y: number) => number) {
  const rank = Math.max(as.length, bs.length);
  const pa = [...Array(rank - as.length).fill(1), ...as];
  const pb = [...Array(rank - bs.length).fill(1), ...bs];
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const n = size(out);
  const res = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let rest = i,
      ia = 0,
      ib = 0,
      sa = 1,
      sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rest % out[d];
      rest = Math.floor(rest / out[d]);
      ia += (pa[d] === 1 ? 0 : c) * sa;
      ib += (pb[d] === 1 ? 0 : c) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    res[i] = f(a[ia], b[ib]);
  }
  return res;
}

const BINARY: [string, (a: bg.Tensor, b: bg.Tensor) => bg.Tensor, (x: number, y: number) => number][] = [
  ['add', bg.add, (x, y) => x + y],
  ['sub', bg.sub, (x, y) => x - y],
  ['mul', bg.mul, (x, y) => x * y],
  ['div', bg.div, (x, y) => x / y],
];
const SHAPES: [number[], number[]][] = [
  [[17], [17]],
  [[257], [257]],
  // same shape, a size divisible by 4: the vec4 kernel (binary4), over more than one workgroup
  [
    [4, 260],
    [4, 260],
  ],
  [[3, 17], [17]],
  [
    [3, 1],
    [1, 5],
  ],
  [
    [2, 3, 4],
    [3, 1],
  ],
  [[1], [129]],
  [
    [4, 1, 3],
    [2, 1],
  ],
  [
    [2, 1, 3, 1],
    [5, 1, 7],
  ],
];
for (const [name, gpu, ref] of BINARY) {
  test(`${name}: broadcasting forward and backward`, async () => {
    for (const [as, bs] of SHAPES) {
      const r = rng(as.length * 10 + bs.length);
      const a = f32(r.uniform(size(as), -2, 2));
      let b = f32(r.uniform(size(bs), -2, 2));
      if (name === 'div') b = b.map((v) => (Math.abs(v) < 0.3 ? 0.7 : v));
      await checkOp({
        what: `${name} ${JSON.stringify(as)} ${JSON.stringify(bs)}`,
        inputs: [
          { data: a, shape: as },
          { data: b, shape: bs },
        ],
        gpu: ([x, y]) => gpu(x, y),
        ref: ([x, y]) => broadcastRef(x, as, y, bs, ref),
        gradRtol: 2e-4,
      });
    }
  });
}

test('where and maskedFill broadcast; gradients go to the chosen side', async () => {
  await device();
  const cond = bg.tensor(Int32Array.from([1, 0, 0, 1, 1, 0]), [2, 3]);
  const r = rng(5);
  const a = f32(r.uniform(6));
  const b = f32(r.uniform(3));
  await checkOp({
    what: 'where',
    inputs: [
      { data: a, shape: [2, 3] },
      { data: b, shape: [3] },
    ],
    gpu: ([x, y]) => bg.where(cond, x, y),
    ref: ([x, y]) => x.map((v, i) => ([1, 0, 0, 1, 1, 0][i] ? v : y[i % 3])),
  });
  const x = bg.tensor(Float32Array.from(a), [2, 3]);
  const mask = bg.tensor(Int32Array.from([0, 1, 0]), [1, 3]);
  const filled = await read(bg.maskedFill(x, mask, -1e4));
  assertClose(
    filled,
    a.map((v, i) => (i % 3 === 1 ? -1e4 : v)),
    { what: 'maskedFill' },
  );
});

function reduceRef(x: Float64Array, shape: number[], axis: number, f: 'sum' | 'mean' | 'max') {
  const outer = size(shape.slice(0, axis)),
    n = shape[axis],
    inner = size(shape.slice(axis + 1));
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < inner; k++) {
      let acc = f === 'max' ? -Infinity : 0;
      for (let j = 0; j < n; j++) {
        const v = x[(o * n + j) * inner + k];
        acc = f === 'max' ? Math.max(acc, v) : acc + v;
      }
      out[o * inner + k] = f === 'mean' ? acc / n : acc;
    }
  return out;
}

test('sum / mean / max over each axis (keepdim both ways), argmax', async () => {
  for (const shape of [[257], [3, 17], [2, 3, 5], [1, 129, 3]]) {
    for (let axis = 0; axis < shape.length; axis++) {
      for (const f of ['sum', 'mean', 'max'] as const) {
        for (const keepdim of [false, true]) {
          const data = f32(rng(axis + shape.length * 7).uniform(size(shape), -3, 3));
          const op = f === 'sum' ? bg.sum : f === 'mean' ? bg.mean : bg.max;
          await checkOp({
            what: `${f} ${JSON.stringify(shape)} axis ${axis} keepdim ${keepdim}`,
            inputs: [{ data, shape }],
            gpu: ([x]) => {
              const out = op(x, axis, keepdim);
              const expect = [...shape];
              if (keepdim) expect[axis] = 1;
              else expect.splice(axis, 1);
              assert.equal(out.shape, expect);
              return out;
            },
            ref: ([x]) => reduceRef(x, shape, axis, f),
            rtol: 1e-5,
          });
        }
      }
      const data = f32(rng(3).uniform(size(shape)));
      const x = bg.tensor(Float32Array.from(data), shape);
      const am = await bg.argmax(x, axis).toArray();
      const outer = size(shape.slice(0, axis)),
        n = shape[axis],
        inner = size(shape.slice(axis + 1));
      for (let o = 0; o < outer; o++)
        for (let k = 0; k < inner; k++) {
          let best = 0;
          for (let j = 1; j < n; j++) if (data[(o * n + j) * inner + k] > data[(o * n + best) * inner + k]) best = j;
          assert.is(am[o * inner + k], best, `argmax ${JSON.stringify(shape)} axis ${axis}`);
        }
    }
  }
});

test('sum and mean over all elements', async () => {
  const data = f32(rng(8).uniform(129 * 3));
  await checkOp({
    what: 'sum all',
    inputs: [{ data, shape: [129, 3] }],
    gpu: ([x]) => bg.sum(x),
    ref: ([x]) => Float64Array.of(x.reduce((a, b) => a + b, 0)),
  });
  await checkOp({
    what: 'mean all',
    inputs: [{ data, shape: [129, 3] }],
    gpu: ([x]) => bg.mean(x),
    ref: ([x]) => Float64Array.of(x.reduce((a, b) => a + b, 0) / x.length),
  });
});

test('long sums run in chunked passes (more than 1024 rows), accurate against float64', async () => {
  // [3000, 5] over axis 0: 12 chunks, then one pass over them; backward checked too
  const a = f32(rng(81).uniform(3000 * 5, -1, 1));
  await checkOp({
    what: 'sum 3000 rows',
    inputs: [{ data: a, shape: [3000, 5] }],
    gpu: ([x]) => bg.sum(x, 0),
    ref: ([x]) => reduceRef(x, [3000, 5], 0, 'sum'),
  });
  const b = f32(rng(82).uniform(2 * 2100 * 3));
  await checkOp({
    what: 'mean middle axis 2100',
    inputs: [{ data: b, shape: [2, 2100, 3], grad: false }],
    gpu: ([x]) => bg.mean(x, 1),
    ref: ([x]) => reduceRef(x, [2, 2100, 3], 1, 'mean'),
  });
  // 300000 elements: 1172 chunks, which are chunked again (three passes)
  const c = f32(rng(83).uniform(300000));
  await checkOp({
    what: 'sum of 300000',
    inputs: [{ data: c, shape: [300000], grad: false }],
    gpu: ([x]) => bg.sum(x),
    ref: ([x]) => Float64Array.of(x.reduce((s, v) => s + v, 0)),
    rtol: 1e-6,
  });
});

function permuteRef(x: Float64Array, shape: number[], dims: number[]) {
  const outShape = dims.map((d) => shape[d]);
  const strides = shape.map((_, i) => size(shape.slice(i + 1)));
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let rest = i,
      src = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      const c = rest % outShape[d];
      rest = Math.floor(rest / outShape[d]);
      src += c * strides[dims[d]];
    }
    out[i] = x[src];
  }
  return out;
}

test('reshape, permute, transpose, slice, concat, expand: forward and backward', async () => {
  const shape = [2, 3, 5];
  const data = f32(rng(1).uniform(30));
  await checkOp({ what: 'reshape', inputs: [{ data, shape }], gpu: ([x]) => bg.reshape(x, [5, -1]), ref: ([x]) => x.slice() });
  for (const dims of [
    [0, 2, 1],
    [2, 0, 1],
    [1, 2, 0],
  ]) {
    await checkOp({
      what: `permute ${dims}`,
      inputs: [{ data, shape }],
      gpu: ([x]) => bg.permute(x, dims),
      ref: ([x]) => permuteRef(x, shape, dims),
    });
  }
  await checkOp({
    what: 'transpose',
    inputs: [{ data, shape }],
    gpu: ([x]) => bg.transpose(x, 0, 2),
    ref: ([x]) => permuteRef(x, shape, [2, 1, 0]),
  });
  await checkOp({
    what: 'slice axis 1',
    inputs: [{ data, shape }],
    gpu: ([x]) => bg.slice(x, 1, 1, 3),
    ref: ([x]) =>
      Float64Array.from(
        permuteRef(x, shape, [0, 1, 2]).filter((_, i) => {
          const j = Math.floor(i / 5) % 3;
          return j >= 1 && j < 3;
        }),
      ),
  });
  await checkOp({
    what: 'slice negative',
    inputs: [{ data, shape }],
    gpu: ([x]) => bg.slice(x, -1, -2),
    ref: ([x]) => Float64Array.from(x.filter((_, i) => i % 5 >= 3)),
  });
  const b = f32(rng(2).uniform(2 * 4 * 5));
  await checkOp({
    what: 'concat axis 1',
    inputs: [
      { data, shape },
      { data: b, shape: [2, 4, 5] },
    ],
    gpu: ([x, y]) => bg.concat([x, y], 1),
    ref: ([x, y]) => Float64Array.from([...x.slice(0, 15), ...y.slice(0, 20), ...x.slice(15), ...y.slice(20)]),
  });
  const e = f32(rng(3).uniform(3));
  await checkOp({
    what: 'expand',
    inputs: [{ data: e, shape: [3, 1] }],
    gpu: ([x]) => bg.expand(x, [2, 3, 4]),
    ref: ([x]) => Float64Array.from({ length: 24 }, (_, i) => x[Math.floor(i / 4) % 3]),
  });
  // i32 tensors move through the same copies
  const ids = bg.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.equal([...(await bg.transpose(ids).toArray())], [1, 4, 2, 5, 3, 6]);
  assert.equal([...(await bg.concat([ids, ids], 0).toArray())], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
});

test('mse loss: forward and backward against float64', async () => {
  const r = rng(4);
  const a = f32(r.uniform(17 * 3));
  const b = f32(r.uniform(17 * 3));
  await checkOp({
    what: 'mseLoss',
    inputs: [
      { data: a, shape: [17, 3] },
      { data: b, shape: [17, 3] },
    ],
    gpu: ([x, y]) => bg.mseLoss(x, y),
    ref: ([x, y]) => Float64Array.of(x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / x.length),
  });
});

test('creation: zeros / ones / full / arange', async () => {
  await device();
  assert.equal([...(await bg.zeros([3]).toArray())], [0, 0, 0]);
  assert.equal([...(await bg.ones([2, 2]).toArray())], [1, 1, 1, 1]);
  assert.equal([...(await bg.full([2], 7, 'i32').toArray())], [7, 7]);
  assert.equal([...(await bg.arange(5).toArray())], [0, 1, 2, 3, 4]);
  assert.equal([...(await bg.arange(2, 11, 3).toArray())], [2, 5, 8]);
  assertClose(await read(bg.arange(0, 1, 0.25, 'f32')), [0, 0.25, 0.5, 0.75]);
  const big = await bg.arange(300_000).toArray(); // more workgroups than one dispatch row of 65535? no: checks the 2-D spread logic at scale
  assert.is(big[299_999], 299_999);
});

test.run();
