// A task's words added to the vocabulary (addWords: HF add_tokens + resize_token_embeddings) on
// hand-made files with known rows; and a LoRA run that trains those rows (PEFT's
// trainable_token_indices): only the new rows move, the frozen rows stay bit-identical, and the
// adapter file carries them, reloading to the same predictions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { device, rng, tinyBertConfig } from './helpers.js';

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function weightsFile(rows: number[][], extra: Record<string, { data: Float32Array; shape: number[] }> = {}) {
  const H = rows[0].length;
  return bg.writeSafetensors(
    { 'bert.embeddings.word_embeddings.weight': { data: Float32Array.from(rows.flat()), shape: [rows.length, H] }, ...extra },
    { format: 'pt' },
  );
}

test('addWords: new whole tokens at the end of vocab.txt, rows the mean of their pieces, MLM head dropped; repeatedWords counts', () => {
  const vocab = [...SPECIAL, 'good', 'b', '##a', '##d'].join('\n') + '\n';
  const rows = Array.from({ length: 9 }, (_, i) => [i, 10 * i]);
  const config = JSON.stringify({ model_type: 'bert', vocab_size: 9, hidden_size: 2 });
  const cls = { 'cls.predictions.bias': { data: new Float32Array(9), shape: [9] } };
  const x = bg.addWords({ vocab, config, weights: weightsFile(rows, cls) }, ['Good', 'bad', 'x1', 'Bad', 'bad']);
  assert.equal(x.added, ['bad'], "'good' is in the vocabulary; 'x1' is not letters; case folded, no repeats");
  assert.equal(x.ids, [9]);
  assert.ok(x.vocab.endsWith('##d\nbad\n'));
  assert.is(JSON.parse(x.config).vocab_size, 10);
  const t = bg.readSafetensors(x.weights).tensors;
  assert.equal([...t.keys()], ['bert.embeddings.word_embeddings.weight']);
  const emb = t.get('bert.embeddings.word_embeddings.weight')!;
  assert.equal(emb.shape, [10, 2]);
  // b, ##a, ##d are rows 6, 7, 8: their mean is (7, 70)
  assert.equal([...emb.data.slice(18)], [7, 70]);
  assert.equal([...emb.data.slice(0, 18)], rows.flat());
  const tok = bg.WordPieceTokenizer.fromVocabText(x.vocab);
  assert.equal(tok.encode('bad good', null, { addSpecialTokens: false }).inputIds, [9, 5]);
  assert.throws(
    () => bg.addWords({ vocab, config: JSON.stringify({ vocab_size: 12 }), weights: null }, ['bad']),
    /addWords: vocab.txt has 9 tokens but config.json's vocab_size is 12/,
  );
  assert.equal(bg.repeatedWords(['a b a', 'B c'], 2).sort(), ['a', 'b']);
});

/** Sentiment from one word (good / great vs bad / awful) among fillers. */
function sentiment(n: number, seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const word = pick(['good', 'great', 'bad', 'awful']);
    const filler = Array.from({ length: 1 + (i % 3) }, () => pick(['the', 'film', 'plot', 'was', 'a']));
    return JSON.stringify({ text: [...filler, word].join(' '), label: word === 'good' || word === 'great' ? 'pos' : 'neg' });
  }).join('\n');
}

test('LoRA with the added words as trainable token rows: only those rows train, the adapter carries them, a resized base reloads it', async () => {
  await device();
  // a vocabulary that spells the sentiment words in letters
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  const vocabList = [...SPECIAL, 'the', 'film', 'plot', 'was', 'a', ...letters, ...letters.map((l) => `##${l}`)];
  const task = bg.getTask('cls');
  const trainText = sentiment(48, 1);
  const train = task.read(trainText, 'train.jsonl');
  const evalSet = task.read(sentiment(24, 2), 'eval.jsonl');
  const labels = task.labelSet!(train);
  const config = tinyBertConfig({ vocab_size: vocabList.length });
  const base = bg.createModel('BertForMaskedLM', config, { generator: new bg.Generator(3) });
  const files = await bg.exportPretrained(base);
  base.dispose();
  const texts = train.map((e: any) => e.text as string);
  const x = bg.addWords(
    { vocab: vocabList.join('\n'), config: new TextDecoder().decode(files['config.json']), weights: files['model.safetensors'] },
    bg.repeatedWords(texts, 2),
  );
  assert.equal([...x.added].sort(), ['awful', 'bad', 'good', 'great']);
  const tokenizer = bg.WordPieceTokenizer.fromVocabText(x.vocab);
  const load = async () =>
    (
      await bg.fromPretrained(
        { config: x.config, weights: x.weights },
        {
          architecture: 'BertForSequenceClassification',
          allowMissing: true,
          config: task.configFields(labels),
          generator: new bg.Generator(4),
        },
      )
    ).model;
  const model = await load();
  const word = () =>
    model
      .namedParameters()
      .find(([n]) => n === 'bert.embeddings.word_embeddings.weight')![1]
      .toArray();
  const before = await word();
  const run = bg.finetune({
    task: 'cls',
    model,
    tokenizer,
    train,
    eval: evalSet,
    labels,
    epochs: 6,
    batchSize: 8,
    lr: 3e-2,
    seed: 1,
    lora: { r: 2, alpha: 4, trainableTokenIndices: x.ids },
  });
  await run.run();
  const trained = run.trainer.optimizer.parameters.map((p) => p.name);
  assert.ok(trained.includes('base_model.model.bert.embeddings.word_embeddings.token_adapter.trainable_tokens_delta'), trained.join(', '));
  const H = 16;
  const V = vocabList.length;
  assert.equal([...(await word())], [...before], 'the base embedding is untouched while the adapter is unmerged');
  const files2 = await run.adapterFiles();
  const delta = bg
    .readSafetensors(files2['adapter_model.safetensors'])
    .tensors.get('base_model.model.bert.embeddings.word_embeddings.token_adapter.trainable_tokens_delta')!;
  assert.equal(delta.shape, [4, H]);
  const moved = x.ids.map((id, k) => Math.max(...delta.data.slice(k * H, (k + 1) * H).map((v, h) => Math.abs(v - before[id * H + h]))));
  assert.ok(
    moved.every((d) => d > 1e-3),
    `every added row trained: ${moved.map((d) => d.toFixed(4)).join(', ')}`,
  );
  assert.equal(JSON.parse(new TextDecoder().decode(files2['adapter_config.json'])).trainable_token_indices, [V, V + 1, V + 2, V + 3]);
  const want = await run.evaluate(evalSet);
  const majority = Math.max(...['pos', 'neg'].map((l) => evalSet.filter((e: any) => e.label === l).length)) / evalSet.length;
  console.log(`\n  LoRA + trained word rows: held-back accuracy ${want.metrics.accuracy} (majority ${majority.toFixed(3)})`);
  assert.ok((want.metrics.accuracy ?? 0) > majority, `accuracy ${want.metrics.accuracy} vs majority ${majority}`);

  // a second copy of the resized base, with the adapter loaded from its files, predicts the same
  const other = await load();
  const lora = new bg.LoraModel(other, null);
  lora.loadAdapter(files2);
  const got = await bg.evaluateExamples(task, other, evalSet, { tokenizer, labels, maxLength: run.options.maxLength });
  assert.is(got.metrics.accuracy, want.metrics.accuracy);
  assert.ok(Math.abs(got.loss - want.loss) < 1e-6, `loss ${got.loss} vs ${want.loss}`);
  run.dispose();
  lora.dispose();
  model.dispose();
  other.dispose();
});

test.run();
