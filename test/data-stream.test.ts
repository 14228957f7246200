// A corpus streamed shard by shard (src/data/stream.ts): every document read once whatever the
// shard size (boundaries inside lines, documents and runs of blank lines), the same documents as
// the whole-corpus reader; held-back documents chosen by hash, the same for any shard size; a
// resumed stream serves the same batches as an uninterrupted one and reads only the shard it
// stopped in; bad .jsonl lines and NUL bytes named file:line; and through `bertgpu pretrain
// --stream always`, a resumed run's losses bit-identical to an uninterrupted run's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCorpus, type DocumentSplit, type SentenceSplit } from '../src/data/corpus.js';
import { CorpusStream, StreamedPretrainingDataset, heldBackScore, type ByteSource } from '../src/data/stream.js';
import { trainWordPiece } from '../src/tokenizers/wordpiece-trainer.js';
import { buildCli, cli, CORPUS } from './cli-helpers.js';

/** google-research/bert's format from Moby-Dick chapters: a paragraph per document, a sentence per line; CRLF and padded blank runs in places. */
function googleText(chapters: number[]): string {
  const paragraphs = chapters
    .flatMap((c) => readFileSync(join(CORPUS, `chapter_${c}.txt`), 'utf8').split(/\n\s*\n/))
    .filter((p) => p.trim());
  return paragraphs
    .map((p, i) => {
      const doc = p
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/([.!?]) (?=[A-Z])/g, '$1\n');
      return i % 7 === 3 ? doc.replace(/\n/g, '\r\n') : doc;
    })
    .reduce((text, doc, i) => text + doc + (i % 5 === 2 ? '\n \t\n\n\n' : '\n\n'), '');
}

function memorySource(name: string, text: string | Uint8Array, reads?: number[]): ByteSource {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  return {
    name,
    size: bytes.length,
    read: (position, length) => {
      reads?.push(position);
      return bytes.subarray(position, position + length);
    },
  };
}

function allDocuments(corpus: CorpusStream): string[][] {
  return corpus.shards.flatMap((_, k) => corpus.readShard(k).map((d) => d.sentences));
}

const stream = (
  sources: ByteSource[],
  shardBytes: number,
  documents: DocumentSplit = 'blank-line',
  sentences: SentenceSplit = 'line',
  heldBack = 0,
) => new CorpusStream(sources, { documents, sentences, shardBytes, heldBack });

test('every document is read once, as the whole-corpus reader reads it, whatever the shard size', () => {
  const text = googleText([1, 2]);
  for (const sentences of ['line', 'split'] as const) {
    const whole = readCorpus([{ name: 'a.txt', text }], 'blank-line', sentences).documents;
    for (const shardBytes of [1, 2, 3, 5, 17, 101, 1000, 4096, 1 << 30]) {
      assert.equal(
        allDocuments(stream([memorySource('a.txt', text)], shardBytes, 'blank-line', sentences)),
        whole,
        `shard size ${shardBytes}, ${sentences}`,
      );
    }
  }
  // .jsonl (a document per line, blank lines skipped) and one document per file, several files
  const jsonl = whole2jsonl(text);
  const files = [
    { name: 'b.jsonl', text: jsonl },
    { name: 'c.txt', text: 'Just one file. As one document.\n\nWith a paragraph.' },
    { name: 'd.txt', text: '' },
    { name: 'e.txt', text: 'Another.' },
  ];
  const whole = readCorpus(files, 'file', 'split').documents;
  for (const shardBytes of [7, 64, 999, 1 << 30]) {
    assert.equal(
      allDocuments(
        stream(
          files.map((f) => memorySource(f.name, f.text)),
          shardBytes,
          'file',
          'split',
        ),
      ),
      whole,
      `shard size ${shardBytes}`,
    );
  }
});

function whole2jsonl(text: string): string {
  return readCorpus([{ name: 'a.txt', text }], 'blank-line', 'line')
    .documents.map((d, i) => JSON.stringify(i % 2 ? { text: d.join(' ') } : d.join(' ')) + (i % 9 === 4 ? '\n\n' : '\n'))
    .join('');
}

