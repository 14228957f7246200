// Browser part of `npm run bench:matmul` (bundled and run in headless Chromium by bench/matmul.mjs).
import * as bg from '../src/index.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { runBench, DEFAULTS, type BenchOptions } from './matmul-core.js';

const opts: BenchOptions = (globalThis as any).BERTGPU_BENCH_OPTS ?? DEFAULTS;
try {
  let t: any = null;
  if (opts.tfjs) {
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: setBackend(webgpu) failed');
    await tf.ready();
    t = tf;
  }
  await bg.init({ gpu: navigator.gpu });
  await runBench('Headless Chromium (Dawn)', t, (l) => console.log(l), opts);
  console.log('BENCH DONE');
} catch (err) {
  console.log(`BENCH FAILED: ${(err as Error).stack ?? err}`);
}
