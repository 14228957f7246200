// The ops a transformer is made of: matmul (every kernel variant), softmax / log-softmax with
// mask and scale, layer norm, GELU, embedding, cross-entropy, BCE with logits. Forward against
// float64 references, backward against finite differences. This file also runs in headless
// Chromium and in Deno (test/browser-entry.ts, test/deno-entry.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { checkOp, device, f32, rng, assertClose, ROW_VARIANTS, withRowVariant } from './helpers.js';

function matmulRef(
  a: Float64Array,
  b: Float64Array,
  batch: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  aBatched = true,
  bBatched = true,
) {
  const out = new Float64Array(batch * M * N);
  for (let q = 0; q < batch; q++) {
    const ao = aBatched ? q * M * K : 0;
    const bo = bBatched ? q * K * N : 0;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ao + (transA ? k * M + i : i * K + k)] * b[bo + (transB ? j * K + k : k * N + j)];
        out[q * M * N + i * N + j] = s;
      }
  }
  return out;
}

const MATMUL_CASES: [number, number, number, number][] = [
  // batch, M, N, K
  [1, 1, 1, 1],
  [1, 3, 17, 5],
  [1, 17, 3, 129],
  [2, 33, 17, 19],
  [1, 129, 3, 2],
  [3, 5, 7, 257],
  [1, 65, 66, 67],
  [2, 130, 136, 40],
];

const MATMUL_VARIANTS = ['register', 'register16', 'tiled', 'subgroup', 'subgrouptall'] as const;

/** Whether this device runs the variant ('subgroup' needs subgroups of a fixed 4 or 8 lanes; Deno's wgpu has none). */
async function runs(variant: bg.MatmulVariant): Promise<boolean> {
  const ok = bg.matmulCandidates(await device()).includes(variant);
  if (!ok) console.log(`  matmul ${variant}: not run, this device has no subgroups of a fixed 4 or 8 lanes`);
  return ok;
}

// [transA, transB]: the four layouts of op(A) and op(B)
const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

for (const variant of MATMUL_VARIANTS) {
  test(`matmul (${variant}): shapes x transpose flags, forward and backward`, async () => {
    if (!(await runs(variant))) return;
    for (const [batch, M, N, K] of MATMUL_CASES) {
      for (const [transA, transB] of TRANSPOSES) {
        const r = rng(M * 1000 + N * 10 + K);
        const a = f32(r.uniform(batch * M * K));
        const b = f32(r.uniform(batch * K * N));
        const aShape = transA ? [K, M] : [M, K];
        const bShape = transB ? [N, K] : [K, N];
        const big = batch * M * N * K > 20000; // finite differences of large products are slow on 2 cores
        await checkOp({
          what: `matmul ${variant} b${batch} ${M}x${N}x${K} tA=${transA} tB=${transB}`,
          inputs: [
            { data: a, shape: batch > 1 ? [batch, ...aShape] : aShape, grad: !big },
            { data: b, shape: batch > 1 ? [batch, ...bShape] : bShape, grad: !big },
          ],
          gpu: ([x, y]) => bg.matmul(x, y, { transA, transB, variant }),
          ref: ([x, y]) => matmulRef(x, y, batch, M, N, K, transA, transB),
          rtol: 1e-5,
          atol: 1e-5,
        });
      }
    }
  });

  test(`matmul (${variant}): a batched operand times a shared 2-D one, alpha`, async () => {
    if (!(await runs(variant))) return;
    const r = rng(7);
    const x = f32(r.uniform(2 * 3 * 4));
    const w = f32(r.uniform(5 * 4));
    // x [2, 3, 4] @ w^T (w [5, 4]) — the linear-layer shape; gradient of w sums over the batch
    await checkOp({
      what: `linear-shaped ${variant}`,
      inputs: [
        { data: x, shape: [2, 3, 4] },
        { data: w, shape: [5, 4] },
      ],
      gpu: ([a, b]) => bg.matmul(a, b, { transB: true, variant }),
      ref: ([a, b]) => matmulRef(a, b, 1, 6, 5, 4, false, true),
    });
    // shared 2-D a times batched b, with alpha
    const s = f32(r.uniform(3 * 4));
    const bb = f32(r.uniform(2 * 4 * 5));
    await checkOp({
      what: `shared a ${variant}`,
      inputs: [
        { data: s, shape: [3, 4] },
        { data: bb, shape: [2, 4, 5] },
      ],
      gpu: ([a, b]) => bg.matmul(a, b, { variant, alpha: 0.5 }),
      ref: ([a, b]) => matmulRef(a, b, 2, 3, 5, 4, false, false, false, true).map((v) => v * 0.5),
    });
  });
}

// subgroup4 and subgroup4tall read A and B as vec4s: every row stride, offset and batch stride a
// multiple of 4.
const VEC4_VARIANTS = ['subgroup4', 'subgroup4tall'] as const;
const VEC4_CASES: [number, number, number, number][] = [
  // batch, M, N, K
  [1, 4, 4, 4],
  [2, 36, 68, 12], // past one subgroup4 workgroup's 32 rows x 64 columns, both edges partial
  [1, 8, 132, 20],
  [3, 4, 8, 16],
  [1, 68, 12, 8], // past one subgroup4tall workgroup's 64 rows
];

for (const variant of VEC4_VARIANTS)
  test(`matmul (${variant}): vec4 loads, shapes x transpose flags, forward and backward, bias and alpha`, async () => {
    if (!(await runs(variant))) return;
    for (const [batch, M, N, K] of VEC4_CASES) {
      for (const [transA, transB] of TRANSPOSES) {
        const r = rng(M * 1000 + N * 10 + K + 5);
        const aShape = transA ? [K, M] : [M, K];
        const bShape = transB ? [N, K] : [K, N];
        const big = batch * M * N * K > 20000;
        await checkOp({
          what: `matmul ${variant} b${batch} ${M}x${N}x${K} tA=${transA} tB=${transB}`,
          inputs: [
            { data: f32(r.uniform(batch * M * K)), shape: batch > 1 ? [batch, ...aShape] : aShape, grad: !big },
            { data: f32(r.uniform(batch * K * N)), shape: batch > 1 ? [batch, ...bShape] : bShape, grad: !big },
            { data: f32(r.uniform(N)), shape: [N], grad: !big },
          ],
          gpu: ([x, y, c]) => bg.matmul(x, y, { transA, transB, alpha: 0.75, bias: c, variant }),
          ref: ([x, y, c]) => matmulRef(x, y, batch, M, N, K, transA, transB).map((v, i) => 0.75 * v + c[i % N]),
          rtol: 1e-5,
          atol: 1e-5,
        });
      }
    }
  });

