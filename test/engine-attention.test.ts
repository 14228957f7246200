// Fused attention (ops.attention, shaders/attention.wgsl), every kernel variant: forward against a
// float64 reference (padding masks, fully padded sequences, odd T, T past one block and one
// workgroup, a head size not a multiple of 4), gradients against finite differences and against
// the unfused path (matmul, softmax, dropout, matmul), dropout masks equal to ops.dropout's, and
// the PyTorch fixtures with the fused path forced.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { type AttentionKernel, type AttentionVariant } from '../src/runtime.js';
import { readBytes } from '../src/io/files.js';
import { device, rng, f32, read, assertClose, checkOp } from './helpers.js';
import { dropoutUniform } from './rng.ref.js';
import { compareOutputs } from './golden.js';

const VARIANTS: AttentionVariant[] = ['rows', 'tiled', 'unfused'];
const F32_MIN = -3.4028234663852886e38;

interface Case {
  B: number;
  T: number;
  heads: number;
  D: number;
}

/** HF's additive mask from per-batch valid lengths (0 = a fully padded sequence). */
function additiveMask(B: number, T: number, lengths: number[]): Float64Array {
  const m = new Float64Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) m[b * T + t] = t < lengths[b] ? 0 : F32_MIN;
  return m;
}

/** ops.dropout's multipliers for the n elements of the [B, heads, T, T] probabilities (test/rng.ref.ts's Philox). */
function dropMultipliers(seed: number, offset: number, p: number, n: number): Float64Array {
  const scale = Math.fround(1 / (1 - p));
  return Float64Array.from({ length: n }, (_, e) => (dropoutUniform(seed, offset, e) >= Math.fround(p) ? scale : 0));
}

/**
 * float64 attention over [B, T, heads * D] rows; a row whose keys are all masked gives zeros (as
 * the engine's softmax does for such a row).
 */
function reference(
  c: Case,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  mask: Float64Array | null,
  drop: Float64Array | null,
): Float64Array {
  const { B, T, heads, D } = c;
  const H = heads * D;
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(B * T * H);
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < T; i++) {
        let m = -Infinity;
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(b * T + i) * H + h * D + d] * k[(b * T + j) * H + h * D + d];
          s[j] = dot * scale + (mask ? mask[b * T + j] : 0);
          m = Math.max(m, s[j]);
        }
        if (m < -3.4e38) continue;
        let sum = 0;
        for (let j = 0; j < T; j++) sum += s[j] = Math.exp(s[j] - m);
        for (let j = 0; j < T; j++) {
          const w = (s[j] / sum) * (drop ? drop[((b * heads + h) * T + i) * T + j] : 1);
          for (let d = 0; d < D; d++) out[(b * T + i) * H + h * D + d] += w * v[(b * T + j) * H + h * D + d];
        }
      }
    }
  }
  return out;
}

/** The unfused path, as BertSelfAttention computes it. */
function unfused(
  c: Case,
  q: bg.Tensor,
  k: bg.Tensor,
  v: bg.Tensor,
  mask: bg.Tensor | null,
  dropout: number,
  generator?: bg.Generator,
): bg.Tensor {
  const { B, T, heads, D } = c;
  const split = (x: bg.Tensor) => bg.permute(bg.reshape(x, [B, T, heads, D]), [0, 2, 1, 3]);
  const scores = bg.matmul(split(q), split(k), { transB: true, alpha: 1 / Math.sqrt(D) });
  const probs = bg.softmax(scores, mask ? { mask } : {});
  const dropped = bg.dropout(probs, dropout, { generator });
  return bg.reshape(bg.permute(bg.matmul(dropped, split(v)), [0, 2, 1, 3]), [B, T, heads * D]);
}

/** checkOp (forward vs the float64 reference, gradients vs its finite differences) of one case. */
async function gradientCheck(
  variant: AttentionVariant,
  c: Case,
  lengths: number[],
  seed: number,
  dropout: { p: number; seed: number; offset: number; drop: Float64Array } | null,
) {
  const r = rng(seed);
  const shape = [c.B, c.T, c.heads * c.D];
  const mask = additiveMask(c.B, c.T, lengths);
  const maskT = bg.tensor(Float32Array.from(mask), [c.B, 1, 1, c.T]);
  const options = dropout ? { dropout: dropout.p, generator: new bg.Generator(dropout.seed, dropout.offset) } : {};
  await checkOp({
    what: `attention ${variant}${dropout ? ' dropout' : ''}`,
    inputs: [0, 1, 2].map(() => ({ data: f32(r.uniform(c.B * c.T * c.heads * c.D, -1.5, 1.5)), shape })),
    // a fresh generator per call: every evaluation draws the same mask
    gpu: ([q, k, v]) => bg.attention(q, k, v, { heads: c.heads, mask: maskT, variant, ...options }),
    ref: ([q, k, v]) => reference(c, q, k, v, mask, dropout?.drop ?? null),
  });
  maskT.dispose();
}

