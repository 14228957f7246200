// Tagging (issue 14, must-show 2): Penn POS tags, trained on the WSJ sample and tested on OANC
// sentences (another corpus: news -> mixed American English), token accuracy against the
// most-frequent-tag-per-word baseline (unknown words get the most frequent tag overall).
// Lines longer than --chunk words are cut into pieces of at most that many, so that no word is
// lost to the model's max length (the baseline sees the same pieces).
//
// Data: Debian python3-pattern's test corpora (personal-use licence: extract, never commit):
//   cd /tmp/pattern && apt-get download python3-pattern && dpkg -x python3-pattern_*.deb .
// Usage: node bench/finetune/tagging.mjs --lib .test-build-exp/dist
//   --corpora /tmp/pattern/usr/share/doc/python3-pattern/test/corpora [--test-lines 1000]
//   [--work DIR] [--epochs 2] [--rows baseline,random-full,bert-full] [--json FILE] [--limit N (WSJ lines; a quick check)]
//   [--vocab-from-train N [--cased] [--dropout X] [--weight-decay X] [--dev-fraction 0.1] [--patience P]
//   [--label-all-tokens] [--rescore (predict again with the model these arguments trained)]] (the fresh-full row)
// The pre-trained BERT is sentiment.mjs's (WORK/bert; pre-trained here if missing).
// fresh-full: bert-tiny freshly initialised with a WordPiece vocabulary of --vocab-from-train pieces fitted to the
// WSJ training pieces alone (never OANC), fine-tuned with the last --dev-fraction of WSJ's pieces as --eval: the
// model kept is the best by WSJ dev accuracy (early stopping with --patience), so nothing is chosen on OANC.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  bertgpu,
  cliFineTuneRow,
  exampleLines,
  fineTuneRow,
  loadLib,
  loadRows,
  machine,
  pretrain,
  randomModelDir,
  saveRow,
  table,
  taskModel,
  writeJson,
} from './common.mjs';

const ROWS = ['baseline', 'random-full', 'bert-full', 'electra-full', 'fresh-full'];
const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist' },
    corpora: { type: 'string', default: '/tmp/pattern/usr/share/doc/python3-pattern/test/corpora' },
    work: { type: 'string', default: '.test-build-exp/runs' },
    'pretrain-steps': { type: 'string', default: '100' },
    'test-lines': { type: 'string', default: '1000' },
    chunk: { type: 'string', default: '40' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '1e-3' },
    'max-length': { type: 'string', default: '128' },
    seed: { type: 'string', default: '0' },
    limit: { type: 'string' },
    'vocab-from-train': { type: 'string', default: '4000' },
    cased: { type: 'boolean', default: false },
    'dev-fraction': { type: 'string', default: '0.1' },
    patience: { type: 'string' },
    'label-all-tokens': { type: 'boolean', default: false },
    dropout: { type: 'string', default: '0.1' },
    'weight-decay': { type: 'string', default: '0.01' },
    rescore: { type: 'boolean', default: false },
    rows: { type: 'string', default: 'baseline,random-full,bert-full' },
    via: { type: 'string', default: 'cli' },
    json: { type: 'string' },
  },
});
const rows = o.rows.split(',');
for (const r of rows) if (!ROWS.includes(r)) throw new Error(`--rows: unknown row '${r}' (rows: ${ROWS.join(', ')})`);
const [epochs, batchSize, lr, maxLength, seed, chunk] = [+o.epochs, +o.batch, +o.lr, +o['max-length'], +o.seed, +o.chunk];

