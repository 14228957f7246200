// BERT encoder forward of `npm run bench`: ours vs ONNX Runtime on the same weights, shared by the
// Node entry (vs onnxruntime-node, CPU EP) and the Chromium page (vs onnxruntime-web WebGPU / WASM).
import * as bg from '../../src/index.js';
import { adapterName, emit, interleave, maxAbsDiff, type BenchResult } from '../suite/common.js';

export interface ForwardOptions {
  models: string[];
  batches: number[];
  seq: number;
  rounds: number;
}

export interface Inputs {
  B: number;
  T: number;
  ids: Int32Array;
  mask: Int32Array;
  types: Int32Array;
}

/** Token ids from a fixed LCG; row b is padded after T - 8b tokens (the mask is exercised), types 0 then 1. */
export function makeInputs(B: number, T: number, vocab: number): Inputs {
  const ids = new Int32Array(B * T);
  const mask = new Int32Array(B * T);
  const types = new Int32Array(B * T);
  let s = 12345;
  for (let b = 0; b < B; b++) {
    const len = Math.max(1, T - ((8 * b) % T));
    for (let t = 0; t < T; t++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      ids[b * T + t] = t < len ? 1 + (s % (vocab - 1)) : 0;
      mask[b * T + t] = t < len ? 1 : 0;
      types[b * T + t] = t >= len / 2 && t < len ? 1 : 0;
    }
  }
  return { B, T, ids, mask, types };
}

/** Our BertModel (no pooler) from config.json text and model.safetensors bytes. */
export function loadOurs(configText: string, weights: Uint8Array): bg.BertModel {
  const { config } = bg.parseConfigJson(configText);
  const model = new bg.BertModel(config, { addPoolingLayer: false });
  model.loadWeights(bg.readSafetensors(weights).tensors, { source: 'model.safetensors' });
  model.train(false);
  return model;
}

/** One forward with the output read back (what a caller of the encoder waits for). */
export async function oursForward(model: bg.BertModel, x: Inputs): Promise<Float32Array> {
  const out = bg.noGrad(() => {
    const ids = bg.tensor(x.ids, [x.B, x.T], 'i32');
    const mask = bg.tensor(x.mask, [x.B, x.T], 'i32');
    const types = bg.tensor(x.types, [x.B, x.T], 'i32');
    const o = model.forward(ids, { attentionMask: mask, tokenTypeIds: types });
    for (const t of [ids, mask, types, ...o.hiddenStates.slice(0, -1)]) t.dispose();
    return o.sequenceOutput;
  });
  const data = (await out.toArray()) as Float32Array;
  out.dispose();
  return data;
}

/** A peer: its name and a forward returning last_hidden_state. */
export interface Peer {
  name: string;
  runtime: string;
  forward: (x: Inputs) => Promise<Float32Array>;
}

/**
 * Checks that ours and every peer agree on the inputs (max abs diff printed), then times them
 * interleaved (ours, peer 1, peer 2, ... each round) and emits one result per peer.
 */
export async function compareForward(
  model: string,
  ours: bg.BertModel,
  peers: Peer[],
  x: Inputs,
  rounds: number,
  runtime: string,
  log: (line: string) => void,
): Promise<BenchResult[]> {
  const mine = await oursForward(ours, x);
  // the matmul variants measured for this forward's products (bg.tuneMatmul, as a user would
  // call it; cached per device, nothing to do when a shape class is known already)
  const tuned = await bg.tuneMatmul();
  if (tuned.size) log(`  ${model} B${x.B} T${x.T}: matmul kernels measured: ${[...tuned].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const diffs = new Map<string, number>();
  for (const p of peers) {
    const theirs = await p.forward(x);
    const d = maxAbsDiff(mine, theirs);
    diffs.set(p.name, d);
    log(`  ${model} B${x.B} T${x.T}: max abs diff of last_hidden_state, ours vs ${p.name}: ${d.toExponential(2)}`);
    // LayerNorm outputs are O(1): a wrong graph or wrong weights differ by O(1), float32 rounding by ~1e-5.
    if (!(d < 1e-2)) throw new Error(`forward bench: ${model} B${x.B}: ours and ${p.name} disagree (max abs diff ${d})`);
  }
  const t = await interleave(
    [{ name: 'ours', run: () => oursForward(ours, x) }, ...peers.map((p) => ({ name: p.name, run: () => p.forward(x) }))],
    rounds,
  );
  const out: BenchResult[] = [];
  for (const p of peers) {
    const r: BenchResult = {
      section: 'forward',
      runtime: `${runtime} vs ${p.runtime}`,
      adapter: adapterName(),
      case: `${model} B${x.B} T${x.T}`,
      ours: t.ms.get('ours')!,
      peer: t.ms.get(p.name)!,
      peerName: p.name,
      unit: 'ms',
      ratio: t.ratioToFirst.get(p.name)!,
      rounds,
      extra: { maxAbsDiff: diffs.get(p.name)! },
    };
    log(`  ${r.case}: ours ${r.ours.toFixed(1)} ms, ${p.name} ${r.peer.toFixed(1)} ms, ours/${p.name} ${r.ratio.toFixed(2)}x`);
    emit(r, log);
    out.push(r);
  }
  return out;
}

/** Dispatches of one encoder layer's forward, inference (no grad) and training (dropout, grad recorded). */
export async function layerDispatches(model: string, ours: bg.BertModel, runtime: string, log: (line: string) => void): Promise<void> {
  const rt = bg.runtime();
  const H = ours.config.hidden_size;
  const x = makeInputs(2, 64, ours.config.vocab_size);
  const h = bg.randn([x.B, x.T, H]);
  const m = bg.tensor(x.mask, [x.B, x.T], 'i32');
  const mask = bg.extendedAttentionMask(m);
  m.dispose();
  const variant = rt.attentionVariant(H / ours.config.num_attention_heads);
  const layer = ours.encoder.layer[0];
  const count = (training: boolean) => {
    layer.train(training);
    const d0 = rt.dispatchCount;
    const run = () => layer.forward(training ? h.detach().setRequiresGrad(true) : h, mask);
    const out = training ? run() : bg.noGrad(run);
    const n = rt.dispatchCount - d0;
    out.dispose();
    return n;
  };
  const inference = count(false);
  const training = count(true);
  layer.train(false);
  await rt.sync();
  h.dispose();
  mask.dispose();
  log(`  ${model}: dispatches per encoder layer forward: inference ${inference}, training ${training} (${variant} attention)`);
  emit(
    {
      section: 'layer',
      runtime,
      adapter: adapterName(),
      case: `${model} encoder layer forward (${variant} attention)`,
      ours: inference,
      peer: 10,
      peerName: 'goal',
      unit: 'dispatches',
      ratio: inference / 10,
      rounds: 1,
      extra: { training },
    },
    log,
  );
}
