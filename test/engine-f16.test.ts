// f16 weight storage (inference): f32 <-> f16 conversion against hand-made bit patterns, matmul
// with an f16 B in every kernel variant against a float64 product of the f16-rounded values, a
// BERT whose Linear weights are halved giving nearly the f32 logits, and a clear refusal where the
// adapter has no shader-f16 (Chromium's SwiftShader) or where an f16 weight is asked to train.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { f16BitsToF32, f32ToF16Bits } from '../src/tensor.js';
import { matmulCandidates } from '../src/ops/matmul.js';
import { assertClose, device, rng } from './helpers.js';

test('f32 -> f16 bits: round to nearest even, subnormals, overflow to infinity, NaN; and back', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // the largest half
    [65520, 0x7c00], // rounds up to infinity
    [1e6, 0x7c00],
    [2 ** -14, 0x0400], // the smallest normal
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -25, 0x0000], // halfway to zero: to even (0)
    [3 * 2 ** -25, 0x0002], // 1.5 ulps: to even (2)
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1 + ulp and 1 + 2 ulp: to even
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [v, bits] of cases) assert.is(f32ToF16Bits(v), bits, `${v}`);
  assert.ok((f32ToF16Bits(NaN) & 0x7c00) === 0x7c00 && (f32ToF16Bits(NaN) & 0x3ff) !== 0, 'NaN stays NaN');
  for (const [v, bits] of cases.filter(([v]) => [0, 1, -2, 65504, 2 ** -14, 2 ** -24].includes(v))) assert.is(f16BitsToF32(bits), v);
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
});

test('f16 tensors and matmul with an f16 B: every kernel variant equals the float64 product of the rounded values', async () => {
  const rt = await device();
  if (!rt.hasFeature('shader-f16')) {
    assert.throws(() => bg.tensor([1, 2, 3], [3], 'f16'), /tensor: f16 storage needs the device feature 'shader-f16'/);
    console.log(`\n  no shader-f16 on this adapter (${rt.report.adapter.vendor || 'vendor unnamed'}): refused as it should be`);
    return;
  }
  const r = rng(7);
  const values = Array.from(r.uniform(7, -3, 3));
  const t = bg.tensor(values, [7], 'f16');
  assert.is(t.dtype, 'f16');
  assert.is(t.bytes >= 14, true);
  const back = await t.toArray();
  assert.equal(
    Array.from(back),
    values.map((v) => f16BitsToF32(f32ToF16Bits(v))),
  );
  for (const [M, N, K, transB] of [
    [5, 7, 9, false],
    [33, 65, 40, true],
    [70, 130, 64, true],
  ] as const) {
    const a = Array.from(r.uniform(M * K, -1, 1), Math.fround);
    const b = Array.from(r.uniform(K * N, -1, 1));
    const bHalf = b.map((v) => f16BitsToF32(f32ToF16Bits(v)));
    const want = new Float64Array(M * N);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * bHalf[transB ? n * K + k : k * N + n];
        want[m * N + n] = s;
      }
    const at = bg.tensor(a, [M, K]);
    const bt = bg.tensor(b, transB ? [N, K] : [K, N], 'f16');
    for (const variant of matmulCandidates(rt)) {
      const out = bg.matmul(at, bt, { transB, variant });
      assertClose(Float64Array.from(await out.toArray()), want, { rtol: 1e-5, atol: 1e-5, what: `${M}x${N}x${K} ${variant} f16 B` });
      out.dispose();
    }
  }
  const w = bg.tensor([1, 2], [1, 2], 'f16').setRequiresGrad();
  assert.throws(() => bg.matmul(bg.ones([1, 1]), w), /matmul: b \[1, 2\] is f16 and requires grad/);
});

test('a BERT with its Linear weights in f16: half their bytes, logits within 2e-2 of f32; the f16 weights refuse to train', async () => {
  const rt = await device();
  if (!rt.hasFeature('shader-f16')) return; // refused above
  const config = bg.bertConfig({
    vocab_size: 50,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 16,
    num_labels: 3,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
  });
  const model = bg.createModel('BertForSequenceClassification', config, { generator: new bg.Generator(3) });
  model.eval();
  const ids = bg.tensor(
    Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 50),
    [2, 8],
    'i32',
  );
  const mask = bg.tensor(
    Int32Array.from({ length: 16 }, (_, i) => (i % 8 < 6 ? 1 : 0)),
    [2, 8],
    'i32',
  );
  const logits = async () => bg.noGrad(() => model.forward({ input_ids: ids, attention_mask: mask }).logits!).toArray();
  const full = await logits();
  const bytes = () => model.namedParameters().reduce((s, [, p]) => s + p.bytes, 0);
  const before = bytes();
  const saved = await bg.halfLinearWeights(model);
  assert.ok(saved > 0 && bytes() === before - saved, `saved ${saved} of ${before} bytes`);
  const linears = model.namedModules().filter(([, m]) => m instanceof bg.Linear);
  assert.ok(
    linears.every(([, m]) => (m as bg.Linear).weight.dtype === 'f16'),
    'every Linear weight is f16',
  );
  const half = await logits();
  assertClose(Float64Array.from(half), Float64Array.from(full), { rtol: 2e-2, atol: 2e-2, what: 'f16-weight logits vs f32' });
  assert.ok(
    half.some((v, i) => v !== full[i]),
    'the weights really are rounded',
  );
  assert.throws(() => new bg.AdamW(model.namedParameters()), /AdamW: parameter '.*' is f16; only f32 parameters can be optimised/);
  // the embedding tables too: nearly every byte halved, the logits still close
  const more = await bg.halfWeights(model);
  const embeddings = model.namedModules().filter(([, m]) => m instanceof bg.Embedding);
  assert.ok(
    embeddings.length === 3 && embeddings.every(([, m]) => (m as bg.Embedding).weight.dtype === 'f16'),
    'word, position and token-type tables are f16',
  );
  assert.ok(more > 0 && bytes() === before - saved - more, `then ${more} more bytes`);
  assertClose(Float64Array.from(await logits()), Float64Array.from(full), {
    rtol: 2e-2,
    atol: 2e-2,
    what: 'f16 weights and embeddings vs f32',
  });
  assert.throws(
    () => bg.embedding(bg.tensor([1, 2], [1, 2], 'f16').setRequiresGrad(), ids),
    /embedding: weight \[1, 2\] is f16 and requires grad/,
  );
  model.dispose();
  // a masked LM's word embeddings are tied to its decoder: they stay f32, the rest is halved
  const mlm = bg.createModel('BertForMaskedLM', config, { generator: new bg.Generator(4) });
  mlm.eval();
  const mlmLogits = async () => bg.noGrad(() => mlm.forward({ input_ids: ids, attention_mask: mask }).logits!).toArray();
  const mlmFull = await mlmLogits();
  await bg.halfWeights(mlm);
  const word = mlm.namedModules().find(([n]) => n.endsWith('word_embeddings'))![1] as bg.Embedding;
  assert.is(word.weight.dtype, 'f32', 'the tied word embeddings stay f32');
  assertClose(Float64Array.from(await mlmLogits()), Float64Array.from(mlmFull), {
    rtol: 2e-2,
    atol: 2e-2,
    what: 'masked LM with f16 weights',
  });
  mlm.dispose();
});

test.run();