for (const variant of VEC4_VARIANTS)
  test(`matmul (${variant}): K not a multiple of 4, partial edges and padded rows (NaN padding never reaches an output), the fallback`, async () => {
    const rt = await device();
    if (!(await runs(variant))) return;
    // op(A) M x K, op(B) K x N stored in rows padded to a multiple of 4 with NaN: the K tail is
    // zeroed in the kernel, rows / columns read past M / N are never stored
    for (const [batch, M, N, K] of [
      [1, 37, 9, 7],
      [2, 5, 70, 13],
      [1, 33, 65, 1],
      [1, 66, 3, 6],
    ]) {
      for (const [transA, transB] of TRANSPOSES) {
        const pad4 = (n: number) => Math.ceil(n / 4) * 4;
        const [aRows, aCols] = transA ? [K, M] : [M, K];
        const [bRows, bCols] = transB ? [N, K] : [K, N];
        const [lda, ldb] = [pad4(aCols), pad4(bCols)];
        const r = rng(M + N + K);
        const a = new Float32Array(batch * aRows * lda).fill(NaN);
        const b = new Float32Array(batch * bRows * ldb).fill(NaN);
        for (let z = 0; z < batch; z++) {
          for (let i = 0; i < aRows; i++) for (let j = 0; j < aCols; j++) a[z * aRows * lda + i * lda + j] = 2 * r.next() - 1;
          for (let i = 0; i < bRows; i++) for (let j = 0; j < bCols; j++) b[z * bRows * ldb + i * ldb + j] = 2 * r.next() - 1;
        }
        const want = new Float64Array(batch * M * N);
        for (let z = 0; z < batch; z++)
          for (let m = 0; m < M; m++)
            for (let n = 0; n < N; n++) {
              let acc = 0;
              for (let k = 0; k < K; k++)
                acc +=
                  a[z * aRows * lda + (transA ? k * lda + m : m * lda + k)] * b[z * bRows * ldb + (transB ? n * ldb + k : k * ldb + n)];
              want[z * M * N + m * N + n] = acc;
            }
        const [ta, tb] = [bg.tensor(a, [a.length]), bg.tensor(b, [b.length])];
        const out = bg.zeros([batch * M * N]);
        bg.matmulInto({
          M,
          N,
          K,
          batch,
          transA,
          transB,
          a: { t: ta, ld: lda, batchStride: aRows * lda },
          b: { t: tb, ld: ldb, batchStride: bRows * ldb },
          c: { t: out, ld: N, batchStride: M * N },
          variant,
        });
        assertClose(await out.toArray(), want, {
          rtol: 1e-5,
          atol: 1e-6,
          what: `${variant} padded b${batch} ${M}x${N}x${K} tA=${transA} tB=${transB}`,
        });
        for (const t of [ta, tb, out]) t.dispose();
      }
    }
    // forced on operands it cannot read as vec4s: a clear error; chosen by the runtime: matmul_subgroup runs
    const [x, w] = [bg.randn([6, 5]), bg.randn([3, 5])];
    assert.throws(
      () => bg.matmul(x, w, { transB: true, variant }),
      new RegExp(`matmul: variant '${variant}' reads A and B as vec4s: needs row strides \\(lda 5, ldb 5\\)`),
    );
    const saved = rt.options.matmulVariant;
    try {
      rt.setMatmulVariant(variant);
      rt.startProfile();
      const got = bg.matmul(x, w, { transB: true });
      const aligned = bg.matmul(bg.randn([8, 4]), bg.randn([4, 4]));
      const kernels = (await rt.stopProfile()).map((t) => t.kernel);
      // (subgroup4tall falls back to the same blocks with scalar loads, subgrouptall)
      assert.ok(kernels.includes(`matmul_subgroup${variant === 'subgroup4' ? '' : '_tall'}:matmul_subgroup`), kernels.join(', '));
      assert.ok(
        kernels.includes(`matmul_${variant === 'subgroup4' ? 'subgroup4' : 'subgroup4_tall'}:matmul_subgroup4`),
        kernels.join(', '),
      );
      const [xv, wv] = [await x.toArray(), await w.toArray()];
      const ref = matmulRef(Float64Array.from(xv), Float64Array.from(wv), 1, 6, 3, 5, false, true);
      assertClose(await got.toArray(), ref, { rtol: 1e-5, atol: 1e-6, what: `${variant} fallback` });
      for (const t of [got, aligned]) t.dispose();
    } finally {
      rt.setMatmulVariant(saved);
    }
    for (const t of [x, w]) t.dispose();
  });

test('linear backward: the bias gradient from the weight-gradient kernel (row sums of op(A)), every variant', async () => {
  const rt = await device();
  // past one workgroup's 32 (subgroup4tall: 64) rows of op(A) = g^T and its 64 columns: only the first
  // column block writes the sums, rows past M are clamped copies and never written
  const [R, N, K] = [40, 76, 132]; // multiples of 4: the vec4 kernels are forced too
  const r = rng(77);
  const [xd, wd, bd, gd] = [f32(r.uniform(R * K)), f32(r.uniform(N * K)), f32(r.uniform(N)), f32(r.uniform(R * N))];
  const dW = new Float64Array(N * K);
  const dBias = new Float64Array(N);
  for (let i = 0; i < R; i++)
    for (let n = 0; n < N; n++) {
      dBias[n] += gd[i * N + n];
      for (let k = 0; k < K; k++) dW[n * K + k] += gd[i * N + n] * xd[i * K + k];
    }
  for (const variant of [...MATMUL_VARIANTS, ...VEC4_VARIANTS]) {
    if (!(await runs(variant))) continue;
    const [x, w, b] = [bg.tensor(xd, [R, K]), bg.tensor(wd, [N, K]), bg.tensor(bd, [N])].map((t) => t.setRequiresGrad(true));
    const y = bg.matmul(x, w, { transB: true, bias: b, variant });
    const g = bg.tensor(gd, [R, N]);
    rt.startProfile();
    bg.backward(y, g);
    const kernels = (await rt.stopProfile()).map((t) => t.kernel);
    // the subgroup kernels sum g's columns from their own loads: no separate reduction
    assert.is(
      kernels.some((k) => k.startsWith('reduce:')),
      !variant.startsWith('subgroup'),
      `${variant}: ${kernels.join(', ')}`,
    );
    assertClose(await b.grad!.toArray(), dBias, { rtol: 1e-5, atol: 1e-5, what: `${variant} bias grad` });
    assertClose(await w.grad!.toArray(), dW, { rtol: 1e-5, atol: 1e-5, what: `${variant} weight grad` });
    for (const t of [x, w, b, y, g]) t.dispose();
  }
  // matmulInto says whether it wrote the sums: only the subgroup kernels, only for batch 1
  if (!(await runs('subgroup'))) return;
  const [a2, b2, c2, sums] = [bg.tensor(gd, [2, R / 2, N]), bg.tensor(xd, [R, K]), bg.zeros([2 * N * K]), bg.zeros([N])];
  const into = (batch: number, variant: bg.MatmulVariant, rowSums = sums) =>
    bg.matmulInto({
      M: N,
      N: K,
      K: R / batch,
      batch,
      transA: true,
      a: { t: a2, ld: N, batchStride: (R / batch) * N },
      b: { t: b2, ld: K, batchStride: (R / batch) * K },
      c: { t: c2, ld: K, batchStride: N * K },
      rowSums,
      variant,
    });
  assert.is(into(2, 'subgroup'), false, 'a batch of 2');
  assert.is(into(1, 'register'), false, 'the register kernel');
  assert.ok(
    (await sums.toArray()).every((v) => v === 0),
    'untouched when not written',
  );
  for (const variant of ['subgroup', ...VEC4_VARIANTS] as const) {
    const written = bg.zeros([N]);
    assert.is(into(1, variant, written), true, variant);
    assertClose(await written.toArray(), dBias, { rtol: 1e-5, atol: 1e-5, what: `matmulInto row sums, ${variant}` });
    written.dispose();
  }
  for (const t of [a2, b2, c2, sums]) t.dispose();
});