const CASES: [string, Case, number[]][] = [
  ['odd T below one block, one sequence fully padded', { B: 3, T: 7, heads: 2, D: 4 }, [5, 0, 7]],
  ['T past two key blocks and one workgroup, head size 6', { B: 2, T: 70, heads: 1, D: 6 }, [70, 33]],
  ['T = 37, head size 8, no padding in one', { B: 2, T: 37, heads: 3, D: 8 }, [37, 1]],
];

for (const variant of VARIANTS) {
  for (const [what, c, lengths] of CASES) {
    test(`attention (${variant}) forward: ${what}`, async () => {
      await device();
      const r = rng(1);
      const n = c.B * c.T * c.heads * c.D;
      const [q, k, v] = [0, 1, 2].map(() => f32(r.uniform(n, -2, 2)));
      const mask = additiveMask(c.B, c.T, lengths);
      const t = (x: Float64Array, shape: number[]) => bg.tensor(Float32Array.from(x), shape);
      const shape = [c.B, c.T, c.heads * c.D];
      const out = bg.attention(t(q, shape), t(k, shape), t(v, shape), { heads: c.heads, mask: t(mask, [c.B, 1, 1, c.T]), variant });
      assertClose(await read(out), reference(c, q, k, v, mask, null), { rtol: 1e-5, atol: 1e-6, what });
      // the same mask as [B, T]
      const flat = bg.attention(t(q, shape), t(k, shape), t(v, shape), { heads: c.heads, mask: t(mask, [c.B, c.T]), variant });
      assertClose(await read(flat), reference(c, q, k, v, mask, null), { rtol: 1e-5, atol: 1e-6, what: `${what}, [B, T] mask` });
      const plain = bg.attention(t(q, shape), t(k, shape), t(v, shape), { heads: c.heads, variant });
      assertClose(await read(plain), reference(c, q, k, v, null, null), { rtol: 1e-5, atol: 1e-6, what: `${what}, no mask` });
    });
  }

  test(`attention (${variant}) gradients of q, k, v match finite differences (padding, a fully padded sequence)`, async () => {
    await gradientCheck(variant, { B: 2, T: 5, heads: 2, D: 4 }, [3, 0], 2, null);
  });

  test(`attention (${variant}) with dropout: forward and gradients of the same seeded function (finite differences)`, async () => {
    const c = { B: 2, T: 9, heads: 2, D: 4 };
    const dropout = { p: 0.3, seed: 1234, offset: 17 };
    const drop = dropMultipliers(dropout.seed, dropout.offset, dropout.p, c.B * c.heads * c.T * c.T);
    const dropped = drop.filter((x) => x === 0).length;
    assert.ok(dropped > 60 && dropped < 130, `some of 324 probabilities dropped (${dropped})`);
    await gradientCheck(variant, c, [9, 6], 3, { ...dropout, drop });
  });

  test(`attention (${variant}) equals the unfused path, outputs and gradients, with the same dropout mask`, async () => {
    await device();
    const c = { B: 2, T: 21, heads: 2, D: 8 };
    const r = rng(4);
    const n = c.B * c.T * c.heads * c.D;
    const shape = [c.B, c.T, c.heads * c.D];
    const data = [0, 1, 2].map(() => Float32Array.from(r.uniform(n, -2, 2)));
    const mask = bg.tensor(Float32Array.from(additiveMask(c.B, c.T, [21, 11])), [c.B, 1, 1, c.T]);
    const g = bg.tensor(Float32Array.from(r.uniform(n)), shape);
    for (const dropout of [0, 0.2]) {
      const runs = [];
      for (const fused of [true, false]) {
        const [q, k, v] = data.map((d) => bg.tensor(d, shape).setRequiresGrad(true));
        const generator = new bg.Generator(77, 5);
        const out = fused
          ? bg.attention(q, k, v, { heads: c.heads, mask, dropout, generator, variant })
          : unfused(c, q, k, v, mask, dropout, generator);
        bg.backward(out, g);
        runs.push({ out: await read(out), grads: await Promise.all([q, k, v].map((x) => read(x.grad!))), offset: generator.offset });
      }
      const [f, u] = runs;
      assert.is(f.offset, u.offset, 'both draw one dropout stream');
      assertClose(f.out, u.out, { rtol: 1e-5, atol: 1e-6, what: `output, dropout ${dropout}` });
      f.grads.forEach((gr, i) => assertClose(gr, u.grads[i], { rtol: 1e-4, atol: 1e-5, what: `grad of ${'qkv'[i]}, dropout ${dropout}` }));
    }
  });
}

