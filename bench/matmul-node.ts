// Node part of `npm run bench:matmul`: bertgpu and tfjs-backend-webgpu on one npm `webgpu`
// (Dawn) GPU object in one process. Run by bench/matmul.mjs (which sets the Vulkan env).
import * as bg from '../src/index.js';
import { runBench, DEFAULTS, type BenchOptions } from './matmul-core.js';

const opts: BenchOptions = JSON.parse(process.env.BERTGPU_BENCH_OPTS ?? 'null') ?? DEFAULTS;
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
// tfjs-backend-webgpu registers its backend at import time only if navigator.gpu exists.
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
let tf: any = null;
if (opts.tfjs) {
  tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: setBackend(webgpu) failed');
  await tf.ready();
}
await bg.init({ gpu });
await runBench('Node + Dawn (npm webgpu)', tf, (l) => console.log(l), opts);
bg.runtime().destroy();
process.exit(0);
