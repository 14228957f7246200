// Mixed precision: ops.cast (f32 <-> f16 on the GPU), matmul on f16 operands (every variant),
// autocast (matmul, qkvLinear, linearGelu: f16 operands and gradients, f32 accumulation) against
// float64 references of the same roundings, AdamW's loss scaling (fixed, and dynamic as torch's
// GradScaler: skip on overflow with parameters and moments untouched, backoff, growth, state
// dict) and Trainer runs with precision 'f16' next to f32 ones. Where the adapter has no
// 'shader-f16' (SwiftShader) the refusals are what is checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { f16BitsToF32, f32ToF16Bits } from '../src/tensor.js';
import { Trainer } from '../src/train/trainer.js';
import { assertClose, device, f32, read, rng } from './helpers.js';
import { OneBatch, RandomBatches } from './batches.js';
import { readBytes } from '../src/io/files.js';

const r16 = (v: number) => f16BitsToF32(f32ToF16Bits(v));
const round16 = (a: Float64Array) => a.map(r16);
const t = (data: Float64Array, shape: number[]) => bg.tensor(Float32Array.from(data), shape);

async function hasF16(): Promise<boolean> {
  return (await device()).hasFeature('shader-f16');
}

/** op(a) @ op(b) in float64: a [M, K] (or [K, M]), b [K, N] (or [N, K]). */
function mm(a: Float64Array, b: Float64Array, M: number, N: number, K: number, transA = false, transB = false): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (transA ? a[k * M + m] : a[m * K + k]) * (transB ? b[n * K + k] : b[k * N + n]);
      out[m * N + n] = s;
    }
  return out;
}

test('f16 is refused where the adapter has no shader-f16, with the feature named; bad dtypes are refused everywhere', async () => {
  await device();
  assert.throws(() => bg.setAutocast('bf16' as 'f16'), /autocast: dtype must be 'f16' \(or null to turn it off\), got 'bf16'/);
  assert.throws(() => bg.cast(bg.zeros([2]), 'i32' as 'f16'), /cast: dtype must be 'f16' or 'f32', got 'i32'/);
  assert.throws(() => new bg.AdamW([bg.zeros([2])], { lossScale: 0 }), /AdamW: lossScale must be finite and > 0, got 0/);
  assert.throws(
    () => new bg.AdamW([bg.zeros([2])], { lossScale: { backoffFactor: 2 } }),
    /AdamW: lossScale needs growthFactor > 1, 0 < backoffFactor < 1 and a positive integer growthInterval/,
  );
  if (await hasF16()) {
    assert.not.throws(() => bg.cast(bg.zeros([2]), 'f16').dispose());
    return;
  }
  assert.throws(() => bg.cast(bg.zeros([2]), 'f16'), /cast: f16 needs the device feature 'shader-f16'/);
  assert.throws(() => bg.autocast(() => 0), /autocast: f16 needs the device feature 'shader-f16'/);
  const config = bg.bertConfig({ vocab_size: 40, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32 });
  assert.throws(
    () => Trainer.create('mlm', config, new RandomBatches(1), { steps: 1, precision: 'f16' }),
    /trainer precision f16: f16 needs the device feature 'shader-f16'/,
  );
});

test('cast: f32 -> f16 -> f32 rounds to nearest even as the reference does (overflow to inf, subnormals, NaN); the gradient is cast back', async () => {
  if (!(await hasF16())) return;
  const values = [0, -0, 1, -1, 1 / 3, 0.1, 3.14159, -2.5e-5, 65504, 65519, 65520, -70000, 1e-7, 6e-8, 2e-8, 1e30, Infinity, -Infinity];
  const x = bg.tensor(Float32Array.from(values), [values.length]).setRequiresGrad(true);
  const half = bg.cast(x, 'f16');
  assert.is(half.dtype, 'f16');
  const back = bg.cast(half, 'f32');
  const got = await back.toArray();
  const want = values.map((v) => r16(Math.fround(v)));
  values.forEach((v, i) => assert.ok(Object.is(got[i], want[i]) || got[i] === want[i], `${v}: got ${got[i]}, want ${want[i]}`));
  assert.is(got[10], Infinity, '65520 rounds past the largest f16');
  assert.is(got[9], 65504, '65519 rounds down to 65504');
  const nan = await bg.cast(bg.cast(bg.tensor(new Float32Array([NaN]), [1]), 'f16'), 'f32').toArray();
  assert.ok(Number.isNaN(nan[0]), 'NaN stays NaN');
  const w = f32(rng(3).uniform(values.length, -3, 3));
  bg.backward(back, t(w, [values.length]));
  assertClose(await read(x.grad!), round16(w), { rtol: 0, atol: 0, what: 'gradient through both casts' });
});