test('matmul with a fused bias (every variant, batched, transposed, the linear-layer reshape): forward and backward', async () => {
  await device();
  for (const variant of MATMUL_VARIANTS) {
    if (!(await runs(variant))) continue;
    for (const [batch, M, N, K, transA, transB] of [
      [1, 3, 17, 5, false, true],
      [2, 19, 17, 6, true, false],
      [1, 33, 34, 2, false, false],
      [3, 5, 7, 4, true, true],
    ] as const) {
      const r = rng(M * 100 + N + K);
      const a = f32(r.uniform(batch * M * K)),
        b = f32(r.uniform(batch * K * N)),
        c = f32(r.uniform(N));
      const aShape = transA ? [K, M] : [M, K],
        bShape = transB ? [N, K] : [K, N];
      await checkOp({
        what: `matmul+bias ${variant} b${batch} ${M}x${N}x${K} tA=${transA} tB=${transB}`,
        inputs: [
          { data: a, shape: batch > 1 ? [batch, ...aShape] : aShape },
          { data: b, shape: batch > 1 ? [batch, ...bShape] : bShape },
          { data: c, shape: [N] },
        ],
        gpu: ([x, y, z]) => bg.matmul(x, y, { transA, transB, variant, alpha: 0.75, bias: z }),
        ref: ([x, y, z]) => matmulRef(x, y, batch, M, N, K, transA, transB).map((v, i) => 0.75 * v + z[i % N]),
        rtol: 1e-5,
        atol: 1e-5,
      });
    }
    // x [2, 3, 4] @ w^T + b: the 2-D reshape a Linear takes; the bias gradient sums over batch and rows
    const r = rng(11);
    await checkOp({
      what: `linear-shaped matmul+bias ${variant}`,
      inputs: [
        { data: f32(r.uniform(24)), shape: [2, 3, 4] },
        { data: f32(r.uniform(20)), shape: [5, 4] },
        { data: f32(r.uniform(5)), shape: [5] },
      ],
      gpu: ([x, w, c]) => bg.matmul(x, w, { transB: true, variant, bias: c }),
      ref: ([x, w, c]) => matmulRef(x, w, 1, 6, 5, 4, false, true).map((v, i) => v + c[i % 5]),
    });
  }
  assert.throws(
    () => bg.matmul(bg.zeros([2, 3]), bg.zeros([3, 4]), { bias: bg.zeros([3]) }),
    /matmul: bias must be \[4\] \(the output's last dimension\), got \[3\]/,
  );
  assert.throws(() => bg.matmul(bg.zeros([2, 3]), bg.zeros([3, 4]), { bias: bg.zeros([1, 4]) }), /matmul: bias must be \[4\]/);
});

test('matmul tuning: the fastest variant measured once per shape class, kept per device (file or localStorage), off switch', async () => {
  const rt = await device();
  const g = globalThis as any;
  const saved = rt.options.matmulTuning;
  const shape = { M: 40, N: 36, K: 20, transB: true };
  const key = bg.matmulShapeClass(40, 36, 20, false, true);
  const setEnv = (k: string, v: string | undefined) => {
    if (g.Deno && v === undefined) g.Deno.env.delete(k);
    else if (g.Deno) g.Deno.env.set(k, v);
    else if (v === undefined) delete g.process.env[k];
    else g.process.env[k] = v;
  };
  const browser = !!g.localStorage && !g.Deno;
  const oldCache = browser ? undefined : g.Deno ? g.Deno.env.get('XDG_CACHE_HOME') : g.process.env.XDG_CACHE_HOME;
  let tmp: string | null = null;
  try {
    // Off: nothing measured, the per-adapter default stands.
    rt.options.matmulTuning = false;
    assert.is((await bg.tuneMatmul([shape])).size, 0);
    assert.is(rt.matmulVariant(40, 36, 20, false, true), rt.defaultMatmulVariant(40, 36, 20, 1, true));
    // In memory: one of the timed variants becomes the class's choice, for other sizes of the class too.
    rt.options.matmulTuning = 'memory';
    rt.matmulChoices.clear();
    const made = await bg.tuneMatmul([shape], { variants: ['register', 'register16'], reps: 1 });
    assert.equal([...made.keys()], [key]);
    const choice = made.get(key)!;
    assert.ok(['register', 'register16'].includes(choice), choice);
    assert.is(rt.matmulVariant(40, 36, 20, false, true), choice);
    assert.is(rt.matmulVariant(38, 33, 22, false, true), choice); // same class
    assert.is((await bg.tuneMatmul([shape])).size, 0); // measured once
    // Persisted: written for this device, read back by a fresh table.
    if (!browser) {
      const fs = await import('node:fs');
      const os = await import('node:os');
      tmp = fs.mkdtempSync(`${os.tmpdir()}/bertgpu-tune-`);
      setEnv('XDG_CACHE_HOME', tmp);
    } else g.localStorage.removeItem('bertgpu:matmul-tuning');
    rt.options.matmulTuning = true;
    rt.matmulChoices.clear();
    const stored = await bg.tuneMatmul([shape], { variants: ['register', 'register16'], reps: 1 });
    const text = browser
      ? g.localStorage.getItem('bertgpu:matmul-tuning')
      : (await import('node:fs')).readFileSync(bg.matmulTuningFile()!, 'utf8');
    assert.equal(JSON.parse(text)[bg.matmulDeviceKey(rt)], Object.fromEntries(stored));
    rt.matmulChoices.clear();
    assert.is(await bg.loadMatmulTuning(rt), 1);
    assert.is(rt.matmulVariant(40, 36, 20, false, true), stored.get(key));
    // The tuned kernel computes the same product.
    const a = bg.tensor(
      Array.from({ length: 800 }, (_, i) => (i % 7) - 3),
      [40, 20],
    );
    const b = bg.tensor(
      Array.from({ length: 720 }, (_, i) => (i % 5) - 2),
      [36, 20],
    );
    assertClose(await bg.matmul(a, b, { transB: true }).toArray(), await bg.matmul(a, b, { transB: true, variant: 'register' }).toArray(), {
      rtol: 0,
      atol: 0,
      what: 'tuned vs register',
    });
  } finally {
    rt.options.matmulTuning = saved;
    rt.matmulChoices.clear();
    if (browser) g.localStorage.removeItem('bertgpu:matmul-tuning');
    else {
      setEnv('XDG_CACHE_HOME', oldCache);
      if (tmp) (await import('node:fs')).rmSync(tmp, { recursive: true, force: true });
    }
  }
});

function softmaxRef(x: Float64Array, cols: number, scale: number, mask: Float64Array | null, group: number, log: boolean) {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const v = Array.from({ length: cols }, (_, j) => x[r * cols + j] * scale + (mask ? mask[Math.floor(r / group) * cols + j] : 0));
    const m = Math.max(...v);
    const s = v.reduce((a, b) => a + Math.exp(b - m), 0);
    v.forEach((t, j) => (out[r * cols + j] = log ? t - m - Math.log(s) : Math.exp(t - m) / s));
  }
  return out;
}

