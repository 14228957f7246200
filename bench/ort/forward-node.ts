// Node entry of the forward bench (bundled by bench/run.mjs):
//   prepare: writes DIR/<model>/{config.json, model.safetensors} (random init, our exporter) where absent;
//   compare: ours (Dawn, lavapipe here) vs onnxruntime-node's CPU EP on DIR/<model>/model.onnx.
// Options come as JSON in BERTGPU_BENCH_OPTS: { mode, dir, models, batches, seq, rounds, threads }.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as bg from '../../src/index.js';
import { compareForward, layerDispatches, loadOurs, makeInputs, type ForwardOptions, type Inputs } from './forward-core.js';

const opts: ForwardOptions & { mode: 'prepare' | 'compare'; dir: string; threads: number; ortNodeDir?: string } = JSON.parse(
  process.env.BERTGPU_BENCH_OPTS!,
);
const log = (l: string) => console.log(l);
await bg.init();

function writeAtomic(path: string, data: Uint8Array | string) {
  writeFileSync(path + '.tmp', data);
  renameSync(path + '.tmp', path);
}

if (opts.mode === 'prepare') {
  for (const name of opts.models) {
    const dir = join(opts.dir, name);
    if (existsSync(join(dir, 'config.json'))) continue;
    mkdirSync(dir, { recursive: true });
    const config = bg.presetConfig(name);
    const model = new bg.BertModel(config, { addPoolingLayer: false, generator: new bg.Generator(1) });
    const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [n, t] of model.namedParameters()) tensors[n] = { data: (await t.toArray()) as Float32Array, shape: [...t.shape] };
    model.dispose();
    writeAtomic(join(dir, 'model.safetensors'), bg.writeSafetensors(tensors, { format: 'pt' }));
    writeAtomic(join(dir, 'config.json'), JSON.stringify(bg.configToJson(config, 'BertModel'), null, 2) + '\n'); // last: marks the folder complete
    log(`wrote ${dir} (${name}, random init, seed 1, vocab ${config.vocab_size})`);
  }
} else {
  // installed by bench/run.mjs into its own folder (not a devDependency: see ORT_NODE there)
  const ort = createRequire(join(opts.ortNodeDir!, 'package.json'))('onnxruntime-node') as typeof import('onnxruntime-common');
  for (const name of opts.models) {
    const dir = join(opts.dir, name);
    const configText = readFileSync(join(dir, 'config.json'), 'utf8');
    const ours = loadOurs(configText, readFileSync(join(dir, 'model.safetensors')));
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
      executionProviders: ['cpu'],
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const i64 = (a: Int32Array, x: Inputs) =>
      new ort.Tensor(
        'int64',
        BigInt64Array.from(a, (v) => BigInt(v)),
        [x.B, x.T],
      );
    const peer = {
      name: 'onnxruntime-node cpu',
      runtime: `onnxruntime-node ${ort.env.versions?.common ?? ''} CPU EP, ${opts.threads} threads`,
      forward: async (x: Inputs) => {
        const r = await session.run({ input_ids: i64(x.ids, x), attention_mask: i64(x.mask, x), token_type_ids: i64(x.types, x) });
        return r.last_hidden_state.data as Float32Array;
      },
    };
    await layerDispatches(name, ours, 'node', log);
    for (const B of opts.batches) {
      const x = makeInputs(B, opts.seq, bg.parseConfigJson(configText).config.vocab_size);
      await compareForward(name, ours, [peer], x, opts.rounds, 'node', log);
    }
    await session.release();
    ours.dispose();
  }
}
bg.runtime().destroy();
process.exit(0);
