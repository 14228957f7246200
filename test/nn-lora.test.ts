// LoRA adapters: PEFT's math against a plain-torch fixture (outputs, gradients of lora_A /
// lora_B and the saved classifier), PEFT's file layout key for key, merge / unmerge, save -> load
// bit for bit, several adapters on one base, and a frozen base that runs no gradient kernels.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { fromPretrained } from '../src/io/pretrained.js';
import { LoraModel, parseAdapterConfig } from '../src/nn/lora.js';
import { AdamW } from '../src/optim/adamw.js';
import type { PreTrainedModel } from '../src/models/tasks.js';
import { device } from './helpers.js';
import { compareOutputs } from './golden.js';

const BASE = 'test/fixtures/models/BertForSequenceClassification';
const LORA = 'test/fixtures/lora/BertForSequenceClassification';
const TOKENS = 'test/fixtures/lora/BertForSequenceClassification-tokens';
const TOKEN_IDS = [52, 7, 0, 95, 98]; // gen.py's: 52 twice in the inputs, 0 the padding id, 98 absent
const DELTA_KEY = 'base_model.model.bert.embeddings.word_embeddings.token_adapter.trainable_tokens_delta';

function tensors(path: string) {
  return bg.readSafetensors(readFileSync(path), path).tensors;
}

