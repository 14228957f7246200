// AdamW against torch.optim.AdamW (test/fixtures/optim/adamw.json, from gen_adamw.py): one and
// three steps, with and without clip_grad_norm_, with a warmup/decay schedule; the schedule; the
// GPU gradient norm against float64; state-dict round trip; failed steps leave everything as is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { AdamW, globalGradNorm, linearWarmupDecay, linearWarmupDecaySchedule } from '../src/optim/index.js';
import { device, rng, assertClose } from './helpers.js';
import fixture from './fixtures/optim/adamw.json';

type Named = Record<string, number[]>;
const F = fixture as unknown as {
  lr: number;
  eps: number;
  weight_decay: number;
  betas: [number, number];
  shapes: [string, number[]][];
  init: Named;
  grads: Named[];
  grad_norms_f64: number[];
  schedule: { warmup: number; total: number };
  scenarios: Record<string, { lr: number; norm: number | null; params: Named; exp_avg: Named; exp_avg_sq: Named }[]>;
};

function makeParams(): [string, bg.Tensor][] {
  return F.shapes.map(([name, shape]) => [name, bg.tensor(F.init[name], shape).setRequiresGrad().keep()]);
}

function setGrads(params: [string, bg.Tensor][], grads: Named, scale = 1): void {
  for (const [name, p] of params) {
    p.zeroGrad();
    p.grad = bg
      .tensor(
        grads[name].map((x) => x * scale),
        p.shape,
      )
      .keep();
  }
}

async function snapshot(params: [string, bg.Tensor][]): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [name, p] of params) out[name] = (await p.toArray()) as Float32Array;
  return out;
}

function maxRel(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-3): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(floor, Math.abs(expected[i])));
  return worst;
}

function dispose(params: [string, bg.Tensor][]): void {
  for (const [, p] of params) {
    p.zeroGrad();
    p.dispose();
  }
}

const SCENARIOS = {
  plain: { maxGradNorm: null, schedule: false },
  clip: { maxGradNorm: 1.0, schedule: false },
  clip_schedule: { maxGradNorm: 1.0, schedule: true },
} as const;

for (const [scenario, cfg] of Object.entries(SCENARIOS)) {
  test(`AdamW matches torch.optim.AdamW: ${scenario}, steps 1..3 (params, exp_avg, exp_avg_sq, norm)`, async () => {
    await device();
    const params = makeParams();
    const lr = cfg.schedule
      ? linearWarmupDecaySchedule({ warmupSteps: F.schedule.warmup, totalSteps: F.schedule.total, peakLr: F.lr })
      : F.lr;
    const opt = new AdamW(params, { lr, betas: F.betas, eps: F.eps, weightDecay: F.weight_decay, maxGradNorm: cfg.maxGradNorm });
    const expected = F.scenarios[scenario];
    let worst = 0;
    for (let s = 0; s < 3; s++) {
      assert.ok(Math.abs(opt.currentLr() - expected[s].lr) <= 1e-15, `lr at step ${s}: ${opt.currentLr()} vs ${expected[s].lr}`);
      setGrads(params, F.grads[s]);
      const norm = opt.step();
      const got = await snapshot(params);
      const state = await opt.stateDict();
      for (const [name] of params) {
        const what = `${scenario} step ${s + 1} ${name}`;
        assertClose(got[name], expected[s].params[name], { rtol: 1e-5, atol: 1e-7, what: `${what} param` });
        assertClose(state.m[name], expected[s].exp_avg[name], { rtol: 1e-5, atol: 1e-8, what: `${what} exp_avg` });
        assertClose(state.v[name], expected[s].exp_avg_sq[name], { rtol: 1e-5, atol: 1e-10, what: `${what} exp_avg_sq` });
        worst = Math.max(worst, maxRel(got[name], expected[s].params[name]));
        assert.is(state.paramSteps[name], s + 1);
      }
      if (expected[s].norm !== null) {
        const n = await norm.item();
        assert.ok(Math.abs(n - expected[s].norm!) <= 1e-6 * expected[s].norm!, `norm ${n} vs torch ${expected[s].norm}`);
      }
    }
    console.log(`  ${scenario}: max relative error of parameters vs torch over 3 steps = ${worst.toExponential(2)}`);
    opt.dispose();
    dispose(params);
  });
}

