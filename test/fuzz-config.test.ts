// Fuzzes config.json reading (parseConfigJson, what fromPretrained uses) from every fixture's
// config: fields replaced by wrong types, edge-case numbers and deep nesting, deleted, added,
// text damaged. Each input must be refused with a plain Error naming the file, or accepted as a
// config the models can be built from (sizes positive integers, pad_token_id a row, and so on).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigJson, type BertConfig } from '../src/models/config.js';
import { FUZZ_SCALE, jsonText, mutateJson, mutateText, pick, runFuzz } from './fuzz-mutate.js';

const SOURCE = 'fuzz/config.json';
const MODELS = 'test/fixtures/models';
const configs = readdirSync(MODELS)
  .map((d) => join(MODELS, d, 'config.json'))
  .filter(existsSync)
  .map((p) => JSON.parse(readFileSync(p, 'utf8')));
const WORDS = [
  'bert',
  'roberta',
  'electra',
  'gelu',
  'relu',
  'tanh',
  'swish',
  'absolute',
  'relative_key',
  'regression',
  'multi_label_classification',
  'BertForMaskedLM',
  'LABEL_0',
];

/** What every accepted config must satisfy for the models to be built from it. */
function checkAccepted(c: BertConfig, architecture: unknown): void {
  const fail = (msg: string) => {
    throw new TypeError(`accepted a config that cannot be built: ${msg}`);
  };
  const sizes = [
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
    'num_labels',
  ] as const;
  for (const k of sizes) if (!Number.isSafeInteger(c[k]) || (c[k] as number) <= 0) fail(`${k} ${String(c[k])}`);
  if (c.hidden_size % c.num_attention_heads !== 0) fail('hidden_size not a multiple of heads');
  if (!Number.isInteger(c.pad_token_id) || c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size)
    fail(`pad_token_id ${String(c.pad_token_id)}`);
  if (!(typeof c.layer_norm_eps === 'number' && c.layer_norm_eps > 0 && Number.isFinite(c.layer_norm_eps)))
    fail(`layer_norm_eps ${String(c.layer_norm_eps)}`);
  for (const k of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const)
    if (!(typeof c[k] === 'number' && c[k] >= 0 && c[k] < 1)) fail(`${k} ${String(c[k])}`);
  if (typeof c.hidden_act !== 'string') fail('hidden_act');
  if (!['bert', 'roberta', 'electra'].includes(c.model_type)) fail('model_type');
  if (architecture !== undefined && typeof architecture !== 'string') fail('architecture');
}

test('fuzz: config.json is accepted as a buildable config or refused with a clean error naming the file', () => {
  assert.ok(configs.length >= 15, 'fixture configs');
  runFuzz(
    'config.json',
    4000 * FUZZ_SCALE,
    41_000,
    (r) => {
      const { doc, what } = mutateJson(r, pick(r, configs), WORDS);
      let text = jsonText(doc);
      let description = what.join('; ');
      if (r.next() < 0.1) {
        const damaged = mutateText(r, text);
        [text, description] = [damaged.text, `${description}; ${damaged.what}`];
      }
      return {
        what: description,
        run: () => {
          const { config, architecture } = parseConfigJson(text, SOURCE);
          checkAccepted(config, architecture);
        },
      };
    },
    (err) => err.message.startsWith(SOURCE),
  );
});

test.run();
