// LoRA r = 8 on query / value next to full fine-tuning (issue 15, must-show 1), on the
// fine-tuning results' sentiment setup: train on imdb + amazon, test on yelp (UCI sentences,
// a seeded sample of --limit per file). Both runs start from the same pre-trained directory
// and take their steps interleaved in one process (full, LoRA, full, LoRA, ...), each step
// synchronised and timed, so both see the same machine load. Reports trainable parameters as a
// share of the total, yelp accuracy after the last epoch, median step time, and the adapter's
// file size (PEFT's two files) next to the full model's.
//
// Data: npm sentiment@5.0.2's fixtures (a devDependency: node_modules/sentiment/test/fixtures)
// Usage: node bench/continual/lora-vs-full.mjs --lib .bench-out/continual/dist [--model .test-build-exp/runs/bert]
//   [--limit 250] [--epochs 2] [--lr 1e-3] [--lora-lr 5e-3] [--r 8] [--targets query,value]
//   [--modules-to-save word_embeddings] [--add-words 2] [--json FILE]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadLib, machine, shuffled, table, writeJson } from '../finetune/common.mjs';

const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: '.bench-out/continual/dist' },
    data: { type: 'string', default: 'node_modules/sentiment/test/fixtures' },
    model: { type: 'string', default: '.test-build-exp/runs/bert' },
    limit: { type: 'string', default: '250' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '1e-3' },
    'lora-lr': { type: 'string', default: '5e-3' },
    r: { type: 'string', default: '8' },
    targets: { type: 'string', default: 'query,value' },
    // PEFT modules_to_save beyond the head, e.g. word_embeddings (trained in full, saved with the adapter)
    'modules-to-save': { type: 'string', default: '' },
    // words seen at least this many times in the training sentences become whole tokens (addWords);
    // a third run then trains their embedding rows with the adapter (PEFT trainable_token_indices)
    'add-words': { type: 'string' },
    'max-length': { type: 'string', default: '64' },
    seed: { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});
const [limit, epochs, batchSize, maxLength, seed] = [+o.limit, +o.epochs, +o.batch, +o['max-length'], +o.seed];
const bg = await loadLib(o.lib);
const task = bg.getTask('cls');
const sample = (name, k) => {
  // the fixtures end with an empty {"text": "", "class": null} entry
  const rows = JSON.parse(readFileSync(`${o.data}/${name}.json`, 'utf8')).filter((r) => r.class !== null);
  const text = rows.map((r) => JSON.stringify({ text: r.text.trim(), label: r.class === 1 ? 'pos' : 'neg' })).join('\n');
  return shuffled(task.read(text, `${name}.jsonl`), seed * 10 + k).slice(0, limit);
};
const train = [...sample('imdb', 1), ...sample('amazon', 2)];
const test = sample('yelp', 3);
const labels = task.labelSet(train);

// --add-words: the base with the training sentences' repeated words as whole tokens, written
// beside it (the fine-tune page's recipe); every run starts from that directory
let modelDir = o.model;
let addedIds = null;
if (o['add-words']) {
  const read = (f) => readFileSync(`${o.model}/${f}`);
  const x = bg.addWords(
    { vocab: read('vocab.txt').toString(), config: read('config.json').toString(), weights: new Uint8Array(read('model.safetensors')) },
    bg.repeatedWords(
      train.map((e) => e.text),
      +o['add-words'],
    ),
  );
  modelDir = `${o.model}-words${o['add-words']}`;
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(`${modelDir}/vocab.txt`, x.vocab);
  writeFileSync(`${modelDir}/config.json`, x.config);
  writeFileSync(`${modelDir}/model.safetensors`, x.weights);
  addedIds = x.ids;
  console.error(`${x.added.length} words added as whole tokens -> ${modelDir}`);
}

await bg.init();
const rt = bg.runtime();
const rows = [];
const runs = [];
const extraSaved = o['modules-to-save'] ? o['modules-to-save'].split(',') : [];
const saveModules = extraSaved.length ? { modulesToSave: ['classifier', ...extraSaved] } : {};
const loraOptions = { r: +o.r, alpha: 2 * +o.r, dropout: 0, targetModules: o.targets.split(','), ...saveModules };
for (const [name, lr, lora] of [
  ['full', +o.lr, undefined],
  ['lora', +o['lora-lr'], loraOptions],
  ...(addedIds ? [['lora+tokens', +o['lora-lr'], { ...loraOptions, trainableTokenIndices: addedIds }]] : []),
]) {
  const { model, tokenizer } = await bg.taskModelFrom(modelDir, 'cls', labels, { seed });
  const run = bg.finetune({ task: 'cls', model, tokenizer, train, labels, epochs, batchSize, lr, maxLength, seed, lora, logEvery: 10 });
  const total = model.namedParameters().reduce((a, [, t]) => a + t.size, 0);
  const trainable = run.trainer.objective.namedParameters().reduce((a, [, t]) => a + t.size, 0);
  runs.push({ name, lr, run, model, total, trainable, times: [] });
}
const steps = runs[0].run.trainer.options.steps;
for (let s = 0; s < steps; s++) {
  for (const r of runs) {
    const t0 = performance.now();
    await r.run.trainer.trainStep();
    await rt.sync();
    r.times.push(performance.now() - t0);
  }
  if ((s + 1) % 10 === 0)
    console.error(`step ${s + 1}/${steps}: ${runs.map((r) => `${r.name} ${r.times.at(-1).toFixed(0)} ms`).join(', ')}`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const r of runs) {
  const e = await r.run.evaluate(test);
  const files = r.name === 'full' ? await r.run.modelFiles() : await r.run.adapterFiles();
  const bytes = Object.values(files).reduce((a, f) => a + f.byteLength, 0);
  rows.push({
    run:
      r.name === 'full'
        ? 'full fine-tuning'
        : `LoRA r=${o.r} (${o.targets.split(',').join(', ')}) + head${extraSaved.map((m) => ` + ${m}`).join('')}${
            r.name === 'lora+tokens' ? ` + the ${addedIds.length} added words' rows` : ''
          }`,
    lr: r.lr,
    'trainable parameters': `${r.trainable} of ${r.total} (${((100 * r.trainable) / r.total).toFixed(2)}%)`,
    'yelp accuracy': e.metrics.accuracy,
    'median step': `${median(r.times).toFixed(0)} ms`,
    'files written': `${(bytes / 1024).toFixed(1)} KiB (${Object.keys(files).join(', ')})`,
    times: r.times,
    metrics: e.metrics,
  });
  r.run.dispose();
  r.model.dispose();
}
// the honest baseline on the same split: bag-of-words logistic regression (as the sentiment table's)
const bow = bg.trainBowClassifier(
  train.map((e) => e.text),
  train.map((e) => e.label),
  { seed },
);
const bowAccuracy = test.filter((e) => bow.predict(e.text) === e.label).length / test.length;
const majority = Math.max(...['pos', 'neg'].map((l) => test.filter((e) => e.label === l).length)) / test.length;
console.log(table(rows, ['run', 'lr', 'trainable parameters', 'yelp accuracy', 'median step', 'files written']));
console.log(
  `\n${train.length} training sentences, ${test.length} yelp test sentences (majority ${majority.toFixed(3)}, bag of words ${bowAccuracy.toFixed(3)}), ${steps} steps each, interleaved`,
);
console.log(JSON.stringify(machine()));
if (o.json)
  writeJson(o.json, {
    settings: { limit, epochs, batchSize, maxLength, seed, model: o.model, steps },
    majority,
    bagOfWords: bowAccuracy,
    rows,
    machine: machine(),
  });