test('attention refuses bad arguments with the op and the expected shape', async () => {
  await device();
  const x = bg.zeros([2, 3, 8]);
  const cases: [() => unknown, RegExp][] = [
    [() => bg.attention(x, bg.zeros([2, 4, 8]), x, { heads: 2 }), /attention: q, k and v must have one shape/],
    [() => bg.attention(bg.zeros([3, 8]), bg.zeros([3, 8]), bg.zeros([3, 8]), { heads: 2 }), /attention: q must be \[batch, seq, hidden\]/],
    [() => bg.attention(x, x, x, { heads: 3 }), /heads must be a positive divisor of the hidden size 8/],
    [() => bg.attention(x, x, x, { heads: 2, mask: bg.zeros([2, 1, 3, 3]) }), /mask must be \[2, 1, 1, 3\] or \[2, 3\]/],
    [() => bg.attention(x, x, x, { heads: 2, dropout: 1 }), /dropout must be in \[0, 1\)/],
    [
      () => bg.attention(bg.zeros([1, 2, 260]), bg.zeros([1, 2, 260]), bg.zeros([1, 2, 260]), { heads: 2, variant: 'rows' }),
      /head size 130 exceeds the fused kernel's 128; use the unfused path/,
    ],
    [
      () => bg.attention(x, x, x, { heads: 2, variant: 'fast' as AttentionKernel }),
      /unknown kernel variant 'fast' \(one of rows, tiled, unfused\)/,
    ],
  ];
  for (const [f, message] of cases) assert.throws(f, message);
});

test("attention (unfused) takes head sizes past the fused kernels' 128: forward against the float64 reference", async () => {
  await device();
  const c = { B: 1, T: 3, heads: 2, D: 130 };
  const r = rng(8);
  const n = c.B * c.T * c.heads * c.D;
  const [q, k, v] = [0, 1, 2].map(() => f32(r.uniform(n, -1, 1)));
  const shape = [c.B, c.T, c.heads * c.D];
  const t = (x: Float64Array) => bg.tensor(Float32Array.from(x), shape);
  const out = bg.attention(t(q), t(k), t(v), { heads: c.heads, variant: 'unfused' });
  assertClose(await read(out), reference(c, q, k, v, null, null), { rtol: 1e-5, atol: 1e-6, what: 'head size 130' });
});

test('the runtime picks the attention path per adapter and head size; a forced variant wins', async () => {
  const rt = await device();
  const a = rt.report.adapter;
  const cpu = a.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(`${a.description} ${a.device} ${a.architecture} ${a.vendor}`);
  assert.is(rt.attentionVariant(64), cpu ? 'unfused' : 'tiled');
  assert.is(rt.attentionVariant(129), 'unfused', "head sizes past the kernels' 128 stay unfused");
  rt.setAttentionVariant('rows');
  try {
    assert.is(rt.attentionVariant(64), 'rows');
  } finally {
    rt.setAttentionVariant(undefined);
  }
});

// The PyTorch fixtures of every task class (test/models-golden.test.ts runs them under the
// adapter's default choice); files in Node / Deno, URLs in the browser.
const inBrowser = typeof (globalThis as any).window !== 'undefined';
const FIXTURES = inBrowser ? new URL('fixtures/models/', location.href).href : 'test/fixtures/models/';
async function arrays(path: string): Promise<bg.NamedArrays> {
  const bytes = await readBytes(path);
  assert.ok(bytes, `${path} not found`);
  return new Map([...bg.readSafetensors(bytes, path).tensors].map(([k, v]) => [k, { data: v.data, shape: v.shape }]));
}

// every class under Node; three under Chromium and Deno, where each readback costs more
const CLASSES =
  inBrowser || typeof (globalThis as any).Deno !== 'undefined'
    ? ['BertForPreTraining', 'ElectraForPreTraining', 'RobertaForSequenceClassification']
    : Object.keys(bg.ARCHITECTURES);

for (const variant of ['rows', 'tiled', 'unfused'] as AttentionVariant[]) {
  test(`task classes match PyTorch, outputs and gradients, with attention forced ${variant}`, async () => {
    const rt = await device();
    rt.setAttentionVariant(variant);
    try {
      for (const dir of CLASSES) {
        const { model } = await bg.fromPretrained(FIXTURES + dir);
        const actual = await bg.runModel(model, await arrays(`${FIXTURES}${dir}/inputs.safetensors`), { grads: true });
        compareOutputs(`${dir} (${variant})`, actual, await arrays(`${FIXTURES}${dir}/outputs.safetensors`), {});
        model.dispose();
      }
    } finally {
      rt.setAttentionVariant(undefined);
    }
  });
}

test.run();
