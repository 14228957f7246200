// Row kernels (layer norm forward / backward, residual + layer norm, cross-entropy's
// log-sum-exp): one invocation per row ('thread', CPU adapters' default) against a workgroup of 64
// per row ('workgroup', GPUs' default; runtime.ts RowVariant), interleaved, at the shapes of
// bert-base steps: LayerNorm over B32 x T128 rows of 768, the MLM loss over 640 gathered rows of
// 30522 logits, the argmax of ELECTRA's sampling over as many rows. Outputs of both variants are compared first (max abs difference printed).
// Run: npm run build && node bench/row-kernels.mjs [--rounds 5] [--json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as bg from '../dist/index.js';

const { values: o } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, json: { type: 'string' } } });
const rt = await bg.init();
const rounds = +o.rounds;
const H = 768;
const cases = [
  {
    what: 'layerNorm forward + backward, 4096 x 768',
    make: () => {
      const x = bg.randn([4096, H]).setRequiresGrad();
      const [w, b] = [bg.ones([H]).setRequiresGrad(), bg.zeros([H]).setRequiresGrad()];
      const g = bg.randn([4096, H]);
      return { inputs: [x, w, b], run: () => bg.layerNorm(x, w, b), g };
    },
  },
  {
    what: 'residualLayerNorm forward + backward (dropout 0.1), 4096 x 768',
    make: () => {
      const [h, res] = [bg.randn([4096, H]).setRequiresGrad(), bg.randn([4096, H]).setRequiresGrad()];
      const [w, b] = [bg.ones([H]).setRequiresGrad(), bg.zeros([H]).setRequiresGrad()];
      const g = bg.randn([4096, H]);
      return {
        inputs: [h, res, w, b],
        run: () => bg.residualLayerNorm(h, res, w, b, { dropout: 0.1, generator: new bg.Generator(3) }),
        g,
      };
    },
  },
  {
    what: 'crossEntropy forward + backward, 640 x 30522',
    make: () => {
      const x = bg.randn([640, 30522]).setRequiresGrad();
      const t = bg.tensor(
        Int32Array.from({ length: 640 }, (_, i) => (i * 7919) % 30522),
        [640],
        'i32',
      );
      return { inputs: [x], run: () => bg.crossEntropy(x, t), g: bg.ones([]) };
    },
  },
  {
    what: 'argmax over 640 x 30522 (ELECTRA sampling)',
    make: () => {
      const x = bg.randn([640, 30522]);
      return { inputs: [x], run: () => bg.argmax(x, 1), g: null };
    },
  },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
console.log(`adapter: ${rt.report.adapter.description || rt.report.adapter.device} (default row variant: ${rt.rowVariant()})`);
for (const c of cases) {
  const { inputs, run, g } = c.make();
  const once = async (variant) => {
    rt.setRowVariant(variant);
    const t0 = performance.now();
    const out = run();
    if (g) bg.backward(out, g);
    const values = await out.toArray();
    const grad = g ? await inputs[0].grad.toArray() : [];
    const ms = performance.now() - t0;
    out.dispose();
    for (const t of inputs) t.zeroGrad();
    return { ms, values, grad };
  };
  const a = await once('thread');
  const b = await once('workgroup');
  let diff = 0;
  for (const [x, y] of [
    [a.values, b.values],
    [a.grad, b.grad],
  ])
    for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i] - y[i]));
  const times = { thread: [], workgroup: [] };
  for (let r = 0; r < rounds; r++) for (const v of ['thread', 'workgroup']) times[v].push((await once(v)).ms);
  rt.setRowVariant(undefined);
  const [mt, mw] = [median(times.thread), median(times.workgroup)];
  results.push({ case: c.what, thread_ms: mt, workgroup_ms: mw, workgroup_over_thread: mw / mt, max_abs_diff: diff });
  console.log(
    `${c.what}: thread ${mt.toFixed(1)} ms, workgroup ${mw.toFixed(1)} ms (workgroup / thread ${(mw / mt).toFixed(2)}x; outputs and gradients differ by at most ${diff.toExponential(1)})`,
  );
  for (const t of [...inputs, g]) t?.dispose();
}
if (o.json) writeFileSync(o.json, JSON.stringify({ adapter: rt.report.adapter, results }, null, 2));
