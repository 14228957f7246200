// Untrusted model files (issue 12, item 7): a bad safetensors header or config.json field is a
// plain Error naming the file, the field and the value, found before any GPU work.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../src/io/safetensors.js';
import { fromPretrained } from '../src/io/pretrained.js';
import { bertConfig, parseConfigJson } from '../src/models/config.js';
import { describeJson } from '../src/tokenizers/json-fields.js';

/** fn (sync or async) must throw a plain Error (not a TypeError / RangeError) whose message contains every part. */
async function throwsClean(fn: () => unknown, ...parts: string[]): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.is(
      (err as Error).constructor,
      Error,
      `a plain Error expected, got ${(err as Error).constructor.name}: ${(err as Error).message}`,
    );
    for (const p of parts) assert.ok((err as Error).message.includes(p), `"${(err as Error).message}" should contain ${p}`);
    return;
  }
  assert.unreachable(`expected an error containing ${parts.join(' / ')}`);
}

function safetensorsWithHeader(text: string): Uint8Array {
  const header = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + header.length);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 8);
  return out;
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

test('describeJson is short and bounded on any value', () => {
  assert.is(describeJson(null), 'null');
  assert.is(describeJson([2, 3]), '[2,3]');
  assert.is(describeJson({ a: 1, b: [1], c: {} }), '{"a":1,"b":[...],"c":{}}');
  assert.is(describeJson(JSON.parse(deep(100_000))), '[[...]]');
  assert.ok(describeJson('x'.repeat(1e6)).length <= 80);
  assert.ok(describeJson(new Array(1e6).fill(7)).length <= 80);
});

test('a safetensors header nested 100,000 deep: a clean error naming the file (was RangeError from JSON.stringify)', async () => {
  const S = 'deep.safetensors';
  await throwsClean(
    () => readSafetensors(safetensorsWithHeader(`{"a":${deep(100_000)}}`), S),
    S,
    'tensor "a": entry is not an object (got [[...]])',
  );
  await throwsClean(() => readSafetensors(safetensorsWithHeader(deep(100_000)), S), S, 'header JSON is not an object (got [[...]])');
  await throwsClean(
    () => readSafetensors(safetensorsWithHeader(`{"a":{"dtype":"F32","shape":${deep(100_000)},"data_offsets":[0,0]}}`), S),
    S,
    'shape must be an array of non-negative integers (got [[...]])',
  );
  await throwsClean(
    () => readSafetensors(safetensorsWithHeader(`{"__metadata__":{"k":${deep(100_000)}}}`), S),
    S,
    '__metadata__ value for "k" is not a string (got [[...]])',
  );
});

test('a safetensors shape whose element count overflows is refused, as Hugging Face does', async () => {
  const big = 2 ** 52;
  await throwsClean(
    () =>
      readSafetensors(
        safetensorsWithHeader(JSON.stringify({ w: { dtype: 'F32', shape: [big, big, 0], data_offsets: [0, 0] } })),
        'x.safetensors',
      ),
    'x.safetensors: tensor "w": shape [4503599627370496,4503599627370496,0] has more elements than a file can hold',
  );
});

const FIXTURE = 'test/fixtures/models/BertForMaskedLM';
const fixtureConfig = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));

