// The task registry on hand-made cases, with tiny tokenizers: QA windows and span decoding,
// tag alignment and entity grouping, the pair templates, padding and bucketed batches. All on
// the CPU: decoding takes plain arrays of logits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WordPieceTokenizer, trainByteLevelBpe } from '../src/tokenizers/index.js';
import { TASKS, getTask, splitBatchOutputs } from '../src/finetune/tasks.js';
import { qaFeatures, decodeQa, type QaFeature } from '../src/finetune/qa.js';
import { tagFeatures, wordTags, groupEntities } from '../src/finetune/tagging.js';
import { collate, collateChoices, bucketedBatches } from '../src/finetune/collate.js';
import { parseJsonLines, qaExamples, tagExamples, labelSet, labelSetFromConfig, type QaExample } from '../src/finetune/data.js';
import { ARCHITECTURES } from '../src/models/tasks.js';

// ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then the words
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
  'new',
  '##york',
  'in',
  'at',
  'the',
  'cat',
  'sat',
];
const wp = new WordPieceTokenizer(VOCAB);
const id = (t: string) => VOCAB.indexOf(t);

const qaLine = (o: object) => JSON.stringify({ question: 'where?', ...o });
const CONTEXT = 'a b c d e f g h'; // a0 b2 c4 d6 e8 f10 g12 h14: one token each

function qa(answers: { text: string[]; answer_start: number[] }[]): QaExample[] {
  return qaExamples(parseJsonLines(answers.map((a, i) => qaLine({ id: `q${i}`, context: CONTEXT, answers: a })).join('\n'), 'qa.jsonl'));
}

// question "where ?" is 2 tokens; [CLS] q [SEP] ctx [SEP] = 3 specials; max length 9 -> 4 context
// tokens per window; stride 1 -> windows start 3 apart: tokens [0,4) [3,7) [6,8)
const WINDOWS = { maxLength: 9, docStride: 1 };