const bg = await loadLib(o.lib);
/** word/TAG lines -> {tokens, tags} JSON lines of at most `chunk` words. */
function sentences(file, maxLines) {
  const text = readFileSync(`${o.corpora}/${file}`, 'utf8').split('\n').slice(0, maxLines).join('\n');
  return bg
    .parseSlashTagged(text, file)
    .flatMap(({ value: { tokens, tags } }) => {
      const pieces = [];
      for (let i = 0; i < tokens.length; i += chunk)
        pieces.push(JSON.stringify({ tokens: tokens.slice(i, i + chunk), tags: tags.slice(i, i + chunk) }));
      return pieces;
    })
    .join('\n');
}
const task = bg.getTask('tag');
const train = task.read(sentences('tagged-en-wsj.txt', o.limit ? +o.limit : Infinity), 'wsj.jsonl');
// fresh-full holds WSJ's last pieces back as its dev set (the other rows and the baseline train on all of WSJ)
const fresh = rows.includes('fresh-full');
const devCount = Math.round(train.length * +o['dev-fraction']);
const head = train.slice(0, train.length - devCount);
const headTags = new Set(head.flatMap((e) => e.tags));
// a dev piece with a tag the training pieces lack (`bertgpu finetune` refuses it) trains instead
const tail = train.slice(train.length - devCount);
const dev = tail.filter((e) => e.tags.every((t) => headTags.has(t)));
const freshTrain = [...head, ...tail.filter((e) => !dev.includes(e))];
const test = task.read(sentences('tagged-en-oanc.txt', +o['test-lines']), 'oanc.jsonl');
// the tag inventory of both files (Penn's): a test tag never seen in training simply cannot be predicted
const labels = task.labelSet([...train, ...test]);
const words = (exs) => exs.reduce((n, e) => n + e.words.length, 0);
const settings = {
  epochs,
  batchSize,
  lr,
  maxLength,
  chunk,
  seed,
  train: { pieces: train.length, words: words(train) },
  ...(fresh
    ? {
        freshTrain: { pieces: freshTrain.length, words: words(freshTrain) },
        dev: { pieces: dev.length, words: words(dev) },
        vocabFromTrain: +o['vocab-from-train'],
        cased: o.cased,
        patience: o.patience ? +o.patience : null,
        labelAllTokens: o['label-all-tokens'],
        dropout: +o.dropout,
        weightDecay: +o['weight-decay'],
      }
    : {}),
  test: { lines: +o['test-lines'], pieces: test.length, words: words(test) },
  tags: labels.labels.length,
};
// the fine-tuning rows run through `bertgpu finetune` / `bertgpu predict` (--via cli; scored here, as OANC's '"'
// tag is not among WSJ's and `bertgpu evaluate` refuses a tag the model does not have) or the library (--via api)
if (!['cli', 'api'].includes(o.via)) throw new Error(`--via must be cli or api, got '${o.via}'`);
const out = `${o.work}/tagging-test${o['test-lines']}${o.via === 'cli' ? `-cli-e${epochs}` : ''}`;
// the fresh model's directory is per vocabulary and dropout; its row also per weight decay, lr and label-all-tokens
const freshName = `fresh-v${o['vocab-from-train']}${o.cased ? '-cased' : ''}-d${o.dropout}`;
const freshRun = `${freshName.slice('fresh-'.length)}-wd${o['weight-decay']}-lr${o.lr}${o['label-all-tokens'] ? '-lat' : ''}`;

/** The baseline: each WSJ word's most frequent tag (all of WSJ), the most frequent tag overall for other words. */
const counts = new Map();
const overall = new Map();
for (const e of train)
  e.words.forEach((w, i) => {
    const c = counts.get(w) ?? new Map();
    counts.set(w, c.set(e.tags[i], (c.get(e.tags[i]) ?? 0) + 1));
    overall.set(e.tags[i], (overall.get(e.tags[i]) ?? 0) + 1);
  });
const top = (m) => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
const fallback = top(overall);
const tagOf = (w) => (counts.has(w) ? top(counts.get(w)) : fallback);

/** Accuracy on OANC's words, and split by whether the word occurs in WSJ (all of it) or not. */
const seen = new Set(train.flatMap((e) => e.words));
function scoreWords(predicted) {
  const c = { all: [0, 0], seen: [0, 0], unseen: [0, 0] };
  test.forEach((e, i) =>
    e.tags.forEach((t, k) => {
      const ok = predicted(i, k) === t ? 1 : 0;
      for (const key of ['all', seen.has(e.words[k]) ? 'seen' : 'unseen']) {
        c[key][0] += ok;
        c[key][1]++;
      }
    }),
  );
  return {
    accuracy: c.all[0] / c.all[1],
    seenAccuracy: c.seen[0] / c.seen[1],
    unseenAccuracy: c.unseen[0] / c.unseen[1],
    unseenShare: c.unseen[1] / c.all[1],
  };
}

/**
 * A model's OANC scores; also `lexiconBackoff`: the baseline's tag for words seen in WSJ and the model's for
 * the rest (a combination, reported as such: it shows what the model adds on the words the lexicon lacks).
 */