test('matmul on f16 operands (every variant, transposes, batches) = float64 products of the rounded values', async () => {
  if (!(await hasF16())) return;
  const variants = bg.matmulCandidates(await device());
  for (const variant of variants) {
    for (const [batch, M, N, K] of [
      [1, 5, 7, 3],
      [2, 33, 17, 19],
    ]) {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const r = rng(M + N + K);
        const a = f32(r.uniform(batch * M * K, -2, 2));
        const b = f32(r.uniform(batch * K * N, -2, 2));
        const shapeA = [...(batch > 1 ? [batch] : []), ...(transA ? [K, M] : [M, K])];
        const shapeB = [...(batch > 1 ? [batch] : []), ...(transB ? [N, K] : [K, N])];
        const out = bg.matmul(bg.cast(t(a, shapeA), 'f16'), bg.cast(t(b, shapeB), 'f16'), { transA, transB, variant });
        const want = new Float64Array(batch * M * N);
        const [ra, rb] = [round16(a), round16(b)];
        for (let z = 0; z < batch; z++)
          want.set(
            mm(ra.subarray(z * M * K, (z + 1) * M * K), rb.subarray(z * K * N, (z + 1) * K * N), M, N, K, transA, transB),
            z * M * N,
          );
        assertClose(await read(out), want, {
          rtol: 1e-5,
          atol: 1e-5,
          what: `f16 matmul ${variant} b${batch} ${M}x${N}x${K} ${transA} ${transB}`,
        });
      }
    }
  }
  assert.throws(() => bg.matmul(bg.cast(bg.zeros([2, 3]), 'f16'), bg.zeros([3, 2])), /matmul: a must be f32, got f16/);
});

test('autocast linear layer: f16 x and W, f32 accumulation and bias; backward with the gradient rounded to f16', async () => {
  if (!(await hasF16())) return;
  const [rows, inF, out] = [6, 5, 4];
  const r = rng(11);
  const [xd, wd, bd, gd] = [r.uniform(rows * inF, -2, 2), r.uniform(out * inF, -1, 1), r.uniform(out), r.uniform(rows * out, -1, 1)].map(
    f32,
  );
  const x = t(xd, [2, 3, inF]).setRequiresGrad(true);
  const w = t(wd, [out, inF]).setRequiresGrad(true);
  const b = t(bd, [out]).setRequiresGrad(true);
  const rt = await device();
  const d0 = rt.dispatchCount;
  const y = bg.autocast(() => bg.matmul(x, w, { transB: true, bias: b }));
  assert.is(rt.dispatchCount - d0, 3, 'two casts and the product');
  assert.is(y.dtype, 'f32');
  assert.not.ok(bg.autocastActive(), 'autocast is off again after the call');
  const [rx, rw, rg] = [round16(xd), round16(wd), round16(gd)];
  assertClose(
    await read(y),
    mm(rx, rw, rows, out, inF, false, true).map((v, i) => v + bd[i % out]),
    { rtol: 1e-5, atol: 1e-6, what: 'forward' },
  );
  bg.backward(y, t(gd, [2, 3, out]));
  assertClose(await read(x.grad!), mm(rg, rw, rows, inF, out), { rtol: 1e-5, atol: 1e-6, what: 'dx = g16 W16' });
  assertClose(await read(w.grad!), mm(rg, rx, out, inF, rows, true, false), { rtol: 1e-5, atol: 1e-6, what: 'dW = g16^T x16' });
  const db = new Float64Array(out);
  gd.forEach((v, i) => (db[i % out] += v));
  assertClose(await read(b.grad!), db, { rtol: 1e-5, atol: 1e-6, what: 'dbias from the f32 gradient' });
});