test('no weight decay for biases and LayerNorm weights', async () => {
  await device();
  const params = makeParams();
  const opt = new AdamW(params);
  const wd = Object.fromEntries(opt.parameters.map((p) => [p.name, p.weightDecay]));
  assert.equal(wd, {
    'bert.embeddings.word_embeddings.weight': 0.01,
    'bert.encoder.layer.0.output.dense.weight': 0.01,
    'bert.encoder.layer.0.output.dense.bias': 0,
    'bert.encoder.layer.0.output.LayerNorm.weight': 0,
    'bert.encoder.layer.0.output.LayerNorm.bias': 0,
  });
  assert.is(opt.eps, 1e-6);
  assert.equal(opt.betas, [0.9, 0.999]);
  opt.dispose();
  dispose(params);
});

test('linearWarmupDecay: HF get_linear_schedule_with_warmup values', () => {
  const o = { warmupSteps: 10, totalSteps: 110, peakLr: 1e-4 };
  const expect: [number, number][] = [
    [0, 0],
    [1, 1e-5],
    [5, 5e-5],
    [10, 1e-4],
    [60, 5e-5],
    [100, 1e-5],
    [110, 0],
    [200, 0],
  ];
  for (const [step, lr] of expect)
    assert.ok(Math.abs(linearWarmupDecay(step, o) - lr) < 1e-18, `step ${step}: ${linearWarmupDecay(step, o)} vs ${lr}`);
  // no warmup: starts at the peak
  assert.is(linearWarmupDecay(0, { warmupSteps: 0, totalSteps: 4, peakLr: 2 }), 2);
  assert.is(linearWarmupDecay(2, { warmupSteps: 0, totalSteps: 4, peakLr: 2 }), 1);
  // the fixture's schedule (torch LambdaLR over the same lambda)
  const f = F.scenarios.clip_schedule.map((s) => s.lr);
  f.forEach((lr, i) =>
    assert.ok(Math.abs(linearWarmupDecay(i, { warmupSteps: F.schedule.warmup, totalSteps: F.schedule.total, peakLr: F.lr }) - lr) < 1e-15),
  );
});

test('global gradient norm on the GPU vs float64 (fixture grads and 300k random elements)', async () => {
  await device();
  for (let s = 0; s < 3; s++) {
    const grads = F.shapes.map(([name, shape]) => bg.tensor(F.grads[s][name], shape));
    const n = await globalGradNorm(grads).item();
    const rel = Math.abs(n - F.grad_norms_f64[s]) / F.grad_norms_f64[s];
    assert.ok(rel < 1e-6, `fixture step ${s}: ${n} vs ${F.grad_norms_f64[s]} (rel ${rel})`);
    grads.forEach((g) => g.dispose());
  }
  const r = rng(5);
  // 16 gradients: three grad_sumsq_many dispatches (7 + 7 + 2)
  const sizes = [1, 255, 257, 4096, 100_003, 200_000, 3, 17, 512, 1000, 65_536, 7, 9, 300_001, 2, 5];
  const data = sizes.map((n) => Float32Array.from(r.uniform(n, -3, 3)));
  let ref = 0;
  for (const d of data) for (const x of d) ref += x * x;
  ref = Math.sqrt(ref);
  // pooled buffers keep what their last tensor held: fill the small size classes with 1e3 first,
  // so elements past a gradient's end (the vec4 kernel reads whole vectors) would show in the norm
  for (const n of sizes) if (n < 2 ** 18) bg.full([2 ** Math.ceil(Math.log2(Math.max(4, n)))], 1e3).dispose();
  await (await device()).sync();
  const grads = data.map((d) => bg.tensor(d));
  const n = await globalGradNorm(grads).item();
  const rel = Math.abs(n - ref) / ref;
  console.log(`  global norm of ${sizes.reduce((a, b) => a + b)} elements: relative error vs float64 ${rel.toExponential(2)}`);
  assert.ok(rel < 2e-6, `${n} vs ${ref} (rel ${rel})`);
  // with a scale (accumulation): norm of the scaled grads
  const half = await globalGradNorm(grads, 0.5).item();
  assert.ok(Math.abs(half - ref / 2) / ref < 2e-6);
  // each gradient lane of each group counts: all zero but one gives that one's norm
  const zeros = sizes.map((n) => bg.zeros([n]));
  for (const lane of [0, 6, 7, 13, 14, 15]) {
    let own = 0;
    for (const x of data[lane]) own += x * x;
    own = Math.sqrt(own);
    const only = await globalGradNorm(zeros.map((z, i) => (i === lane ? grads[lane] : z))).item();
    assert.ok(Math.abs(only - own) / own < 2e-6, `gradient ${lane} alone: ${only} vs ${own}`);
  }
  zeros.forEach((z) => z.dispose());
  grads.forEach((g) => g.dispose());
});