test('softmax and log-softmax: last axis, odd sizes, scale, attention-shaped mask', async () => {
  for (const log of [false, true]) {
    const op = log ? bg.logSoftmax : bg.softmax;
    for (const [rows, cols] of [
      [1, 1],
      [3, 17],
      [5, 129],
      [2, 257],
    ]) {
      const x = f32(rng(rows * cols).uniform(rows * cols, -4, 4));
      await checkOp({
        what: `${log ? 'log' : ''}softmax ${rows}x${cols}`,
        inputs: [{ data: x, shape: [rows, cols] }],
        gpu: ([t]) => op(t),
        ref: ([t]) => softmaxRef(t, cols, 1, null, 1, log),
        rtol: 1e-5,
        atol: 1e-6,
      });
    }
    // scores [B=2, H=3, T=4, T=4] with a padding mask [2, 1, 1, 4] and scale 1/sqrt(8)
    const B = 2,
      H = 3,
      T = 4;
    const x = f32(rng(11).uniform(B * H * T * T, -3, 3));
    const maskData = f32([0, 0, 0, -10000, 0, 0, -10000, -10000]);
    const mask = bg.tensor(Float32Array.from(maskData), [B, 1, 1, T]);
    await checkOp({
      what: `${log ? 'log' : ''}softmax masked`,
      inputs: [{ data: x, shape: [B, H, T, T] }],
      gpu: ([t]) => op(t, { scale: 1 / Math.sqrt(8), mask }),
      ref: ([t]) => softmaxRef(t, T, 1 / Math.sqrt(8), maskData, H * T, log),
      rtol: 1e-5,
      atol: 1e-5,
    });
  }
});

test('softmax: a mask that does not broadcast is refused with both shapes', async () => {
  await device();
  const x = bg.zeros([2, 3, 4]);
  assert.throws(() => bg.softmax(x, { mask: bg.zeros([3, 4, 4]) }), /softmax: mask \[3, 4, 4\] does not broadcast over x \[2, 3, 4\]/);
  assert.throws(() => bg.softmax(x, { mask: bg.zeros([2, 5]) }), /mask \[2, 5\]/);
});

function layerNormRef(x: Float64Array, w: Float64Array, b: Float64Array, cols: number, eps: number) {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const mu = row.reduce((a, v) => a + v, 0) / cols;
    const v = row.reduce((a, t) => a + (t - mu) ** 2, 0) / cols;
    for (let j = 0; j < cols; j++) out[r * cols + j] = ((row[j] - mu) / Math.sqrt(v + eps)) * w[j] + b[j];
  }
  return out;
}

for (const variant of ROW_VARIANTS)
  test(`layerNorm (${variant} rows): fused forward and backward for x, weight and bias`, () =>
    withRowVariant(variant, async () => {
      // 1100 rows: the weight / bias gradient runs in 256-row chunks plus a sum over them; 63-65 and
      // 300 columns: a workgroup's 64 invocations short of, at, and past a row
      for (const [rows, cols, eps] of [
        [1, 3, 1e-12],
        [4, 17, 1e-12],
        [3, 63, 1e-5],
        [2, 64, 1e-5],
        [3, 65, 1e-5],
        [3, 129, 1e-5],
        [2, 257, 1e-12],
        [2, 300, 1e-12],
        [1100, 3, 1e-5],
      ] as const) {
        const r = rng(rows + cols);
        const x = f32(r.uniform(rows * cols, -2, 2));
        const w = f32(r.uniform(cols, 0.5, 1.5));
        const b = f32(r.uniform(cols, -0.5, 0.5));
        await checkOp({
          what: `layerNorm ${rows}x${cols}`,
          inputs: [
            { data: x, shape: [rows, cols] },
            { data: w, shape: [cols] },
            { data: b, shape: [cols] },
          ],
          gpu: ([t, tw, tb]) => bg.layerNorm(t, tw, tb, eps),
          ref: ([t, tw, tb]) => layerNormRef(t, tw, tb, cols, eps),
          rtol: 1e-4,
          atol: 2e-5,
          gradRtol: 1e-3,
          gradAtol: 2e-4,
        });
      }
    }));

test('row kernels: one invocation per row on CPU adapters by default; a forced variant runs its own entry points', async () => {
  const rt = await device();
  assert.is(rt.rowVariant(), rt.isCpuAdapter() ? 'thread' : 'workgroup');
  const x = bg.tensor(Float32Array.from(rng(2).uniform(6)), [2, 3]);
  const [w, b] = [bg.ones([3]), bg.zeros([3])];
  for (const [variant, entry] of [
    ['thread', 'layernorm.wgsl:layernorm_forward'],
    ['workgroup', 'layernorm.wgsl:layernorm_forward_wg'],
  ] as const)
    await withRowVariant(variant, async () => {
      bg.layerNorm(x, w, b).dispose();
      assert.is(rt.lastKernels().at(-1), entry);
      bg.crossEntropy(x, bg.tensor(Int32Array.from([0, 2]), [2])).dispose();
      assert.ok(
        rt.lastKernels().includes(`cross_entropy.wgsl:cross_entropy_forward${variant === 'workgroup' ? '_wg' : ''}`),
        rt.lastKernels().join(', '),
      );
    });
  assert.is(rt.rowVariant(), rt.isCpuAdapter() ? 'thread' : 'workgroup', 'restored');
});

test('gelu (exact erf, as Hugging Face "gelu"): forward and backward', async () => {
  const { geluRef } = await import('./engine-elementwise.ref.js');
  const x = f32(rng(12).uniform(257, -6, 6));
  await checkOp({
    what: 'gelu',
    inputs: [{ data: x, shape: [257] }],
    gpu: ([t]) => bg.gelu(t),
    ref: ([t]) => t.map(geluRef),
    rtol: 2e-6,
    atol: 2e-6,
  });
});

/** Fills the pool's free buffers of `shape`'s size class with 5s: the next tensors of that size start stale. */
async function stalePool(shape: number[]): Promise<void> {
  for (const t of Array.from({ length: 8 }, () => bg.full(shape, 5))) t.dispose();
  await bg.runtime().sync();
}