test('autocast qkvLinear and linearGelu = the same layers through autocast matmuls: outputs and every gradient', async () => {
  if (!(await hasF16())) return;
  const [inF, out] = [8, 6];
  const r = rng(21);
  const data = {
    x: f32(r.uniform(2 * 3 * inF, -2, 2)),
    ws: [0, 1, 2].map(() => f32(r.uniform(out * inF, -1, 1))),
    bs: [0, 1, 2].map(() => f32(r.uniform(out))),
    g: f32(r.uniform(2 * 3 * 3 * out, -1, 1)),
  };
  const run = async (fused: boolean) => {
    const x = t(data.x, [2, 3, inF]).setRequiresGrad(true);
    const ws = data.ws.map((d) => t(d, [out, inF]).setRequiresGrad(true));
    const bs = data.bs.map((d) => t(d, [out]).setRequiresGrad(true));
    const y = bg.autocast(() =>
      fused
        ? bg.qkvLinear(x, [ws[0], ws[1], ws[2]], [bs[0], bs[1], bs[2]])
        : bg.concat(
            ws.map((w, i) => bg.matmul(x, w, { transB: true, bias: bs[i] })),
            2,
          ),
    );
    bg.backward(y, t(data.g, [2, 3, 3 * out]));
    return Promise.all([y, x.grad!, ...ws.map((w) => w.grad!), ...bs.map((b) => b.grad!)].map(read));
  };
  const [fused, plain] = [await run(true), await run(false)];
  fused.forEach((f, i) => assertClose(f, plain[i], { rtol: 1e-5, atol: 1e-6, what: `qkvLinear autocast, tensor ${i}` }));

  const gelu = async (fused: boolean) => {
    const x = t(data.x, [2, 3, inF]).setRequiresGrad(true);
    const w = t(data.ws[0], [out, inF]).setRequiresGrad(true);
    const b = t(data.bs[0], [out]).setRequiresGrad(true);
    const y = bg.autocast(() => (fused ? bg.linearGelu(x, w, b) : bg.biasGelu(bg.matmul(x, w, { transB: true }), b)));
    bg.backward(y, t(data.g.subarray(0, 2 * 3 * out), [2, 3, out]));
    return Promise.all([y, x.grad!, w.grad!, b.grad!].map(read));
  };
  const [g1, g2] = [await gelu(true), await gelu(false)];
  g1.forEach((f, i) => assertClose(f, g2[i], { rtol: 1e-5, atol: 1e-6, what: `linearGelu autocast, tensor ${i}` }));
});

test('autocast attention (unfused): = the op-by-op path under autocast (its matmuls cast), outputs and q / k / v gradients; differs from f32', async () => {
  if (!(await hasF16())) return;
  const [B, T, heads, D] = [2, 9, 2, 4];
  const H = heads * D;
  const r = rng(5);
  const data = [0, 1, 2].map(() => f32(r.uniform(B * T * H, -2, 2)));
  const g = t(f32(r.uniform(B * T * H)), [B, T, H]);
  const mask = bg.tensor(
    Float32Array.from({ length: B * T }, (_, i) => (i % T >= 7 && i >= T ? -3.4e38 : 0)),
    [B, 1, 1, T],
  );
  const split = (x: bg.Tensor) => bg.permute(bg.reshape(x, [B, T, heads, D]), [0, 2, 1, 3]);
  const run = async (how: 'op' | 'unfused' | 'f32') => {
    const [q, k, v] = data.map((d) => t(d, [B, T, H]).setRequiresGrad(true));
    const generator = new bg.Generator(8, 1);
    const forward = () => {
      if (how !== 'op') return bg.attention(q, k, v, { heads, mask, dropout: 0.2, generator, variant: 'unfused' });
      const scores = bg.matmul(split(q), split(k), { transB: true, alpha: 1 / Math.sqrt(D) });
      const probs = bg.dropout(bg.softmax(scores, { mask }), 0.2, { generator });
      return bg.reshape(bg.permute(bg.matmul(probs, split(v)), [0, 2, 1, 3]), [B, T, H]);
    };
    const out = how === 'f32' ? forward() : bg.autocast(forward);
    bg.backward(out, g);
    return Promise.all([out, q.grad!, k.grad!, v.grad!].map(read));
  };
  const [ours, op, plain] = [await run('unfused'), await run('op'), await run('f32')];
  ours.forEach((x, i) => assertClose(x, op[i], { rtol: 1e-5, atol: 1e-6, what: `autocast attention, tensor ${i}` }));
  const apart = ours[0].reduce((m, x, i) => Math.max(m, Math.abs(x - plain[0][i])), 0);
  assert.ok(apart > 1e-4, `the f16 products change the output (by ${apart})`);
});

