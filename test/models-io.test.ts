// Checkpoints: save -> load bit-exact, what PyTorch/HF expects on disk (tied weights omitted),
// presets, and a clear error for every kind of bad checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { device } from './helpers.js';

const FIX = 'test/fixtures/models';
const tmp = () => mkdtempSync(join(tmpdir(), 'bertgpu-io-'));

async function paramsOf(model: bg.PreTrainedModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, p] of model.namedParameters()) out.set(n, (await p.toArray()) as Float32Array);
  return out;
}

test('save -> load round trip is bit-exact for every architecture (fresh random init)', async () => {
  await device();
  for (const arch of Object.keys(bg.ARCHITECTURES)) {
    const model_type = arch.startsWith('Electra') ? 'electra' : arch.startsWith('Roberta') ? 'roberta' : 'bert';
    const config = bg.bertConfig({
      model_type,
      vocab_size: 50,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 20,
      max_position_embeddings: 24,
      embedding_size: model_type === 'electra' ? 8 : undefined,
      num_labels: 3,
    });
    const model = bg.createModel(arch, config, { generator: new bg.Generator(7) });
    const dir = tmp();
    await bg.savePretrained(model, dir);
    const files = readdirSync(dir).sort();
    assert.equal(files, ['config.json', 'model.safetensors'], `${arch}: only the two files, no temporaries`);
    const saved = bg.readSafetensors(readFileSync(join(dir, 'model.safetensors')));
    for (const tied of [
      'cls.predictions.decoder.weight',
      'cls.predictions.decoder.bias',
      'generator_lm_head.weight',
      'lm_head.decoder.weight',
      'lm_head.decoder.bias',
    ]) {
      assert.not.ok(saved.tensors.has(tied), `${arch}: tied ${tied} omitted as HF does`);
    }
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.architectures, [arch]);
    assert.is(cfg.model_type, model_type);
    const { model: back } = await bg.fromPretrained(dir);
    const a = await paramsOf(model);
    const b = await paramsOf(back);
    assert.equal([...a.keys()], [...b.keys()]);
    for (const [n, v] of a) {
      const w = b.get(n)!;
      assert.ok(
        new Uint32Array(v.buffer).every((bits, i) => bits === new Uint32Array(w.buffer)[i]),
        `${arch}: ${n} bit-exact`,
      );
    }
    model.dispose();
    back.dispose();
  }
});

test('the tokenizer comes along: vocab.txt, or tokenizer.json when there is no vocab.txt', async () => {
  await device();
  const vocabText = readFileSync('data/bert-base-uncased-vocab.txt', 'utf8');
  const dir = copyFixture('BertForSequenceClassification');
  writeFileSync(join(dir, 'vocab.txt'), vocabText);
  const a = await bg.fromPretrained(dir);
  assert.equal(a.tokenizer!.encode('I love NLP!').inputIds, [101, 1045, 2293, 17953, 2361, 999, 102]);
  a.model.dispose();
  const dir2 = copyFixture('BertForSequenceClassification');
  writeFileSync(join(dir2, 'tokenizer.json'), JSON.stringify(bg.WordPieceTokenizer.fromVocabText(vocabText).toTokenizerJson()));
  const b = await bg.fromPretrained(dir2);
  assert.equal(b.tokenizer!.encode('I love NLP!').inputIds, [101, 1045, 2293, 17953, 2361, 999, 102]);
  b.model.dispose();
  const c = await bg.fromPretrained(join(FIX, 'BertForSequenceClassification'));
  assert.is(c.tokenizer, null);
  c.model.dispose();
});

test('a cased tokenizer stays cased through save -> load (tokenizer_config.json, as BertTokenizer reads it)', async () => {
  await device();
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'Hello', 'hello', 'world', '!'];
  const cased = bg.WordPieceTokenizer.fromVocabText(vocab.join('\n'), { lowercase: false });
  const ids = (t: bg.WordPieceTokenizer | null) => t!.encode('Hello world!').inputIds;
  assert.equal(ids(cased), [2, 5, 7, 8, 3]);
  const a = await bg.fromPretrained(copyFixture('BertForSequenceClassification'));
  const files = await bg.exportPretrained(a.model, cased);
  const tc = JSON.parse(new TextDecoder().decode(files['tokenizer_config.json']));
  assert.is(tc.do_lower_case, false);
  assert.is(tc.tokenizer_class, 'BertTokenizer');
  // saved to a directory, loaded by path (fromPretrained and the pipelines' loader)
  const dir = tmp();
  await bg.savePretrained(a.model, dir, cased);
  a.model.dispose();
  assert.ok(readdirSync(dir).includes('tokenizer_config.json'));
  const b = await bg.fromPretrained(dir);
  assert.equal(ids(b.tokenizer), [2, 5, 7, 8, 3], 'Hello keeps its capital');
  b.model.dispose();
  const fromDir = (await bg.loadWordPiece(dir)) as bg.WordPieceTokenizer;
  assert.equal(ids(fromDir), [2, 5, 7, 8, 3]);
  // in-memory files too; an uncased tokenizer writes no tokenizer_config.json (BertTokenizer's defaults)
  const c = await bg.fromPretrained({
    config: new TextDecoder().decode(files['config.json']),
    weights: files['model.safetensors'],
    vocab: new TextDecoder().decode(files['vocab.txt']),
    tokenizerConfig: new TextDecoder().decode(files['tokenizer_config.json']),
  });
  assert.equal(ids(c.tokenizer), [2, 5, 7, 8, 3]);
  const uncased = await bg.exportPretrained(c.model, bg.WordPieceTokenizer.fromVocabText(vocab.join('\n')));
  assert.not.ok('tokenizer_config.json' in uncased);
  c.model.dispose();
  // a bad field is named with its file
  writeFileSync(join(dir, 'tokenizer_config.json'), '{"do_lower_case": "no"}');
  try {
    await bg.fromPretrained(dir);
    assert.unreachable('a bad tokenizer_config.json loaded');
  } catch (err) {
    assert.match((err as Error).message, 'tokenizer_config.json: do_lower_case must be true, false or null, got "no"');
  }
});