function modelMetrics(predictions) {
  const m = scoreWords((i, k) => predictions[i].tags[k]);
  const backoff = scoreWords((i, k) => (counts.has(test[i].words[k]) ? tagOf(test[i].words[k]) : predictions[i].tags[k]));
  return { ...m, lexiconBackoff: backoff.accuracy };
}

/** A fresh bert-tiny directory whose WordPiece vocabulary is fitted to WSJ's first pieces (neither the dev tail nor OANC). */
async function freshModelDir(dir) {
  if (existsSync(`${dir}/model.safetensors`)) return dir;
  const tokenizer = bg.trainWordPiece(
    head.map((e) => e.words.join(' ')),
    { vocabSize: +o['vocab-from-train'], lowercase: !o.cased },
  );
  const config = bg.presetConfig('bert-tiny', {
    vocab_size: tokenizer.vocab.length,
    pad_token_id: tokenizer.vocab.indexOf('[PAD]'),
    hidden_dropout_prob: +o.dropout,
    attention_probs_dropout_prob: +o.dropout,
  });
  const model = bg.createModel('BertForMaskedLM', config, { generator: new bg.Generator(seed + 1) });
  await bg.savePretrained(model, dir, null);
  // tokenizer.json, not vocab.txt: a vocab.txt alone is read back lowercased (BERT's default), losing --cased
  writeFileSync(`${dir}/tokenizer.json`, JSON.stringify(tokenizer.toTokenizerJson()));
  model.dispose();
  return dir;
}
/** Pieces per word and the share of whole-word pieces under a model directory's tokenizer (train, test). */
async function splitStats(dir) {
  const tokenizer = existsSync(`${dir}/vocab.txt`)
    ? bg.WordPieceTokenizer.fromVocabText(readFileSync(`${dir}/vocab.txt`, 'utf8'))
    : bg.WordPieceTokenizer.fromTokenizerJson(readFileSync(`${dir}/tokenizer.json`, 'utf8'));
  const stat = (exs) => {
    let pieces = 0,
      n = 0,
      whole = 0;
    for (const e of exs)
      for (const w of e.words) {
        const k = tokenizer.tokenize(w).length;
        pieces += k;
        n++;
        if (k === 1) whole++;
      }
    return { piecesPerWord: +(pieces / n).toFixed(3), wholeWords: +(whole / n).toFixed(3) };
  };
  return { vocab: tokenizer.vocab.length, train: stat(freshTrain), test: stat(test) };
}

const pretrained = {};
for (const [name, objective] of [
  ['bert', 'mlm-nsp'],
  ['electra', 'electra'],
]) {
  if (!rows.some((r) => r.startsWith(name) || (name === 'bert' && r.startsWith('random')))) continue;
  const dir = `${o.work}/${name}`;
  pretrained[name] = { dir, ...pretrain({ lib: o.lib, objective, out: dir, steps: +o['pretrain-steps'] }) };
}