/** A parameter with a hand-set gradient. */
function withGrad(values: number[], grad: number[]): bg.Tensor {
  const p = bg.tensor(Float32Array.from(values), [values.length]).setRequiresGrad(true);
  bg.backward(bg.mul(p, bg.tensor(Float32Array.from(grad), [grad.length])), bg.ones([grad.length]));
  return p;
}

test('AdamW lossScale: a fixed scale gives the unscaled update and norm; a dynamic one skips overflowing steps untouched, backs off and grows', async () => {
  await device();
  const p0 = [0.5, -1, 2, 0.25];
  const g = [0.1, -0.2, 0.3, 0.05];
  // plain, and the same gradients carrying a scale of 1024
  const plain = new bg.AdamW([withGrad(p0, g)], { lr: 0.1, weightDecay: 0 });
  const normPlain = await plain.step().item();
  const scaledParam = withGrad(
    p0,
    g.map((v) => v * 1024),
  );
  const scaled = new bg.AdamW([scaledParam], { lr: 0.1, weightDecay: 0, lossScale: 1024 });
  const normScaled = await scaled.step().item();
  assertClose([normScaled], [normPlain], { rtol: 1e-6, atol: 0, what: 'the norm is the unscaled one' });
  assertClose(await scaledParam.toArray(), await plain.parameters[0].tensor.toArray(), { rtol: 1e-6, atol: 1e-7, what: 'the update' });
  const loss = bg.tensor(new Float32Array([0.75]), []);
  assert.is((await scaled.scaleLoss(loss).toArray())[0], 768, 'scaleLoss multiplies by the scale');

  // dynamic: growth every 2 finite steps, backoff on an inf
  const p = withGrad(p0, g);
  const opt = new bg.AdamW([p], { lr: 0.1, weightDecay: 0, lossScale: { init: 8, growthInterval: 2 } });
  assert.is(await opt.currentLossScale(), 8);
  opt.step();
  assert.is(await opt.currentLossScale(), 8, 'one finite step: no growth yet');
  opt.step();
  assert.is(await opt.currentLossScale(), 16, 'two finite steps in a row: doubled');
  const before = await p.toArray();
  const stateBefore = await opt.stateDict();
  p.zeroGrad();
  bg.backward(bg.mul(p, bg.tensor(new Float32Array([Infinity, 0, 0, 0]), [4])), bg.ones([4]));
  opt.step();
  assert.equal(Array.from(await p.toArray()), Array.from(before), 'the overflowing step leaves the parameter bit for bit');
  const stateAfter = await opt.stateDict();
  assert.equal(Array.from(stateAfter.m[opt.parameters[0].name]), Array.from(stateBefore.m[opt.parameters[0].name]), 'and the moments');
  assert.is(stateAfter.skippedSteps, 1);
  assert.equal(stateAfter.lossScale, { scale: 8, growthTracker: 0 }, 'backed off to half, tracker reset');
  // the state dict carries the scale to a fresh optimizer
  const q = withGrad(p0, g);
  const resumed = new bg.AdamW([q], { lr: 0.1, weightDecay: 0, lossScale: 'dynamic' });
  resumed.loadStateDict({
    ...stateAfter,
    m: { [resumed.parameters[0].name]: stateAfter.m[opt.parameters[0].name] },
    v: { [resumed.parameters[0].name]: stateAfter.v[opt.parameters[0].name] },
  });
  assert.is(await resumed.currentLossScale(), 8, 'loadStateDict restores the scale');
  const defaults = new bg.AdamW([withGrad(p0, g)], { lossScale: 'dynamic' });
  assert.is(await defaults.currentLossScale(), 65536, "GradScaler's default initial scale");
});