test('embedding: lookup, padding_idx, deterministic scatter-add backward with repeated ids', async () => {
  await device();
  const V = 11,
    D = 17;
  const table = f32(rng(13).uniform(V * D));
  // 8 ids < 11 rows take the scanning backward; 24 ids > 11 rows are bucketed by row
  const wide = Int32Array.from({ length: 24 }, (_, m) => (m * 5 + 3) % V);
  await checkOp({
    what: 'embedding, more ids than rows',
    inputs: [{ data: table, shape: [V, D] }],
    gpu: ([w]) => bg.embedding(w, bg.tensor(wide, [4, 6])),
    ref: ([w]) => Float64Array.from(Array.from(wide).flatMap((id) => Array.from(w.subarray(id * D, (id + 1) * D)))),
  });
  const ids = Int32Array.from([3, 0, 3, 10, 7, 3, 1, 0]);
  const idsT = bg.tensor(ids, [2, 4]);
  for (const paddingIdx of [undefined, 0]) {
    await checkOp({
      what: `embedding padding=${paddingIdx}`,
      inputs: [{ data: table, shape: [V, D] }],
      gpu: ([w]) => {
        const out = bg.embedding(w, idsT, paddingIdx);
        assert.equal(out.shape, [2, 4, D]);
        return out;
      },
      ref: ([w]) => Float64Array.from(Array.from(ids).flatMap((id) => Array.from(w.subarray(id * D, (id + 1) * D)))),
      // The padding row's reference gradient is nonzero; handled below.
      gradAtol: paddingIdx === undefined ? 1e-4 : Infinity,
    });
  }
  // padding row gets exactly zero gradient, others the sum over their positions (bit-identical on reruns)
  const w = bg.tensor(Float32Array.from(table), [V, D]).setRequiresGrad();
  const g = bg.tensor(Float32Array.from(f32(rng(14).uniform(8 * D))), [2, 4, D]);
  const runs: Float32Array[] = [];
  for (let k = 0; k < 2; k++) {
    bg.backward(bg.embedding(w, idsT, 0), g);
    runs.push((await w.grad!.toArray()) as Float32Array);
    w.zeroGrad();
  }
  assert.ok(
    runs[0].slice(0, D).every((v) => v === 0),
    'padding row has zero gradient',
  );
  assert.equal(Array.from(runs[0]), Array.from(runs[1]), 'deterministic');
  // More ids than rows: CPU ids are bucketed by row; ids made on the GPU (argmax of one-hot rows,
  // no CPU copy) take the scanning backward. Both sum in index order: bit-identical gradients.
  const many = Int32Array.from({ length: 40 }, (_, m) => (m * 7 + (m >> 2)) % V);
  const gMany = bg.tensor(Float32Array.from(f32(rng(15).uniform(many.length * D))), [many.length, D]);
  bg.backward(bg.embedding(w, bg.tensor(many, [many.length]), 0), gMany);
  const bucketed = Array.from((await w.grad!.toArray()) as Float32Array);
  w.zeroGrad();
  const oneHot = new Float32Array(many.length * V);
  many.forEach((id, m) => {
    oneHot[m * V + id] = 1;
  });
  const gpuIds = bg.noGrad(() => bg.argmax(bg.tensor(oneHot, [many.length, V]), 1));
  assert.is(gpuIds.hostData, null, 'argmax ids live only on the GPU');
  bg.backward(bg.embedding(w, gpuIds, 0), gMany);
  assert.equal(Array.from((await w.grad!.toArray()) as Float32Array), bucketed, 'GPU-made ids: same gradient, bit for bit');
  w.zeroGrad();
  // Fewer ids than rows: CPU ids are bucketed by distinct id into a cleared gradient (rows
  // without ids stay exactly 0), GPU-made ones scan; same sums in the same order.
  const few = Int32Array.from([3, 0, 3, 10, 7, 3, 1, 0, 3]);
  const gFewData = Float32Array.from(f32(rng(16).uniform(few.length * D)));
  const gFew = bg.tensor(gFewData, [few.length, D]);
  const fewHot = new Float32Array(few.length * V);
  few.forEach((id, m) => {
    fewHot[m * V + id] = 1;
  });
  const fewGpu = bg.noGrad(() => bg.argmax(bg.tensor(fewHot, [few.length, V]), 1));
  for (const paddingIdx of [undefined, 3]) {
    await stalePool([V, D]);
    bg.backward(bg.embedding(w, bg.tensor(few, [few.length]), paddingIdx), gFew);
    const fromHost = Array.from((await w.grad!.toArray()) as Float32Array);
    w.zeroGrad();
    await stalePool([V, D]);
    bg.backward(bg.embedding(w, fewGpu, paddingIdx), gFew);
    assert.equal(
      fromHost,
      Array.from((await w.grad!.toArray()) as Float32Array),
      `padding ${paddingIdx}: CPU ids = GPU-made ids, bit for bit`,
    );
    w.zeroGrad();
    for (const v of [2, 4, 5, 6, 8, 9, ...(paddingIdx === 3 ? [3] : [])])
      assert.ok(
        fromHost.slice(v * D, (v + 1) * D).every((x) => x === 0),
        `row ${v} (no ids${v === paddingIdx ? ', padding' : ''}) is 0`,
      );
    const expect3 = paddingIdx === 3 ? 0 : [0, 2, 5, 8].reduce((a, m) => a + gFewData[m * D], 0);
    assert.ok(Math.abs(fromHost[3 * D] - expect3) < 1e-6, `row 3 sums its 4 positions (${fromHost[3 * D]} vs ${expect3})`);
  }
  assert.throws(
    () => bg.embedding(w, bg.tensor(Int32Array.from([1, 11]), [2])),
    /embedding: index 11 at position 1 of indices \[2\] is out of range \[0, 11\)/,
  );
  assert.throws(() => bg.embedding(w, bg.tensor(Int32Array.from([-1]), [1])), /index -1 at position 0/);
});

