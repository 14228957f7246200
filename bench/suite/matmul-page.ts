// Chromium entry of the matmul part of `npm run bench` (bundled by bench/run.mjs).
import * as bg from '../../src/index.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { runMatmul, type MatmulEntryOptions } from './matmul-entry.js';

const opts: MatmulEntryOptions = (globalThis as any).BERTGPU_BENCH_OPTS;
try {
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: setBackend(webgpu) failed');
  await tf.ready();
  await bg.init({ gpu: navigator.gpu });
  await runMatmul('Headless Chromium (Dawn)', 'chromium', tf, opts, (l) => console.log(l));
  console.log('BENCH DONE');
} catch (err) {
  console.log(`BENCH FAILED: ${(err as Error).stack ?? String(err)}`);
}
