// Fuzzes WordPiece (bert-base-uncased, a cased variant and a tiny vocabulary) and byte-level BPE
// encoding with random and adversarial Unicode text (controls, combining marks, lone surrogates,
// bidi and zero-width characters, astral planes, special tokens typed in, very long words) and
// random truncation / padding options. The only errors allowed are the plain Errors that name a
// bad option; every encoding must be well formed, and byte-level BPE must round-trip the text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { WordPieceTokenizer, trainByteLevelBpe, type TokenizerEncoding, type TruncationStrategy } from '../src/tokenizers/index.js';
import { FUZZ_SCALE, int, pick, randomText, runFuzz, type Rng } from './fuzz-mutate.js';

const VOCAB_TEXT = readFileSync('data/bert-base-uncased-vocab.txt', 'utf8');
const codePoints = (s: string) => [...s].length;

/** The options an encode may be refused for: they name the option. */
const isOptionError = (err: Error) => /max length|truncat/.test(err.message);

function randomOptions(r: Rng, isPair: boolean) {
  const maxLength = r.next() < 0.5 ? int(r, 0, 300) : undefined;
  const truncation = pick<TruncationStrategy>(r, isPair ? ['longest_first', 'only_first', 'only_second'] : ['longest_first', 'only_first']);
  const padding: 'max_length' | false = maxLength !== undefined && r.next() < 0.5 ? ('max_length' as const) : false;
  return { maxLength, truncation, padding, addSpecialTokens: r.next() < 0.9 };
}

/** Checks what every encoding must satisfy; a TypeError reports a violation as a failure. */
function checkEncoding(e: TokenizerEncoding, vocab: readonly string[], texts: string[], maxLength: number | undefined): void {
  const n = e.inputIds.length;
  const fail = (msg: string) => {
    throw new TypeError(`bad encoding: ${msg}`);
  };
  for (const a of [e.tokens, e.tokenTypeIds, e.attentionMask, e.offsets, e.specialTokensMask])
    if (a.length !== n) fail('arrays of different lengths');
  if (maxLength !== undefined && n > maxLength) fail(`${n} ids for max length ${maxLength}`);
  const longest = Math.max(...texts.map(codePoints));
  for (let i = 0; i < n; i++) {
    const id = e.inputIds[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab.length) fail(`id ${id} at ${i} out of range`);
    if (vocab[id] !== e.tokens[i]) fail(`token ${e.tokens[i]} at ${i} is not vocab[${id}]`);
    const [s, end] = e.offsets[i];
    if (!(0 <= s && s <= end && end <= longest)) fail(`offsets [${s}, ${end}] at ${i} outside the text`);
  }
}

test('fuzz: WordPiece encodes any text, or refuses only a bad option, with a well-formed encoding', () => {
  const tokenizers = [
    WordPieceTokenizer.fromVocabText(VOCAB_TEXT),
    WordPieceTokenizer.fromVocabText(VOCAB_TEXT, { lowercase: false, stripAccents: false }),
    WordPieceTokenizer.fromVocabText('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##a\nb\n##b\n.\n', { maxInputCharsPerWord: 5 }),
  ];
  runFuzz(
    'WordPiece encode',
    2500 * FUZZ_SCALE,
    31_000,
    (r) => {
      const tok = pick(r, tokenizers);
      const text = randomText(r, 600);
      const pair = r.next() < 0.3 ? randomText(r, 200) : null;
      const options = randomOptions(r, pair !== null);
      return {
        what: `tokenizer ${tokenizers.indexOf(tok)}, text ${JSON.stringify(text.slice(0, 200))}, pair ${JSON.stringify(pair?.slice(0, 100))}, ${JSON.stringify(options)}`,
        run: () => {
          const e = tok.encode(text, pair, options);
          checkEncoding(e, tok.vocab, pair === null ? [text] : [text, pair], options.maxLength);
          tok.decode(e.inputIds, { skipSpecialTokens: r.next() < 0.5 });
          if (r.next() < 0.1) tok.encodeBatch([text, [text, pair ?? 'b']], { padding: 'longest' });
        },
      };
    },
    isOptionError,
  );
});

test('fuzz: byte-level BPE encodes any text and decodes it back exactly', () => {
  const words = VOCAB_TEXT.split('\n').slice(2000, 3500);
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 12) lines.push(words.slice(i, i + 12).join(' '));
  const bpe = trainByteLevelBpe(lines, { vocabSize: 400 });
  const prefixed = trainByteLevelBpe(lines.slice(0, 40), { vocabSize: 300, addPrefixSpace: true });
  assert.ok(bpe.merges.length > 50);
  runFuzz(
    'byte-level BPE encode',
    1500 * FUZZ_SCALE,
    32_000,
    (r) => {
      const tok = r.next() < 0.7 ? bpe : prefixed;
      const text = randomText(r, 600);
      const options = randomOptions(r, false);
      return {
        what: `text ${JSON.stringify(text.slice(0, 200))}, ${JSON.stringify(options)}`,
        run: () => {
          const e = tok.encode(text, null, options);
          checkEncoding(e, tok.vocab, [text], options.maxLength);
          if (options.maxLength === undefined && !options.addSpecialTokens) {
            let back = tok.decode(e.inputIds, { skipSpecialTokens: false });
            let expected = text.toWellFormed();
            // with addPrefixSpace, each stretch between special tokens gains a leading space (as in Hugging Face)
            if (tok.addPrefixSpace) [back, expected] = [back.replaceAll(' ', ''), expected.replaceAll(' ', '')];
            if (back !== expected) throw new TypeError(`decode(encode(text)) = ${JSON.stringify(back.slice(0, 100))}, not the text`);
          }
        },
      };
    },
    isOptionError,
  );
});

test.run();