const tiny = bg.bertConfig({
  vocab_size: 40,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 32,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
});

test('Trainer precision f16: the losses follow the f32 run (mlm-nsp) under the dynamic loss scale', async () => {
  if (!(await hasF16())) return;
  const rt = await device();
  const options = { steps: 30, lr: 3e-3, warmupSteps: 3, logEvery: 1, seed: 4 };
  const losses: Record<string, number[]> = {};
  const skipped: Record<string, number> = {};
  const dispatches: Record<string, number> = {};
  for (const precision of ['f32', 'f16'] as const) {
    const trainer = Trainer.create('mlm-nsp', tiny, new OneBatch(9, 4, 12), { ...options, precision });
    losses[precision] = [];
    skipped[precision] = 0;
    while (trainer.step < options.steps) {
      const d0 = rt.dispatchCount;
      const rec = (await trainer.trainStep())!;
      dispatches[precision] = rt.dispatchCount - d0;
      losses[precision].push(rec.loss);
      skipped[precision] += rec.skipped_steps;
    }
    if (precision === 'f16') {
      const scale = await trainer.optimizer.currentLossScale();
      assert.ok(scale <= 65536 && scale >= 1, `loss scale ${scale}`);
    }
    trainer.dispose();
  }
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const [a, b] = [mean(losses.f32.slice(-10)), mean(losses.f16.slice(-10))];
  console.log(
    `  mlm-nsp, 30 steps on one batch: f32 loss ${losses.f32[0].toFixed(6)} -> ${a.toFixed(6)}; f16 ${losses.f16[0].toFixed(6)} -> ${b.toFixed(6)} (${skipped.f16} steps skipped); dispatches per step f32 ${dispatches.f32}, f16 ${dispatches.f16}`,
  );
  assert.ok(dispatches.f16 > dispatches.f32, 'the f16 steps run the casts');
  assert.ok(
    losses.f16.some((v, i) => v !== losses.f32[i]),
    'the f16 losses are not the f32 ones bit for bit',
  );
  assert.ok(Math.abs(losses.f16[0] - losses.f32[0]) < 2e-3 * losses.f32[0], `first losses ${losses.f16[0]} vs ${losses.f32[0]}`);
  assert.ok(a < losses.f32[0] - 0.3, `the f32 run learns (${losses.f32[0]} -> ${a})`);
  assert.ok(Math.abs(a - b) < 0.05 * a, `last-10 mean losses f16 ${b} vs f32 ${a}`);
  assert.ok(skipped.f16 < 10, `${skipped.f16} skipped steps`);
});

test('Trainer precision f16 with lr 1e30: the scale comes down by skipping; the run fails only once 20 steps in a row were skipped (not at 10, as f32)', async () => {
  if (!(await hasF16())) return;
  const failAt: Record<string, number> = {};
  for (const precision of ['f32', 'f16'] as const) {
    const trainer = Trainer.create('mlm', tiny, new OneBatch(2, 2, 8), {
      steps: 40,
      lr: 1e30,
      warmupSteps: 0,
      logEvery: 1,
      seed: 1,
      precision,
    });
    let message = '';
    try {
      while (trainer.step < 40) await trainer.trainStep();
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, /training diverged at step \d+: .* were skipped because the gradient norm was not finite/, precision);
    failAt[precision] = trainer.step;
    if (precision === 'f16') assert.ok((await trainer.optimizer.currentLossScale()) < 65536, 'the scale came down');
    trainer.dispose();
  }
  console.log(`  lr 1e30: f32 run stopped at step ${failAt.f32}, f16 at step ${failAt.f16}`);
  assert.ok(failAt.f32 <= 11 && failAt.f16 >= 20, `f32 stops at ${failAt.f32}, f16 at ${failAt.f16}`);
});

