// Fuzzes the tokenizer file loaders from valid files: tokenizer.json (built by the library, with
// both post-processors), vocab.txt (a slice of bert-base-uncased's) and byte-level BPE's
// vocab.json + merges.txt. Every mutated file must load (and then encode random text without
// an error) or be refused with a plain Error naming the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordPieceTokenizer, trainByteLevelBpe, type ByteLevelBpeTokenizer } from '../src/tokenizers/index.js';
import { loadByteLevelBpeFiles } from '../src/tokenizers/node-io.js';
import { FUZZ_SCALE, int, jsonText, mutateJson, mutateText, pick, randomText, runFuzz, type Rng } from './fuzz-mutate.js';

const BERT_VOCAB = readFileSync('data/bert-base-uncased-vocab.txt', 'utf8').split('\n');
const SMALL_VOCAB = [...BERT_VOCAB.slice(0, 1000), ...BERT_VOCAB.slice(1996, 3000)];

/** Encodes random text with a tokenizer that loaded: any error here is the loader's fault. */
function encodeAfterLoad(r: Rng, tok: WordPieceTokenizer | ByteLevelBpeTokenizer): void {
  try {
    const e = tok.encode(randomText(r, 200), r.next() < 0.3 ? randomText(r, 50) : null);
    tok.decode(e.inputIds);
  } catch (err) {
    throw new TypeError(`the file loaded, but encoding then failed: ${(err as Error).constructor.name}: ${(err as Error).message}`);
  }
}

const withText = (r: Rng, text: string, what: string): { text: string; what: string } => {
  if (r.next() >= 0.15) return { text, what };
  const damaged = mutateText(r, text);
  return { text: damaged.text, what: `${what}; ${damaged.what}` };
};

test('fuzz: tokenizer.json loads or is refused with a clean error naming the file and field', () => {
  const SOURCE = 'fuzz/tokenizer.json';
  const base = WordPieceTokenizer.fromVocabText(SMALL_VOCAB.join('\n')).toTokenizerJson() as Record<string, any>;
  const bertProcessing = {
    ...structuredClone(base),
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] },
    padding: { pad_token: '[PAD]' },
  };
  const noNormalizer = { ...structuredClone(base), normalizer: null, pre_tokenizer: null };
  const docs = [base, bertProcessing, noNormalizer];
  const words = [
    'WordPiece',
    'BPE',
    'BertNormalizer',
    'BertPreTokenizer',
    'BertProcessing',
    'TemplateProcessing',
    'SpecialToken',
    'Sequence',
    'A',
    'B',
    '[CLS]',
    '[SEP]',
    '[UNK]',
    '[PAD]',
    '##',
    'vocab',
    'type',
    'id',
    'content',
  ];
  runFuzz(
    'tokenizer.json',
    1000 * FUZZ_SCALE,
    21_000,
    (r) => {
      const { doc, what } = mutateJson(r, pick(r, docs), words);
      const input = withText(r, jsonText(doc), what.join('; '));
      return {
        what: input.what,
        run: () => encodeAfterLoad(r, WordPieceTokenizer.fromTokenizerJson(input.text, SOURCE)),
      };
    },
    (err) => err.message.startsWith(SOURCE),
  );
});