await bg.init();
for (const row of rows) {
  const t0 = Date.now();
  let result;
  if (row === 'baseline') {
    result = { name: row, metrics: scoreWords((i, k) => tagOf(test[i].words[k])), fallback };
  } else if (o.via === 'cli') {
    const [source] = row.split('-');
    const modelDir =
      source === 'fresh'
        ? await freshModelDir(`${o.work}/${freshName}-seed${seed}${o.limit ? `-limit${o.limit}` : ''}`)
        : source === 'random'
          ? await randomModelDir(bg, pretrained.bert.dir, `${o.work}/bert-random`, seed)
          : pretrained[source].dir;
    // the training pieces only: the label set is WSJ's, as `bertgpu finetune` finds it
    const hyper = { epochs, batchSize, lr, maxLength, seed };
    const flags = [];
    if (source === 'fresh') {
      const devFile = `${out}/wsj-dev.jsonl`;
      mkdirSync(out, { recursive: true });
      writeFileSync(devFile, exampleLines(dev));
      flags.push('--eval', devFile, '--weight-decay', o['weight-decay'], ...(o.patience ? ['--patience', o.patience] : []));
      if (o['label-all-tokens']) flags.push('--label-all-tokens');
    }
    const name = source === 'fresh' ? `${row}-${freshRun}` : row;
    if (o.rescore && source === 'fresh') {
      // the model these arguments trained, predicted again and scored anew (its training record kept)
      const kept = JSON.parse(readFileSync(`${out}/${name}.json`, 'utf8'));
      const length = ['--max-length', String(maxLength)];
      const args = ['predict', '--model', `${out}/${name}/model`, '--input', `${out}/${name}/test.jsonl`, ...length];
      const predictions = bertgpu(o.lib, args, { capture: true })
        .stdout.trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      writeFileSync(`${out}/${name}/predictions.jsonl`, predictions.map((p) => JSON.stringify(p)).join('\n') + '\n');
      writeJson(`${out}/${name}.json`, { ...kept, metrics: modelMetrics(predictions), split: await splitStats(modelDir) });
      console.error(`${name}: ${JSON.stringify(modelMetrics(predictions))} (rescored)`);
      continue;
    }
    const rowTrain = source === 'fresh' ? freshTrain : train;
    const r = cliFineTuneRow({
      lib: o.lib,
      dir: out,
      name,
      task: 'tag',
      modelDir,
      train: rowTrain,
      test,
      ...hyper,
      flags,
      predictOnly: true,
    });
    const { predictions, ...kept } = r;
    writeFileSync(`${out}/${name}/predictions.jsonl`, predictions.map((p) => JSON.stringify(p)).join('\n') + '\n');
    result = { ...kept, name, split: await splitStats(modelDir), metrics: modelMetrics(predictions) };
    if (source === 'fresh') {
      const log = readFileSync(`${out}/${name}/log.jsonl`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // every WSJ dev evaluation, and the one whose model was kept (the best by dev accuracy)
      result.dev = log.filter((l) => l.eval && !l.final).map((e) => ({ step: e.step, epoch: e.epoch, accuracy: e.accuracy, loss: e.loss }));
      result.kept = log.find((l) => l.final);
    }
  } else {
    const [source] = row.split('-');
    const { model, tokenizer } = await taskModel(bg, {
      dir: pretrained[source === 'random' ? 'bert' : source].dir,
      task: 'tag',
      labels,
      seed,
      random: source === 'random',
    });
    result = await fineTuneRow(bg, {
      name: row,
      task: 'tag',
      model,
      tokenizer,
      train,
      test,
      labels,
      epochs,
      batchSize,
      lr,
      maxLength,
      seed,
      metric: 'accuracy',
    });
    model.dispose();
  }
  saveRow(out, result, settings, t0);
}

// fresh-full rows are kept per vocabulary (fresh-full-v4000, fresh-full-v4000-cased, ...)
const freshRows = readdirSync(out)
  .filter((f) => /^fresh-full-.*\.json$/.test(f))
  .map((f) => f.slice(0, -5))
  .sort();
const all = loadRows(out, [...ROWS, ...freshRows]);
const DESCRIPTIONS = {
  baseline: 'most frequent tag per word (unknown: overall)',
  'random-full': 'random init, full fine-tuning',
  'bert-full': 'pre-trained BERT (mlm-nsp), full fine-tuning',
  'electra-full': 'pre-trained ELECTRA, full fine-tuning',
};
console.log(
  `train: WSJ ${settings.train.words} words (${train.length} pieces); test: OANC's first ${o['test-lines']} lines, ${settings.test.words} words`,
);
console.log(
  table(
    all.map((r) => ({
      row:
        DESCRIPTIONS[r.name] ??
        `fresh bert-tiny, ${r.settings.vocabFromTrain}-piece ${r.settings.cased ? 'cased ' : ''}WSJ vocabulary, dropout ${r.settings.dropout ?? 0.1}, wd ${r.settings.weightDecay ?? 0.01}, lr ${r.settings.lr}${r.settings.labelAllTokens ? ', label all tokens' : ''}; best of ${r.dev.length} WSJ dev evaluations`,
      'OANC token accuracy': r.metrics.accuracy,
      'seen in WSJ': r.metrics.seenAccuracy,
      unseen: r.metrics.unseenAccuracy,
      'WSJ words: lexicon, others: model': r.metrics.lexiconBackoff,
      'per epoch': r.perEpoch?.map((e) => e.accuracy.toFixed(3)).join(' ') ?? r.dev?.map((e) => e.accuracy.toFixed(3)).join(' '),
      'wall s': Math.round(r.seconds),
    })),
    ['row', 'OANC token accuracy', 'seen in WSJ', 'unseen', 'WSJ words: lexicon, others: model', 'per epoch', 'wall s'],
  ),
);
if (o.json) writeJson(o.json, { experiment: 'tagging', settings, pretrained, rows: all, machine: machine() });
