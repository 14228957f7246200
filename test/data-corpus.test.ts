// Corpus files -> documents (src/data/corpus.ts): google-research/bert's one-file format (blank
// lines between documents, one sentence per line), one document per file, .jsonl {"text"} lines,
// binary and mis-encoded bytes refused or counted, and the held-back documents described.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCorpusText, describeDocuments, readCorpus } from '../src/data/corpus.js';

const GOOGLE =
  'This is the first sentence.\nAnd a second one\n\nA new document starts here.\nIts second line.\nIts third line\n\n\n  \nThird document.\n';

test('blank-line documents with one sentence per line (google-research/bert format), or sentences split from prose', () => {
  const c = readCorpus([{ name: 'a.txt', text: GOOGLE }], 'blank-line', 'line');
  assert.equal(c.documents, [
    ['This is the first sentence.', 'And a second one'],
    ['A new document starts here.', 'Its second line.', 'Its third line'],
    ['Third document.'],
  ]);
  assert.is(c.sentences, 6);
  assert.equal(c.files, [{ name: 'a.txt', first: 0, count: 3 }]);
  // split: lines of one block join, sentences are found by punctuation ("one A new" has none)
  const split = readCorpus([{ name: 'a.txt', text: GOOGLE }], 'blank-line', 'split');
  assert.equal(split.documents[0], ['This is the first sentence.', 'And a second one']);
  assert.equal(split.documents[1], ['A new document starts here.', 'Its second line.', 'Its third line']);
  // one document per file: the blank lines only separate paragraphs
  const perFile = readCorpus(
    [
      { name: 'a.txt', text: GOOGLE },
      { name: 'b.txt', text: 'Just one. Two here.' },
    ],
    'file',
    'line',
  );
  assert.is(perFile.documents.length, 2);
  assert.is(perFile.documents[0].length, 6);
  assert.equal(
    perFile.files.map((f) => [f.first, f.count]),
    [
      [0, 1],
      [1, 1],
    ],
  );
});

test('.jsonl: one document per line ({"text"} or a string), bad lines named by file and line', () => {
  const c = readCorpus(
    [{ name: 'c.jsonl', text: '{"text": "One doc. Two sentences."}\n\n"Second doc."\n{"text": "Third.", "id": 3}\n' }],
    'blank-line',
    'split',
  );
  assert.equal(c.documents, [['One doc.', 'Two sentences.'], ['Second doc.'], ['Third.']]);
  assert.throws(
    () => readCorpus([{ name: 'c.jsonl', text: '{"text": "ok"}\n{"txt": "no"}\n' }], 'file', 'split'),
    /c\.jsonl:2: expected \{"text": "\.\.\."\} or a JSON string/,
  );
  assert.throws(() => readCorpus([{ name: 'c.jsonl', text: '{"text": \n' }], 'file', 'split'), /c\.jsonl:1: not valid JSON/);
});

test('decodeCorpusText: NUL bytes refused, invalid UTF-8 counted (refused above 1%), U+FFFD written in the file is text', () => {
  assert.throws(
    () => decodeCorpusText(Uint8Array.from([104, 105, 0, 0, 33]), 'x.bin'),
    /x\.bin: not a text file \(2 NUL byte\(s\), the first at byte 2\)/,
  );
  const text = new TextEncoder().encode('caf\uFFFD is text. '.repeat(20));
  assert.equal(decodeCorpusText(text, 'ok.txt').invalid, 0);
  const latin1 = Uint8Array.from([...new TextEncoder().encode('a'.repeat(200)), 0xe9]);
  assert.is(decodeCorpusText(latin1, 'l.txt').invalid, 1);
  assert.throws(
    () =>
      decodeCorpusText(
        Uint8Array.from({ length: 100 }, (_, i) => 0x80 + (i % 64)),
        'bad.txt',
      ),
    /bad\.txt: not UTF-8 text \(\d+ invalid byte sequence\(s\) in \d+ characters, more than 1%\)/,
  );
});

test('describeDocuments: whole files by name, a file partly held back by its last documents', () => {
  const c = readCorpus(
    [
      { name: 'a.txt', text: GOOGLE },
      { name: 'b.txt', text: 'B one.\n\nB two.' },
      { name: 'c.txt', text: 'C.' },
    ],
    'blank-line',
    'line',
  );
  assert.equal(describeDocuments(c, 3), ['b.txt (2 documents)', 'c.txt']);
  assert.equal(describeDocuments(c, 4), ["the last 1 of b.txt's 2 documents", 'c.txt']);
  assert.equal(describeDocuments(c, 6), []);
});

test.run();