test('held-back documents: chosen by a hash of (file, start offset), the same for any shard size, about the share asked', () => {
  const text = googleText([1, 2, 3, 4, 5, 6]);
  const held = (shardBytes: number) => {
    const corpus = stream([memorySource('a.txt', text)], shardBytes, 'blank-line', 'line', 0.2);
    return corpus.shards
      .flatMap((_, k) => corpus.readShard(k).filter((d) => corpus.isHeldBack(d)))
      .map((d) => `${d.start}:${d.sentences[0]}`);
  };
  const a = held(500);
  assert.equal(held(500), a);
  assert.equal(held(7000), a);
  assert.equal(held(1 << 30), a);
  const total = readCorpus([{ name: 'a.txt', text }], 'blank-line', 'line').documents.length;
  assert.ok(total > 100 && a.length > 0.1 * total && a.length < 0.3 * total, `${a.length} of ${total} held back`);
  // the vocabulary sample: whole shards spread over the corpus, without held-back documents
  const corpus = stream([memorySource('a.txt', text)], 2000, 'blank-line', 'line', 0.2);
  const sample = corpus.sampleSentences(10000);
  const sentences = [...sample.sentences];
  assert.is(sample.shards, 5);
  assert.is(sample.read.sentences, sentences.length);
  const picked = [0, 1, 2, 3, 4].map((i) => Math.floor((i * corpus.shards.length) / 5));
  assert.equal(
    sentences,
    picked.flatMap((k) => corpus.readShard(k).filter((d) => !corpus.isHeldBack(d))).flatMap((d) => d.sentences),
  );
  // the score depends on the file and the offset only
  assert.is(heldBackScore(0, 123), heldBackScore(0, 123));
  assert.is.not(heldBackScore(0, 123), heldBackScore(1, 123));
});

const batchFields = [
  'inputIds',
  'tokenTypeIds',
  'attentionMask',
  'mlmLabels',
  'nextSentenceLabel',
  'maskedPositions',
  'instanceIds',
  'epochs',
] as const;

test('a resumed stream serves the same batches as an uninterrupted one (across shards and epochs), reading only the shard it stopped in', () => {
  const text = googleText([1, 2, 3]);
  const tokenizer = trainWordPiece(text.split('\n'), { vocabSize: 300 });
  const make = (reads?: number[]) =>
    new StreamedPretrainingDataset({
      corpus: stream([memorySource('a.txt', text, reads)], 3000, 'blank-line', 'line', 0.1),
      tokenizer,
      mode: 'bert',
      maxSeqLength: 32,
      dupeFactor: 2,
      seed: 5,
      masking: 'dynamic',
    });
  const whole = make();
  const shards = whole.corpus.shards.length;
  assert.ok(shards >= 5, `${shards} shards`);
  const all = [];
  while (whole.epoch < 1 || all.length < 20) all.push(whole.nextBatch(7));
  for (let i = 0; i < 10; i++) all.push(whole.nextBatch(7)); // into the second epoch
  assert.not.equal(whole.shardOrder(0), whole.shardOrder(1));
  for (const cut of [1, Math.floor(all.length / 3), all.length - 6]) {
    const first = make();
    for (let i = 0; i < cut; i++) first.nextBatch(7);
    const state = JSON.parse(JSON.stringify(first.state()));
    const reads: number[] = [];
    const resumed = make(reads);
    resumed.restore(state);
    // restoring read one shard: nothing before its first piece but the few bytes that find a document start
    const piece = resumed.corpus.shards[resumed.shardOrder(state.epoch)[state.shard]][0];
    assert.ok(Math.min(...reads) >= piece.start - 4096, `read from ${Math.min(...reads)}, the shard starts at ${piece.start}`);
    for (let i = cut; i < all.length; i++) {
      const b = resumed.nextBatch(7);
      for (const f of batchFields) assert.equal(b[f], all[i][f], `batch ${i} after a cut at ${cut}: ${f}`);
    }
  }
  // the dupe factor applies within a shard: two passes of instance creation over its documents
  const set = whole.buildShard(0)!;
  const trainDocs = whole.corpus.readShard(0).filter((d) => !whole.corpus.isHeldBack(d)).length;
  assert.is(set.stats.documents, 2 * trainDocs);
  assert.throws(() => make().restore({ ...whole.state(), seed: 6 }), /the state is for seed 6/);
});

