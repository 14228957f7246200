// Node entry of the matmul part of `npm run bench` (bundled by bench/run.mjs; options as JSON in BERTGPU_BENCH_OPTS).
import * as bg from '../../src/index.js';
import { runMatmul, type MatmulEntryOptions } from './matmul-entry.js';

const opts: MatmulEntryOptions = JSON.parse(process.env.BERTGPU_BENCH_OPTS!);
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
// tfjs-backend-webgpu registers its backend at import time only if navigator.gpu exists.
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
const tf: any = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: setBackend(webgpu) failed');
await tf.ready();
await bg.init({ gpu });
await runMatmul('Node + Dawn (npm webgpu)', 'node', tf, opts, (l) => console.log(l));
bg.runtime().destroy();
process.exit(0);
