// Fine-tuning data readers: every shape, and a line-numbered error for each kind of bad line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  parseJsonLines,
  parseDelimited,
  parseSlashTagged,
  readRecords,
  textExamples,
  choiceExamples,
  tagExamples,
  qaExamples,
  labelSet,
  labelSetFromConfig,
  labelId,
  splitWords,
} from '../src/finetune/data.js';
import { readTaskFile } from '../src/finetune/node-data.js';
import { TASKS } from '../src/finetune/tasks.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const values = (rs: { value: unknown }[]) => rs.map((r) => r.value);

test('JSON lines: objects with their line numbers; blank lines skipped; plain text lines for prediction', () => {
  const rs = parseJsonLines('{"text":"a","label":1}\n\n{"text":"b","label":0}\r\n', 'f.jsonl');
  assert.equal(
    rs.map((r) => r.line),
    [1, 3],
  );
  assert.equal(values(rs), [
    { text: 'a', label: 1 },
    { text: 'b', label: 0 },
  ]);
  assert.equal(values(parseJsonLines('just words\n{"text":"x"}', 'in', { plainText: true })), [{ text: 'just words' }, { text: 'x' }]);
  assert.throws(
    () => parseJsonLines('{"text":"a"}\n{"text": oops}\n', 'f.jsonl'),
    /f\.jsonl:2: not valid JSON .*expected one JSON object per line/,
  );
  assert.throws(() => parseJsonLines('[1, 2]', 'f.jsonl'), /f\.jsonl:1: expected a JSON object, got an array/);
});

test('CSV: header, RFC 4180 quotes (delimiters, doubled quotes, fields over several lines), BOM, CRLF', () => {
  const csv = '\ufefflabel,text\r\n1,"a, ""quoted"" word"\r\n0,"two\nlines"\n1,plain\n';
  const rs = parseDelimited(csv, 'f.csv');
  assert.equal(values(rs), [
    { label: '1', text: 'a, "quoted" word' },
    { label: '0', text: 'two\nlines' },
    { label: '1', text: 'plain' },
  ]);
  // the record after a two-line field starts on line 5
  assert.equal(
    rs.map((r) => r.line),
    [2, 3, 5],
  );
  // no header (Pang & Lee's files): columns named by the caller
  const pl = parseDelimited('"1","the rock is "" conan "" . \n"\n"0","bad"', 'pl.csv', { columns: ['label', 'text'] });
  assert.equal(values(pl), [
    { label: '1', text: 'the rock is " conan " . \n' },
    { label: '0', text: 'bad' },
  ]);
  assert.equal(
    pl.map((r) => r.line),
    [1, 3],
  );
  assert.equal(values(parseDelimited('a,b\n"",x\n', 'e.csv')), [{ a: '', b: 'x' }]);
});

test('CSV / TSV errors name the file and line', () => {
  assert.throws(() => parseDelimited('a,b\n1,2\n3\n', 'f.csv'), /f\.csv:3: expected 2 fields \(a, b\), got 1/);
  assert.throws(() => parseDelimited('a,b\n1,"never\nclosed\n', 'f.csv'), /f\.csv:2: quoted field is never closed/);
  assert.throws(() => parseDelimited('a,b\n1,"x"y\n', 'f.csv'), /f\.csv:2: unexpected "y" after a closing quote/);
  assert.throws(() => parseDelimited('a,a\n1,2\n', 'f.csv'), /f\.csv:1: column "a" is named twice/);
  assert.throws(() => parseDelimited('', 'f.csv'), /f\.csv:1: expected a header row/);
});

test('TSV: GLUE-style, quotes are literal by default (GLUE reads with quotechar=None); fields renamed to the task shape', () => {
  const tsv = 'index\tsentence1\tsentence2\tlabel\n0\tHe said "hi\tShe left\tentailment\n';
  const rs = readRecords(tsv, 'dev.tsv', { fields: { text: 'sentence1', pair: 'sentence2' } });
  const [ex] = textExamples(rs, { pair: true });
  assert.equal([ex.text, ex.pair, ex.label, ex.line], ['He said "hi', 'She left', 'entailment', 2]);
  assert.throws(
    () => readRecords(tsv, 'dev.tsv', { fields: { text: 'premise' } }),
    /dev\.tsv:2: expected a field "premise" \(for text\); the record has index, sentence1, sentence2, label/,
  );
  // quoting can be asked for
  assert.equal(values(parseDelimited('a\tb\n"x\ty"\tz\n', 'q.tsv', { delimiter: '\t', quote: '"' })), [{ a: 'x\ty', b: 'z' }]);
});

test('word/TAG sentences (WSJ / OANC style): the last slash splits', () => {
  const [r] = parseSlashTagged('Pierre/NNP 1\\/2/CD ,/, and/or/CC ./.\n', 'wsj.txt');
  assert.equal(r.value, { tokens: ['Pierre', '1\\/2', ',', 'and/or', '.'], tags: ['NNP', 'CD', ',', 'CC', '.'] });
  assert.throws(() => parseSlashTagged('ok/NN\nbad/ word/NN\n', 'wsj.txt'), /wsj\.txt:2: expected word\/TAG, got "bad\/"/);
  assert.equal(readRecords('a/DT\n', 'x.txt', { format: 'word/tag' })[0].value, { tokens: ['a'], tags: ['DT'] });
});

