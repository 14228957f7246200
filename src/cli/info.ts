// `bertgpu info`: the adapter, limits and features this machine's WebGPU offers.
import { init } from '../runtime.js';

export async function main(_argv: string[]): Promise<number> {
  const rt = await init();
  console.log(JSON.stringify(rt.report, null, 2));
  rt.destroy();
  return 0;
}
