// Fuzzes the fine-tuning data readers through every task of the registry: JSON lines (one record
// mutated structurally, or the text damaged) and CSV / TSV, then the task's labels, encoding with
// bert-base-uncased's WordPiece and collation. Each file must be read, encoded and batched, or
// refused with an Error naming the file and line (`file:line: ...`); nothing else may escape.
import { test } from 'uvu';
import { readFileSync } from 'node:fs';
import { WordPieceTokenizer } from '../src/tokenizers/index.js';
import { TASKS, type AnyTask } from '../src/finetune/tasks.js';
import { FUZZ_SCALE, int, jsonText, mutateJson, mutateText, pick, randomText, runFuzz, type Rng } from './fuzz-mutate.js';

const tokenizer = WordPieceTokenizer.fromVocabText(readFileSync('data/bert-base-uncased-vocab.txt', 'utf8'));
const CONTEXT = 'Moby Dick is a whale. Ishmael tells the story of the Pequod and her captain, Ahab.';

/** Valid records of each task, from which the inputs are mutated. */
const SEEDS: Record<string, object[]> = {
  cls: [
    { text: 'a fine day', label: 'pos' },
    { text: 'rain again', label: 'neg' },
    { text: 'so so', label: 'pos' },
  ],
  pair: [
    { text: 'the cat sat', pair: 'a cat was sitting', label: 'entailment' },
    { text: 'it rains', pair: 'it is dry', label: 'contradiction' },
  ],
  regression: [
    { text: 'a', pair: 'b', label: 0.5 },
    { text: 'the same', pair: 'the same', label: 5 },
  ],
  choice: [
    { text: 'The whale', choices: ['swims', 'flies'], label: 0 },
    { text: 'Ahab', choices: ['captain', 'cook'], label: 0 },
  ],
  tag: [
    { tokens: ['Ahab', 'sails', 'the', 'Pequod'], tags: ['B-PER', 'O', 'O', 'B-MISC'] },
    {
      text: 'Ishmael met Queequeg in Nantucket',
      entities: [
        { start: 0, end: 7, label: 'PER' },
        { start: 26, end: 35, label: 'LOC' },
      ],
    },
  ],
  qa: [
    { id: 'q1', question: 'Who is the captain?', context: CONTEXT, answers: { text: ['Ahab'], answer_start: [CONTEXT.indexOf('Ahab')] } },
    {
      id: 'q2',
      question: 'What is Moby Dick?',
      context: CONTEXT,
      answers: { text: ['a whale'], answer_start: [CONTEXT.indexOf('a whale')] },
    },
    { id: 'q3', question: 'Who is Bob?', context: CONTEXT, answers: { text: [], answer_start: [] } },
  ],
};
const WORDS = [
  'text',
  'pair',
  'label',
  'choices',
  'tokens',
  'tags',
  'entities',
  'start',
  'end',
  'id',
  'question',
  'context',
  'answers',
  'answer_start',
  'O',
  'B-PER',
  'pos',
];

/** CSV / TSV text of flat records (cls, pair, regression), sometimes with quotes, CRLF or a BOM. */
function delimited(r: Rng, records: object[], delimiter: string): string {
  const rows = records as Record<string, unknown>[];
  const columns = Object.keys(rows[0]);
  const cell = (v: unknown) => {
    const s = String(v);
    return delimiter === ',' && (r.next() < 0.3 || /[",\n]/.test(s)) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [columns.join(delimiter), ...rows.map((row) => columns.map((c) => cell(row[c])).join(delimiter))];
  return (r.next() < 0.1 ? '\ufeff' : '') + lines.join(r.next() < 0.2 ? '\r\n' : '\n');
}

function makeInput(r: Rng): { task: AnyTask; text: string; source: string; what: string } {
  const name = pick(r, Object.keys(SEEDS));
  const records = SEEDS[name].slice();
  const k = int(r, 0, records.length - 1);
  const { doc, what } = mutateJson(r, records[k], WORDS);
  records[k] = doc as object;
  let description = `${name}: record ${k + 1}: ${what.join('; ')}`;
  const asDelimited = ['cls', 'pair', 'regression'].includes(name) && r.next() < 0.3;
  let text: string;
  let source: string;
  if (asDelimited) {
    const tsv = r.next() < 0.5;
    source = tsv ? 'fuzz/train.tsv' : 'fuzz/train.csv';
    // CSV cells are the mutated values as text (objects become "[object Object]": still text)
    text = delimited(
      r,
      records.map((rec) => (rec !== null && typeof rec === 'object' ? rec : { text: String(rec) })),
      tsv ? '\t' : ',',
    );
  } else {
    source = 'fuzz/train.jsonl';
    text = records.map((rec) => jsonText(rec)).join('\n');
  }
  if (r.next() < 0.15) {
    const damaged = mutateText(r, text);
    [text, description] = [damaged.text, `${description}; ${damaged.what}`];
  }
  if (r.next() < 0.1) text += '\n' + randomText(r, 60);
  return { task: (TASKS as Record<string, AnyTask>)[name], text, source, what: description };
}

test('fuzz: fine-tuning files are read, encoded and batched, or refused with file:line', () => {
  runFuzz(
    'fine-tuning data',
    2000 * FUZZ_SCALE,
    51_000,
    (r) => {
      const { task, text, source, what } = makeInput(r);
      const maxLength = int(r, 8, 64);
      return {
        what: `${what}; max length ${maxLength}`,
        run: () => {
          const examples = task.read(text, source);
          // labelSet of no examples says 'no labelled examples' without the file: left to the caller (reported)
          const labels = examples.length ? task.labelSet?.(examples) : undefined;
          const features = task.encode(examples, { tokenizer, maxLength, labels, docStride: int(r, 1, 16) });
          if (features.length) task.collate(features, { padId: 0, labelDtype: task.name === 'regression' ? 'f32' : 'i32' });
        },
      };
    },
    (err) => err.message.startsWith('fuzz/train.'),
  );
});

test.run();
