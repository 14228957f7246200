// `bertgpu pretrain --corpus`: one file with blank lines between documents (google-research/bert's
// format) trains; a one-document file is accepted for MLM; directories, several files and .jsonl
// are read with the documents and sentences found reported; a held-back share above half is refused.
// Most cases stop right after the corpus report (a missing --vocab), before any GPU work.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, cli, CORPUS } from './cli-helpers.js';

const pretrain = (args: string[]) => cli(['pretrain', ...args]);
const small = ['--batch', '2', '--seq', '32', '--dupe-factor', '1', '--quiet'];
const dir = () => mkdtempSync(join(tmpdir(), 'bertgpu-corpus-'));

test('one file, documents separated by blank lines, one sentence per line: trains, and says what it found and held back', async () => {
  await buildCli();
  const d = dir();
  // google-research/bert's sample_text.txt layout, made from Moby-Dick's first chapters: a paragraph per document, a sentence per line
  const paragraphs = ['chapter_1.txt', 'chapter_2.txt']
    .flatMap((f) => readFileSync(join(CORPUS, f), 'utf8').split(/\n\s*\n/))
    .filter((p) => p.trim());
  const text =
    paragraphs
      .map((p) =>
        p
          .replace(/\s+/g, ' ')
          .trim()
          .replace(/([.!?]) (?=[A-Z])/g, '$1\n'),
      )
      .join('\n\n') + '\n';
  writeFileSync(join(d, 'sample_text.txt'), text);
  const sentences = text.split('\n').filter((l) => l.trim()).length;
  const r = pretrain([
    '--objective',
    'mlm-nsp',
    '--corpus',
    join(d, 'sample_text.txt'),
    '--sentences',
    'line',
    '--train-vocab',
    '300',
    '--steps',
    '2',
    '--eval-fraction',
    '0.1',
    '--out',
    join(d, 'model'),
    ...small,
  ]);
  assert.is(r.status, 0, r.stderr);
  const m =
    /corpus: 1 file\(s\), (\d+) documents, (\d+) sentences \(documents: separated by blank lines\); held back for evaluation: (\d+) documents, \d+ sentences \(\d+%\): the last \3 of sample_text.txt's \1 documents\n/.exec(
      r.stdout,
    );
  assert.ok(m, r.stdout);
  assert.is(Number(m[1]), paragraphs.length);
  assert.is(Number(m[2]), sentences);
  assert.is(Number(m[3]), Math.round(paragraphs.length * 0.1));
  assert.match(r.stdout, /wrote .* \(BertForPreTraining\)/);
});

test('a one-document file is accepted for MLM (nothing held back unless asked); mlm-nsp and an explicit --eval-fraction are refused', async () => {
  await buildCli();
  const d = dir();
  const one = join(d, 'one.txt');
  writeFileSync(one, readFileSync(join(CORPUS, 'chapter_1.txt'), 'utf8').replace(/\n\s*\n/g, '\n'));
  const r = pretrain(['--objective', 'mlm', '--corpus', one, '--train-vocab', '300', '--steps', '1', '--out', join(d, 'model'), ...small]);
  assert.is(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /corpus: 1 file\(s\), 1 documents, \d+ sentences \(documents: separated by blank lines\); held back for evaluation: nothing \(one document\)/,
  );
  const asked = pretrain([
    '--objective',
    'mlm',
    '--corpus',
    one,
    '--train-vocab',
    '300',
    '--eval-fraction',
    '0.1',
    '--out',
    join(d, 'b'),
    ...small,
  ]);
  assert.is(asked.status, 1);
  assert.match(asked.stderr, /--eval-fraction 0.1: the corpus is one document, so none can be held back/);
  const nsp = pretrain(['--objective', 'mlm-nsp', '--corpus', one, '--train-vocab', '300', '--out', join(d, 'c'), ...small]);
  assert.is(nsp.status, 1);
  assert.match(nsp.stderr, /mlm-nsp needs at least 2 training documents for its random next sentences; the corpus gives 1/);
});