function adapterFiles(dir = LORA): Record<string, Uint8Array> {
  return Object.fromEntries(
    ['adapter_config.json', 'adapter_model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]),
  );
}

/** The fixture's inputs as model tensors. */
function inputs() {
  const t = tensors(join(BASE, 'inputs.safetensors'));
  const get = (k: string) => t.get(k)!;
  return {
    input_ids: bg.tensor(get('input_ids').data, get('input_ids').shape, 'i32'),
    attention_mask: bg.tensor(get('attention_mask').data, get('attention_mask').shape, 'i32'),
    token_type_ids: bg.tensor(get('token_type_ids').data, get('token_type_ids').shape, 'i32'),
    labels: bg.tensor(get('labels').data, get('labels').shape, 'i32'),
  };
}

async function logits(model: PreTrainedModel): Promise<Float32Array> {
  model.eval();
  const out = bg.noGrad(() => model.forward(inputs()));
  return (await out.logits!.toArray()) as Float32Array;
}

async function base(): Promise<PreTrainedModel> {
  await device();
  return (await fromPretrained(BASE)).model;
}

// Written by hand from PEFT's get_peft_model_state_dict (save_and_load.py): the model's state-dict
// keys of lora_A / lora_B with the adapter name removed, under base_model.model., and the
// modules_to_save wrapper's module keys (ModulesToSaveWrapper.adapter_state_dict) likewise.
const PEFT_KEYS: [string, number[]][] = [
  ['base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight', [4, 32]],
  ['base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight', [32, 4]],
  ['base_model.model.bert.encoder.layer.0.attention.self.value.lora_A.weight', [4, 32]],
  ['base_model.model.bert.encoder.layer.0.attention.self.value.lora_B.weight', [32, 4]],
  ['base_model.model.bert.encoder.layer.1.attention.self.query.lora_A.weight', [4, 32]],
  ['base_model.model.bert.encoder.layer.1.attention.self.query.lora_B.weight', [32, 4]],
  ['base_model.model.bert.encoder.layer.1.attention.self.value.lora_A.weight', [4, 32]],
  ['base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight', [32, 4]],
  ['base_model.model.classifier.bias', [3]],
  ['base_model.model.classifier.weight', [3, 32]],
];

/** The fixture adapter in `dir` on the base: logits, loss and the trainable tensors' gradients vs torch's. */
async function againstTorch(dir: string) {
  const model = await base();
  const lora = new LoraModel(model, null);
  lora.loadAdapter(adapterFiles(dir), 'default', dir);
  model.eval();
  const out = model.forward(inputs());
  out.loss!.backward();
  const actual = new Map<string, { data: Float32Array; shape: number[] }>();
  actual.set('logits', { data: (await out.logits!.toArray()) as Float32Array, shape: out.logits!.shape });
  actual.set('loss', { data: (await out.loss!.toArray()) as Float32Array, shape: [] });
  for (const [key, t] of lora.trainableParameters())
    actual.set(`grad.${key}`, { data: (await t.grad!.toArray()) as Float32Array, shape: t.shape });
  const expected = new Map(
    [...tensors(join(dir, 'outputs.safetensors'))].map(([k, v]) => [k, { data: v.data as Float32Array, shape: v.shape }]),
  );
  compareOutputs(dir, actual, expected, {});
  return { model, lora, actual, expected };
}

test('the torch fixture is in PEFT layout: keys and shapes as PEFT writes them', () => {
  const keys = [...tensors(join(LORA, 'adapter_model.safetensors'))].map(([k, t]) => [k, t.shape]).sort();
  assert.equal(keys, PEFT_KEYS);
  const c = parseAdapterConfig(new Uint8Array(readFileSync(join(LORA, 'adapter_config.json'))));
  assert.equal(
    [c.peft_type, c.task_type, c.r, c.lora_alpha, c.target_modules, c.modules_to_save],
    ['LORA', 'SEQ_CLS', 4, 8, ['query', 'value'], ['classifier', 'score']],
  );
});

test('LoRA forward and the gradients of lora_A, lora_B and the saved classifier match PyTorch (PEFT math)', async () => {
  const { model, lora } = await againstTorch(LORA);
  // the frozen base got no gradient at all
  for (const [name, p] of model.namedParameters()) if (!name.startsWith('classifier.')) assert.is(p.grad, null, `${name} has a gradient`);
  lora.dispose();
  model.dispose();
});

test('wrapping freezes the base, targets query/value by default, starts as the base model (B = 0), and names PEFT keys', async () => {
  const model = await base();
  const before = await logits(model);
  const lora = new LoraModel(model, { r: 4, alpha: 8, taskType: 'SEQ_CLS', seed: 1 });
  assert.equal(
    lora
      .trainableParameters()
      .map(([k, t]) => [k, t.shape])
      .sort(),
    PEFT_KEYS,
  );
  for (const [name, p] of model.namedParameters()) assert.is(p.requiresGrad, name.startsWith('classifier.'), name);
  assert.equal(await logits(model), before, 'B = 0: the adapted model is the base model');
  const A = lora.trainableParameters().find(([k]) => k.endsWith('query.lora_A.weight'))![1];
  const a = await A.toArray();
  const bound = 1 / Math.sqrt(32);
  assert.ok(a.every((v) => Math.abs(v) <= bound) && a.some((v) => Math.abs(v) > bound / 2), 'A ~ U(-1/sqrt(in), 1/sqrt(in))');
  assert.throws(() => new LoraModel(model, { targetModules: ['nothing'] }), /target_modules \["nothing"\] match no Linear layer/);
  assert.throws(() => lora.addAdapter('x', { r: 0 }), /lora: r must be a positive integer, got 0/);
  lora.dispose();
  model.dispose();
});

test('merge() gives the unmerged outputs (1e-5 rel) and W + scaling * B @ A; unmerge() restores W', async () => {
  const model = await base();
  const lora = new LoraModel(model, null);
  lora.loadAdapter(adapterFiles());
  const q = model.namedParameters().find(([n]) => n === 'bert.encoder.layer.0.attention.self.query.weight')![1];
  const w0 = await q.toArray();
  const unmerged = await logits(model);
  lora.merge();
  const merged = await logits(model);
  const scale = Math.max(...unmerged.map(Math.abs));
  unmerged.forEach((v, i) => assert.ok(Math.abs(v - merged[i]) <= 1e-5 * scale, `logit ${i}: ${merged[i]} vs ${v}`));
  const st = tensors(join(LORA, 'adapter_model.safetensors'));
  const A = st.get('base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight')!.data;
  const B = st.get('base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight')!.data;
  const w1 = await q.toArray();
  for (let o = 0; o < 32; o++) {
    for (let i = 0; i < 32; i++) {
      let d = 0;
      for (let k = 0; k < 4; k++) d += B[o * 4 + k] * A[k * 32 + i];
      assert.ok(Math.abs(w1[o * 32 + i] - (w0[o * 32 + i] + 2 * d)) < 1e-6, `merged weight [${o}, ${i}]`);
    }
  }
  lora.addAdapter('other', { seed: 2 });
  assert.throws(() => lora.setAdapter('other'), /adapter 'default' is merged into the weights; unmerge\(\) before switching to 'other'/);
  lora.unmerge();
  const w2 = await q.toArray();
  w2.forEach((v, i) => assert.ok(Math.abs(v - w0[i]) < 1e-6, `unmerged weight ${i}`));
  const after = await logits(model); // W + d - d is W up to rounding
  unmerged.forEach((v, i) => assert.ok(Math.abs(v - after[i]) <= 1e-5 * scale, `logit ${i} after unmerge: ${after[i]} vs ${v}`));
  lora.dispose();
  model.dispose();
});

test('saveAdapter -> loadAdapter is bit-exact (weights, head, outputs); mergeAndUnload gives a plain model', async () => {
  const model = await base();
  const lora = new LoraModel(model, null);
  lora.loadAdapter(adapterFiles());
  const files = await lora.saveAdapter();
  const config = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
  assert.is(config.peft_type, 'LORA');
  assert.is(config.fan_in_fan_out, false);
  const saved = bg.readSafetensors(files['adapter_model.safetensors']).tensors;
  const original = tensors(join(LORA, 'adapter_model.safetensors'));
  assert.equal([...saved.keys()].sort(), [...original.keys()].sort());
  for (const [k, t] of original) assert.equal([...saved.get(k)!.data], [...t.data], k);
  const want = await logits(model);

  const other = await base();
  const again = new LoraModel(other, null);
  again.loadAdapter(files, 'reloaded');
  assert.equal(await logits(other), want, 'the reloaded adapter gives the same logits bit for bit');
  const plain = again.mergeAndUnload();
  assert.ok(plain === other && other.namedParameters().every(([, p]) => p.requiresGrad));
  const merged = await logits(other);
  want.forEach((v, i) => assert.ok(Math.abs(v - merged[i]) <= 1e-5 * Math.max(...want.map(Math.abs)), `merged logit ${i}`));
  lora.dispose();
  model.dispose();
  other.dispose();
});

test('several adapters on one base: each call uses the active one, heads included; disableAdapters gives the base', async () => {
  const model = await base();
  const plain = await logits(model);
  const lora = new LoraModel(model, null);
  lora.loadAdapter(adapterFiles(), 'torch');
  const withTorch = await logits(model);
  lora.addAdapter('fresh', { r: 2, alpha: 4, targetModules: ['key'], modulesToSave: ['classifier'], seed: 5 });
  lora.setAdapter('fresh');
  assert.equal(await logits(model), plain, "a fresh adapter (B = 0, the original head) is the base model's function");
  lora.setAdapter('torch');
  assert.equal(await logits(model), withTorch);
  lora.disableAdapters();
  assert.equal(await logits(model), plain);
  lora.enableAdapters();
  assert.equal(await logits(model), withTorch);
  assert.throws(() => lora.setAdapter('nope'), /no adapter named 'nope' \(adapters: torch, fresh\)/);
  lora.dispose();
  model.dispose();
});

test('a LoRA training step runs no gradient kernels for the frozen base; AdamW keeps state for trainable tensors only', async () => {
  const rt = await device();
  const step = async (model: PreTrainedModel, params: [string, bg.Tensor][]) => {
    const opt = new AdamW(params, { lr: 1e-3 });
    model.train();
    const count = () => rt.dispatchCount;
    bg.scope(() => model.forward(inputs()).loss!.backward());
    const afterFirst = count();
    bg.scope(() => model.forward(inputs()).loss!.backward());
    const perStep = count() - afterFirst;
    opt.step();
    const stateTensors = Object.keys((await opt.stateDict()).m).length * 2;
    opt.zeroGrad();
    opt.dispose();
    return { perStep, stateTensors };
  };
  const full = await base();
  const fullStep = await step(full, full.namedParameters());
  const model = await base();
  const lora = new LoraModel(model, { r: 4, taskType: 'SEQ_CLS' });
  const loraStep = await step(model, lora.trainableParameters());
  console.log(
    `\n  forward + backward dispatches: full fine-tuning ${fullStep.perStep}, LoRA ${loraStep.perStep}; AdamW state tensors ${fullStep.stateTensors} vs ${loraStep.stateTensors}`,
  );
  assert.ok(loraStep.perStep < fullStep.perStep, `LoRA ${loraStep.perStep} dispatches vs full ${fullStep.perStep}`);
  assert.is(loraStep.stateTensors, 2 * PEFT_KEYS.length, 'm and v for the 10 trainable tensors');
  for (const [name, p] of model.namedParameters()) if (!name.startsWith('classifier.')) assert.is(p.grad, null, name);
  lora.dispose();
  model.dispose();
  full.dispose();
});

test('adapter_config.json errors name the file and the field', () => {
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const good = JSON.parse(readFileSync(join(LORA, 'adapter_config.json'), 'utf8'));
  assert.throws(
    () => parseAdapterConfig(enc({ ...good, peft_type: 'IA3' }), 'x/adapter_config.json'),
    /x\/adapter_config.json: peft_type must be "LORA"/,
  );
  assert.throws(() => parseAdapterConfig(enc({ ...good, r: -1 })), /r must be a positive integer, got -1/);
  assert.throws(
    () => parseAdapterConfig(enc({ ...good, target_modules: [[[[1]]]] })),
    /target_modules must be a list of module names or a regular expression, got an array of 1/,
  );
  assert.throws(() => parseAdapterConfig(enc({ ...good, use_dora: true })), /DoRA is not supported/);
  assert.throws(() => parseAdapterConfig(new TextEncoder().encode('{'), 'a.json'), /a.json: not JSON/);
});

test("trainable token rows (PEFT's trainable_token_indices) match PyTorch: forward, the rows' gradient (padding row's zero), A, B, head", async () => {
  const keys = [...tensors(join(TOKENS, 'adapter_model.safetensors'))].map(([k, t]) => [k, t.shape]).sort();
  assert.equal(keys, [...PEFT_KEYS, [DELTA_KEY, [5, 32]]].sort());
  const { model, lora, actual, expected } = await againstTorch(TOKENS);
  assert.equal(lora.trainableParameters().find(([k]) => k === DELTA_KEY)![1].shape, [5, 32]);
  const g = actual.get(`grad.${DELTA_KEY}`)!.data;
  const rowNorm = (k: number) => Math.hypot(...g.slice(k * 32, (k + 1) * 32));
  assert.ok(rowNorm(0) > 0 && rowNorm(1) > 0 && rowNorm(3) > 0, 'rows of ids in the inputs get a gradient');
  assert.is(rowNorm(2), 0, 'the padding row: no gradient, as F.embedding(padding_idx)');
  assert.is(rowNorm(4), 0, 'an id absent from the inputs: no gradient');
  // the torch logits differ from the same adapter without the token rows: the replacement shows
  const plain = new Map([...tensors(join(LORA, 'outputs.safetensors'))]).get('logits')!.data;
  assert.ok(
    expected.get('logits')!.data.some((v, i) => Math.abs(v - plain[i]) > 1e-3),
    'the fixture tests the rows',
  );
  for (const [name, p] of model.namedParameters()) if (!name.startsWith('classifier.')) assert.is(p.grad, null, `${name} has a gradient`);
  lora.dispose();
  model.dispose();
});

test('trainable token rows: the base starts unchanged; merge() writes the rows into the embedding, unmerge() restores it; save -> load is bit-exact', async () => {
  const model = await base();
  const before = await logits(model);
  const word = model.namedParameters().find(([n]) => n === 'bert.embeddings.word_embeddings.weight')![1];
  const w0 = await word.toArray();
  const fresh = new LoraModel(model, { r: 4, taskType: 'SEQ_CLS', trainableTokenIndices: TOKEN_IDS, seed: 3 });
  assert.equal(await logits(model), before, "PEFT's init: the rows start as the base's, so the model is the base model");
  const config = JSON.parse(new TextDecoder().decode((await fresh.saveAdapter())['adapter_config.json']));
  assert.equal(config.trainable_token_indices, TOKEN_IDS);
  fresh.dispose();

  const lora = new LoraModel(model, null);
  lora.loadAdapter(adapterFiles(TOKENS));
  const unmerged = await logits(model);
  lora.merge();
  const merged = await logits(model);
  const scale = Math.max(...unmerged.map(Math.abs));
  unmerged.forEach((v, i) => assert.ok(Math.abs(v - merged[i]) <= 1e-5 * scale, `logit ${i}: ${merged[i]} vs ${v}`));
  const delta = tensors(join(TOKENS, 'adapter_model.safetensors')).get(DELTA_KEY)!.data;
  const w1 = await word.toArray();
  for (let v = 0; v < 99; v++) {
    const k = TOKEN_IDS.indexOf(v);
    const want = k < 0 ? w0.slice(v * 32, (v + 1) * 32) : delta.slice(k * 32, (k + 1) * 32);
    assert.equal([...w1.slice(v * 32, (v + 1) * 32)], [...want], `merged row ${v}`);
  }
  lora.unmerge();
  assert.equal([...(await word.toArray())], [...w0], 'unmerge() restores the rows bit for bit');

  const files = await lora.saveAdapter();
  const saved = bg.readSafetensors(files['adapter_model.safetensors']).tensors;
  assert.equal([...saved.get(DELTA_KEY)!.data], [...delta]);
  const other = await base();
  const again = new LoraModel(other, null);
  again.loadAdapter(files, 'reloaded');
  assert.equal(await logits(other), unmerged, 'the reloaded adapter gives the same logits bit for bit');
  again.disableAdapters();
  assert.equal(await logits(other), before, 'disabled: the base rows again');
  assert.throws(
    () => again.addAdapter('bad', { trainableTokenIndices: [3, 99] }),
    /trainable_token_indices for bert.embeddings.word_embeddings must be token ids in \[0, 99\), got an array of 2 \(e.g. 99\)/,
  );
  assert.throws(() => again.addAdapter('bad2', { trainableTokenIndices: { nope: [1] } }), /'nope' matches no embedding of the model/);
  assert.throws(() => again.addAdapter('bad3', { trainableTokenIndices: [4, 4] }), /repeat a token id/);
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const good = JSON.parse(readFileSync(join(TOKENS, 'adapter_config.json'), 'utf8'));
  assert.throws(
    () => parseAdapterConfig(enc({ ...good, trainable_token_indices: [1.5] }), 'x/adapter_config.json'),
    /x\/adapter_config.json: trainable_token_indices must be null, a list of token ids/,
  );
  lora.dispose();
  again.dispose();
  model.dispose();
  other.dispose();
});

test.run();