test('gather forward by rows (rows of >= 64; vec4s for multiples of 4): indexSelect with an outer axis, embeddings, an f16 table', async () => {
  const rt = await device();
  const x = f32(rng(21).uniform(3 * 5 * 70));
  const picks = [4, 0, 4, 2];
  const want = Float64Array.from(
    [0, 1, 2].flatMap((o) => picks.flatMap((m) => Array.from(x.subarray((o * 5 + m) * 70, (o * 5 + m + 1) * 70)))),
  );
  const got = bg.indexSelect(bg.tensor(x, [3, 5, 70]), 1, bg.tensor(Int32Array.from(picks), [4]));
  assert.is(rt.lastKernels().at(-1), 'gather.wgsl:gather_forward_rows');
  assertClose(await got.toArray(), want, { rtol: 0, atol: 0, what: 'indexSelect [3, 5, 70] axis 1' });
  const table = f32(rng(22).uniform(9 * 130));
  const ids = [8, 0, 3, 3, 7];
  const rows = Float64Array.from(ids.flatMap((id) => Array.from(table.subarray(id * 130, (id + 1) * 130))));
  assertClose(await bg.embedding(bg.tensor(table, [9, 130]), bg.tensor(Int32Array.from(ids), [5])).toArray(), rows, {
    rtol: 0,
    atol: 0,
    what: 'embedding [9, 130]',
  });
  // rows of a multiple of 4: vec4s
  const table4 = table.subarray(0, 9 * 128);
  const rows4 = Float64Array.from(ids.flatMap((id) => Array.from(table4.subarray(id * 128, (id + 1) * 128))));
  const got4 = bg.embedding(bg.tensor(table4, [9, 128]), bg.tensor(Int32Array.from(ids), [5]));
  assert.is(rt.lastKernels().at(-1), 'gather.wgsl:gather_forward_rows4');
  assertClose(await got4.toArray(), rows4, { rtol: 0, atol: 0, what: 'embedding [9, 128]' });
  const x4 = f32(rng(23).uniform(2 * 3 * 64));
  const sel = bg.indexSelect(bg.tensor(x4, [2, 3, 64]), 1, bg.tensor(Int32Array.from([2, 2, 0]), [3]));
  assert.is(rt.lastKernels().at(-1), 'gather.wgsl:gather_forward_rows4');
  const want4 = Float64Array.from(
    [0, 1].flatMap((o) => [2, 2, 0].flatMap((m) => Array.from(x4.subarray((o * 3 + m) * 64, (o * 3 + m + 1) * 64)))),
  );
  assertClose(await sel.toArray(), want4, { rtol: 0, atol: 0, what: 'indexSelect [2, 3, 64] axis 1' });
  if (rt.hasFeature('shader-f16')) {
    const half = bg.embedding(bg.tensor(table, [9, 130], 'f16'), bg.tensor(Int32Array.from(ids), [5]));
    assert.is(rt.lastKernels().at(-1), 'gather_f16.wgsl:gather_forward_rows');
    assertClose(await half.toArray(), rows, { rtol: 1e-3, atol: 1e-3, what: 'embedding of an f16 [9, 130] table' });
  }
});

test('indexSelect along a middle axis: forward and backward', async () => {
  const x = f32(rng(15).uniform(2 * 5 * 3));
  const idx = bg.tensor(Int32Array.from([4, 0, 4]), [3]);
  await checkOp({
    what: 'indexSelect axis 1',
    inputs: [{ data: x, shape: [2, 5, 3] }],
    gpu: ([t]) => bg.indexSelect(t, 1, idx),
    ref: ([t]) =>
      Float64Array.from([0, 1].flatMap((o) => [4, 0, 4].flatMap((m) => Array.from(t.subarray((o * 5 + m) * 3, (o * 5 + m) * 3 + 3))))),
  });
  // the same indices made on the GPU (a copy without the CPU's): the same gradient, bit for bit
  const gpuIdx = bg.clone(idx);
  assert.is(gpuIdx.hostData, null);
  const grads: number[][] = [];
  for (const i of [idx, gpuIdx]) {
    const t = bg.tensor(x, [2, 5, 3]).setRequiresGrad();
    await stalePool([2, 5, 3]);
    bg.backward(bg.indexSelect(t, 1, i), bg.tensor(f32(rng(16).uniform(18)), [2, 3, 3]));
    grads.push(Array.from((await t.grad!.toArray()) as Float32Array));
  }
  assert.equal(grads[1], grads[0]);
  assert.ok(grads[0].slice(3, 6).every((v) => v === 0) && grads[0].slice(18, 21).every((v) => v === 0), 'unpicked rows stay 0');
});

function ceRef(x: Float64Array, targets: number[], C: number, ignore = -100) {
  let s = 0,
    n = 0;
  targets.forEach((t, r) => {
    if (t === ignore) return;
    const row = x.subarray(r * C, (r + 1) * C);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    s += lse - row[t];
    n++;
  });
  return Float64Array.of(n ? s / n : 0);
}

for (const variant of ROW_VARIANTS)
  test(`crossEntropy (${variant} rows): ignore_index -100, mean over counted rows, forward and backward`, () =>
    withRowVariant(variant, async () => {
      for (const [N, C] of [
        [1, 3],
        [5, 17],
        [4, 64],
        [7, 129],
        [3, 257],
        [2, 1000],
      ]) {
        const r = rng(N * C);
        const x = f32(r.uniform(N * C, -3, 3));
        const targets = Array.from(r.int(N, 0, C));
        if (N > 2) targets[1] = -100;
        const t = bg.tensor(Int32Array.from(targets), [N]);
        await checkOp({
          what: `crossEntropy ${N}x${C}`,
          inputs: [{ data: x, shape: [N, C] }],
          gpu: ([l]) => bg.crossEntropy(l, t),
          ref: ([l]) => ceRef(l, targets, C),
          rtol: 1e-5,
          atol: 1e-5,
        });
      }
      // logits [B, T, C] with targets [B, T]
      const x = f32(rng(16).uniform(2 * 3 * 5));
      const targets = [1, -100, 4, 0, 2, -100];
      await checkOp({
        what: 'crossEntropy 3-D',
        inputs: [{ data: x, shape: [2, 3, 5] }],
        gpu: ([l]) => bg.crossEntropy(l, bg.tensor(Int32Array.from(targets), [2, 3])),
        ref: ([l]) => ceRef(l, targets, 5),
      });
      // everything ignored: loss 0 and zero gradient (torch gives NaN)
      const l = bg.zeros([2, 3]).setRequiresGrad();
      const loss = bg.crossEntropy(l, bg.tensor(Int32Array.from([-100, -100]), [2]));
      assert.is(await loss.item(), 0);
      loss.backward();
      assert.ok(Array.from(await l.grad!.toArray()).every((v) => v === 0));
      assert.throws(
        () => bg.crossEntropy(bg.zeros([2, 3]), bg.tensor(Int32Array.from([0, 3]), [2])),
        /crossEntropy: target 3 at position 1 is out of range \[0, 3\)/,
      );
      assert.throws(
        () => bg.crossEntropy(bg.zeros([2, 3]), bg.tensor(Int32Array.from([0, 1, 2]), [3])),
        /crossEntropy: targets \[3\] must match logits \[2, 3\]/,
      );
      assert.throws(() => bg.crossEntropy(bg.zeros([2, 3]), bg.zeros([2])), /crossEntropy: targets must be i32, got f32/);
    }));