test('config.json: pad_token_id >= vocab_size (or 1e9) is refused when loading, naming file, field, value and vocab_size', async () => {
  const V = fixtureConfig.vocab_size;
  const weights = readFileSync(join(FIXTURE, 'model.safetensors'));
  for (const pad of [V, 1e9, -1, 0.5, null, '0']) {
    const config = JSON.stringify({ ...fixtureConfig, pad_token_id: pad });
    await throwsClean(
      () => fromPretrained({ config, weights }),
      `files/config.json: pad_token_id must be a non-negative integer below vocab_size ${V}, got ${JSON.stringify(pad)}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'bertgpu-untrusted-'));
  copyFileSync(join(FIXTURE, 'model.safetensors'), join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...fixtureConfig, pad_token_id: V }));
  await throwsClean(
    () => fromPretrained(dir),
    `${dir}/config.json: pad_token_id must be a non-negative integer below vocab_size ${V}, got ${V}`,
  );
  // RoBERTa's pad row is also a position row
  await throwsClean(
    () => bertConfig({ model_type: 'roberta', vocab_size: 100, max_position_embeddings: 10, pad_token_id: 10 }),
    'pad_token_id must be a non-negative integer below max_position_embeddings 10, got 10',
  );
});

test('config.json: every numeric and typed field is checked, with the file named', async () => {
  const S = 'm/config.json';
  const bad = (fields: Record<string, unknown>) => () => parseConfigJson(JSON.stringify({ ...fixtureConfig, ...fields }), S);
  assert.is(parseConfigJson(JSON.stringify(fixtureConfig), S).architecture, 'BertForMaskedLM');
  const cases: [Record<string, unknown>, string][] = [
    [{ vocab_size: 0 }, 'vocab_size must be a positive integer, got 0'],
    [{ hidden_size: '32' }, 'hidden_size must be a positive integer, got "32"'],
    [{ num_hidden_layers: 1.5 }, 'num_hidden_layers must be a positive integer, got 1.5'],
    [{ hidden_size: 30, num_attention_heads: 4 }, 'hidden_size 30 is not a multiple of num_attention_heads 4'],
    [{ type_vocab_size: -2 }, 'type_vocab_size must be a positive integer, got -2'],
    [{ embedding_size: 0 }, 'embedding_size must be a positive integer, got 0'],
    [{ layer_norm_eps: '1e-12' }, 'layer_norm_eps must be a number > 0, got "1e-12"'],
    [{ hidden_dropout_prob: '0.1' }, 'hidden_dropout_prob must be a number in [0, 1), got "0.1"'],
    [{ attention_probs_dropout_prob: 1 }, 'attention_probs_dropout_prob must be a number in [0, 1), got 1'],
    [{ classifier_dropout: -0.5 }, 'classifier_dropout must be null or a number in [0, 1), got -0.5'],
    [{ initializer_range: null }, 'initializer_range must be a number >= 0, got null'],
    [{ hidden_act: 5 }, 'hidden_act must be the name of an activation'],
    [{ model_type: ['bert'] }, 'model_type must be one of "bert", "electra", "roberta", got ["bert"]'],
    [{ problem_type: 'ranking' }, 'problem_type must be null or one of'],
    [{ id2label: { 0: 1 } }, 'id2label must be an object of id -> label name, got {"0":1}'],
    [{ label2id: [] }, 'label2id must be an object of label name -> id, got []'],
    [
      { position_embedding_type: 'relative_key' },
      'position_embedding_type must be "absolute" (the only kind supported), got "relative_key"',
    ],
    [{ architectures: 'BertForMaskedLM' }, 'architectures must be an array of class names, got "BertForMaskedLM"'],
  ];
  for (const [fields, message] of cases) await throwsClean(bad(fields), `${S}: ${message}`);
  const deepField = JSON.stringify({ ...fixtureConfig, num_attention_heads: 0 }).replace(
    '"num_attention_heads":0',
    `"num_attention_heads":${deep(100_000)}`,
  );
  await throwsClean(() => parseConfigJson(deepField, S), `${S}: num_attention_heads must be a positive integer, got [[...]]`);
  await throwsClean(() => parseConfigJson('[]', S), `${S}: the top level must be an object, got []`);
  await throwsClean(() => parseConfigJson('{"a":', S), `${S} is not valid JSON`);
});

test('a bad tokenizer next to the model is an error naming it, raised before the model is built', async () => {
  await throwsClean(
    () =>
      fromPretrained({
        config: JSON.stringify(fixtureConfig),
        weights: readFileSync(join(FIXTURE, 'model.safetensors')),
        tokenizerJson: '{"model":{"type":"WordPiece","vocab":null}}',
      }),
    'files/tokenizer.json: model.vocab must be an object of token -> id, got null',
  );
  await throwsClean(
    () => fromPretrained({ config: JSON.stringify(fixtureConfig), weights: new Uint8Array(0), vocab: 'a\n' }),
    'files/vocab.txt: vocabulary has no [UNK], [CLS], [SEP] token',
  );
});

test.run();