test('a step records ceil(P/7) + 1 + ceil(P/2) dispatches and submits nothing; no tensors leak across steps', async () => {
  const rt = await device();
  const params = makeParams();
  const opt = new AdamW(params, { lr: 1e-3 });
  setGrads(params, F.grads[0]);
  rt.flush();
  const before = { d: rt.dispatchCount, s: rt.submitCount };
  opt.step();
  // norms seven gradients per dispatch, the finalize, updates two parameters per dispatch
  assert.is(rt.dispatchCount - before.d, Math.ceil(params.length / 7) + 1 + Math.ceil(params.length / 2));
  assert.is(rt.submitCount, before.s);
  await rt.sync();
  const live = rt.liveTensors;
  for (let i = 0; i < 3; i++) opt.step();
  await rt.sync();
  assert.is(rt.liveTensors, live);
  opt.dispose();
  dispose(params);
});

test('state dict round trip: a restored optimizer continues identically', async () => {
  await device();
  const a = makeParams();
  const optA = new AdamW(a, { lr: linearWarmupDecaySchedule({ warmupSteps: 1, totalSteps: 10, peakLr: 0.01 }), maxGradNorm: 1.0 });
  setGrads(a, F.grads[0]);
  optA.step();
  setGrads(a, F.grads[1]);
  optA.step();
  const state = await optA.stateDict();
  assert.is(state.step, 2);
  // a JSON trip, as a checkpoint would do
  const json = JSON.parse(
    JSON.stringify({
      ...state,
      m: Object.fromEntries(Object.entries(state.m).map(([k, x]) => [k, [...x]])),
      v: Object.fromEntries(Object.entries(state.v).map(([k, x]) => [k, [...x]])),
    }),
  );
  const restored = {
    ...json,
    m: Object.fromEntries(Object.entries(json.m).map(([k, x]) => [k, Float32Array.from(x as number[])])),
    v: Object.fromEntries(Object.entries(json.v).map(([k, x]) => [k, Float32Array.from(x as number[])])),
  };
  const values = await snapshot(a);
  const b: [string, bg.Tensor][] = F.shapes.map(([name, shape]) => [name, bg.tensor(values[name], shape).setRequiresGrad().keep()]);
  const optB = new AdamW(b, { lr: linearWarmupDecaySchedule({ warmupSteps: 1, totalSteps: 10, peakLr: 0.01 }), maxGradNorm: 1.0 });
  optB.loadStateDict(restored);
  assert.is(optB.stepCount, 2);
  for (const s of [2, 0]) {
    setGrads(a, F.grads[s]);
    setGrads(b, F.grads[s]);
    optA.step();
    optB.step();
  }
  const pa = await snapshot(a);
  const pb = await snapshot(b);
  const sa = await optA.stateDict();
  const sb = await optB.stateDict();
  for (const [name] of a) {
    assert.equal([...pb[name]], [...pa[name]], `param ${name}`);
    assert.equal([...sb.m[name]], [...sa.m[name]], `m ${name}`);
    assert.equal([...sb.v[name]], [...sa.v[name]], `v ${name}`);
  }
  assert.throws(() => optB.loadStateDict({ ...restored, m: { ...restored.m, extra: new Float32Array(1) } }), /unknown parameter/);
  optA.dispose();
  optB.dispose();
  dispose(a);
  dispose(b);
});