test('crossEntropy: the vec4 kernels for rows of >= 4 classes (vectors spanning two rows), the scalar ones below', async () => {
  const rt = await device();
  // [3, 5]: the vector of elements 4..7 holds row 0's last class and row 1's first three; row 1's
  // target 0 and row 0's target 4 sit in it. [3, 6] with the middle row ignored and NaN there:
  // its gradient stays exactly 0 and its neighbours' stay right. [1, 3]: the scalar kernel.
  for (const [N, C, targets, nanRow] of [
    [3, 5, [4, 0, 2], -1],
    [3, 6, [5, -100, 0], 1],
    [4, 7, [6, 0, -100, 3], -1],
    [1, 3, [2], -1],
  ] as [number, number, number[], number][]) {
    const x = f32(rng(N * C + 1).uniform(N * C, -3, 3));
    if (nanRow >= 0) x[nanRow * C + 2] = NaN;
    const l = bg.tensor(Float32Array.from(x), [N, C]).setRequiresGrad();
    const ran = (k: string) =>
      assert.ok(rt.lastKernels().includes(`cross_entropy.wgsl:${k}`), `${N}x${C}: ${k} in ${rt.lastKernels().join(', ')}`);
    const loss = bg.crossEntropy(l, bg.tensor(Int32Array.from(targets), [N]));
    // CPU adapters (one invocation per row by default): the forward over vec4s too
    if (rt.rowVariant() === 'thread') ran(`cross_entropy_forward${C >= 4 ? '4' : ''}`);
    loss.backward();
    ran(`cross_entropy_backward${C >= 4 ? '4' : ''}`);
    const wantLoss =
      targets.reduce((a, t, r) => {
        if (t === -100) return a;
        const row = Array.from(x.subarray(r * C, (r + 1) * C));
        const m = Math.max(...row);
        return a + m + Math.log(row.reduce((z, v) => z + Math.exp(v - m), 0)) - row[t];
      }, 0) / targets.filter((t) => t !== -100).length;
    assertClose(Float64Array.of(await loss.item()), Float64Array.of(wantLoss), {
      rtol: 1e-5,
      atol: 1e-6,
      what: `crossEntropy ${N}x${C} loss`,
    });
    // float64 reference: (softmax - onehot) / counted rows on counted rows, 0 on ignored ones
    const counted = targets.filter((t) => t !== -100).length;
    const want = new Float64Array(N * C);
    targets.forEach((t, r) => {
      if (t === -100) return;
      const row = Array.from(x.subarray(r * C, (r + 1) * C));
      const m = Math.max(...row);
      const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
      row.forEach((v, j) => (want[r * C + j] = (Math.exp(v - m) / z - (j === t ? 1 : 0)) / counted));
    });
    const got = await l.grad!.toArray();
    assertClose(got, want, { rtol: 1e-5, atol: 1e-6, what: `crossEntropy ${N}x${C} gradient` });
    if (nanRow >= 0)
      assert.ok(
        got.slice(nanRow * C, (nanRow + 1) * C).every((v) => v === 0),
        'the ignored NaN row: zeros',
      );
    for (const t of [l, loss]) t.dispose();
  }
  // a NaN in a counted row makes the loss NaN (torch), whichever lane's share holds it
  for (const at of [0, 5, 13]) {
    const x = f32(rng(at).uniform(2 * 7, -3, 3));
    x[at] = NaN;
    const loss = await bg.crossEntropy(bg.tensor(Float32Array.from(x), [2, 7]), bg.tensor(Int32Array.from([1, 2]), [2])).item();
    assert.ok(Number.isNaN(loss), `NaN at ${at}: loss ${loss}`);
  }
});

test('bceWithLogits: per-element weights, forward and backward', async () => {
  const r = rng(17);
  const n = 129;
  const x = f32(r.uniform(n, -8, 8));
  const y = f32(Array.from({ length: n }, () => (r.next() < 0.5 ? 0 : 1)));
  const w = f32(r.uniform(n, 0, 2));
  const ref = (xs: Float64Array, weights: Float64Array | null) =>
    Float64Array.of(
      xs.reduce((s, v, i) => s + (weights ? weights[i] : 1) * (Math.max(v, 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)))), 0) / n,
    );
  const yt = bg.tensor(Float32Array.from(y), [n]);
  const wt = bg.tensor(Float32Array.from(w), [n]);
  await checkOp({
    what: 'bce weighted',
    inputs: [{ data: x, shape: [n] }],
    gpu: ([t]) => bg.bceWithLogits(t, yt, wt),
    ref: ([t]) => ref(t, w),
  });
  await checkOp({ what: 'bce', inputs: [{ data: x, shape: [n] }], gpu: ([t]) => bg.bceWithLogits(t, yt), ref: ([t]) => ref(t, null) });
});

test('dropout: keep rate, scaling, the same mask in backward, identity in eval', async () => {
  await device();
  const n = 20000;
  const x = bg.ones([n]).setRequiresGrad();
  const gen = new bg.Generator(1234);
  const y = bg.dropout(x, 0.1, { generator: gen });
  const yv = await y.toArray();
  const kept = yv.filter((v) => v !== 0);
  const rate = kept.length / n;
  // binomial std sqrt(0.09/20000) = 0.0021: 5 sigma
  assert.ok(Math.abs(rate - 0.9) < 0.0106, `keep rate ${rate}`);
  assertClose(kept, new Float64Array(kept.length).fill(1 / 0.9), { what: 'scale' });
  y.backward(bg.full([n], 2));
  const g = await x.grad!.toArray();
  for (let i = 0; i < n; i++) if ((g[i] !== 0) !== (yv[i] !== 0)) assert.unreachable(`mask differs in backward at ${i}`);
  const same = await bg.dropout(bg.ones([n]), 0.1, { generator: new bg.Generator(1234) }).toArray();
  assert.equal(Array.from(same), Array.from(yv), 'same seed, same mask');
  const evalOut = await bg.dropout(bg.full([5], 3), 0.5, { training: false }).toArray();
  assert.equal(Array.from(evalOut), [3, 3, 3, 3, 3]);
});

// One operand of a strided product as matmulInto reads it: element (r, c) of product z.
interface ViewRef {
  ld: number;
  offset?: number;
  batchStride?: number;
  headStride?: number;
}
const at = (v: ViewRef, heads: number, z: number, r: number, c: number) =>
  (v.offset ?? 0) + Math.floor(z / heads) * (v.batchStride ?? 0) + (z % heads) * (v.headStride ?? 0) + r * v.ld + c;

test('matmulInto (every variant): head-strided views, row strides and offsets, a bias at an offset, the GELU store and its pre-activation', async () => {
  await device();
  for (const [Bt, T, heads, D] of [
    [2, 7, 2, 5], // odd head size and T
    [2, 12, 2, 8], // BERT-like: every offset and stride a multiple of 4
  ])
    await stridedCase(Bt, T, heads, D);
});