test('text examples: labels, pairs, regression; bad fields by line', () => {
  const rs = parseJsonLines('{"text":"a","label":"pos"}\n{"text":"b"}', 'f.jsonl');
  assert.throws(() => textExamples(rs), /f\.jsonl:2: expected a "label"/);
  assert.equal(
    textExamples(rs, { labelled: false }).map((e) => e.label),
    ['pos', undefined],
  );
  assert.throws(() => textExamples(parseJsonLines('{"text":3,"label":1}', 'f')), /f:1: expected "text" to be a string, got 3/);
  assert.throws(
    () => textExamples(parseJsonLines('{"text":"a","label":1.5}', 'f')),
    /f:1: expected "label" to be a string or an integer class, got 1\.5/,
  );
  assert.throws(
    () => textExamples(parseJsonLines('{"text":"a","label":1}', 'f'), { pair: true }),
    /f:1: expected "pair" to be a string, got nothing/,
  );
  const reg = textExamples(parseDelimited('text,label\na,0.75\nb,-2\n', 'r.csv'), { regression: true });
  assert.equal(
    reg.map((e) => e.label),
    [0.75, -2],
  );
  assert.throws(
    () => textExamples(parseDelimited('text,label\na,high\n', 'r.csv'), { regression: true }),
    /r\.csv:2: expected "label" to be a number \(regression\), got "high"/,
  );
});