test('--cased trains a cased vocabulary and saves it so that it loads back cased (tokenizer_config.json do_lower_case false)', async () => {
  await buildCli();
  const d = dir();
  const one = join(d, 'one.txt');
  writeFileSync(one, readFileSync(join(CORPUS, 'chapter_1.txt'), 'utf8').replace(/\n\s*\n/g, '\n'));
  const run = (out: string, extra: string[]) =>
    pretrain(['--objective', 'mlm', '--corpus', one, '--train-vocab', '300', '--steps', '1', '--out', join(d, out), ...extra, ...small]);
  const cased = run('cased', ['--cased']);
  assert.is(cased.status, 0, cased.stderr);
  const uncased = run('uncased', []);
  assert.is(uncased.status, 0, uncased.stderr);
  const upper = (out: string) =>
    readFileSync(join(d, out, 'vocab.txt'), 'utf8')
      .split('\n')
      .filter((t) => !/^\[[A-Z]+\]$/.test(t) && /\p{Lu}/u.test(t));
  assert.ok(upper('cased').length > 10, `cased vocabulary has only ${upper('cased').length} pieces with capitals`);
  assert.equal(upper('uncased'), []);
  const config = JSON.parse(readFileSync(join(d, 'cased', 'tokenizer_config.json'), 'utf8')) as { do_lower_case?: boolean };
  assert.is(config.do_lower_case, false);
});

test('a directory (recursively, .txt and .jsonl, in path order) and several files; more than half held back is refused', async () => {
  await buildCli();
  const d = dir();
  const data = join(d, 'data');
  mkdirSync(join(data, 'more'), { recursive: true });
  writeFileSync(join(data, 'a.txt'), 'First file. Two sentences.');
  writeFileSync(join(data, 'b.txt'), 'Second file.\n\nStill the second file. Yes.');
  writeFileSync(join(data, 'more', 'c.jsonl'), '{"text": "Doc one of c."}\n{"text": "Doc two here. Really."}\n');
  writeFileSync(join(data, 'notes.md'), 'ignored');
  // --vocab that does not exist: the command stops right after the corpus report
  const r = pretrain([
    '--objective',
    'mlm',
    '--corpus',
    data,
    '--vocab',
    join(d, 'none.txt'),
    '--eval-fraction',
    '0.25',
    '--out',
    join(d, 'm'),
    ...small,
  ]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /cannot read --vocab/);
  assert.match(
    r.stdout,
    /^corpus: 3 file\(s\), 4 documents, 8 sentences \(documents: one per file\); held back for evaluation: 1 documents, 2 sentences \(25%\): the last 1 of c.jsonl's 2 documents$/m,
  );
  const files = pretrain([
    '--objective',
    'mlm',
    '--corpus',
    join(data, 'b.txt'),
    join(data, 'a.txt'),
    '--vocab',
    join(d, 'none.txt'),
    '--documents',
    'blank-line',
    '--eval-fraction',
    '0.3',
    '--out',
    join(d, 'm'),
    ...small,
  ]);
  assert.match(
    files.stdout,
    /^corpus: 2 file\(s\), 3 documents, 5 sentences \(documents: separated by blank lines\); held back for evaluation: 1 documents, 2 sentences \(40%\): a.txt$/m,
  );
  const half = pretrain([
    '--objective',
    'mlm',
    '--corpus',
    join(data, 'a.txt'),
    join(data, 'b.txt'),
    '--vocab',
    join(d, 'none.txt'),
    '--eval-fraction',
    '0.5',
    '--out',
    join(d, 'm'),
    ...small,
  ]);
  assert.is(half.status, 1);
  assert.match(
    half.stderr,
    /--eval-fraction 0.5 holds back 1 of 2 documents, 3 of 5 sentences \(60%\): more than half of the data\. Give more documents, lower --eval-fraction \(0 holds nothing back\), or pass --allow-large-held-back/,
  );
  const allowed = pretrain([
    '--objective',
    'mlm',
    '--corpus',
    join(data, 'a.txt'),
    join(data, 'b.txt'),
    '--vocab',
    join(d, 'none.txt'),
    '--eval-fraction',
    '0.5',
    '--allow-large-held-back',
    '--out',
    join(d, 'm'),
    ...small,
  ]);
  assert.match(allowed.stderr, /cannot read --vocab/);
  const empty = join(d, 'empty');
  mkdirSync(empty);
  assert.match(
    pretrain(['--objective', 'mlm', '--corpus', empty, '--train-vocab', '100', '--out', join(d, 'm'), ...small]).stderr,
    /a directory without .txt or .jsonl files/,
  );
});

test.run();