async function stridedCase(Bt: number, T: number, heads: number, D: number) {
  const { geluRef } = await import('./engine-elementwise.ref.js');
  // attention's products on a packed [Bt, T, 3H] projection
  const H = heads * D;
  const batch = Bt * heads;
  const r = rng(31);
  const qkv = f32(r.uniform(Bt * T * 3 * H, -1, 1));
  const head = (col: number, ld: number): ViewRef => ({ ld, offset: col, batchStride: T * ld, headStride: D });
  const square: ViewRef = { ld: T, batchStride: heads * T * T, headStride: T * T };
  const probs = f32(r.uniform(batch * T * T));
  const SENTINEL = 7;
  const cases = [
    // scores = 0.3 * q k^T per head
    { M: T, N: T, K: D, transB: true, alpha: 0.3, a: [qkv, head(0, 3 * H)], b: [qkv, head(H, 3 * H)], c: square, cSize: batch * T * T },
    // context = probs @ v, written into the head's columns of [Bt, T, H]
    { M: T, N: D, K: T, a: [probs, square], b: [qkv, head(2 * H, 3 * H)], c: head(0, H), cSize: Bt * T * H },
    // dK = scores^T @ q into the K columns of a [Bt, T, 3H] gradient: the rest keeps its values
    { M: T, N: D, K: T, transA: true, a: [probs, square], b: [qkv, head(0, 3 * H)], c: head(H, 3 * H), cSize: Bt * T * 3 * H },
  ] as const;
  for (const variant of [...MATMUL_VARIANTS, ...VEC4_VARIANTS] as const) {
    if (!(await runs(variant))) continue;
    if ((variant === 'subgroup4' || variant === 'subgroup4tall') && D % 4) {
      // strides of 3H = 30 and a head size of 5 cannot be read as vec4s
      const [ta, out] = [bg.zeros([Bt * T * 3 * H]), bg.zeros([batch * T * T])];
      const q = { t: ta, ...head(0, 3 * H) };
      assert.throws(
        () => bg.matmulInto({ M: T, N: T, K: D, batch, heads, transB: true, a: q, b: q, c: { t: out, ...square }, variant }),
        new RegExp(`variant '${variant}' reads A and B as vec4s`),
      );
      for (const t of [ta, out]) t.dispose();
      continue;
    }
    for (const [i, cs] of cases.entries()) {
      const { M, N, K, c: cv, cSize } = cs;
      const transA = 'transA' in cs && cs.transA;
      const transB = 'transB' in cs && cs.transB;
      const alpha = 'alpha' in cs ? cs.alpha : 1;
      const [aData, av] = cs.a;
      const [bData, bv] = cs.b;
      const expected = new Float64Array(cSize).fill(SENTINEL);
      for (let z = 0; z < batch; z++)
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let acc = 0;
            for (let k = 0; k < K; k++)
              acc +=
                aData[transA ? at(av, heads, z, k, m) : at(av, heads, z, m, k)] *
                bData[transB ? at(bv, heads, z, n, k) : at(bv, heads, z, k, n)];
            expected[at(cv, heads, z, m, n)] = alpha * acc;
          }
      const [ta, tb] = [bg.tensor(Float32Array.from(aData), [aData.length]), bg.tensor(Float32Array.from(bData), [bData.length])];
      const out = bg.full([cSize], SENTINEL);
      bg.matmulInto({
        M,
        N,
        K,
        batch,
        heads,
        transA,
        transB,
        alpha,
        a: { t: ta, ...av },
        b: { t: tb, ...bv },
        c: { t: out, ...cv },
        variant,
      });
      assertClose(await out.toArray(), expected, { rtol: 1e-5, atol: 1e-6, what: `matmulInto ${variant} case ${i}, T ${T} D ${D}` });
      for (const t of [ta, tb, out]) t.dispose();
    }
    // x [5, K] W^T with W and the bias packed in one buffer ([W; 3 unused; bias]), through GELU,
    // into rows 9 apart at offset 2, the pre-activation (no bias) beside it
    const [M, N, K] = [5, 4, D === 8 ? 8 : 6];
    const x = f32(r.uniform(M * K, -2, 2));
    const packed = f32(r.uniform(N * K + 3 + N, -1, 1));
    const ld = 9;
    const y = bg.full([2 + M * ld], SENTINEL);
    const pre = bg.full([2 + M * ld], SENTINEL);
    const [tx, tp] = [bg.tensor(Float32Array.from(x), [M, K]), bg.tensor(Float32Array.from(packed), [packed.length])];
    bg.matmulInto({
      M,
      N,
      K,
      transB: true,
      a: { t: tx, ld: K },
      b: { t: tp, ld: K },
      c: { t: y, ld, offset: 2 },
      bias: { t: tp, offset: N * K + 3 },
      gelu: true,
      pre,
      variant,
    });
    const wantY = new Float64Array(2 + M * ld).fill(SENTINEL);
    const wantPre = new Float64Array(2 + M * ld).fill(SENTINEL);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += x[m * K + k] * packed[n * K + k];
        wantPre[2 + m * ld + n] = acc;
        wantY[2 + m * ld + n] = geluRef(acc + packed[N * K + 3 + n]);
      }
    assertClose(await y.toArray(), wantY, { rtol: 1e-5, atol: 2e-6, what: `matmulInto ${variant} GELU store` });
    assertClose(await pre.toArray(), wantPre, { rtol: 1e-5, atol: 1e-6, what: `matmulInto ${variant} pre-activation` });
    for (const t of [tx, tp, y, pre]) t.dispose();
  }
}

test('gumbelMaxSample: the same ids as argmax(logits - log(-log(rand))) bit for bit, one generator offset, NaN and ties as argmax', async () => {
  await device();
  for (const [N, C] of [
    [3, 5],
    [7, 64],
    [5, 1000],
  ]) {
    const x = f32(rng(N + C).uniform(N * C, -4, 4));
    x[2] = NaN; // row 0: the NaN wins, as argmax
    if (N > 3) for (let j = 0; j < C; j++) x[C + j] = 1e9 * (j % 2); // row 1: 1e9 + g rounds to 1e9 (|g| < 17 < half its f32 spacing): ties, the first wins
    const logits = bg.tensor(x, [N, C]);
    const a = new bg.Generator(11, 3);
    const b = new bg.Generator(11, 3);
    const fused = (await bg.gumbelMaxSample(logits, { generator: a }).toArray()) as Int32Array;
    const u = bg.rand([N, C], { low: 1e-12, high: 1, generator: b });
    const chain = (await bg.argmax(bg.add(logits, bg.neg(bg.log(bg.neg(bg.log(u))))), 1).toArray()) as Int32Array;
    assert.equal(Array.from(fused), Array.from(chain), `${N}x${C}`);
    assert.is(a.offset, b.offset, 'one offset drawn, as rand');
    assert.is(fused[0], 2, 'the NaN column');
    if (N > 3) assert.is(fused[1], 1, 'the first of the tied maxima');
  }
  // samples follow softmax(logits): 4000 rows of [ln 0.7, ln 0.2, ln 0.1]
  const rows = 4000;
  const probs = [0.7, 0.2, 0.1];
  const logits = bg.tensor(
    Float32Array.from({ length: rows * 3 }, (_, i) => Math.log(probs[i % 3])),
    [rows, 3],
  );
  const ids = (await bg.gumbelMaxSample(logits, { generator: new bg.Generator(5) }).toArray()) as Int32Array;
  for (const [k, pk] of probs.entries()) {
    const share = ids.filter((v) => v === k).length / rows;
    assert.ok(Math.abs(share - pk) < 4 * Math.sqrt((pk * (1 - pk)) / rows), `class ${k}: share ${share} vs ${pk}`);
  }
  assert.throws(() => bg.gumbelMaxSample(bg.zeros([2, 3, 4])), /gumbelMaxSample: logits must be \[rows, classes\], got \[2, 3, 4\]/);
  assert.throws(() => bg.gumbelMaxSample(bg.zeros([2, 3]), { low: 0 }), /low must be in \(0, 1\)/);
});

test.run();
