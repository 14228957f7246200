// The engine around the kernels: device report, seeded RNG, memory (scopes, pool, counters),
// autograd (topological order, accumulation, noGrad, detach), submission, and error messages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { device, assertClose } from './helpers.js';
import { philox, philoxWords, uniform24, dropoutUniform, normalFromWords, normalFromWordsExact } from './rng.ref.js';

test('init reports adapter, limits and features; the device has the adapter limits', async () => {
  const rt = await device();
  const r = rt.report;
  assert.type(r.adapter.description, 'string');
  assert.ok(r.limits.maxStorageBufferBindingSize >= 128 * 1024 * 1024, `binding limit ${r.limits.maxStorageBufferBindingSize}`);
  assert.ok(r.limits.maxComputeWorkgroupsPerDimension >= 65535);
  assert.ok(Array.isArray(r.features));
  assert.ok(['node', 'deno', 'browser'].includes(r.runtime));
});

test('matmul variant per adapter: register blocking on CPU Vulkan, tiles on GPUs, 8x8 registers for big NVIDIA outputs', async () => {
  const rt = await device();
  const saved = rt.report.adapter;
  const as = (adapter: Partial<typeof saved>) => {
    (rt.report as { adapter: typeof saved }).adapter = {
      ...saved,
      vendor: '',
      architecture: '',
      device: '',
      description: '',
      isFallbackAdapter: false,
      ...adapter,
    };
  };
  try {
    as({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' });
    // 8-lane subgroups (lavapipe's) take the subgroup kernel, other devices the 16x16 blocks
    assert.is(rt.matmulVariant(1024, 1024, 1024), rt.report.subgroupSize === 8 ? 'subgroup' : 'register16');
    // subgroups from 32 x 32 outputs (counting the batch: attention's heads), registers below
    assert.is(rt.matmulVariant(64, 64, 64), rt.report.subgroupSize === 8 ? 'subgroup' : 'register');
    assert.is(rt.matmulVariant(16, 2, 128, false, true), 'register');
    assert.is(rt.matmulVariant(16, 16, 64, false, false, 8), rt.report.subgroupSize === 8 ? 'subgroup' : 'register');
    // 8 row groups from 128 rows up; op(B) = B^T (a linear layer's x W^T) with K >= 1024 reads vec4s
    const sg8 = rt.report.subgroupSize === 8;
    assert.is(rt.matmulVariant(2048, 128, 1024, false, true), sg8 ? 'subgroup4tall' : 'register16');
    assert.is(rt.matmulVariant(2048, 128, 512, false, true), sg8 ? 'subgrouptall' : 'register16');
    assert.is(rt.matmulVariant(2048, 512, 128, false, true), sg8 ? 'subgrouptall' : 'register16');
    assert.is(rt.matmulVariant(512, 128, 2048, true, false), sg8 ? 'subgrouptall' : 'register16');
    assert.is(rt.matmulVariant(256, 1024, 2048, true, false), sg8 ? 'subgrouptall' : 'register16');
    // A B with N >= 1024 and products under 128 rows keep 4 row groups
    assert.is(rt.matmulVariant(2048, 1024, 256), sg8 ? 'subgroup' : 'register16');
    assert.is(rt.matmulVariant(64, 512, 512, false, true), sg8 ? 'subgroup' : 'register');
    as({ description: 'SwiftShader Device', isFallbackAdapter: true });
    assert.is(rt.matmulVariant(1024, 1024, 1024), 'register');
    as({ vendor: 'nvidia', device: 'nvidia-h100-80gb-hbm3' });
    assert.is(rt.matmulVariant(1024, 1024, 1024), 'tiled');
    assert.is(rt.matmulVariant(2048, 2048, 512), 'register');
    assert.is(rt.matmulVariant(8, 8, 8), 'register');
    as({ vendor: 'amd', description: 'Radeon' });
    assert.is(rt.matmulVariant(4096, 4096, 4096), 'tiled');
  } finally {
    (rt.report as { adapter: typeof saved }).adapter = saved;
  }
});

test('bind groups are reused for dispatches on the same buffers; trimPool forgets them', async () => {
  const rt = await device();
  const a = bg.tensor([1, 2, 3]);
  const b = bg.tensor([4, 5, 6]);
  const hits0 = rt.bindGroupHits;
  for (let i = 0; i < 3; i++) {
    const c = bg.add(a, b); // the pool hands back the same output buffer each time; uniforms sit in the arena
    assert.equal(Array.from(await c.toArray()), [5, 7, 9]);
    c.dispose();
  }
  assert.ok(rt.bindGroupHits - hits0 >= 2, `hits ${rt.bindGroupHits - hits0}`);
  rt.trimPool();
  const d = bg.mul(a, b);
  assert.equal(Array.from(await d.toArray()), [4, 10, 18]);
  for (const t of [a, b, d]) t.dispose();
});

test('Philox: GPU rand equals the JS Philox4x32-10 bit for bit; same seed, same numbers', async () => {
  await device();
  const seed = 2 ** 32 + 77; // uses both key words
  const gen = new bg.Generator(seed);
  const u = await bg.rand([1000], { generator: gen }).toArray();
  for (let i = 0; i < 1000; i += 37) {
    const w = philox([i, 0, 0, 0], [seed >>> 0, Math.floor(seed / 2 ** 32)]);
    assert.is(u[i], (w[0] >>> 8) / 16777216, `element ${i}`);
  }
  // Philox's published known-answer test (Random123 kat_vectors): counter 0, key 0
  assert.equal(philox([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  const again = await bg.rand([1000], { generator: new bg.Generator(seed) }).toArray();
  assert.equal(Array.from(again), Array.from(u));
  const next = await bg.rand([1000], { generator: gen }).toArray(); // the stream advanced
  assert.not.equal(Array.from(next), Array.from(u));
  bg.manualSeed(5);
  const a = await bg.randn([64]).toArray();
  bg.manualSeed(5);
  const b = await bg.randn([64]).toArray();
  assert.equal(Array.from(a), Array.from(b));
});

test('rand / randn / dropout give the bits of the CPU reference (the same on every adapter)', async () => {
  await device();
  const seed = 2 ** 40 + 7;
  const n = 4096;
  const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  const f = Math.fround;
  const gen = new bg.Generator(seed);
  const z = await bg.randn([n], { generator: gen }).toArray(); // draw offset 0
  const words = (offset: number) => Array.from({ length: n }, (_, i) => philoxWords(seed, offset, i));
  const w0 = words(0);
  const zRef = w0.map(([a, b]) => normalFromWords(a, b));
  assert.equal(bits(z), bits(zRef), 'randn bits');
  // the integer Box-Muller is within about half an f32 ulp of the float64 formula
  for (let i = 0; i < n; i++) {
    const exact = normalFromWordsExact(w0[i][0], w0[i][1]);
    if (Math.abs(zRef[i] - exact) > 2 ** -24 * Math.abs(exact) * 1.1 + 1e-15) assert.unreachable(`normal ${i}: ${zRef[i]} vs ${exact}`);
  }
  // nonzero mean / low: the final f32 multiply-add, rounded twice (not fused) on these adapters
  const mean = f(0.5),
    std = f(0.02),
    low = f(0.1),
    high = f(0.7);
  const zs = await bg.randn([n], { mean, std, generator: gen }).toArray(); // offset 1
  assert.equal(bits(zs), bits(words(1).map(([a, b]) => f(mean + f(std * normalFromWords(a, b))))), 'randn(mean, std) bits');
  const u = await bg.rand([n], { low, high, generator: gen }).toArray(); // offset 2
  assert.equal(bits(u), bits(words(2).map(([a]) => f(low + f(f(high - low) * uniform24(a))))), 'rand(low, high) bits');
  // dropout: element i's mask from word i % 4 of counter i / 4, kept values times f32(1 / (1 - p)),
  // in forward and backward
  const p = 0.1;
  const xs = Array.from({ length: n }, (_, i) => f((i % 13) * 0.37 - 2));
  const x = bg.tensor(xs).setRequiresGrad();
  const y = bg.dropout(x, p, { generator: gen }); // offset 3
  const keep = Array.from({ length: n }, (_, i) => dropoutUniform(seed, 3, i) >= f(p));
  const scale = f(1 / (1 - p));
  assert.equal(bits(await y.toArray()), bits(xs.map((v, i) => (keep[i] ? f(v * scale) : 0))), 'dropout bits');
  y.backward(bg.full([n], 3));
  assert.equal(bits(await x.grad!.toArray()), bits(keep.map((k) => (k ? f(3 * scale) : 0))), 'dropout backward bits');
  // 7 elements: a last group of three words used
  const y7 = await bg.dropout(bg.tensor(xs.slice(0, 7)), 0.5, { generator: gen }).toArray(); // offset 4
  assert.equal(bits(y7), bits(xs.slice(0, 7).map((v, i) => (dropoutUniform(seed, 4, i) >= 0.5 ? f(v * 2) : 0))), 'dropout of 7 bits');
  // the default stream's first normal (README): exact Box-Muller 0.73792566, rounded to f32
  bg.manualSeed(0);
  const first = (await bg.randn([1]).toArray())[0];
  assert.is(first, f(0.7379256600714554));
});

test('rand / randn / bernoulli statistics', async () => {
  await device();
  const n = 50000;
  const gen = new bg.Generator(42);
  const u = Array.from(await bg.rand([n], { low: -2, high: 6, generator: gen }).toArray());
  const um = u.reduce((a, b) => a + b, 0) / n;
  assert.ok(u.every((v) => v >= -2 && v < 6));
  assert.ok(Math.abs(um - 2) < 0.06, `uniform mean ${um}`); // std of mean 8/sqrt(12n) = 0.010
  const z = Array.from(await bg.randn([n], { mean: 1, std: 3, generator: gen }).toArray());
  const zm = z.reduce((a, b) => a + b, 0) / n;
  const zv = z.reduce((a, b) => a + (b - zm) ** 2, 0) / n;
  assert.ok(Math.abs(zm - 1) < 0.07, `normal mean ${zm}`); // 5 sigma = 5 * 3/sqrt(n)
  assert.ok(Math.abs(Math.sqrt(zv) - 3) < 0.05, `normal std ${Math.sqrt(zv)}`);
  const bern = Array.from(await bg.bernoulli([n], 0.3, { generator: gen }).toArray());
  const rate = bern.reduce((a, b) => a + b, 0) / n;
  assert.ok(bern.every((v) => v === 0 || v === 1));
  assert.ok(Math.abs(rate - 0.3) < 0.011, `bernoulli rate ${rate}`);
});

test('scope frees intermediates (live tensors and bytes return), returned tensors survive', async () => {
  const rt = await device();
  await rt.sync();
  const x = bg.randn([64, 64]);
  const before = { t: rt.liveTensors, b: rt.liveBytes };
  const y = bg.scope(() => {
    const a = bg.mul(x, x);
    const b = bg.exp(a);
    return bg.sum(b, 1);
  });
  assert.is(rt.liveTensors, before.t + 1);
  assert.is(rt.liveBytes, before.b + y.buffer.size);
  y.dispose();
  assert.is(rt.liveTensors, before.t);
  assert.is(rt.liveBytes, before.b);
  // a throwing scope frees what it made too
  assert.throws(
    () =>
      bg.scope(() => {
        bg.exp(x);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.is(rt.liveTensors, before.t);
  // a training step in a scope: grads stay (they belong to the leaves), everything else goes
  const w = bg.randn([64, 8]).setRequiresGrad();
  const base = { t: rt.liveTensors, b: rt.liveBytes };
  bg.scope(() => {
    const loss = bg.mean(bg.tanh(bg.matmul(x, w)));
    loss.backward();
  });
  assert.ok(w.grad);
  assert.is(rt.liveTensors, base.t + 1, 'only w.grad is left');
  w.zeroGrad();
  assert.is(rt.liveBytes, base.b);
  // pooled buffers are reused: the same step again allocates nothing new from the driver
  const pooled = rt.pooledBytes;
  assert.ok(pooled > 0);
});

test('backward visits each node once on a deep residual DAG (no per-path recursion)', async () => {
  await device();
  const x = bg.tensor([0.5, -0.25], [2]).setRequiresGrad();
  // h_{k+1} = h_k + h_k * 0.5 : 2^depth paths from the loss to x
  let h = x;
  const depth = 40;
  for (let k = 0; k < depth; k++) h = bg.add(h, bg.mulScalar(h, 0.5));
  const loss = bg.sum(h);
  loss.backward();
  const g = await x.grad!.toArray();
  assertClose(g, [1.5 ** depth, 1.5 ** depth], { rtol: 1e-5 });
});

test('gradients accumulate across backward calls; zeroGrad; noGrad records nothing; detach cuts the graph', async () => {
  await device();
  const x = bg.tensor([1, 2, 3]).setRequiresGrad();
  bg.sum(bg.mul(x, x)).backward();
  bg.sum(bg.mul(x, x)).backward();
  assertClose(await x.grad!.toArray(), [4, 8, 12]);
  x.zeroGrad();
  assert.is(x.grad, null);
  const y = bg.noGrad(() => bg.mul(x, x));
  assert.is(y.requiresGrad, false);
  assert.is(y.node, null);
  const d = bg.mul(x, x).detach();
  assert.is(d.requiresGrad, false);
  const z = bg.sum(bg.mul(bg.mul(x, x).detach(), x));
  z.backward();
  assertClose(await x.grad!.toArray(), [1, 4, 9]);
  assert.throws(() => bg.sum(bg.tensor([1, 2])).backward(), /does not require grad/);
  assert.throws(() => bg.mul(x, x).backward(), /is not a scalar/);
});

test('saved tensors are released after backward, even if the user disposed the inputs', async () => {
  const rt = await device();
  const w = bg.randn([16, 16]).setRequiresGrad();
  const before = { t: rt.liveTensors, b: rt.liveBytes };
  const x = bg.randn([4, 16]);
  const m = bg.matmul(x, w);
  const h = bg.gelu(m);
  const loss = bg.mean(h);
  // all still needed by backward: the tape keeps their storage alive
  x.dispose();
  m.dispose();
  h.dispose();
  loss.backward();
  loss.dispose();
  w.zeroGrad();
  assert.is(rt.liveTensors, before.t);
  assert.is(rt.liveBytes, before.b);
});

test('ops record into one encoder: no submission until readback or flush', async () => {
  const rt = await device();
  await rt.sync();
  const submits = rt.submitCount;
  let t = bg.randn([32, 32]);
  for (let i = 0; i < 50; i++) t = bg.tanh(bg.matmul(t, t, { transB: true }));
  assert.is(rt.submitCount, submits, 'no op submitted by itself');
  await t.toArray();
  assert.is(rt.submitCount, submits + 1, 'one submission for the readback');
});

test('the pool hands out the lowest-id free buffer, whatever order buffers came back in (so bind groups hit)', async () => {
  const rt = await device();
  rt.trimPool(); // no cached bind groups or pooled buffers from earlier tests
  const a = bg.tensor([1, 2, 3]);
  const b = bg.tensor([4, 5, 6]);
  await rt.sync();
  let misses = 0;
  for (let round = 0; round < 6; round++) {
    // two same-size buffers released in alternating order: last-in-first-out would hand the next
    // op a different one each round (made by a unary op, so mul's bind groups are its own)
    const x = bg.neg(a);
    const y = bg.neg(b);
    if (round % 2) {
      x.dispose();
      y.dispose();
    } else {
      y.dispose();
      x.dispose();
    }
    await rt.sync();
    const m0 = rt.bindGroupMisses;
    const c = bg.mul(a, b);
    assert.equal(Array.from(await c.toArray()), [4, 10, 18]);
    if (round > 0) misses += rt.bindGroupMisses - m0;
    c.dispose();
  }
  assert.is(misses, 0, 'mul found its bind group every round after the first');
  a.dispose();
  b.dispose();
});

test('pool size classes: big buffers of nearby sizes share one (eighths of an octave above 16 MiB), small ones stay tight', async () => {
  const rt = await device();
  rt.trimPool();
  // the MLM decoder's logits over 264 and 294 masked rows of a 30522-word vocabulary (30.7, 34.2 MiB)
  // land in 32 and 36 MiB; 280 and 290 rows reuse the 36 MiB buffer instead of new ones
  const sizes = (rows: number[], cols = 30522) =>
    rows.map((r) => {
      const t = bg.Tensor.empty([r, cols], 'f32', 'pool test');
      const bytes = t.buffer.size;
      t.dispose();
      return bytes / 2 ** 20;
    });
  assert.equal(sizes([264, 294, 280, 290]), [32, 36, 36, 36]);
  const big = bg.Tensor.empty([294, 30522], 'f32', 'pool test');
  const buffer = big.buffer;
  big.dispose();
  const again = bg.Tensor.empty([281, 30522], 'f32', 'pool test');
  assert.ok(again.buffer === buffer, 'a 281-row logits tensor reuses the pooled 294-row buffer');
  again.dispose();
  // up to 16 MiB: 1 MiB steps; up to 1 MiB: powers of two
  assert.equal(sizes([100]), [12]); // 100 x 30522 x 4 bytes = 11.6 MiB
  assert.equal(sizes([1], 1000), [4096 / 2 ** 20]); // 4000 bytes
  rt.trimPool();
});

test('uniform values of thousands of dispatches in one submission (several arena chunks) stay per dispatch', async () => {
  const rt = await device();
  await rt.sync();
  const submits = rt.submitCount;
  // 3000 dispatches, each with its own scalar in its uniform: more than one 256 KiB arena chunk
  // holds at 256-byte slots, so a value read from the wrong slot or chunk changes the sum
  let x = bg.zeros([5]);
  for (let i = 1; i <= 3000; i++) {
    const next = bg.addScalar(x, i % 7 === 0 ? -i : i);
    x.dispose();
    x = next;
  }
  assert.is(rt.submitCount, submits, 'still one pending submission');
  let expected = 0;
  for (let i = 1; i <= 3000; i++) expected += i % 7 === 0 ? -i : i;
  assert.equal(Array.from(await x.toArray()), new Array(5).fill(expected));
  // the next submission reuses the arena: earlier values must not leak into it
  const y = bg.mulScalar(x, 0.5);
  assert.equal(Array.from(await y.toArray()), new Array(5).fill(expected / 2));
  x.dispose();
  y.dispose();
});

test('kernel profile: GPU time per entry point from timestamp queries', async () => {
  const rt = await device();
  if (!rt.hasFeature('timestamp-query')) {
    assert.throws(() => rt.startProfile(), /startProfile: this device has no 'timestamp-query' feature/);
    return;
  }
  let err = '';
  await rt.stopProfile().catch((e: Error) => (err = e.message));
  assert.match(err, /stopProfile: no profile is running/);
  const a = bg.randn([64, 64]);
  await rt.sync();
  rt.startProfile();
  assert.throws(() => rt.startProfile(), /a profile is already running/);
  let x = a;
  for (let i = 0; i < 3; i++) x = bg.matmul(x, a);
  const y = bg.add(x, a);
  const times = await rt.stopProfile();
  const byKernel = Object.fromEntries(times.map((t) => [t.kernel, t]));
  const mm = times.filter((t) => /^matmul(_subgroup4?(_tall)?)?:/.test(t.kernel));
  assert.is(
    mm.reduce((s, t) => s + t.dispatches, 0),
    3,
    JSON.stringify(times),
  );
  assert.is(byKernel['binary:binary4'].dispatches, 1, 'a same-shape add of 64 x 64 takes the vec4 kernel');
  for (const t of times) assert.ok(Number.isFinite(t.ms) && t.ms >= 0, JSON.stringify(t));
  // dispatches after the profile are not counted, and results are unchanged by profiling
  const again = bg.matmul(a, a);
  assert.ok((await y.toArray()).every(Number.isFinite));
  // { shapes: true }: each matmul product listed by its shape, other kernels as before
  const b = bg.randn([64, 32]);
  rt.startProfile({ shapes: true });
  bg.matmul(a, b).dispose();
  bg.matmul(b, a, { transA: true }).dispose();
  bg.matmul(a, b).dispose();
  bg.add(a, a).dispose();
  const shaped = await rt.stopProfile();
  const names = shaped.map((t) => t.kernel.replace(/^matmul(_subgroup4?(_tall)?)?:matmul_\w+ /, 'matmul '));
  assert.equal(names.sort(), ['binary:binary4', 'matmul 32x64x64 tA', 'matmul 64x32x64'], JSON.stringify(shaped));
  assert.is(shaped.find((t) => t.kernel.endsWith(' 64x32x64'))!.dispatches, 2);
  for (const t of [a, b, x, y, again]) t.dispose();
});

test('errors name the op and the shapes / dtypes / limits', async () => {
  const rt = await device();
  const a = bg.zeros([2, 3]);
  const b = bg.zeros([4, 5]);
  assert.throws(() => bg.add(a, b), /add: shapes \[2, 3\] and \[4, 5\] cannot be broadcast together/);
  assert.throws(() => bg.matmul(a, b), /matmul: inner dimensions differ: a \[2, 3\] has K = 3, b \[4, 5\] has K = 4/);
  assert.throws(() => bg.matmul(bg.zeros([2, 2, 3]), bg.zeros([3, 3, 4])), /matmul: batch dimensions differ/);
  assert.throws(() => bg.layerNorm(a, bg.ones([4]), bg.zeros([3])), /layerNorm: weight \[4\] and bias \[3\] must be \[3\] for x \[2, 3\]/);
  assert.throws(() => bg.reshape(a, [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
  assert.throws(() => bg.slice(a, 1, 2, 5), /slice: range 2:5 is out of bounds for axis 1 of size 3/);
  assert.throws(() => bg.sum(a, 2), /sum: axis 2 is out of range for a tensor of rank 2/);
  // dtype
  const ids = bg.tensor(Int32Array.from([1, 2]), [2]);
  assert.throws(() => bg.exp(ids), /exp: x must be f32, got i32/);
  assert.throws(() => bg.embedding(bg.zeros([4, 2]), bg.zeros([2])), /embedding: ids must be i32, got f32/);
  // disposed
  const d = bg.ones([3]);
  d.dispose();
  assert.throws(() => bg.exp(d), /exp: tensor#\d+ \[3\] was disposed/);
  let readError = '';
  await d.toArray().catch((e: Error) => (readError = e.message));
  assert.match(readError, /toArray: tensor#\d+ \[3\] was disposed/);
  // too large for a binding: names the limit and the size
  const limit = rt.report.limits.maxStorageBufferBindingSize;
  const n = Math.floor(limit / 4) + 1024;
  assert.throws(
    () => bg.zeros([n]),
    new RegExp(`needs a ${n * 4}-byte buffer, larger than this device's maxStorageBufferBindingSize \\(${limit} bytes\\)`),
  );
  // data / shape mismatch, bad shape, non-integer ids
  assert.throws(() => bg.tensor([1, 2, 3], [2, 2]), /tensor: data has 3 elements but shape \[2, 2\] needs 4/);
  assert.throws(() => bg.zeros([2, -1]), /invalid shape \[2, -1\]/);
  assert.throws(() => bg.tensor([1.5], [1], 'i32'), /i32 data\[0\] = 1.5 is not a 32-bit integer/);
  assert.throws(() => bg.dropout(a, 1), /dropout: p must be in \[0, 1\), got 1/);
  // a kernel binding that does not match the shader is caught by the reflection-derived checks
  const shader = bg.defineShader(
    'probe',
    '@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { out[g.x] = 1.0; }',
  );
  assert.throws(
    () => rt.dispatch(shader, 'main', {}, { threads: 1 }),
    /kernel probe.wgsl:main: binding 'out' \(@binding\(0\)\) was not given/,
  );
  assert.throws(() => rt.dispatch(shader, 'main', { out: ids }, { threads: 1 }), /binding 'out' holds array<f32>, got a i32 tensor/);
  assert.throws(() => rt.dispatch(shader, 'main', { out: a, extra: a }, { threads: 1 }), /unknown binding\(s\) extra/);
  assert.throws(() => rt.dispatch(shader, 'nope', { out: a }, { threads: 1 }), /has no compute entry point 'nope'/);
  // uniform structs: members written at their WGSL offsets; bad values named
  const probe = bg.defineShader(
    'uniform_probe',
    `struct P { n: u32, s: f32, v: vec2<u32> }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < 6u) { out[g.x] = f32(p.n) + p.s + f32(p.v.y) * 100.0 + inp[g.x]; } }`,
  );
  const out = bg.zeros([2, 3]);
  const inp = bg.tensor([0, 1, 2, 3, 4, 5], [2, 3]);
  rt.dispatch(probe, 'main', { out, inp, p: { n: 7, s: 0.5, v: [9, 3] } }, { threads: 6 });
  assert.equal(Array.from(await out.toArray()), [307.5, 308.5, 309.5, 310.5, 311.5, 312.5]);
  const call = (p: Record<string, number | number[]>) => () => rt.dispatch(probe, 'main', { out, inp, p }, { threads: 6 });
  assert.throws(call({ n: 7, s: 0.5 }), /kernel uniform_probe.wgsl:main: uniform 'p' is missing member 'v'/);
  assert.throws(call({ n: 7, s: 0.5, v: [1, 2], w: 1 }), /uniform 'p' has no member\(s\) w/);
  assert.throws(call({ n: -1, s: 0.5, v: [1, 2] }), /uniform member 'n' must be a u32, got -1/);
  assert.throws(call({ n: 7, s: 0.5, v: [1, 2, 3] }), /uniform member 'v' is vec2<u32>, got 3 values/);
  assert.throws(call({ n: 7, s: 0.5, v: 1 }), /uniform member 'v' is vec2<u32>, got 1 values/);
  assert.throws(
    () => rt.dispatch(probe, 'main', { out, inp, p: inp }, { threads: 6 }),
    /binding 'p' is a uniform struct; pass its member values, not a tensor/,
  );
  // a written buffer bound twice
  assert.throws(
    () => rt.dispatch(probe, 'main', { out, inp: out, p: { n: 1, s: 0, v: [0, 0] } }, { threads: 6 }),
    /binding 'inp' aliases a written buffer/,
  );
  for (const t of [a, b, ids, out, inp]) t.dispose();
});

test.run();
