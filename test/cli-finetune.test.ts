// The fine-tuning commands as a user meets them: finetune a tiny pre-trained (masked-LM) directory
// made here -> predict -> evaluate through the bundled CLI, LoRA adapters -> predict --adapter ->
// merge-adapter, fill-mask, every task's prediction shape, refusals before any work (bad data
// with file:line and no --out written), --help with defaults; the library's pipelines on the same
// directories.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { buildCli, cli, sentimentLines } from './cli-helpers.js';
import { device, rng } from './helpers.js';

const NEW = ['finetune', 'predict', 'evaluate', 'fill-mask', 'merge-adapter'];
const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'good',
  'bad',
  'great',
  'awful',
  'film',
  'plot',
  'the',
  'a',
  'was',
  'john',
  'smith',
  'paris',
  'in',
  'lives',
  'mary',
  'who',
  'where',
  '?',
];
const root = mkdtempSync(join(tmpdir(), 'bertgpu-ftcli-'));
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

const sentiment = sentimentLines;

/** Sentences with PER / LOC entities as character spans. */
function entities(n: number, seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  return jsonl(
    Array.from({ length: n }, () => {
      const name = pick(['john', 'mary', 'john smith', 'mary smith']);
      const text = `${pick(['the', 'a'])} ${name} ${pick(['lives in', 'was in'])} paris`;
      const s = text.indexOf(name);
      return {
        text,
        entities: [
          { start: s, end: s + name.length, label: 'PER' },
          { start: text.length - 5, end: text.length, label: 'LOC' },
        ],
      };
    }),
  );
}

/** A saved directory of `architecture` with random weights (a "pre-trained" base, or a task model for shape checks). */
async function saveTiny(
  name: string,
  architecture: string,
  family: bg.BaseName = 'bert',
  fields: Partial<bg.BertConfig> = {},
  seed = 3,
): Promise<string> {
  const config = bg.bertConfig({
    model_type: family,
    vocab_size: VOCAB.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 40,
    initializer_range: 0.2,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    ...fields,
  });
  const model = bg.createModel(architecture, config, { generator: new bg.Generator(seed) });
  const dir = join(root, name);
  await bg.savePretrained(model, dir, new bg.WordPieceTokenizer(VOCAB));
  model.dispose();
  return dir;
}

const file = (name: string, text: string) => {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
};

let base = '';
let clsOut = '';
let tagOut = '';

test('--help of every new command shows its options and defaults; bare bertgpu lists them', async () => {
  await buildCli();
  const bare = cli([]);
  for (const c of NEW) assert.match(bare.stdout, new RegExp(`\\n  ${c} \\[options\\]`));
  const help = Object.fromEntries(
    NEW.map((c) => {
      const h = cli([c, '--help']);
      assert.is(h.status, 0, `${c} --help: ${h.stderr}`);
      assert.match(h.stdout, new RegExp(`^Usage: bertgpu ${c} \\[options\\]`));
      return [c, h.stdout.replace(/\s+/g, ' ')];
    }),
  );
  for (const d of [
    '--epochs <n> passes over the training data (default: 3)',
    '--batch <n> examples per micro-batch (default: 16)',
    '--lr <x> peak learning rate (AdamW) (default: 0.00005)',
    '(default: 128, qa 384;',
    '--lora <spec>',
    '"tag", "qa")',
  ])
    assert.ok(help.finetune.includes(d), `finetune: ${d}`);
  for (const d of ['--input <file> input lines (- for stdin) (default: "-")', 'default: "simple")', '--top-k <k>', '--adapter <dir>'])
    assert.ok(help.predict.includes(d), `predict: ${d}`);
  assert.ok(help.evaluate.includes('--batch <n> examples per forward (default: 16)'));
  assert.ok(help['fill-mask'].includes('--top-k <k> guesses per mask (default: 5)'));
  assert.ok(help['merge-adapter'].includes('--adapter <dir>'));
});

