// Embedding backward: CPU-known ids (bucketed by row when there are more ids than rows:
// gather_backward_sorted, one invocation per (row, column); otherwise bucketed by distinct id into
// a cleared gradient: gather_backward_rows, one workgroup per distinct id) against the scanning
// kernel for GPU-made ids (gather_backward, one invocation per row), at the shapes of a B64 x T128
// bert-tiny step, and bert-base-uncased's 30522 words under a B16 x T128 batch (npm run bench's
// training step). The scan serialises a 2-row token-type table into 2 invocations.
// Run: npm run bench:embedding
import * as bg from '../dist/index.js';

await bg.init();
const B = 64,
  T = 128,
  H = 128;
const cases = [
  { what: 'token types [2, 128]', rows: 2, ids: () => Int32Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 ? 1 : 0)) },
  { what: 'positions [512, 128] (T ids)', rows: 512, ids: () => Int32Array.from({ length: T }, (_, t) => t) },
  {
    what: 'words [4000, 128]',
    rows: 4000,
    ids: () => Int32Array.from({ length: B * T }, (_, i) => Math.floor((4000 * ((i * 2654435761) % 4294967296)) / 4294967296)),
  },
  {
    what: 'words [30522, 128] (B16 x T128 ids)',
    rows: 30522,
    ids: () => Int32Array.from({ length: 16 * T }, (_, i) => Math.floor((30522 * ((i * 2654435761) % 4294967296)) / 4294967296)),
  },
];
async function time(fn, reps = 5) {
  await fn();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await fn();
  return (performance.now() - t0) / reps;
}
console.log(`adapter: ${bg.runtime().report.adapter.description || bg.runtime().report.adapter.device}`);
for (const c of cases) {
  const host = c.ids();
  const w = bg.randn([c.rows, H]).setRequiresGrad();
  const g = bg.randn([host.length, H]);
  const hostIds = bg.tensor(host, [host.length], 'i32');
  // the same ids copied on the GPU (clone), so they carry no CPU copy
  const gpuIds = bg.clone(hostIds);
  if (gpuIds.hostData) throw new Error('clone kept the CPU copy of the ids');
  const grads = {};
  const ms = {};
  for (const [name, ids] of [
    ['bucketed', hostIds],
    ['scan', gpuIds],
  ]) {
    ms[name] = await time(async () => {
      w.zeroGrad();
      bg.backward(bg.embedding(w, ids), g);
      await bg.runtime().sync();
    });
    grads[name] = await w.grad.toArray();
  }
  const same = grads.bucketed.every((v, i) => v === grads.scan[i]);
  const path = host.length > c.rows ? 'bucketed by row' : 'fewer ids than rows: bucketed by id';
  console.log(
    `${c.what}: CPU ids (${path}) ${ms.bucketed.toFixed(1)} ms, GPU ids (scan) ${ms.scan.toFixed(1)} ms (${(ms.scan / ms.bucketed).toFixed(1)}x), gradients ${same ? 'bit-identical' : 'DIFFER'}`,
  );
  if (!same) process.exitCode = 1;
}
bg.runtime().destroy();