test('label sets: sorted, deterministic ids for config.json; numbers sort numerically; no mixing', () => {
  const ex = (label: string | number, line: number) => ({ source: 'f', line, label });
  const s = labelSet([ex('pos', 1), ex('neg', 2), ex('pos', 3), ex('neutral', 4)]);
  assert.equal(s.labels, ['neg', 'neutral', 'pos']);
  assert.equal(s.id2label, { 0: 'neg', 1: 'neutral', 2: 'pos' });
  assert.equal(s.label2id, { neg: 0, neutral: 1, pos: 2 });
  assert.equal(labelSet([ex(10, 1), ex(2, 2), ex(0, 3)]).labels, [0, 2, 10]);
  assert.throws(() => labelSet([ex(1, 1), ex('1', 2)]), /f:2: labels mix strings and numbers/);
  assert.is(labelId(s, ex('pos', 9)), 2);
  assert.throws(() => labelId(s, ex('great', 9)), /f:9: label "great" is not one of the model's labels \("neg", "neutral", "pos"\)/);
  assert.equal(labelSetFromConfig({ id2label: { 1: 'b', 0: 'a' } }).labels, ['a', 'b']);
  assert.throws(() => labelSetFromConfig({ id2label: { 0: 'a', 5: 'b' } }), /id "5" is not in 0\.\.1/);
});

test('choices: same count on every line, label = index of the right one', () => {
  const rs = parseJsonLines('{"text":"q","choices":["a","b","c"],"label":2}\n{"text":"r","choices":["a","b"],"label":0}', 'swag.jsonl');
  assert.throws(() => choiceExamples(rs), /swag\.jsonl:2: expected 3 choices \(as the first line\), got 2/);
  assert.equal(choiceExamples(rs.slice(0, 1))[0].label, 2);
  assert.throws(
    () => choiceExamples(parseJsonLines('{"text":"q","choices":["a","b"],"label":2}', 's')),
    /s:1: expected "label" to be the index of a choice \(0 to 1\), got 2/,
  );
});

test('tags from tokens: one tag per token; from text + entities: words tagged IOB2', () => {
  const [t] = tagExamples(parseJsonLines('{"tokens":["John","lives"],"tags":["B-PER","O"]}', 't'));
  assert.equal(
    [t.words, t.tags],
    [
      ['John', 'lives'],
      ['B-PER', 'O'],
    ],
  );
  assert.throws(
    () => tagExamples(parseJsonLines('{"tokens":["a","b"],"tags":["O"]}', 't')),
    /t:1: expected one tag per token \(2\), got 1 tags/,
  );
  assert.throws(
    () => tagExamples(parseJsonLines('{"tokens":["a b"],"tags":["O"]}', 't')),
    /t:1: expected "tokens"\[0\] to be a word without spaces/,
  );
  const text = 'New York, said Ann.';
  const [e] = tagExamples(
    parseJsonLines(
      JSON.stringify({
        text,
        entities: [
          { start: 0, end: 8, label: 'LOC' },
          { start: 15, end: 18, label: 'PER' },
        ],
      }),
      'e',
    ),
  );
  assert.equal(e.words, ['New', 'York', ',', 'said', 'Ann', '.']);
  assert.equal(e.tags, ['B-LOC', 'I-LOC', 'O', 'O', 'B-PER', 'O']);
  assert.equal(e.wordOffsets![4], [15, 18]);
  const bad = (entities: unknown) => () => tagExamples(parseJsonLines(JSON.stringify({ text, entities }), 'e'));
  assert.throws(bad([{ start: 1, end: 8, label: 'LOC' }]), /e:1: entity 0: "ew York" \[1, 8\) does not start and end on word boundaries/);
  assert.throws(
    bad([
      { start: 0, end: 8, label: 'LOC' },
      { start: 4, end: 8, label: 'X' },
    ]),
    /entity 1: overlaps another entity at word "York"/,
  );
  assert.throws(bad([{ start: 0, end: 99, label: 'LOC' }]), /entity 0: end 99 is past the text/);
  // code-point offsets (Python's) over a character beyond the BMP: 😀 is 2 UTF-16 units, 1 code point
  const [u] = tagExamples(parseJsonLines(JSON.stringify({ text: '😀 Ann', entities: [{ start: 2, end: 5, label: 'PER' }] }), 'u'));
  assert.equal(u.tags, ['O', 'B-PER']);
  assert.equal(splitWords('a😀b').words, ['a', '😀', 'b']);
});

test('QA: answers found at answer_start (UTF-16 or code points); unanswerable; errors', () => {
  const line = (o: unknown) => JSON.stringify(o);
  const ctx = 'The cat 😀 sat on the mat.';
  const rs = parseJsonLines(
    [
      line({ id: 'q1', question: 'Where?', context: ctx, answers: { text: ['the mat'], answer_start: [18] } }),
      // the same answer at its code-point index (as Python / SQuAD count): 1 less after the emoji
      line({ id: 'q2', question: 'Where?', context: ctx, answers: { text: ['the mat'], answer_start: [17] } }),
      line({ question: 'Who?', context: ctx, answers: { text: [], answer_start: [] } }),
    ].join('\n'),
    'qa.jsonl',
  );
  const ex = qaExamples(rs);
  assert.equal(
    ex.map((e) => e.answers.answer_start),
    [[18], [18], []],
  );
  assert.is(ctx.slice(18, 25), 'the mat');
  assert.is(ex[2].id, 'qa.jsonl:3');
  const one = (o: unknown) => () => qaExamples(parseJsonLines(line(o), 'qa.jsonl'));
  assert.throws(
    one({ id: 'x', question: 'q', context: ctx, answers: { text: ['dog'], answer_start: [4] } }),
    /qa\.jsonl:1: answer 0 "dog" is not in the context at answer_start 4 \(found "cat"\)/,
  );
  assert.throws(one({ id: 'x', question: 'q', context: ctx, answers: { text: ['a'], answer_start: [] } }), /lists of the same length/);
  assert.throws(one({ id: 'x', question: 'q', context: ctx }), /qa\.jsonl:1: expected "answers"/);
  assert.throws(
    () =>
      qaExamples(
        parseJsonLines(
          `${line({ id: 'x', question: 'q', context: 'c', answers: { text: [], answer_start: [] } })}\n${line({ id: 'x', question: 'q', context: 'c', answers: { text: [], answer_start: [] } })}`,
          'd',
        ),
      ),
    /d:2: id "x" was already used on line 1/,
  );
});

test('data files (Node): read by extension; missing / empty files and bad lines name the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bertgpu-ft-'));
  const csv = join(dir, 'train.csv');
  writeFileSync(csv, 'text,label\ngood,pos\n"bad\nmovie",neg\n');
  assert.equal(
    readTaskFile(TASKS.cls, csv).map((e) => [e.text, e.label, e.line]),
    [
      ['good', 'pos', 2],
      ['bad\nmovie', 'neg', 3],
    ],
  );
  assert.throws(() => readTaskFile(TASKS.cls, join(dir, 'nope.jsonl')), /data file not found: .*nope\.jsonl/);
  writeFileSync(join(dir, 'empty.jsonl'), '');
  assert.throws(() => readTaskFile(TASKS.cls, join(dir, 'empty.jsonl')), /data file is empty/);
  writeFileSync(join(dir, 'bad.jsonl'), '{"text":"a","label":"x"}\n{"text":"b"}\n');
  assert.throws(() => readTaskFile(TASKS.cls, join(dir, 'bad.jsonl')), /bad\.jsonl:2: expected a "label"/);
  assert.throws(() => TASKS.cls.read('text,label\n', 'header-only.csv'), /header-only\.csv:1: no examples in the file/);
  assert.equal(TASKS.cls.read('\n', 'in.jsonl', { labelled: false }), []);
  // prediction input: labels not needed, plain text lines allowed
  assert.equal(readTaskFile(TASKS.cls, join(dir, 'bad.jsonl'), { labelled: false }).length, 2);
  // asking an unlabelled example for targets fails at its line, not as a silent unlabelled batch
  const unlabelled = TASKS.choice.read('{"text":"q","choices":["a","b"]}', 'p.jsonl', { labelled: false });
  assert.throws(
    () =>
      TASKS.choice.encode(unlabelled, {
        tokenizer: {
          encode: () => ({ inputIds: [], tokenTypeIds: [], attentionMask: [], tokens: [], offsets: [], specialTokensMask: [] }),
          decode: () => '',
        },
      }),
    /p\.jsonl:1: expected a "label"/,
  );
});

test.run();