// The model fixtures (test/fixtures/models) run under autocast against test/fixtures/amp/gen.py's
// float64 reference of the same roundings; files in Node / Deno, URLs in the browser.
const inBrowser = typeof (globalThis as any).window !== 'undefined';
const FIXTURES = inBrowser ? new URL('fixtures/', location.href).href : 'test/fixtures/';
async function arrays(path: string): Promise<bg.NamedArrays> {
  const bytes = await readBytes(path);
  assert.ok(bytes, `${path} not found`);
  return new Map([...bg.readSafetensors(bytes, path).tensors].map(([k, v]) => [k, { data: v.data, shape: v.shape }]));
}

/** max |a - e| / max |e| over one tensor (gradients: against the largest gradient's scale). */
function maxError(actual: bg.NamedArrays, expected: bg.NamedArrays, name: string, gradScale: number): number {
  const [a, e] = [actual.get(name)!.data, expected.get(name)!.data];
  let [err, scale] = [0, 0];
  for (let i = 0; i < e.length; i++) {
    err = Math.max(err, Math.abs(a[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  return err / Math.max(name.startsWith('grad.') ? gradScale : scale, 1e-30);
}

/** The RMS of a - e over the RMS of e, every element of the named tensors together. */
function rmsError(actual: bg.NamedArrays, expected: bg.NamedArrays, names: string[]): number {
  let [se, ss] = [0, 0];
  for (const name of names) {
    const [a, e] = [actual.get(name)!.data, expected.get(name)!.data];
    for (let i = 0; i < e.length; i++) {
      se += (a[i] - e[i]) ** 2;
      ss += e[i] ** 2;
    }
  }
  return Math.sqrt(se / Math.max(ss, 1e-30));
}

for (const dir of ['BertForPreTraining', 'ElectraForPreTraining', 'RobertaForSequenceClassification']) {
  test(`${dir} under autocast = the float64 reference on f16-rounded linear operands (outputs and every gradient), nearer it than the f32 reference`, async () => {
    if (!(await hasF16())) return;
    const { model } = await bg.fromPretrained(`${FIXTURES}models/${dir}`);
    const inputs = await arrays(`${FIXTURES}models/${dir}/inputs.safetensors`);
    // the fused attention kernel, which stays f32 as gen.py's attention does (the unfused path's
    // f16 products are checked against the op-by-op path above)
    const rt = await device();
    rt.setAttentionVariant('rows');
    let actual: bg.NamedArrays;
    try {
      actual = await bg.runModel(model, inputs, { grads: true, autocast: true });
    } finally {
      rt.setAttentionVariant(undefined);
    }
    model.dispose();
    const amp = await arrays(`${FIXTURES}amp/${dir}/outputs.safetensors`);
    const f32ref = await arrays(`${FIXTURES}models/${dir}/outputs.safetensors`);
    let gradScale = 0;
    for (const [name, e] of amp) if (name.startsWith('grad.')) for (const v of e.data) gradScale = Math.max(gradScale, Math.abs(v));
    // an f16 rounding that falls the other way (our f32 activations against the reference's
    // float64 ones) moves an element by up to 2^-11 of itself and what depends on it by less:
    // the max error is bounded by that, and the outputs stay nearer this reference than the f32 one
    const worst = { output: 0, grad: 0 };
    for (const name of amp.keys()) {
      const err = maxError(actual, amp, name, gradScale);
      const kind = name.startsWith('grad.') ? 'grad' : 'output';
      worst[kind] = Math.max(worst[kind], err);
      assert.ok(err <= 2e-3, `${dir}: ${name} differs from the autocast reference by ${err.toExponential(2)} of its scale`);
    }
    const outputs = [...amp.keys()].filter((n) => !n.startsWith('grad.'));
    const [rms, rmsF32] = [rmsError(actual, amp, outputs), rmsError(actual, f32ref, outputs)];
    console.log(
      `  ${dir}: worst vs the autocast reference: outputs ${worst.output.toExponential(2)}, gradients ${worst.grad.toExponential(2)}; output RMS error ${rms.toExponential(2)} (vs the f32 reference ${rmsF32.toExponential(2)})`,
    );
    assert.ok(rmsF32 > 1.5 * rms, 'the f16 roundings are what the reference models');
  });
}

test.run();
