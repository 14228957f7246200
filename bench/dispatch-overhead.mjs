// JS cost per recorded op, ours vs @tensorflow/tfjs-backend-webgpu, on one npm `webgpu` (Dawn)
// GPU object in one process: a chain of N elementwise adds on a [64, 64] tensor (each input freed
// as the next is made), timed while recording only; then one readback checks both got the same
// numbers. Usage: npm run build && node bench/dispatch-overhead.mjs [--ops N] [--rounds R]
import { parseArgs } from 'node:util';
import * as bg from '../dist/index.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.ops),
  R = Number(values.rounds);
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
// tfjs-backend-webgpu registers its backend at import time only if navigator.gpu exists
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: setBackend(webgpu) failed');
await tf.ready();
const rt = await bg.init({ gpu });

const init = Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 13) / 13);
const step = Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 7) / 700);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function ours() {
  const b = bg.tensor(step, [64, 64]);
  let c = bg.tensor(init, [64, 64]);
  await rt.sync();
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const next = bg.add(c, b);
    c.dispose();
    c = next;
  }
  rt.flush();
  const us = ((performance.now() - t) / N) * 1000;
  const out = await c.toArray();
  b.dispose();
  c.dispose();
  return { us, out };
}

async function tfjs() {
  const b = tf.tensor(step, [64, 64]);
  let c = tf.tensor(init, [64, 64]);
  await c.data();
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const next = tf.add(c, b);
    c.dispose();
    c = next;
  }
  const us = ((performance.now() - t) / N) * 1000;
  const out = await c.data();
  b.dispose();
  c.dispose();
  return { us, out };
}

const a = rt.report.adapter;
console.log(`${a.description || a.device}: ${N} chained adds on [64, 64], JS time per recorded op (median of ${R} rounds)`);
const mine = [],
  theirs = [];
let diff = 0;
for (let r = 0; r < R; r++) {
  const x = await ours();
  const y = await tfjs();
  mine.push(x.us);
  theirs.push(y.us);
  for (let i = 0; i < x.out.length; i++) diff = Math.max(diff, Math.abs(x.out[i] - y.out[i]));
}
console.log(
  `bertgpu ${median(mine).toFixed(1)} µs/op, tfjs-backend-webgpu ${median(theirs).toFixed(1)} µs/op: ratio tfjs / bertgpu = ${(median(theirs) / median(mine)).toFixed(2)} (results agree to ${diff.toExponential(1)})`,
);
if (diff > 1e-3) throw new Error(`results differ by ${diff}`);
rt.destroy();
process.exit(0);