test('non-finite gradients: the step is a no-op on params, m and v; the norm says so; later steps as if it never happened', async () => {
  await device();
  for (const bad of [NaN, Infinity, -Infinity]) {
    const params = makeParams();
    const opt = new AdamW(params, { lr: 0.01, maxGradNorm: 1.0 });
    setGrads(params, F.grads[0]);
    opt.step();
    const before = await snapshot(params);
    const stateBefore = await opt.stateDict();
    setGrads(params, F.grads[1]);
    const g = params[1][1];
    const data = Float32Array.from(F.grads[1][params[1][0]]);
    data[3] = bad;
    g.zeroGrad();
    g.grad = bg.tensor(data, g.shape).keep();
    const norm = await opt.step().item();
    assert.ok(!Number.isFinite(norm), `norm ${norm}`);
    const after = await snapshot(params);
    const stateAfter = await opt.stateDict();
    assert.is(stateAfter.skippedSteps, 1);
    for (const [name] of params) {
      assert.equal([...after[name]], [...before[name]], `${bad}: param ${name} changed`);
      assert.equal([...stateAfter.m[name]], [...stateBefore.m[name]], `${bad}: m ${name} changed`);
      assert.equal([...stateAfter.v[name]], [...stateBefore.v[name]], `${bad}: v ${name} changed`);
      assert.is(stateAfter.paramSteps[name], 1);
    }
    assert.is(stateAfter.step, 2); // the schedule's counter advanced
    // the next finite step equals torch's second step (same lr since it is constant)
    setGrads(params, F.grads[1]);
    opt.step();
    const next = await snapshot(params);
    for (const [name] of params)
      assertClose(next[name], F.scenarios.clip[1].params[name], { rtol: 1e-5, atol: 1e-7, what: `${bad}: step after skip, ${name}` });
    opt.dispose();
    dispose(params);
  }
});

test('missing or mis-shaped gradients throw before anything is recorded', async () => {
  const rt = await device();
  const params = makeParams();
  const opt = new AdamW(params, { lr: 0.01 });
  setGrads(params, F.grads[0]);
  params[2][1].zeroGrad();
  const before = await snapshot(params);
  rt.flush();
  const d = rt.dispatchCount;
  assert.throws(() => opt.step(), /has no gradient/);
  assert.is(rt.dispatchCount, d);
  params[2][1].grad = bg.tensor(new Float32Array(5)).keep();
  assert.throws(() => opt.step(), /expected \[4\] f32/);
  assert.is(rt.dispatchCount, d);
  assert.is(opt.stepCount, 0);
  const after = await snapshot(params);
  for (const [name] of params) assert.equal([...after[name]], [...before[name]]);
  // skipMissingGrads: the others update, the gradient-less one stays
  params[2][1].zeroGrad();
  opt.skipMissingGrads = true;
  opt.step();
  const s = await opt.stateDict();
  const later = await snapshot(params);
  assert.equal([...later[params[2][0]]], [...before[params[2][0]]]);
  assert.is(s.paramSteps[params[2][0]], 0);
  assert.is(s.paramSteps[params[0][0]], 1);
  assert.ok([...later[params[0][0]]].some((x, i) => x !== before[params[0][0]][i]));
  opt.dispose();
  dispose(params);
});

test('accumulationSteps: k accumulated gradients step like their mean', async () => {
  await device();
  const a = makeParams();
  const b = makeParams();
  const optA = new AdamW(a, { lr: 0.01, accumulationSteps: 4 });
  const optB = new AdamW(b, { lr: 0.01 });
  for (let s = 0; s < 2; s++) {
    setGrads(a, F.grads[s], 4); // the sum of 4 identical micro-batch grads
    setGrads(b, F.grads[s]);
    const na = await optA.step().item();
    const nb = await optB.step().item();
    assert.ok(Math.abs(na - nb) <= 1e-6 * nb);
  }
  const pa = await snapshot(a);
  const pb = await snapshot(b);
  for (const [name] of a) assert.equal([...pa[name]], [...pb[name]]);
  optA.dispose();
  optB.dispose();
  dispose(a);
  dispose(b);
});

test.run();
