// Chromium entry of the forward bench (bundled by bench/run.mjs, served crossOriginIsolated by
// bench/suite/page.mjs): ours vs onnxruntime-web's WebGPU and WASM EPs in the same page, on the
// same weights (/models/<model>/: config.json, model.safetensors, model.onnx).
import * as bg from '../../src/index.js';
import { compareForward, layerDispatches, loadOurs, makeInputs, type ForwardOptions, type Inputs, type Peer } from './forward-core.js';

const opts: ForwardOptions & { threads: number } = (globalThis as any).BERTGPU_BENCH_OPTS;
const log = (l: string) => console.log(l);
const fetchBytes = async (url: string) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
};

try {
  if (!crossOriginIsolated) throw new Error('the page is not crossOriginIsolated (ORT-web WASM would run single-threaded)');
  // Served at /ort/ from node_modules/onnxruntime-web/dist; not bundled (it loads its .wasm beside itself).
  const ortUrl: string = '/ort/ort.webgpu.min.mjs';
  const ort: any = await import(ortUrl);
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.logLevel = 'error'; // not its node-placement warnings
  ort.env.wasm.numThreads = opts.threads;
  await bg.init({ gpu: navigator.gpu });
  log(`ORT-web ${ort.env.versions?.web ?? ''}, WASM threads ${opts.threads}, crossOriginIsolated ${crossOriginIsolated}`);
  for (const name of opts.models) {
    const configText = new TextDecoder().decode(await fetchBytes(`/models/${name}/config.json`));
    const ours = loadOurs(configText, await fetchBytes(`/models/${name}/model.safetensors`));
    const onnx = await fetchBytes(`/models/${name}/model.onnx`);
    const peers: Peer[] = [];
    const sessions: any[] = [];
    for (const ep of ['webgpu', 'wasm']) {
      const session = await ort.InferenceSession.create(onnx, {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
      sessions.push(session);
      const i64 = (a: Int32Array, x: Inputs) =>
        new ort.Tensor(
          'int64',
          BigInt64Array.from(a, (v) => BigInt(v)),
          [x.B, x.T],
        );
      peers.push({
        name: `ort-web ${ep}`,
        runtime: `onnxruntime-web ${ort.env.versions?.web ?? ''} ${ep} EP${ep === 'wasm' ? `, ${opts.threads} threads` : ''}`,
        forward: async (x: Inputs) => {
          const r = await session.run({ input_ids: i64(x.ids, x), attention_mask: i64(x.mask, x), token_type_ids: i64(x.types, x) });
          return (await r.last_hidden_state.getData()) as Float32Array;
        },
      });
    }
    await layerDispatches(name, ours, 'chromium', log);
    for (const B of opts.batches) {
      const x = makeInputs(B, opts.seq, bg.parseConfigJson(configText).config.vocab_size);
      await compareForward(name, ours, peers, x, opts.rounds, 'chromium', log);
    }
    for (const s of sessions) await s.release();
    ours.dispose();
  }
  log('BENCH DONE');
} catch (err) {
  log(`BENCH FAILED: ${(err as Error).stack ?? String(err)}`);
}