/** Line-level damage to a vocab.txt: lines deleted, duplicated, swapped, replaced; specials removed; CRLF; BOM. */
function mutateVocabLines(r: Rng, lines: string[]): { text: string; what: string } {
  const out = lines.slice();
  const what: string[] = [];
  for (let m = int(r, 1, 3); m > 0; m--) {
    const i = int(r, 0, out.length - 1);
    const roll = r.next();
    if (roll < 0.2) {
      out.splice(i, int(r, 1, 50));
      what.push(`lines from ${i} deleted`);
    } else if (roll < 0.35) {
      out.splice(i, 0, out[int(r, 0, out.length - 1)] ?? '');
      what.push(`a line repeated at ${i}`);
    } else if (roll < 0.5) {
      out[i] = randomText(r, 30);
      what.push(`line ${i} replaced`);
    } else if (roll < 0.6) {
      out.splice(0, out.length, ...out.filter((l) => l !== pick(r, ['[UNK]', '[CLS]', '[SEP]', '[PAD]'])));
      what.push('a special token removed');
    } else if (roll < 0.7) {
      out.splice(i, 0, '');
      what.push(`empty line at ${i}`);
    } else if (roll < 0.8) {
      out.splice(i, 0, 'x'.repeat(int(r, 100, 50_000)));
      what.push(`a long token at ${i}`);
    } else if (roll < 0.9) {
      out.splice(int(r, 0, out.length), out.length);
      what.push('truncated');
    } else {
      out[i] = '##' + (out[i] ?? '');
      what.push(`## added to line ${i}`);
    }
  }
  let text = out.join(r.next() < 0.1 ? '\r\n' : '\n');
  if (r.next() < 0.05) text = '\ufeff' + text;
  return { text, what: what.join('; ') };
}

test('fuzz: vocab.txt loads or is refused with a clean error naming the file', () => {
  const SOURCE = 'fuzz/vocab.txt';
  runFuzz(
    'vocab.txt',
    3000 * FUZZ_SCALE,
    22_000,
    (r) => {
      const lines = mutateVocabLines(r, SMALL_VOCAB);
      const input = withText(r, lines.text, lines.what);
      return { what: input.what, run: () => encodeAfterLoad(r, WordPieceTokenizer.fromVocabText(input.text, {}, SOURCE)) };
    },
    (err) => err.message.startsWith(SOURCE),
  );
});

test('fuzz: byte-level BPE vocab.json + merges.txt load or are refused with a clean error naming the files', () => {
  const lines: string[] = [];
  for (let i = 2000; i < 3500; i += 12) lines.push(BERT_VOCAB.slice(i, i + 12).join(' '));
  const bpe = trainByteLevelBpe(lines, { vocabSize: 400 });
  const vocab = JSON.parse(bpe.toVocabJson());
  const merges = bpe.toMergesText().split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'bertgpu-fuzz-bpe-'));
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  runFuzz(
    'vocab.json + merges.txt',
    700 * FUZZ_SCALE,
    23_000,
    (r) => {
      let vocabText = bpe.toVocabJson();
      let mergesText = bpe.toMergesText();
      let what: string;
      if (r.next() < 0.5) {
        const m = mutateJson(r, vocab, ['<s>', '</s>', '<pad>', 'Ġ', 'Ġt', 'he']);
        vocabText = jsonText(m.doc);
        what = `vocab.json: ${m.what.join('; ')}`;
      } else {
        const i = int(r, 0, merges.length - 1);
        const edited = merges.slice();
        const roll = r.next();
        if (roll < 0.3) edited.splice(i, 1, randomText(r, 12));
        else if (roll < 0.5) edited.splice(i, 0, `${pick(r, ['Ġ', 'a', 'zz', '<s>'])} ${pick(r, ['t', 'Ġ', 'qq', ''])}`);
        else if (roll < 0.7) edited.splice(i, 1, edited[i].replace(' ', pick(r, ['  ', '', ' x '])));
        else edited.splice(i);
        mergesText = edited.join('\n');
        what = `merges.txt line ${i + 1} edited (${roll.toFixed(2)})`;
      }
      const input = withText(r, mergesText, what);
      return {
        what: input.what,
        run: () => {
          writeFileSync(vocabPath, vocabText);
          writeFileSync(mergesPath, input.text);
          encodeAfterLoad(r, loadByteLevelBpeFiles(vocabPath, mergesPath));
        },
      };
    },
    (err) => err.message.includes(vocabPath) || err.message.includes(mergesPath),
  );
  assert.ok(bpe.merges.length > 50);
});

test.run();
