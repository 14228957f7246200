// Each task's batches fit the class it names: a tiny model of that class (a different family per
// task) takes the collated batch, its loss falls over a few AdamW steps on it, and the outputs
// read back decode into one prediction per example.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { device } from './helpers.js';

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'a',
  'b',
  'c',
  'd',
  'e',
  'f',
  'g',
  'h',
  'where',
  '?',
  'john',
  'smith',
  'play',
  '##s',
  'foot',
  '##ball',
  'the',
  'cat',
  'sat',
  'good',
  'bad',
];
const wp = new bg.WordPieceTokenizer(VOCAB);
const bpe = bg.trainByteLevelBpe(['the cat sat on the mat', 'a good cat, a bad cat', 'john smith plays football'], { vocabSize: 270 });

interface Case {
  task: bg.TaskName;
  family: bg.BaseName;
  data: string;
  tokenizer: bg.TaskTokenizer;
  vocab: number;
}

const STEPS = 16;
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n');
const CASES: Case[] = [
  {
    task: 'cls',
    family: 'bert',
    tokenizer: wp,
    vocab: VOCAB.length,
    data: jsonl([
      { text: 'good cat', label: 'pos' },
      { text: 'bad cat', label: 'neg' },
      { text: 'the good', label: 'pos' },
    ]),
  },
  {
    task: 'pair',
    family: 'roberta',
    tokenizer: bpe,
    vocab: bpe.vocabSize,
    data: jsonl([
      { text: 'the cat', pair: 'sat', label: 'yes' },
      { text: 'a bad cat', pair: 'good', label: 'no' },
    ]),
  },
  { task: 'regression', family: 'electra', tokenizer: wp, vocab: VOCAB.length, data: 'text,label\ngood cat,1.5\nbad cat,-0.5\n' },
  {
    task: 'choice',
    family: 'electra',
    tokenizer: wp,
    vocab: VOCAB.length,
    data: jsonl([
      { text: 'the cat', choices: ['sat', 'good bad', 'a'], label: 0 },
      { text: 'john', choices: ['smith', 'cat', 'b c'], label: 0 },
    ]),
  },
  {
    task: 'tag',
    family: 'roberta',
    tokenizer: bpe,
    vocab: bpe.vocabSize,
    data: jsonl([
      { tokens: ['john', 'smith', 'plays', 'football'], tags: ['B-PER', 'I-PER', 'O', 'O'] },
      { text: 'the cat sat', entities: [{ start: 4, end: 7, label: 'PER' }] },
    ]),
  },
  {
    task: 'qa',
    family: 'bert',
    tokenizer: wp,
    vocab: VOCAB.length,
    data: jsonl([
      { id: 'q', question: 'where?', context: 'a b c d e f g h', answers: { text: ['e f'], answer_start: [8] } },
      { id: 'n', question: 'where?', context: 'a b', answers: { text: [], answer_start: [] } },
    ]),
  },
];

for (const c of CASES) {
  test(`${c.task} (${c.family}): the batch trains its class and decodes`, async () => {
    await device();
    const task = bg.getTask(c.task);
    const source = c.task === 'regression' ? 'data.csv' : 'data.jsonl';
    const examples = task.read(c.data, source);
    const labels = task.labelSet?.(examples);
    const config = bg.bertConfig({
      model_type: c.family,
      vocab_size: c.vocab,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 24,
      max_position_embeddings: 40,
      initializer_range: 0.2,
      hidden_dropout_prob: 0,
      summary_last_dropout: 0,
      attention_probs_dropout_prob: 0,
      ...(c.family === 'electra' ? { embedding_size: 8 } : {}),
      ...task.configFields(labels),
    });
    const model = bg.createModel(task.modelClass(c.family), config, { generator: new bg.Generator(3) });
    const features = task.encode(examples, { tokenizer: c.tokenizer, labels, maxLength: 12, docStride: 2 });
    const batch = task.collate(features, { padId: config.pad_token_id });
    const opt = new bg.AdamW(model, { lr: 5e-3 });
    const losses: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      const loss = bg.scope(() => {
        const out = model.forward(bg.batchInputs(batch));
        out.loss!.backward();
        return out.loss!;
      });
      opt.step();
      opt.zeroGrad();
      losses.push(await loss.item());
      loss.dispose();
    }
    console.log(c.task, losses.map((l) => l.toFixed(3)).join(' '));
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses[STEPS - 1] < 0.7 * losses[0], `loss falls: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    model.eval();
    const flat = await bg.scopeAsync(async () => {
      const out = bg.noGrad(() =>
        model.forward(bg.batchInputs({ ...batch, labels: undefined, start_positions: undefined, end_positions: undefined })),
      );
      const read = async (t?: bg.Tensor) => (t ? Array.from(await t.toArray()) : undefined);
      return { logits: await read(out.logits), start_logits: await read(out.start_logits), end_logits: await read(out.end_logits) };
    });
    const preds = task.decode(examples, features, bg.splitBatchOutputs(flat, features.length), { labels, tokenizer: c.tokenizer });
    assert.is(preds.length, examples.length);
    const metrics = task.metrics(preds, examples);
    assert.ok(
      Object.values(metrics).every((v) => v === null || Number.isFinite(v)),
      JSON.stringify(metrics),
    );
    if (c.task === 'qa') {
      for (const [i, p] of (preds as bg.QaPrediction[]).entries()) assert.is(examples[i].context.slice(p.start, p.end), p.answer);
    }
    opt.dispose();
    model.dispose();
  });
}

test.run();