test('a bad .jsonl line and a NUL byte are named file:line, in a shard read after a seek', () => {
  const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `Document number ${i}. It has two sentences.` }));
  lines[150] = '{"text": "cut short';
  const corpus = stream([memorySource('big.jsonl', lines.join('\n') + '\n')], 512, 'file', 'split');
  const k = corpus.shards.findIndex((s) => s[0].end > lines.slice(0, 150).join('\n').length);
  assert.throws(() => corpus.readShard(k), /big\.jsonl:151: not valid JSON/);
  lines[150] = '{"title": "no text"}';
  assert.throws(
    () => stream([memorySource('big.jsonl', lines.join('\n'))], 512, 'file', 'split').readShard(k),
    /big\.jsonl:151: expected \{"text": "\.\.\."\}/,
  );
  const text = googleText([1]);
  const cut = text.indexOf('\n', 5000) + 3;
  const at = new TextEncoder().encode(text.slice(0, cut)).length;
  const bytes = new TextEncoder().encode(text);
  bytes[at] = 0;
  const nul = stream([memorySource('a.txt', bytes)], 1000);
  const line = text.slice(0, cut).split('\n').length;
  assert.throws(
    () => nul.shards.forEach((_, i) => nul.readShard(i)),
    new RegExp(`a\\.txt:${line}: not a text file \\(a NUL byte at byte ${at}\\)`),
  );
});

test('bertgpu pretrain --stream always: says what it streams, and --resume continues with bit-identical losses', async () => {
  await buildCli();
  const d = mkdtempSync(join(tmpdir(), 'bertgpu-stream-'));
  const corpus = join(d, 'corpus.txt');
  writeFileSync(corpus, googleText([1, 2, 3, 4]));
  const args = (out: string, log: string, steps: number) => [
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
    '2000',
    '--train-vocab',
    '200',
    '--vocab-sample-bytes',
    '20000',
    '--steps',
    String(steps),
    '--batch',
    '8',
    '--seq',
    '32',
    '--dupe-factor',
    '2',
    '--log-every',
    '1',
    '--eval-batches',
    '1',
    '--out',
    out,
    '--log',
    log,
  ];
  const losses = (log: string) =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => !r.eval)
      .map((r) => [r.step, r.loss, r.mlm, r.nsp]);
  const whole = cli(args(join(d, 'whole'), join(d, 'whole.jsonl'), 8));
  assert.is(whole.status, 0, whole.stderr);
  assert.match(
    whole.stdout,
    /corpus: 1 file\(s\), [\d.]+ MiB, streamed in \d+ shards of 0\.002 MiB .*counted as training reaches each shard\); held back for evaluation: the documents whose hash/,
  );
  assert.match(whole.stdout, /vocabulary: 200 WordPiece pieces trained on the \d+ training sentences of 10 of the \d+ shards/);
  assert.match(whole.stdout, /^shard \d+ \(1 of \d+ in epoch 0\): \d+ documents, \d+ sentences, \d+ held back; \d+ bert instances$/m);
  assert.match(
    whole.stdout,
    /corpus read so far: \d+ of \d+ shards, \d+ documents \(\d+ held back\), \d+ sentences, \d+ training instances/,
  );
  // the same run killed while it writes its first checkpoint (step 3), then resumed from it alone
  const killed = cli([...args(join(d, 'cut'), join(d, 'cut.jsonl'), 8), '--checkpoint-every', '3'], {
    env: { BERTGPU_TEST_KILL_BETWEEN_RENAMES: '1' },
  });
  assert.is(killed.signal, 'SIGKILL', killed.stderr);
  const resumed = cli(['pretrain', '--resume', join(d, 'cut'), '--steps', '8']);
  assert.is(resumed.status, 0, resumed.stderr);
  const expected = losses(join(d, 'whole.jsonl'));
  assert.is(expected.length, 8);
  assert.ok(new Set(expected.map((l) => l[1])).size > 1);
  assert.equal(losses(join(d, 'cut.jsonl')), expected);
});

test.run();