test('refused before any work (exit 2): --out a file or holding a model, bad values; a bad data line exits 1 with file:line and writes no --out', async () => {
  await buildCli();
  await device();
  // a random encoder: fine-tuning it works for some seeds only (11 learns the sentiment word by epoch 4)
  base = await saveTiny('base', 'BertForMaskedLM', 'bert', {}, 11);
  const train = file('train.jsonl', sentiment(48, 1));
  const args = (out: string, ...more: string[]) => ['finetune', '--task', 'cls', '--model', base, '--train', train, '--out', out, ...more];
  const asFile = file('not-a-dir', 'x');
  const r1 = cli(args(asFile));
  assert.is(r1.status, 2, r1.stderr);
  assert.match(r1.stderr, /--out .*not-a-dir is a file/);
  const r2 = cli(args(base));
  assert.is(r2.status, 2);
  assert.match(r2.stderr, /already holds a model \(config\.json, model\.safetensors\); pass --overwrite/);
  const checks: [string[], RegExp][] = [
    [args(join(root, 'x'), '--lora', 'r=2', '--freeze-encoder'), /--freeze-encoder, --lora and --features .* choose one/],
    [args(join(root, 'x'), '--lora', 'r=two'), /--lora r must be a positive integer, got 'two'/],
    [args(join(root, 'x'), '--lora', 'rank=2'), /--lora: unknown key 'rank'/],
    [
      args(join(root, 'x'), '--metric', 'pearson', '--eval', train),
      /--metric for --task cls must be one of accuracy, f1, macro_f1, mcc, got 'pearson'/,
    ],
    [args(join(root, 'x'), '--steps', '0'), /option '--steps <n>' argument '0' is invalid\. must be an integer >= 1/],
    [args(join(root, 'x'), '--max-length', '100'), /--max-length 100 is more than the model's 40 positions/],
    [
      ['finetune', '--task', 'ner', '--model', base, '--train', train, '--out', 'x'],
      /argument 'ner' is invalid\. Allowed choices are cls, pair/,
    ],
    [['predict', '--model', root], /--model .*: no config\.json/],
    [['predict', '--model', base, '--adapter', root], /--adapter .*: no adapter_config\.json/],
  ];
  for (const [a, message] of checks) {
    const r = cli(a);
    assert.is(r.status, 2, `${a.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // bad data: the line is named, nothing is trained, --out is not made
  const out = join(root, 'never');
  const badJson = file('bad.jsonl', '{"text": "good", "label": "pos"}\n{"text": "bad", "label": "neg"}\n{"text": oops}\n');
  const r3 = cli(['finetune', '--task', 'cls', '--model', base, '--train', badJson, '--out', out]);
  assert.is(r3.status, 1);
  assert.match(r3.stderr, /^bertgpu finetune: .*bad\.jsonl:3: not valid JSON/);
  const noLabel = file('nolabel.jsonl', '{"text": "good", "label": "pos"}\n{"text": "bad"}\n');
  const r4 = cli(['finetune', '--task', 'cls', '--model', base, '--train', train, '--eval', noLabel, '--out', out]);
  assert.is(r4.status, 1);
  assert.match(r4.stderr, /nolabel\.jsonl:2: expected a "label"/);
  const unseen = file('unseen.jsonl', '{"text": "good", "label": "pos"}\n{"text": "bad", "label": "meh"}\n');
  const r5 = cli(['finetune', '--task', 'cls', '--model', base, '--train', train, '--eval', unseen, '--out', out]);
  assert.is(r5.status, 1);
  assert.match(r5.stderr, /unseen\.jsonl:2: label "meh" is not one of the model's labels \("neg", "pos"\)/);
  assert.not.ok(existsSync(out), 'no --out after a data error');
});

test("cls end to end: finetune a masked-LM directory (fresh head reported) -> predict (plain text, --top-k) -> evaluate equals the kept model's held-back metrics", async () => {
  await buildCli();
  const train = join(root, 'train.jsonl');
  const evalFile = file('eval.jsonl', sentiment(24, 2));
  clsOut = join(root, 'cls');
  const log = join(root, 'cls-log.jsonl');
  const ft = cli([
    'finetune',
    '--task',
    'cls',
    '--model',
    base,
    '--train',
    train,
    '--eval',
    evalFile,
    '--out',
    clsOut,
    '--epochs',
    '6',
    '--batch',
    '8',
    '--lr',
    '1e-2',
    '--seed',
    '1',
    '--log',
    log,
  ]);
  console.log(`\n  ${ft.stdout.trim().split('\n').slice(-4).join('\n  ')}`);
  assert.is(ft.status, 0, ft.stderr);
  assert.match(
    ft.stderr,
    /is a BertForMaskedLM; BertForSequenceClassification gets a fresh head \(seed 1\): bert\.pooler\.dense\.weight, bert\.pooler\.dense\.bias, classifier\.weight, classifier\.bias/,
  );
  assert.match(ft.stdout, /^step 10\/36 epoch 1\.67 loss /m);
  const majority = Number(ft.stdout.match(/majority-class baseline \(always "\w+", the commonest training label\): accuracy ([\d.]+)/)![1]);
  const held = ft.stdout.match(/held-back \(step (\d+)\): accuracy ([\d.]+)/)!;
  assert.ok(Number(held[2]) > majority, `held-back accuracy ${held[2]} vs majority ${majority}`);
  assert.match(ft.stdout, /the model beats it by/);
  const config = JSON.parse(readFileSync(join(clsOut, 'config.json'), 'utf8'));
  assert.equal(config.architectures, ['BertForSequenceClassification']);
  assert.equal(config.id2label, { 0: 'neg', 1: 'pos' });
  assert.is(readFileSync(join(clsOut, 'vocab.txt'), 'utf8'), readFileSync(join(base, 'vocab.txt'), 'utf8'));
  const records = lines(readFileSync(log, 'utf8'));
  assert.ok(
    records.some((r) => !r.eval && r.step === 10 && typeof r.loss === 'number' && typeof r.epoch === 'number'),
    'train records',
  );
  assert.is(records.filter((r) => r.eval && !r.final).length, 6, 'one eval record per epoch');
  const final = records.at(-1);
  assert.ok(final.final && final.majority_accuracy === majority);
  // predict: plain text lines and JSON lines, in order
  const pred = cli(['predict', '--model', clsOut], { input: 'the film was great\n{"text": "awful plot"}\na bad film\n' });
  assert.is(pred.status, 0, pred.stderr);
  const p = lines(pred.stdout);
  assert.equal(
    p.map((x) => x.label),
    ['pos', 'neg', 'neg'],
  );
  assert.ok(p.every((x) => Object.keys(x).join() === 'label,score' && x.score > 0.5 && x.score <= 1));
  // evaluate: the same metrics the run kept its model by
  const ev = cli(['evaluate', '--model', clsOut, '--data', evalFile]);
  assert.is(ev.status, 0, ev.stderr);
  const m = JSON.parse(ev.stdout);
  const kept = records.find((r) => r.eval && !r.final && r.step === Number(held[1]));
  for (const k of ['accuracy', 'f1', 'macro_f1', 'mcc']) assert.is(m[k], kept[k], k);
  assert.ok(Math.abs(m.loss - kept.loss) < 1e-5, `loss ${m.loss} vs ${kept.loss}`);
  // a second run into the same --out needs --overwrite
  const again = cli(['finetune', '--task', 'cls', '--model', base, '--train', train, '--out', clsOut, '--steps', '1']);
  assert.is(again.status, 2);
});

test('finetune --precision f16: autocast with a dynamic loss scale (in the log); --precision bf16 is refused', async () => {
  await buildCli();
  const out = join(root, 'cls-f16');
  const log = join(root, 'cls-f16-log.jsonl');
  const train = join(root, 'train.jsonl');
  const common = [
    'finetune',
    '--task',
    'cls',
    '--model',
    base,
    '--train',
    train,
    '--steps',
    '3',
    '--batch',
    '8',
    '--log-every',
    '1',
    '--log',
    log,
  ];
  const ft = cli([...common, '--out', out, '--precision', 'f16']);
  assert.is(ft.status, 0, ft.stderr);
  const records = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => !r.eval && 'loss' in r);
  assert.is(records.length, 3);
  assert.ok(
    records.every((r) => r.loss_scale === 65536 && Number.isFinite(r.loss)),
    JSON.stringify(records),
  );
  const bad = cli([...common, '--out', join(root, 'cls-bf16'), '--precision', 'bf16']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--precision.*bf16.*(f32|f16)/);
});

test("LoRA: --out gets PEFT's two files (no base); predict --adapter on the masked-LM base; merge-adapter gives the same predictions", async () => {
  await buildCli();
  const train = join(root, 'train.jsonl');
  const out = join(root, 'lora');
  const ft = cli([
    'finetune',
    '--task',
    'cls',
    '--model',
    base,
    '--train',
    train,
    '--out',
    out,
    '--eval',
    join(root, 'eval.jsonl'),
    '--epochs',
    '8',
    '--batch',
    '8',
    '--lr',
    '6e-2',
    '--seed',
    '2',
    '--lora',
    'r=4,alpha=8,targets=query,value',
    '--quiet',
  ]);
  assert.is(ft.status, 0, ft.stderr);
  assert.not.ok(existsSync(join(out, 'model.safetensors')) || existsSync(join(out, 'config.json')), 'the base is not copied');
  const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.is(config.peft_type, 'LORA');
  assert.is(config.task_type, 'SEQ_CLS');
  assert.equal([config.r, config.lora_alpha, config.target_modules], [4, 8, ['query', 'value']]);
  const st = bg.readSafetensors(readFileSync(join(out, 'adapter_model.safetensors')));
  assert.ok(st.tensors.has('base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight'));
  assert.ok(st.tensors.has('base_model.model.classifier.weight'), 'the head is saved with the adapter');
  // and the pooler the masked-LM base lacked (fresh, seed 2): a load would draw another one
  assert.equal(config.modules_to_save, ['classifier', 'score', 'bert.pooler.dense']);
  assert.ok(st.tensors.has('base_model.model.bert.pooler.dense.weight'));
  assert.equal(st.metadata, { format: 'pt', 'bertgpu.task': 'cls', 'bertgpu.id2label': '{"0":"neg","1":"pos"}' });
  const input = 'the film was great\nawful plot\nthe plot was good\n';
  const viaAdapter = cli(['predict', '--model', base, '--adapter', out], { input });
  assert.is(viaAdapter.status, 0, viaAdapter.stderr);
  const merged = join(root, 'merged');
  const mg = cli(['merge-adapter', '--model', base, '--adapter', out, '--out', merged]);
  assert.is(mg.status, 0, mg.stderr);
  assert.match(mg.stdout, /BertForSequenceClassification with the adapter .* merged in \(task cls\)/);
  // --top-k 2: a list per line, the likeliest first, probabilities summing to 1
  const viaMerged = cli(['predict', '--model', merged, '--top-k', '2'], { input });
  const a = lines(viaAdapter.stdout);
  const b = lines(viaMerged.stdout);
  assert.equal(
    a.map((x) => x.label),
    ['pos', 'neg', 'pos'],
  );
  assert.equal(
    b.map((x) => x[0].label),
    a.map((x) => x.label),
  );
  a.forEach((x, i) => assert.ok(Math.abs(x.score - b[i][0].score) < 1e-4, `${x.score} vs ${b[i][0].score}`));
  assert.ok(b.every((x) => x.length === 2 && Math.abs(x[0].score + x[1].score - 1) < 1e-5 && x[0].score >= x[1].score));
});

/** Sentiment carried by words the test vocabulary lacks (spelt in its pieces as [UNK]). */
function newWordSentiment(n: number, seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  return jsonl(
    Array.from({ length: n }, (_, i) => {
      const word = pick(['superb', 'lovely', 'dreadful', 'boring']);
      const filler = Array.from({ length: 1 + (i % 3) }, () => pick(['the', 'film', 'plot', 'was', 'a']));
      return { text: [...filler, word].join(' '), label: word === 'superb' || word === 'lovely' ? 'pos' : 'neg' };
    }),
  );
}

test('--add-words with --lora: the new words become tokens whose rows train with the adapter; evaluate --adapter widens the base; merge-adapter writes the wider model', async () => {
  await buildCli();
  const train = file('new-words-train.jsonl', newWordSentiment(48, 21));
  const evalFile = file('new-words-eval.jsonl', newWordSentiment(24, 22));
  const out = join(root, 'lora-words');
  // prettier-ignore
  const finetuneArgs = (dir: string, ...more: string[]) => ['finetune', '--task', 'cls', '--model', base, '--train', train, '--out', dir, ...more];
  const ft = cli([
    ...finetuneArgs(out, '--eval', evalFile),
    '--epochs',
    '6',
    '--batch',
    '8',
    '--lr',
    '3e-2',
    '--seed',
    '1',
    '--lora',
    'r=2,alpha=4',
    '--add-words',
    '2',
  ]);
  assert.is(ft.status, 0, ft.stderr);
  const V = VOCAB.length;
  assert.match(
    ft.stdout,
    new RegExp(`--add-words 2: 4 words seen 2\\+ times in .* added as whole tokens \\(vocabulary ${V} -> ${V + 4}\\)`),
  );
  const vocab = readFileSync(join(out, 'vocab.txt'), 'utf8').trim().split('\n');
  assert.equal(vocab.slice(0, V), VOCAB);
  assert.equal(vocab.slice(V).sort(), ['boring', 'dreadful', 'lovely', 'superb']);
  const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(config.trainable_token_indices, [V, V + 1, V + 2, V + 3]);
  const st = bg.readSafetensors(readFileSync(join(out, 'adapter_model.safetensors')));
  assert.equal(st.tensors.get('base_model.model.bert.embeddings.word_embeddings.token_adapter.trainable_tokens_delta')!.shape, [4, 16]);
  assert.is(JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')).vocab_size, V, 'the base directory is untouched');

  const viaAdapter = cli(['evaluate', '--model', base, '--adapter', out, '--data', evalFile]);
  assert.is(viaAdapter.status, 0, viaAdapter.stderr);
  const a = JSON.parse(viaAdapter.stdout);
  const labels = lines(readFileSync(evalFile, 'utf8')).map((e) => e.label);
  const majority = Math.max(...['pos', 'neg'].map((l) => labels.filter((x) => x === l).length)) / labels.length;
  assert.ok(a.accuracy > majority, `accuracy ${a.accuracy} vs majority ${majority}: the new words' rows carried the task`);
  const merged = join(root, 'merged-words');
  const mg = cli(['merge-adapter', '--model', base, '--adapter', out, '--out', merged]);
  assert.is(mg.status, 0, mg.stderr);
  assert.is(JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')).vocab_size, V + 4);
  assert.equal(readFileSync(join(merged, 'vocab.txt'), 'utf8').trim().split('\n'), vocab);
  const viaMerged = cli(['evaluate', '--model', merged, '--data', evalFile]);
  assert.is(viaMerged.status, 0, viaMerged.stderr);
  const b = JSON.parse(viaMerged.stdout);
  assert.is(b.accuracy, a.accuracy);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} via the adapter vs ${b.loss} merged`);

  // full fine-tuning with --add-words: --out is the wider model with its vocabulary
  const full = join(root, 'full-words');
  const ff = cli(finetuneArgs(full, '--steps', '2', '--add-words', '2', '--quiet'));
  assert.is(ff.status, 0, ff.stderr);
  assert.is(JSON.parse(readFileSync(join(full, 'config.json'), 'utf8')).vocab_size, V + 4);
  assert.equal(readFileSync(join(full, 'vocab.txt'), 'utf8').trim().split('\n'), vocab);
  // no word that frequent: nothing added, an adapter without token rows
  const none = join(root, 'lora-no-words');
  const nw = cli(finetuneArgs(none, '--steps', '1', '--lora', 'r=2', '--add-words', '1000'));
  assert.is(nw.status, 0, nw.stderr);
  assert.match(nw.stdout, /--add-words 1000: 0 words seen 1000\+ times/);
  assert.is(JSON.parse(readFileSync(join(none, 'adapter_config.json'), 'utf8')).trainable_token_indices, null);
  const refused = cli(finetuneArgs(join(root, 'never'), '--add-words', '2', '--features', 'scalar-mix'));
  assert.is(refused.status, 2);
  assert.match(refused.stderr, /--add-words needs rows that train: it goes with full fine-tuning or --lora, not a frozen encoder/);
  assert.not.ok(existsSync(join(root, 'never')));
});

test('fill-mask: HF pipeline shapes (one mask: a flat list; several: one list per mask); a line without [MASK] names its line', async () => {
  await buildCli();
  const r = cli(['fill-mask', '--model', base, '--top-k', '3'], { input: 'the [MASK] was good\n"[MASK] film [MASK]"\n' });
  assert.is(r.status, 0, r.stderr);
  const [one, two] = lines(r.stdout);
  assert.is(one.length, 3);
  for (const g of one) {
    assert.equal(Object.keys(g), ['score', 'token', 'token_str', 'sequence']);
    assert.is(g.token_str, VOCAB[g.token]);
  }
  assert.ok(one[0].score >= one[1].score && one[1].score >= one[2].score && one[0].score <= 1);
  const plain = one.find((g: { token_str: string }) => !g.token_str.startsWith('['));
  if (plain) assert.is(plain.sequence, `the ${plain.token_str} was good`);
  assert.is(two.length, 2);
  assert.ok(two.every((l: unknown[]) => l.length === 3));
  // several masks: the other masks stay, with the special tokens (skip_special_tokens=False, as HF)
  assert.match(two[0][0].sequence, /^\[CLS\] \S+ film \[MASK\] \[SEP\]$/);
  const bad = cli(['fill-mask', '--model', base], { input: 'the film\n' });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /stdin:1: fill-mask: no \[MASK\] in the input/);
  // the library's pipeline gives the same numbers
  await device();
  const pipe = await bg.pipeline('fill-mask', base);
  const lib = (await pipe('the [MASK] was good', { top_k: 3 })) as bg.FillMaskResult[];
  assert.equal(
    lib.map((g) => g.token),
    one.map((g: { token: number }) => g.token),
  );
  lib.forEach((g, i) => assert.ok(Math.abs(g.score - one[i].score) < 1e-6));
  pipe.dispose();
});

test('tag end to end (text + entities): finetune -> predict gives entities for text and tags for tokens', async () => {
  await buildCli();
  const train = file('ents.jsonl', entities(40, 5));
  const evalFile = file('ents-eval.jsonl', entities(12, 6));
  tagOut = join(root, 'tag');
  const ft = cli([
    'finetune',
    '--task',
    'tag',
    '--model',
    base,
    '--train',
    train,
    '--eval',
    evalFile,
    '--out',
    tagOut,
    '--epochs',
    '8',
    '--batch',
    '8',
    '--lr',
    '1e-2',
  ]);
  assert.is(ft.status, 0, ft.stderr);
  const pred = cli(['predict', '--model', tagOut], {
    input: 'the john smith lives in paris\n{"tokens": ["a", "mary", "was", "in", "paris"]}\n',
  });
  assert.is(pred.status, 0, pred.stderr);
  const [text, tokens] = lines(pred.stdout);
  const sentence = 'the john smith lives in paris';
  console.log(
    `\n  tag: ${JSON.stringify(text.entities.map((e: { entity_group: string; word: string }) => `${e.entity_group}:${e.word}`))} ${JSON.stringify(tokens.tags)}`,
  );
  assert.ok(text.entities.length > 0);
  for (const e of text.entities) {
    assert.equal(Object.keys(e).sort(), ['end', 'entity_group', 'score', 'start', 'word']);
    assert.is(sentence.slice(e.start, e.end), e.word);
  }
  assert.equal(
    text.entities.map((e: { entity_group: string; word: string }) => [e.entity_group, e.word]),
    [
      ['PER', 'john smith'],
      ['LOC', 'paris'],
    ],
  );
  assert.equal(tokens.tags, ['O', 'B-PER', 'O', 'O', 'B-LOC']);
  const f1 = Number(ft.stdout.match(/held-back \(step \d+\): accuracy [\d.]+ precision [\d.]+ recall [\d.]+ f1 ([\d.]+)/)![1]);
  assert.ok(f1 > 0.9, `entity f1 ${f1}`);
});

test('predict shapes of regression, pair, choice and qa models (task from the architecture), qa answers = context.slice(start, end)', async () => {
  await buildCli();
  await device();
  const regression = await saveTiny('regression', 'BertForSequenceClassification', 'bert', bg.getTask('regression').configFields());
  const pairLabels = { labels: ['no', 'yes'], id2label: { 0: 'no', 1: 'yes' }, label2id: { no: 0, yes: 1 } };
  const pair = await saveTiny('pair', 'RobertaForSequenceClassification', 'roberta', {
    ...bg.getTask('pair').configFields(pairLabels),
    pad_token_id: 0,
  });
  const choice = await saveTiny('choice', 'ElectraForMultipleChoice', 'electra');
  const qa = await saveTiny('qa', 'BertForQuestionAnswering');
  const r = lines(cli(['predict', '--model', regression], { input: '{"text": "good film", "pair": "the plot"}\ngreat\n' }).stdout);
  assert.ok(r.length === 2 && r.every((x) => Object.keys(x).join() === 'score' && Number.isFinite(x.score)));
  const p = lines(cli(['predict', '--model', pair], { input: '{"text": "good film", "pair": "a great film"}\n' }).stdout);
  assert.ok(['no', 'yes'].includes(p[0].label) && p[0].score >= 0.5);
  const c = lines(cli(['predict', '--model', choice], { input: '{"text": "the film was", "choices": ["good", "bad", "paris"]}\n' }).stdout);
  assert.ok(Number.isInteger(c[0].label) && c[0].scores.length === 3 && c[0].scores[c[0].label] === Math.max(...c[0].scores));
  const context = 'john smith lives in paris . mary was in the film';
  // windows of 16 tokens over the context; --allow-impossible may answer ''
  const q = cli(['predict', '--model', qa, '--max-length', '16', '--allow-impossible'], {
    input: jsonl([
      { question: 'where lives john ?', context },
      { question: 'who ?', context: 'mary' },
    ]),
  });
  assert.is(q.status, 0, q.stderr);
  const answers = lines(q.stdout);
  assert.is(answers.length, 2);
  for (const [i, a] of answers.entries()) {
    assert.equal(Object.keys(a), ['answer', 'start', 'end', 'score']);
    assert.is([context, 'mary'][i].slice(a.start, a.end), a.answer);
  }
  // --max-answer-length bounds the spans (HF run_qa's --max_answer_length)
  const questions = ['where lives john ?', 'who ?', 'what film ?', 'where was mary ?'].map((question) => ({ question, context }));
  const words = (extra: string[]) => {
    const run = cli(['predict', '--model', qa, '--max-length', '16', ...extra], { input: jsonl(questions) });
    assert.is(run.status, 0, run.stderr);
    return lines(run.stdout).map((a) => a.answer.split(' ').length);
  };
  const free = words([]);
  assert.ok(Math.max(...free) > 1, `unbounded answers of ${free} words: the bound below would not be tested`);
  assert.ok(Math.max(...words(['--max-answer-length', '1'])) === 1, 'spans longer than one token with --max-answer-length 1');
  const ev = JSON.parse(
    cli([
      'evaluate',
      '--model',
      qa,
      '--data',
      file('qa.jsonl', jsonl([{ question: 'where lives john ?', context, answers: { text: ['paris'], answer_start: [20] } }])),
    ]).stdout,
  );
  assert.equal(Object.keys(ev).sort(), ['exact_match', 'f1', 'loss', 'total']);
});

test('adapter files of a run load onto the bare base with their head: the same held-back loss (the loaded head is not the fresh one)', async () => {
  await device();
  const task = bg.getTask('cls');
  const train = task.read(readFileSync(join(root, 'train.jsonl'), 'utf8'), 'train.jsonl');
  const evalSet = task.read(readFileSync(join(root, 'eval.jsonl'), 'utf8'), 'eval.jsonl');
  const labels = task.labelSet!(train);
  const { model, tokenizer } = await bg.taskModelFrom(base, 'cls', labels);
  const run = bg.finetune({
    task: 'cls',
    model,
    tokenizer: tokenizer!,
    train,
    labels,
    steps: 4,
    batchSize: 8,
    lr: 6e-2,
    lora: { r: 2, alpha: 4 },
  });
  await run.run();
  const trained = await run.evaluate(evalSet);
  const tm = await bg.loadTaskModel(base, { adapter: await run.adapterFiles() });
  const loaded = await tm.evaluate(evalSet);
  assert.ok(Math.abs(trained.loss - loaded.loss) < 1e-5, `loss ${trained.loss} trained vs ${loaded.loss} loaded`);
  const head = async (m: bg.PreTrainedModel) => [
    ...(await m
      .namedParameters()
      .find(([n]) => n === 'classifier.weight')![1]
      .toArray()),
  ];
  assert.equal(await head(tm.model), await head(model));
  tm.dispose();
  run.dispose();
  model.dispose();
});

test('pipelines (library): text-classification, token-classification, question-answering, feature-extraction shaped as transformers.js', async () => {
  await device();
  const cls = await bg.pipeline('text-classification', clsOut);
  const one = await cls('the film was great');
  assert.is(one.length, 1);
  assert.equal(Object.keys(one[0]), ['label', 'score']);
  assert.is(one[0].label, 'pos');
  const many = (await cls(['great', 'awful'])) as bg.LabelScore[];
  assert.equal(
    many.map((x) => x.label),
    ['pos', 'neg'],
  );
  const both = (await cls(['great', 'awful'], { top_k: 2 })) as bg.LabelScore[][];
  assert.ok(both.length === 2 && both.every((l) => l.length === 2));
  cls.dispose();
  const ner = await bg.pipeline('token-classification', tagOut);
  const grouped = await ner('a mary smith was in paris', { aggregation_strategy: 'simple' });
  assert.equal(
    grouped.map((e) => [(e as bg.EntityGroup).entity_group, e.word, e.start, e.end]),
    [
      ['PER', 'mary smith', 2, 12],
      ['LOC', 'paris', 20, 25],
    ],
  );
  const tokens = (await ner('a mary smith was in paris')) as bg.TokenEntity[];
  assert.equal(
    tokens.map((e) => [e.entity, e.index]),
    [
      ['B-PER', 2],
      ['I-PER', 3],
      ['B-LOC', 6],
    ],
  );
  ner.dispose();
  const qa = await bg.pipeline('question-answering', join(root, 'qa'));
  const context = 'john smith lives in paris';
  const a = await qa('where lives john ?', context);
  assert.equal(Object.keys(a), ['answer', 'score', 'start', 'end']);
  assert.is(context.slice(a.start, a.end), a.answer);
  qa.dispose();
  // a masked-LM directory is not a task model: said plainly
  try {
    await bg.loadTaskModel(base);
    assert.unreachable('a masked-LM directory loads as a task model');
  } catch (err) {
    assert.match((err as Error).message, /is a BertForMaskedLM, not a fine-tuned task model/);
  }
  const tm = await bg.loadTaskModel(tagOut);
  const tagEval = await tm.evaluate(tm.task.read(readFileSync(join(root, 'ents-eval.jsonl'), 'utf8'), 'ents-eval.jsonl'));
  assert.equal(Object.keys(tagEval.metrics).sort(), ['accuracy', 'f1', 'precision', 'recall']);
  tm.dispose();
  const loaded = await bg.fromPretrained(base);
  const fe = await bg.pipeline('feature-extraction', loaded);
  const none = await fe(['good film', 'the plot was bad']);
  assert.equal(none.dims, [2, 6, 16]);
  const mean = await fe(['good film', 'the plot was bad'], { pooling: 'mean' });
  assert.equal(mean.dims, [2, 16]);
  // mean pooling = the average over the 4 real tokens of "good film" (padding left out)
  const rows = none.tolist() as number[][][];
  const manual = rows[0][0].map((_, h) => (rows[0][0][h] + rows[0][1][h] + rows[0][2][h] + rows[0][3][h]) / 4);
  manual.forEach((v, h) => assert.ok(Math.abs(v - mean.data[h]) < 1e-5));
  const unit = await fe('good film', { pooling: 'cls', normalize: true });
  assert.ok(Math.abs(Math.hypot(...unit.data) - 1) < 1e-5);
  fe.dispose();
  loaded.model.dispose();
});

test.run();
