// `bertgpu run --model DIR --inputs IN.safetensors --out OUT.safetensors [--grads]`:
// a Hugging Face directory, inputs named as HF's forward() arguments, outputs named as HF's.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { init } from '../runtime.js';
import { fromPretrained } from '../io/pretrained.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { writeAtomic } from '../io/files.js';
import { runModel, type NamedArrays } from '../models/run.js';

const USAGE = 'usage: bertgpu run --model DIR --inputs IN.safetensors --out OUT.safetensors [--grads]';

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { model: { type: 'string' }, inputs: { type: 'string' }, out: { type: 'string' }, grads: { type: 'boolean', default: false } } }));
  } catch (err) {
    console.error(`bertgpu run: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.model || !values.inputs || !values.out) {
    console.error(`bertgpu run: --model, --inputs and --out are required\n${USAGE}`);
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(values.inputs));
  } catch (err) {
    throw new Error(`cannot read --inputs ${values.inputs}: ${(err as Error).message}`);
  }
  const inputs: NamedArrays = new Map();
  for (const [name, t] of readSafetensors(bytes, values.inputs).tensors) inputs.set(name, { data: t.data, shape: t.shape });
  const rt = await init();
  try {
    const { model } = await fromPretrained(values.model);
    const outputs = await runModel(model, inputs, { grads: values.grads });
    const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [name, v] of outputs) tensors[name] = { data: v.data as Float32Array, shape: v.shape };
    await writeAtomic(values.out, writeSafetensors(tensors));
    model.dispose();
  } finally {
    rt.destroy();
  }
  return 0;
}
