// WordPiece API behaviour, bad input, and the `bertgpu tokenize` CLI (bundled here from
// src/cli/tokenize.ts with esbuild and run as a child process, so it needs no project build).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { ByteLevelBpeTokenizer, WordPieceTokenizer, toUtf16Offsets, trainByteLevelBpe } from '../src/tokenizers/index.js';
import { loadWordPieceVocabFile, saveWordPieceVocabFile } from '../src/tokenizers/node-io.js';

const VOCAB = resolve('data/bert-base-uncased-vocab.txt');
const tok = loadWordPieceVocabFile(VOCAB);
const dir = mkdtempSync(join(tmpdir(), 'bertgpu-tok-cli-'));

test('shipped vocab is the real bert-base-uncased vocab', () => {
  const bytes = readFileSync(VOCAB);
  assert.is(createHash('sha256').update(bytes).digest('hex'), '07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3');
  assert.is(tok.vocabSize, 30522);
  assert.equal(tok.convertTokensToIds(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the']), [0, 100, 101, 102, 103, 1996]);
});

test('encode, pair, type ids, offsets, decode, conversions', () => {
  const e = tok.encode('I love NLP!', 'Hello, World');
  assert.equal(e.tokens, ['[CLS]', 'i', 'love', 'nl', '##p', '!', '[SEP]', 'hello', ',', 'world', '[SEP]']);
  assert.equal(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal(e.attentionMask, Array(11).fill(1));
  assert.equal(e.offsets[3], [7, 9]);
  assert.equal(e.offsets[8], [5, 6]);
  assert.equal(e.specialTokensMask, [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.is(tok.decode(e.inputIds), 'i love nlp! hello, world');
  assert.is(tok.decode(e.inputIds, { skipSpecialTokens: false }), '[CLS] i love nlp! [SEP] hello, world [SEP]');
  assert.equal(tok.convertIdsToTokens([101, 17953, 2361]), ['[CLS]', 'nl', '##p']);
  assert.equal(tok.convertTokensToIds(['nl', '##p', 'notatoken']), [17953, 2361, 100]);
  assert.equal(tok.tokenize('Unaffable'), ['una', '##ffa', '##ble']);
});

test('offsets are code points; toUtf16Offsets maps them to String.slice indices', () => {
  const text = '😀 whale 🐋 ship';
  const e = tok.encode(text);
  const i = e.tokens.indexOf('ship');
  assert.equal(e.offsets[i], [10, 14]);
  const utf16 = toUtf16Offsets(text, e.offsets);
  assert.is(text.slice(...utf16[i]), 'ship');
  assert.is(text.slice(...utf16[e.tokens.indexOf('whale')]), 'whale');
});

test('special tokens in the text stay whole; over-long words are [UNK]', () => {
  assert.equal(tok.tokenize('a [MASK] b[SEP]'), ['a', '[MASK]', 'b', '[SEP]']);
  assert.equal(tok.tokenize('x'.repeat(100) + ' ' + 'x'.repeat(101)).slice(-1), ['[UNK]']);
  assert.is.not(tok.tokenize('x'.repeat(100))[0], '[UNK]');
});

test('truncation strategies and padding', () => {
  const long = 'one two three four five six seven eight nine ten';
  const e = tok.encode(long, 'a b c', { maxLength: 10 });
  assert.equal(e.tokens, ['[CLS]', 'one', 'two', 'three', 'four', '[SEP]', 'a', 'b', 'c', '[SEP]']);
  const s = tok.encode('a b c', long, { maxLength: 10, truncation: 'only_second' });
  assert.equal(s.tokens, ['[CLS]', 'a', 'b', 'c', '[SEP]', 'one', 'two', 'three', 'four', '[SEP]']);
  assert.throws(() => tok.encode('a b c', long, { maxLength: 10, truncation: 'only_first' }), /only_first/);
  assert.throws(() => tok.encode('a', null, { maxLength: 1 }), /smaller than the 2 special tokens/);
  assert.throws(() => tok.encode('a', 'b', { maxLength: 2 }), /smaller than the 3 special tokens/);
  const p = tok.encode('hi', null, { maxLength: 6, padding: 'max_length' });
  assert.equal(p.inputIds, [101, 7632, 102, 0, 0, 0]);
  assert.equal(p.attentionMask, [1, 1, 1, 0, 0, 0]);
  const batch = tok.encodeBatch(['hi', ['hello there', 'general kenobi']], { padding: 'longest' });
  assert.equal(batch[1].tokens, ['[CLS]', 'hello', 'there', '[SEP]', 'general', 'ken', '##ob', '##i', '[SEP]']);
  assert.equal(batch[0].tokens, ['[CLS]', 'hi', '[SEP]', ...Array(6).fill('[PAD]')]);
  assert.equal(batch[0].attentionMask, [1, 1, 1, 0, 0, 0, 0, 0, 0]);
});

test('bad vocabularies: missing, empty, without [CLS]/[SEP]/[UNK]', () => {
  assert.throws(() => loadWordPieceVocabFile(join(dir, 'nope.txt')), /vocab file not found: .*nope\.txt/);
  writeFileSync(join(dir, 'empty.txt'), '');
  assert.throws(() => loadWordPieceVocabFile(join(dir, 'empty.txt')), /vocab file is empty/);
  writeFileSync(join(dir, 'nocls.txt'), '[PAD]\n[UNK]\n[SEP]\nhello\n');
  assert.throws(() => loadWordPieceVocabFile(join(dir, 'nocls.txt')), /no \[CLS\] token/);
  assert.throws(() => WordPieceTokenizer.fromVocabText('a\nb\n'), /no \[UNK\], \[CLS\], \[SEP\] token/);
  assert.throws(() => WordPieceTokenizer.fromVocabText(''), /empty/);
  assert.throws(
    () => WordPieceTokenizer.fromTokenizerJson('{"model":{"type":"BPE"}}'),
    /tokenizer\.json: model\.type must be "WordPiece" .*got "BPE"/,
  );
  const small = WordPieceTokenizer.fromVocabText('[UNK]\n[CLS]\n[SEP]\nhi\n');
  assert.equal(small.encode('hi there').inputIds, [1, 3, 0, 2]);
  assert.throws(() => small.encode('hi', null, { maxLength: 5, padding: 'max_length' }), /needs a \[PAD\] token/);
});

test('vocab.txt save and reload; CRLF vocab files', () => {
  const path = join(dir, 'saved-vocab.txt');
  saveWordPieceVocabFile(tok, path);
  assert.is(readFileSync(path, 'utf8'), readFileSync(VOCAB, 'utf8'));
  const crlf = WordPieceTokenizer.fromVocabText('[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhi\r\n');
  assert.equal(crlf.encode('hi').inputIds, [2, 4, 3]);
});

/** fn must throw a plain Error (not a TypeError / RangeError) whose message contains every part. */
function throwsClean(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (err) {
    assert.is(
      (err as Error).constructor,
      Error,
      `a plain Error expected, got ${(err as Error).constructor.name}: ${(err as Error).message}`,
    );
    for (const p of parts) assert.ok((err as Error).message.includes(p), `"${(err as Error).message}" should contain ${p}`);
    return;
  }
  assert.unreachable(`expected an error containing ${parts.join(' / ')}`);
}

test('bad tokenizer.json fields: clean errors naming the file and the field', () => {
  const good = WordPieceTokenizer.fromVocabText('[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n##s\n').toTokenizerJson() as Record<string, any>;
  const spec = (change: (j: Record<string, any>) => void) => {
    const j = JSON.parse(JSON.stringify(good));
    change(j);
    return JSON.stringify(j);
  };
  const S = 'my/tokenizer.json';
  const load = (change: (j: Record<string, any>) => void) => () => WordPieceTokenizer.fromTokenizerJson(spec(change), S);
  assert.equal(
    WordPieceTokenizer.fromTokenizerJson(
      spec(() => {}),
      S,
    ).tokenize('his'),
    ['hi', '##s'],
  );
  throwsClean(
    load((j) => (j.model.vocab = null)),
    S,
    'model.vocab must be an object of token -> id, got null',
  );
  throwsClean(
    load((j) => (j.model.vocab = 'x')),
    S,
    'model.vocab must be an object of token -> id, got "x"',
  );
  throwsClean(
    load((j) => (j.model.vocab.hi = 'x')),
    S,
    'model.vocab["hi"] must be a non-negative integer id, got "x"',
  );
  throwsClean(
    load((j) => (j.model.vocab.hi = 99)),
    S,
    'model.vocab["hi"] must be an id below 6',
    'got 99',
  );
  throwsClean(
    load((j) => (j.model.vocab.hi = 0)),
    S,
    'model.vocab["hi"] must be an id no other token has ("[PAD]" has 0 too)',
  );
  throwsClean(
    load((j) => delete j.model),
    S,
    'model must be an object, got undefined',
  );
  throwsClean(
    load((j) => (j.post_processor = { type: 'BertProcessing', cls: ['[CLS]', 2] })),
    S,
    'post_processor.sep must be [token, id], got undefined',
  );
  throwsClean(
    load((j) => (j.post_processor = { type: 'BertProcessing', cls: ['[CLS]', 7], sep: ['[SEP]', 3] })),
    S,
    'post_processor.cls gives [CLS] id 7, but model.vocab gives it 2',
  );
  throwsClean(
    load((j) => (j.post_processor.single = 1)),
    S,
    'post_processor.single must be [{SpecialToken}, {Sequence: {id: "A"}}, {SpecialToken}]',
    'got 1',
  );
  throwsClean(
    load((j) => (j.post_processor.single[0] = { SpecialToken: { id: 5 } })),
    S,
    'post_processor.single[0].SpecialToken.id must be a string, got 5',
  );
  throwsClean(
    load((j) => (j.post_processor = { type: 'RobertaProcessing' })),
    S,
    'post_processor.type must be "BertProcessing" or "TemplateProcessing", got "RobertaProcessing"',
  );
  throwsClean(
    load((j) => (j.added_tokens = 'x')),
    S,
    'added_tokens must be an array, got "x"',
  );
  throwsClean(
    load((j) => (j.added_tokens = [{ content: 3 }])),
    S,
    'added_tokens[0].content must be a non-empty string, got 3',
  );
  throwsClean(
    load((j) => (j.added_tokens = [null])),
    S,
    'added_tokens[0] must be an object, got null',
  );
  throwsClean(
    load((j) => (j.normalizer.lowercase = 'yes')),
    S,
    'normalizer.lowercase must be true or false, got "yes"',
  );
  throwsClean(
    load((j) => (j.normalizer = { type: 'NFC' })),
    S,
    'normalizer.type must be "BertNormalizer"',
  );
  throwsClean(
    load((j) => (j.pre_tokenizer = 'x')),
    S,
    'pre_tokenizer must be an object, got "x"',
  );
  throwsClean(
    load((j) => (j.padding = { pad_token: 0 })),
    S,
    'padding.pad_token must be a string, got 0',
  );
  throwsClean(
    load((j) => (j.model.unk_token = '[NOPE]')),
    S,
    'vocabulary has no [NOPE] token',
  );
  throwsClean(() => WordPieceTokenizer.fromTokenizerJson('{"model":', S), `${S} is not valid JSON`);
  throwsClean(() => WordPieceTokenizer.fromTokenizerJson('[1]', S), `${S}: the top level must be an object, got [1]`);
  // a value nested 100,000 deep is described briefly, not stringified (which overflowed the stack)
  throwsClean(
    () => WordPieceTokenizer.fromTokenizerJson(`{"model":{"type":"WordPiece","vocab":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`, S),
    'model.vocab must be an object of token -> id, got [[...]]',
  );
});

test('max_input_chars_per_word must be a positive integer (-1 made every word [UNK])', () => {
  const j = WordPieceTokenizer.fromVocabText('[UNK]\n[CLS]\n[SEP]\nhi\n').toTokenizerJson() as Record<string, any>;
  for (const bad of [-1, 0, 2.5, '100', 1e300]) {
    j.model.max_input_chars_per_word = bad;
    throwsClean(
      () => WordPieceTokenizer.fromTokenizerJson(JSON.stringify(j)),
      'tokenizer.json: model.max_input_chars_per_word must be an integer >= 1',
      `got ${JSON.stringify(bad)}`,
    );
    throwsClean(
      () => WordPieceTokenizer.fromVocabText('[UNK]\n[CLS]\n[SEP]\n', { maxInputCharsPerWord: bad as number }),
      'maxInputCharsPerWord must be a positive integer',
    );
  }
  j.model.max_input_chars_per_word = 2;
  assert.equal(WordPieceTokenizer.fromTokenizerJson(JSON.stringify(j)).tokenize('hi hii'), ['hi', '[UNK]']);
});

test('vocab.txt errors name the file; byte-level BPE files are checked like Hugging Face', () => {
  throwsClean(
    () => WordPieceTokenizer.fromVocabText('a\nb\n', {}, 'dir/vocab.txt'),
    'dir/vocab.txt: vocabulary has no [UNK], [CLS], [SEP] token',
  );
  writeFileSync(join(dir, 'nounk.txt'), '[CLS]\n[SEP]\n');
  throwsClean(() => loadWordPieceVocabFile(join(dir, 'nounk.txt')), `${join(dir, 'nounk.txt')}: vocabulary has no [UNK] token`);
  const vocab = { '<s>': 0, '</s>': 1, a: 2, b: 3, ab: 4 };
  assert.equal(ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(vocab), 'a b\n').tokenize('ab'), ['ab']);
  throwsClean(
    () => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify({ ...vocab, ab: 3 }), ''),
    'tokens "b" and "ab" both have id 3',
  );
  throwsClean(
    () => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify({ ...vocab, ab: [[[1]]] }), ''),
    'bad id [[...]] for token "ab"',
  );
  throwsClean(
    () => ByteLevelBpeTokenizer.fromVocabAndMerges(JSON.stringify(vocab), 'a c\n'),
    'merge 1 ("a" "c") needs "c", which is not in the vocabulary',
  );
  throwsClean(() => ByteLevelBpeTokenizer.fromVocabAndMerges('[1]', ''), 'vocab.json must be an object {token: id}, got [1]');
});

test('lone surrogates read as U+FFFD (dropped), like the Rust tokenizer', () => {
  const e = tok.encode('a\ud800b \udfff c\ud83d');
  assert.equal(e.tokens, ['[CLS]', 'ab', 'c', '[SEP]']);
  assert.equal(e.offsets, [
    [0, 0],
    [0, 3],
    [6, 7],
    [0, 0],
  ]);
});

test('a 1 MB string finishes in linear time', () => {
  const words = 'Call me Ishmael. Some years ago—never mind how long precisely—having little money, ';
  const big = words.repeat(Math.ceil(1_000_000 / words.length));
  const half = big.slice(0, big.length / 2);
  tok.encode(half.slice(0, 10_000)); // warm up
  // The best of three runs each, and only their ratio: a quadratic encoder takes ~4x for twice the text,
  // a linear one ~2x, whatever the machine's speed or load (absolute times are for bench/tokenize.mjs).
  const best = (s: string) => {
    let ms = Infinity;
    let out = tok.encode(s);
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      out = tok.encode(s);
      ms = Math.min(ms, performance.now() - t);
    }
    return { out, ms };
  };
  const h = best(half);
  const f = best(big);
  assert.ok(f.out.inputIds.length > 200_000);
  assert.ok(Math.abs(f.out.inputIds.length - 2 * h.out.inputIds.length) < 30);
  assert.ok(f.ms < 3.2 * h.ms + 50, `not linear: half ${h.ms} ms, full ${f.ms} ms`);
  // One 1 MB word (no spaces) is a single [UNK].
  const word = tok.encode('x'.repeat(1_000_000));
  assert.equal(word.tokens, ['[CLS]', '[UNK]', '[SEP]']);
  assert.equal(word.offsets[1], [0, 1_000_000]);
});

// ---- CLI --------------------------------------------------------------------------------

const cliDir = join(dir, 'cli');
mkdirSync(cliDir);
const cliJs = join(cliDir, 'tokenize-cli.mjs');
await esbuild.build({
  stdin: {
    contents: `import { main } from ${JSON.stringify(resolve('src/cli/tokenize.ts'))};\nmain(process.argv.slice(2)).then((c) => { process.exitCode = c; });`,
    resolveDir: process.cwd(),
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: cliJs,
  // CommonJS dependencies bundled into ESM (commander) require Node built-ins
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'error',
});

function cli(args: string[], input: string) {
  const r = spawnSync(process.execPath, [cliJs, ...args], { input, encoding: 'utf8', timeout: 20_000, maxBuffer: 64 << 20 });
  assert.is(r.signal, null, `CLI hung or was killed: ${r.stderr}`);
  return {
    code: r.status,
    out: r.stdout,
    err: r.stderr,
    lines: r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
}

test('CLI: strings and pairs, one JSON object per line', () => {
  const r = cli(['--vocab', VOCAB], ['"I love NLP!"', '{"text": "Hello", "pair": "World"}', '', '{"text": "just text"}'].join('\n') + '\n');
  assert.is(r.code, 0, r.err);
  assert.is(r.err, '');
  assert.is(r.lines.length, 3);
  assert.equal(r.lines[0], {
    input_ids: [101, 1045, 2293, 17953, 2361, 999, 102],
    token_type_ids: [0, 0, 0, 0, 0, 0, 0],
    attention_mask: [1, 1, 1, 1, 1, 1, 1],
    tokens: ['[CLS]', 'i', 'love', 'nl', '##p', '!', '[SEP]'],
  });
  assert.equal(r.lines[1].tokens, ['[CLS]', 'hello', '[SEP]', 'world', '[SEP]']);
  assert.equal(r.lines[1].token_type_ids, [0, 0, 0, 1, 1]);
  assert.equal(r.lines[2].tokens, ['[CLS]', 'just', 'text', '[SEP]']);
});

test('CLI: --cased and --max-length (pairs truncated longest_first)', () => {
  const cased = cli(['--vocab', VOCAB, '--cased'], '"Hello"\n');
  assert.equal(cased.lines[0].tokens, ['[CLS]', '[UNK]', '[SEP]']); // uncased vocab has no "Hello"
  const r = cli(['--vocab', VOCAB, '--max-length', '7'], '{"text": "one two three four five", "pair": "six seven"}\n"a b c d e f g h"\n');
  assert.is(r.code, 0, r.err);
  assert.equal(r.lines[0].tokens, ['[CLS]', 'one', 'two', '[SEP]', 'six', 'seven', '[SEP]']);
  assert.equal(r.lines[1].tokens, ['[CLS]', 'a', 'b', 'c', 'd', 'e', '[SEP]']);
});

test('CLI: byte-level BPE with --bpe-vocab/--merges', () => {
  const bpe = trainByteLevelBpe(['hello world, hello there', 'the world is wide'], { vocabSize: 280 });
  writeFileSync(join(dir, 'vocab.json'), bpe.toVocabJson());
  writeFileSync(join(dir, 'merges.txt'), bpe.toMergesText());
  const r = cli(['--bpe-vocab', join(dir, 'vocab.json'), '--merges', join(dir, 'merges.txt')], '{"text": "hello world", "pair": "hi"}\n');
  assert.is(r.code, 0, r.err);
  assert.equal(r.lines[0].input_ids, bpe.encode('hello world', 'hi').inputIds);
  assert.equal(r.lines[0].tokens.filter((t: string) => t === '</s>').length, 3);
});

test('CLI errors: clear one-line message, non-zero exit, no partial output', () => {
  const noVocab = cli([], '"x"\n');
  assert.is(noVocab.code, 2);
  assert.match(noVocab.err, /^bertgpu tokenize: missing --vocab FILE/);
  assert.is(noVocab.out, '');

  const missing = cli(['--vocab', join(dir, 'nope.txt')], '"x"\n');
  assert.is(missing.code, 1);
  assert.is(missing.err.trim(), `bertgpu tokenize: vocab file not found: ${join(dir, 'nope.txt')}`);

  const empty = cli(['--vocab', join(dir, 'empty.txt')], '"x"\n');
  assert.is(empty.code, 1);
  assert.match(empty.err, /vocab file is empty/);

  const noCls = cli(['--vocab', join(dir, 'nocls.txt')], '"x"\n');
  assert.is(noCls.code, 1);
  assert.match(noCls.err, /no \[CLS\] token/);

  const tooShort = cli(['--vocab', VOCAB, '--max-length', '1'], '"x"\n');
  assert.is(tooShort.code, 2);
  assert.match(tooShort.err, /--max-length 1 is smaller than the 2 special tokens/);
  assert.is(tooShort.out, '');

  const badNumber = cli(['--vocab', VOCAB, '--max-length', 'ten'], '"x"\n');
  assert.is(badNumber.code, 2);
  assert.match(badNumber.err, /--max-length must be a whole number/);

  // Lines before the bad one come out whole; nothing after it, nothing partial.
  const pairTooShort = cli(['--vocab', VOCAB, '--max-length', '2'], '"fine"\n{"text": "a", "pair": "b"}\n"never"\n');
  assert.is(pairTooShort.code, 1);
  assert.is(pairTooShort.lines.length, 1);
  assert.ok(pairTooShort.out.endsWith('\n'));
  assert.match(pairTooShort.err, /^bertgpu tokenize: line 2: max length 2 is smaller than the 3 special tokens a pair needs/);

  const badJson = cli(['--vocab', VOCAB], '"ok"\n{"text": \n');
  assert.is(badJson.code, 1);
  assert.is(badJson.lines.length, 1);
  assert.match(badJson.err, /line 2: not valid JSON/);

  const badShape = cli(['--vocab', VOCAB], '[1, 2]\n');
  assert.match(badShape.err, /line 1: expected a JSON string or an object/);
  const badPair = cli(['--vocab', VOCAB], '{"text": "a", "pair": 3}\n');
  assert.match(badPair.err, /line 1: expected "pair" to be a string/);

  const unknown = cli(['--vocab', VOCAB, '--frobnicate'], '');
  assert.is(unknown.code, 2);
  assert.match(unknown.err, /unknown option '--frobnicate'/);
  assert.match(cli(['--bpe-vocab', 'x.json'], '').err, /needs both --bpe-vocab and --merges/);
  assert.match(cli(['--vocab', VOCAB, '--merges', 'm.txt'], '').err, /either --vocab or --bpe-vocab/);
});

test('CLI: lone surrogates and a 1 MB line', () => {
  const r = cli(['--vocab', VOCAB], JSON.stringify('a\ud800b') + '\n' + JSON.stringify('whale '.repeat(170_000)) + '\n');
  assert.is(r.code, 0, r.err);
  assert.equal(r.lines[0].tokens, ['[CLS]', 'ab', '[SEP]']);
  assert.is(r.lines[1].input_ids.length, 170_002);
});

test.run();