test('presets have the documented sizes', () => {
  const sizes = Object.fromEntries(
    Object.keys(bg.PRESETS).map((k) => {
      const c = bg.presetConfig(k);
      return [k, [c.num_hidden_layers, c.hidden_size, c.num_attention_heads]];
    }),
  );
  assert.equal(sizes, {
    'bert-tiny': [2, 128, 2],
    'bert-mini': [4, 256, 4],
    'bert-small': [4, 512, 8],
    'bert-medium': [8, 512, 8],
    'bert-base': [12, 768, 12],
    'bert-large': [24, 1024, 16],
    transformer: [6, 512, 8],
  });
  assert.throws(() => bg.presetConfig('bert-huge'), /unknown config preset 'bert-huge'/);
  assert.throws(
    () => bg.bertConfig({ hidden_size: 30, num_attention_heads: 4 }),
    /hidden_size 30 is not a multiple of num_attention_heads 4/,
  );
});

test('a new head on a pre-trained encoder: allowMissing reports what was freshly initialised', async () => {
  await device();
  const { model, missing, unexpected } = await bg.fromPretrained(join(FIX, 'BertForPreTraining'), {
    architecture: 'BertForSequenceClassification',
    allowMissing: ['classifier.weight', 'classifier.bias'],
  });
  assert.equal(missing.sort(), ['classifier.bias', 'classifier.weight']);
  assert.ok(unexpected.includes('cls.seq_relationship.weight'));
  model.dispose();
  await bg.fromPretrained(join(FIX, 'BertForPreTraining'), { architecture: 'BertForSequenceClassification' }).then(
    () => assert.unreachable('strict load must refuse'),
    (e: Error) => assert.match(e.message, /missing tensor\(s\) classifier.weight, classifier.bias/),
  );
});

function copyFixture(name: string): string {
  const dir = tmp();
  cpSync(join(FIX, name), dir, { recursive: true });
  return dir;
}

async function loadError(dir: string): Promise<string> {
  try {
    const { model } = await bg.fromPretrained(dir);
    model.dispose();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

function rewriteHeader(file: string, edit: (h: Record<string, any>) => void): void {
  const bytes = readFileSync(file);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
  edit(header);
  let text = JSON.stringify(header);
  while ((8 + text.length) % 8) text += ' ';
  const out = Buffer.alloc(8 + text.length + (bytes.length - 8 - n));
  out.writeBigUInt64LE(BigInt(text.length), 0);
  out.write(text, 8);
  bytes.copy(out, 8 + text.length, 8 + n);
  writeFileSync(file, out);
}

test('bad checkpoints give clear errors', async () => {
  await device();
  const name = 'BertForSequenceClassification';
  let dir = copyFixture(name);
  const st = join(dir, 'model.safetensors');
  writeFileSync(st, readFileSync(st).subarray(0, 1000));
  assert.match(await loadError(dir), /model\.safetensors/);

  dir = copyFixture(name);
  rewriteHeader(join(dir, 'model.safetensors'), (h) => {
    h['classifier.bias'].data_offsets = [0, 1e9];
  });
  assert.match(await loadError(dir), /classifier\.bias/);

  dir = copyFixture(name);
  rewriteHeader(join(dir, 'model.safetensors'), (h) => {
    h['classifier.bias'].dtype = 'Q7';
  });
  assert.match(await loadError(dir), /Q7/);

  dir = copyFixture(name);
  rewriteHeader(join(dir, 'model.safetensors'), (h) => {
    h['classifier.renamed'] = h['classifier.bias'];
    delete h['classifier.bias'];
  });
  assert.match(await loadError(dir), /missing tensor\(s\) classifier\.bias/);

  dir = copyFixture(name);
  rewriteHeader(join(dir, 'model.safetensors'), (h) => {
    h['classifier.bias'].shape = [1, 3];
  });
  assert.match(await loadError(dir), /tensor 'classifier\.bias' has shape \[1, 3\], the model expects \[3\]/);

  dir = copyFixture(name);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, architectures: ['BertForTimeTravel'] }));
  assert.match(await loadError(dir), /unknown architecture 'BertForTimeTravel'/);

  writeFileSync(join(dir, 'config.json'), '{"architectures": [');
  assert.match(await loadError(dir), /config\.json is not valid JSON/);

  assert.match(await loadError(join(dir, 'nowhere')), /no config\.json/);
});

test('a table larger than the device allows is refused with the limit named', async () => {
  const rt = await device();
  const limit = rt.report.limits.maxStorageBufferBindingSize;
  const hidden = 64;
  const vocab = Math.floor(limit / 4 / hidden) + 1;
  assert.throws(
    () =>
      bg.createModel(
        'BertForMaskedLM',
        bg.bertConfig({ vocab_size: vocab, hidden_size: hidden, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 64 }),
      ),
    new RegExp(
      `\\[${vocab}, ${hidden}\\] f32: needs a ${vocab * hidden * 4}-byte buffer, larger than this device's maxStorageBufferBindingSize \\(${limit} bytes\\)`,
    ),
  );
});

test.run();