test('QA windows: question first, context windows overlapping by the stride, offsets of context tokens only', () => {
  const [f0, f1, f2] = qaFeatures(qa([{ text: [], answer_start: [] }]), wp, WINDOWS);
  assert.equal(f0.input_ids, [2, id('where'), id('?'), 3, id('a'), id('b'), id('c'), id('d'), 3]);
  assert.equal(f1.input_ids.slice(4, 8), [id('d'), id('e'), id('f'), id('g')]);
  assert.equal(f2.input_ids, [2, id('where'), id('?'), 3, id('g'), id('h'), 3]);
  assert.equal(f0.token_type_ids, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.equal(f1.offsets, [null, null, null, null, [6, 7], [8, 9], [10, 11], [12, 13], null]);
  // unanswerable: every window points at [CLS]
  for (const f of [f0, f1, f2]) assert.equal([f.start_positions, f.end_positions], [0, 0]);
});

test('QA targets: answer only in the 2nd window; an answer across a window boundary -> [CLS] everywhere', () => {
  // "e f" = chars [8, 11) = context tokens 4, 5: only window [3, 7) holds both (at feature positions 5, 6)
  const inSecond = qaFeatures(qa([{ text: ['e f'], answer_start: [8] }]), wp, WINDOWS);
  assert.equal(
    inSecond.map((f) => [f.start_positions, f.end_positions]),
    [
      [0, 0],
      [5, 6],
      [0, 0],
    ],
  );
  // "c d e" = tokens 2..4: window 1 lacks e, window 2 lacks c -> no window holds it
  const across = qaFeatures(qa([{ text: ['c d e'], answer_start: [4] }]), wp, WINDOWS);
  assert.equal(
    across.map((f) => [f.start_positions, f.end_positions]),
    [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  );
  // the first answer is the target
  const first = qaFeatures(qa([{ text: ['a', 'h'], answer_start: [0, 14] }]), wp, WINDOWS);
  assert.equal(
    first.map((f) => [f.start_positions, f.end_positions]),
    [
      [4, 4],
      [0, 0],
      [0, 0],
    ],
  );
});

test('QA windows: a question with no room for the context, or a stride as long as the window, is a clear error', () => {
  const ex = qa([{ text: [], answer_start: [] }]);
  assert.throws(
    () => qaFeatures(ex, wp, { maxLength: 5, docStride: 1 }),
    /qa\.jsonl:1: the question is 2 tokens: with 3 special tokens nothing of the context fits in max length 5/,
  );
  assert.throws(
    () => qaFeatures(ex, wp, { maxLength: 9, docStride: 4 }),
    /doc stride 4 must be smaller than the 4 context tokens a window holds/,
  );
});

/** Logits per feature: all 0 except the given positions. */
function logits(f: QaFeature, values: Record<number, number>): number[] {
  return f.input_ids.map((_, i) => values[i] ?? 0);
}

test('QA decode: the best span over all windows, context tokens only, start <= end, max answer length', () => {
  const examples = qa([{ text: ['e f'], answer_start: [8] }]);
  const fs = qaFeatures(examples, wp, WINDOWS);
  // window 0: a..b scores 2 + 2 = 4; window 1: e..f scores 5 + 4 = 9. The question token (position
  // 1) and [CLS] have the largest logits but are not context; (f, e) would be end < start.
  const start = [logits(fs[0], { 0: 20, 1: 10, 4: 2 }), logits(fs[1], { 0: 20, 1: 10, 5: 5, 7: 6 }), logits(fs[2], { 0: 20 })];
  const end = [logits(fs[0], { 0: 20, 1: 10, 5: 2 }), logits(fs[1], { 0: 20, 1: 10, 6: 4, 4: 3 }), logits(fs[2], { 0: 20 })];
  const [p] = decodeQa(examples, fs, start, end);
  assert.equal([p.answer, p.start, p.end], ['e f', 8, 11]);
  assert.is(CONTEXT.slice(p.start, p.end), p.answer);
  assert.ok(p.score > 0 && p.score < 1);
  // one token at most: (e, e) scores 5 beats (f, f) 0 + 4, (a, a) 2, (g, g) 6 + 0 = 6 -> g
  const [short] = decodeQa(examples, fs, start, end, { maxAnswerLength: 1 });
  assert.equal([short.answer, short.start, short.end], ['g', 12, 13]);
});

test('QA decode v2: the smallest null score over windows against the best span, with a threshold', () => {
  const examples = qa([{ text: ['e f'], answer_start: [8] }]);
  const fs = qaFeatures(examples, wp, WINDOWS);
  // null scores s[0] + e[0]: 3 + 3 = 6, 4 + 4 = 8, 5 + 5 = 10 -> 6; best span e..f = 9 -> diff 6 - 9 = -3
  const start = [logits(fs[0], { 0: 3 }), logits(fs[1], { 0: 4, 5: 5 }), logits(fs[2], { 0: 5 })];
  const end = [logits(fs[0], { 0: 3 }), logits(fs[1], { 0: 4, 6: 4 }), logits(fs[2], { 0: 5 })];
  const [answered] = decodeQa(examples, fs, start, end, { allowImpossible: true });
  assert.equal([answered.answer, answered.nullScoreDiff], ['e f', -3]);
  const [none] = decodeQa(examples, fs, start, end, { allowImpossible: true, nullThreshold: -4 });
  assert.equal([none.answer, none.start, none.end, none.nullScoreDiff], ['', 0, 0, -3]);
  // without allowImpossible the null score is never the answer
  const [v1] = decodeQa(examples, fs, start, end, { nullThreshold: -4 });
  assert.is(v1.answer, 'e f');
  assert.throws(() => decodeQa(examples, fs, start.slice(1), end), /2 start and 3 end logit rows for 3 features/);
});

test('QA through the registry: read -> encode -> collate -> decode -> SQuAD metrics', () => {
  const task = TASKS.qa;
  const examples = task.read(qaLine({ id: 'x', context: CONTEXT, answers: { text: ['e f'], answer_start: [8] } }), 'qa.jsonl');
  const fs = task.encode(examples, { tokenizer: wp, ...WINDOWS });
  const batch = task.collate(fs, { padId: 0 });
  assert.equal(batch.input_ids.shape, [3, 9]);
  assert.equal([...batch.start_positions!.data], [0, 5, 0]);
  // logits read back flat [B, T] and split per feature; the padded tail of window 2 is ignored
  const T = 9;
  const flatStart = new Float32Array(3 * T);
  const flatEnd = new Float32Array(3 * T);
  flatStart[T + 5] = 5;
  flatEnd[T + 6] = 4;
  const preds = task.decode(examples, fs, splitBatchOutputs({ start_logits: flatStart, end_logits: flatEnd }, 3));
  assert.is(preds[0].answer, 'e f');
  assert.equal(task.metrics(preds, examples), { exact_match: 100, f1: 100, total: 1 });
  assert.is(task.modelClass('roberta'), 'RobertaForQuestionAnswering');
});

const tagLabels = labelSet(['B-MISC', 'B-PER', 'I-MISC', 'I-PER', 'O'].map((label) => ({ source: 't', line: 1, label })));
const L = (t: string) => tagLabels.label2id[t];

test('tag alignment: the first piece of a word carries its label, the rest -100; labelAllTokens gives them I-', () => {
  const [ex] = tagExamples(parseJsonLines('{"tokens":["John","plays","football"],"tags":["B-PER","O","B-MISC"]}', 't'));
  const [f] = tagFeatures([ex], wp, { labels: tagLabels });
  assert.equal(f.tokens, ['[CLS]', 'john', 'play', '##s', 'foot', '##ball', '[SEP]']);
  assert.equal(f.wordIds, [null, 0, 1, 1, 2, 2, null]);
  assert.equal(f.labels, [-100, L('B-PER'), L('O'), -100, L('B-MISC'), -100, -100]);
  const [all] = tagFeatures([ex], wp, { labels: tagLabels, labelAllTokens: true });
  assert.equal(all.labels, [-100, L('B-PER'), L('O'), L('O'), L('B-MISC'), L('I-MISC'), -100]);
  // truncation: the last word has no token -> null tag
  const [cut] = tagFeatures([ex], wp, { labels: tagLabels, maxLength: 4 });
  assert.equal(cut.wordIds, [null, 0, 1, null]);
  const rows = (f: typeof cut, pick: (i: number) => string) =>
    f.input_ids.flatMap((_, i) => tagLabels.labels.map((l) => (l === pick(i) ? 5 : 0)));
  assert.equal(
    wordTags(
      cut,
      rows(cut, () => 'O'),
      tagLabels,
      3,
    ),
    ['O', 'O', null],
  );
  const [bad] = tagExamples(parseJsonLines('{"tokens":["John"],"tags":["B-ORG"]}', 'bad.jsonl'));
  assert.throws(
    () => tagFeatures([bad], wp, { labels: tagLabels }),
    /bad\.jsonl:1: tag "B-ORG" of word 0 \("John"\) is not one of the labels/,
  );
});

test('tag predictions map back to words through the first piece (other pieces do not count)', () => {
  const [ex] = tagExamples(parseJsonLines('{"tokens":["John","plays","football"],"tags":["B-PER","O","B-MISC"]}', 't'));
  const [f] = tagFeatures([ex], wp, { labels: tagLabels });
  // per token: [CLS] john play ##s foot ##ball [SEP]; ##s and ##ball say B-PER, which is ignored
  const picks = ['O', 'B-PER', 'O', 'B-PER', 'B-MISC', 'B-PER', 'O'];
  const row = picks.flatMap((p) => tagLabels.labels.map((l) => (l === p ? 4 : 0)));
  assert.equal(wordTags(f, row, tagLabels, 3), ['B-PER', 'O', 'B-MISC']);
  const preds = TASKS.tag.decode([ex], [f], [{ logits: row }], { labels: tagLabels });
  assert.equal(preds, [{ tags: ['B-PER', 'O', 'B-MISC'] }]);
  assert.equal(TASKS.tag.metrics(preds, [ex]), { accuracy: 1, precision: 1, recall: 1, f1: 1 });
});

test('entities of text input: simple groups tokens, first merges the pieces of a word first; character offsets', () => {
  const text = 'John Smith at Newyork';
  const [ex] = tagExamples(parseJsonLines(JSON.stringify({ text }), 'e'), { labelled: false });
  const [f] = tagFeatures([ex], wp, { labelled: false });
  assert.equal(f.tokens, ['[CLS]', 'john', 'smith', 'at', 'new', '##york', '[SEP]']);
  // john B-PER (p .9), smith I-PER, at O, new B-MISC, ##york B-PER (a piece that disagrees)
  const picks = ['O', 'B-PER', 'I-PER', 'O', 'B-MISC', 'B-PER', 'O'];
  const row = picks.flatMap((p) => tagLabels.labels.map((l) => (l === p ? 3 : 0)));
  const p = Math.exp(3) / (Math.exp(3) + 4); // softmax of [3, 0, 0, 0, 0]
  const simple = groupEntities(f, row, text, tagLabels, wp, 'simple');
  assert.equal(
    simple.map((e) => ('entity_group' in e ? [e.entity_group, e.word, e.start, e.end] : [])),
    [
      ['PER', 'john smith', 0, 10],
      ['MISC', 'new', 14, 17],
      ['PER', '##york', 17, 21],
    ],
  );
  assert.ok(Math.abs(simple[0].score - p) < 1e-12);
  const first = groupEntities(f, row, text, tagLabels, wp, 'first');
  assert.equal(
    first.map((e) => ('entity_group' in e ? [e.entity_group, e.word, e.start, e.end] : [])),
    [
      ['PER', 'john smith', 0, 10],
      ['MISC', 'newyork', 14, 21],
    ],
  );
  assert.is(text.slice(14, 21), 'Newyork');
  const none = groupEntities(f, row, text, tagLabels, wp, 'none');
  assert.equal(
    none.map((e) => ('entity' in e ? [e.entity, e.word, e.index] : [])),
    [
      ['B-PER', 'john', 1],
      ['I-PER', 'smith', 2],
      ['B-MISC', 'new', 4],
      ['B-PER', '##york', 5],
    ],
  );
  // through the registry: tags per word (split on letters / punctuation) and entities
  const [pred] = TASKS.tag.decode([ex], [f], [{ logits: row }], { labels: tagLabels, tokenizer: wp, aggregation: 'first' });
  assert.equal(pred.tags, ['B-PER', 'I-PER', 'O', 'B-MISC']);
  assert.is(pred.entities!.length, 2);
});

test('entity grouping: [UNK] shows its text and starts a word; a B- after a B- of the same type is a new entity', () => {
  const text = 'John Zorg';
  const [f] = tagFeatures(tagExamples(parseJsonLines(JSON.stringify({ text }), 'u'), { labelled: false }), wp, { labelled: false });
  assert.equal(f.tokens, ['[CLS]', 'john', '[UNK]', '[SEP]']);
  const row = ['O', 'B-PER', 'B-PER', 'O'].flatMap((p) => tagLabels.labels.map((l) => (l === p ? 3 : 0)));
  const groups = groupEntities(f, row, text, tagLabels, wp, 'simple');
  assert.equal(
    groups.map((e) => [e.word, e.start, e.end]),
    [
      ['john', 0, 4],
      ['Zorg', 5, 9],
    ],
  );
});

// byte-level BPE with RoBERTa's specials: <s> 0, <pad> 1, </s> 2
const bpe = trainByteLevelBpe(['the cat sat on the mat', 'a cat is a cat'], { vocabSize: 280 });

test('pair templates: BERT [CLS] A [SEP] B [SEP] (types 0 / 1); RoBERTa <s> A </s></s> B </s> (types 0)', () => {
  const [ex] = TASKS.pair.read('{"text":"the cat","pair":"sat","label":"yes"}', 'p.jsonl');
  const labels = TASKS.pair.labelSet!([ex]);
  const [b] = TASKS.pair.encode([ex], { tokenizer: wp, labels });
  assert.equal(b.input_ids, [2, id('the'), id('cat'), 3, id('sat'), 3]);
  assert.equal(b.token_type_ids, [0, 0, 0, 0, 1, 1]);
  assert.is(b.labels, 0);
  const [r] = TASKS.pair.encode([ex], { tokenizer: bpe, labels });
  const tokens = bpe.convertIdsToTokens(r.input_ids);
  const a = bpe.encode('the cat', null, { addSpecialTokens: false }).tokens;
  const p = bpe.encode('sat', null, { addSpecialTokens: false }).tokens;
  assert.equal(tokens, ['<s>', ...a, '</s>', '</s>', ...p, '</s>']);
  assert.ok(r.token_type_ids.every((t) => t === 0));
  // and a RoBERTa QA window: <s> question </s></s> context </s>, context typed 0
  const [w] = qaFeatures(
    qaExamples(parseJsonLines(qaLine({ id: 'r', context: 'the cat sat', answers: { text: ['cat'], answer_start: [4] } }), 'r')),
    bpe,
    { maxLength: 64, docStride: 8 },
  );
  const wt = bpe.convertIdsToTokens(w.input_ids);
  const q = bpe.encode('where?', null, { addSpecialTokens: false }).tokens;
  assert.equal(wt.slice(0, q.length + 3), ['<s>', ...q, '</s>', '</s>']);
  assert.is(wt[wt.length - 1], '</s>');
  const ctx = 'the cat sat';
  assert.is(ctx.slice(w.offsets[w.start_positions!]![0], w.offsets[w.end_positions!]![1]).trim(), 'cat');
});

test('collate: dynamic padding to the longest of the batch (pad id, mask 0, types 0, token labels -100)', () => {
  const f = (n: number, labels?: number | number[]) => ({
    input_ids: Array(n).fill(7),
    token_type_ids: Array(n).fill(1),
    attention_mask: Array(n).fill(1),
    labels,
  });
  const b = collate([f(2, 1), f(4, 0)], { padId: 1 });
  assert.equal(b.input_ids.shape, [2, 4]);
  assert.equal([...b.input_ids.data], [7, 7, 1, 1, 7, 7, 7, 7]);
  assert.equal([...b.attention_mask.data], [1, 1, 0, 0, 1, 1, 1, 1]);
  assert.equal([...b.token_type_ids.data], [1, 1, 0, 0, 1, 1, 1, 1]);
  assert.ok(b.labels!.data instanceof Int32Array);
  assert.equal([...b.labels!.data], [1, 0]);
  assert.ok(collate([f(2, 0.5)], { padId: 0, labelDtype: 'f32' }).labels!.data instanceof Float32Array);
  const t = collate([f(1, [3]), f(3, [-100, 2, 4])], { padId: 0 });
  assert.equal([...t.labels!.data], [3, -100, -100, -100, 2, 4]);
  assert.throws(() => collate([f(2, 1), f(2)], { padId: 0 }), /1 of 2 features have labels/);
  assert.throws(() => collate([f(2, [1])], { padId: 0 }), /feature 0 has 1 token labels for 2 tokens/);
  // choices: [B, C, T], every choice padded to the longest of the whole batch
  const c = collateChoices(
    [
      { choices: [f(2), f(3)], labels: 1 },
      { choices: [f(5), f(1)], labels: 0 },
    ],
    { padId: 0 },
  );
  assert.equal(c.input_ids.shape, [2, 2, 5]);
  assert.equal([...c.attention_mask.data].slice(0, 10), [1, 1, 0, 0, 0, 1, 1, 1, 0, 0]);
  assert.equal([...c.labels!.data], [1, 0]);
});

test('length-bucketed batches: seeded, every index once, similar lengths together', () => {
  const lengths = [5, 1, 4, 2, 3, 6, 9, 7, 8, 10];
  const batches = bucketedBatches(lengths, 2, { seed: 1 });
  assert.equal(
    batches.flat().sort((a, b) => a - b),
    lengths.map((_, i) => i),
  );
  // one mega-batch (2 x 50 > 10): sorted longest first, then cut
  assert.equal(
    batches.map((b) => b.map((i) => lengths[i])),
    [
      [10, 9],
      [8, 7],
      [6, 5],
      [4, 3],
      [2, 1],
    ],
  );
  assert.equal(bucketedBatches(lengths, 3, { seed: 4, megaBatchFactor: 1 }), bucketedBatches(lengths, 3, { seed: 4, megaBatchFactor: 1 }));
  assert.not.equal(
    bucketedBatches(lengths, 3, { seed: 4, megaBatchFactor: 1 }),
    bucketedBatches(lengths, 3, { seed: 5, megaBatchFactor: 1 }),
  );
  assert.equal(
    bucketedBatches(lengths, 3, { seed: 4, keepLast: false }).map((b) => b.length),
    [3, 3, 3],
  );
});

test('classification, regression and choice through the registry', () => {
  const cls = TASKS.cls;
  const examples = cls.read('{"text":"the cat","label":"pos"}\n{"text":"a b","label":"neg"}\n{"text":"c","label":"pos"}', 'c.jsonl');
  const labels = cls.labelSet!(examples);
  assert.equal(cls.configFields(labels), {
    num_labels: 2,
    id2label: { 0: 'neg', 1: 'pos' },
    label2id: { neg: 0, pos: 1 },
    // string labels: the key is cleared (a base's 'number' does not carry over)
    bertgpu_label_type: undefined,
    problem_type: 'single_label_classification',
  });
  // integer labels keep their type through config.json
  const ints = cls.read('{"text":"the cat","label":1}\n{"text":"a b","label":0}', 'i.jsonl');
  const intFields = cls.configFields(cls.labelSet!(ints));
  assert.is(intFields.bertgpu_label_type, 'number');
  assert.equal(labelSetFromConfig(JSON.parse(JSON.stringify(intFields)) as typeof intFields).labels, [0, 1]);
  assert.equal(labelSetFromConfig({ id2label: { 0: '0', 1: '1' } }).labels, ['0', '1']);
  const fs = cls.encode(examples, { tokenizer: wp, labels });
  assert.equal(
    fs.map((f) => f.labels),
    [1, 0, 1],
  );
  // logits: ex 0 -> pos, ex 1 -> pos (wrong), ex 2 -> pos: accuracy 2/3; F1 of pos: tp 2, fp 1 -> 4/5
  const preds = cls.decode(examples, fs, [{ logits: [0, 2] }, { logits: [0, 1] }, { logits: [-1, 1] }], { labels });
  assert.equal(
    preds.map((p) => p.label),
    ['pos', 'pos', 'pos'],
  );
  assert.ok(Math.abs(preds[0].score - 1 / (1 + Math.exp(-2))) < 1e-12);
  assert.equal(
    preds[0].ranked.map((r) => r.label),
    ['pos', 'neg'],
  );
  const m = cls.metrics(preds, examples);
  assert.ok(Math.abs(m.accuracy! - 2 / 3) < 1e-12 && Math.abs(m.f1! - 0.8) < 1e-12, JSON.stringify(m));
  assert.is(m.mcc, 0); // constant predictions

  const reg = TASKS.regression;
  const rx = reg.read('text,label\nthe cat,0.5\na b,1.5\n', 'r.csv');
  const rf = reg.encode(rx, { tokenizer: wp });
  assert.ok(reg.collate(rf, { padId: 0 }).labels!.data instanceof Float32Array);
  const rp = reg.decode(rx, rf, [{ logits: [1] }, { logits: [2] }]);
  // squared errors 0.25 + 0.25 -> mse 0.25; perfectly correlated
  assert.equal(reg.metrics(rp, rx), { pearson: 1, spearman: 1, mse: 0.25 });
  assert.equal(reg.configFields().num_labels, 1);

  const ch = TASKS.choice;
  const cx = ch.read('{"text":"the cat","choices":["sat","a b"],"label":0}', 's.jsonl');
  const cf = ch.encode(cx, { tokenizer: wp });
  assert.equal(ch.collate(cf, { padId: 0 }).input_ids.shape, [1, 2, 7]); // [CLS] the cat [SEP] a b [SEP]
  const cp = ch.decode(cx, cf, [{ logits: [0, 0] }]);
  assert.equal(cp, [{ label: 0, scores: [0.5, 0.5] }]);
});

test('registry: every task names a class the library has, for every family; unknown task is an error', () => {
  for (const task of Object.values(TASKS)) {
    for (const family of ['bert', 'electra', 'roberta'] as const)
      assert.ok(task.modelClass(family) in ARCHITECTURES, `${task.name} ${family}: ${task.modelClass(family)}`);
  }
  assert.throws(() => getTask('ner'), /unknown task 'ner' \(tasks: cls, pair, regression, choice, tag, qa\)/);
  assert.is(getTask('qa'), TASKS.qa);
});

test.run();
