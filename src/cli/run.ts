// `bertgpu run --model DIR --inputs IN [--out OUT] [--grads]`: eval-mode forwards of a Hugging Face
// directory, inputs named as HF's forward() arguments, outputs named as HF's. IN is either a
// safetensors file (one forward; OUT a safetensors file) or JSON lines (one forward per line, OUT
// JSON lines, or stdout): {"input_ids": [[...]], "attention_mask": [[...]], ...} as nested arrays,
// or {"text": "...", "pair": "..."} tokenized with the directory's tokenizer.
import { createInterface } from 'node:readline';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { init } from '../runtime.js';
import { fromPretrained } from '../io/pretrained.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { writeAtomic } from '../io/files.js';
import { runModel, type NamedArrays } from '../models/run.js';
import { loadByteLevelBpeFiles } from '../tokenizers/node-io.js';
import type { TokenizerEncoding } from '../tokenizers/encoding.js';
import { UsageError, addVerbose, newCommand, type CliCommand, type Io } from './program.js';

const HELP_AFTER = `
--inputs ending in .safetensors: one forward, tensors named input_ids, token_type_ids,
attention_mask, labels, ...; --out (required) receives the outputs as safetensors.
Otherwise --inputs is JSON lines (- for stdin), one forward per line, e.g.
  {"input_ids": [[101, 7592, 102]], "attention_mask": [[1, 1, 1]]}
  {"text": "Hello world", "pair": "optional second segment"}
and each output line is a JSON object of nested arrays: logits, loss, ... (hidden_states.N
with --hidden-states, grad.<parameter> with --grads), written to --out or stdout.`;

const INTEGER_INPUTS = new Set([
  'input_ids',
  'token_type_ids',
  'attention_mask',
  'next_sentence_label',
  'start_positions',
  'end_positions',
  'labels',
]);

interface Encoder {
  encode(text: string, pair?: string | null, options?: { maxLength?: number; truncation?: 'longest_first' }): TokenizerEncoding;
}

export const command: CliCommand = {
  name: 'run',
  gpu: true,
  build: (io) =>
    addVerbose(
      newCommand('run', 'eval-mode forwards (+ gradients) of a Hugging Face directory on safetensors or JSON-lines inputs', io, (cmd) =>
        run(cmd, io),
      )
        .requiredOption('--model <dir>', 'a Hugging Face directory (config.json, model.safetensors, a tokenizer for "text" inputs)')
        .requiredOption('--inputs <file>', 'inputs: a .safetensors file, or JSON lines (- for stdin)')
        .option('--out <file>', 'outputs: a .safetensors file (for .safetensors inputs), else JSON lines (default: stdout)')
        .option('--grads', 'backward from the loss (give labels) and write grad.<parameter>')
        .option('--hidden-states', 'JSON lines: include hidden_states.N (always in safetensors output)')
        .addHelpText('after', HELP_AFTER),
    ),
};

async function run(cmd: Command, io: Io): Promise<number> {
  const o = cmd.opts<{ model: string; inputs: string; out?: string; grads?: boolean; hiddenStates?: boolean }>();
  // everything that can be checked without the GPU is checked first
  if (!existsSync(join(o.model, 'config.json')))
    throw new UsageError(`--model ${o.model}: no config.json (a Hugging Face directory is expected)`);
  const safetensors = o.inputs.endsWith('.safetensors');
  if (o.inputs !== '-' && !existsSync(o.inputs)) throw new UsageError(`--inputs ${o.inputs}: no such file`);
  if (o.inputs !== '-' && statSync(o.inputs).isDirectory()) throw new UsageError(`--inputs ${o.inputs} is a directory`);
  if (safetensors && !o.out) throw new UsageError('--out FILE.safetensors is required for .safetensors inputs');
  if (!safetensors && o.out?.endsWith('.safetensors'))
    throw new UsageError(
      `--out ${o.out}: JSON-lines inputs give JSON-lines outputs (name --out something else, or give .safetensors inputs)`,
    );
  let inputs: NamedArrays | null = null;
  if (safetensors) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(o.inputs));
    } catch (err) {
      throw new Error(`cannot read --inputs ${o.inputs}: ${(err as Error).message}`);
    }
    inputs = new Map();
    for (const [name, t] of readSafetensors(bytes, o.inputs).tensors) inputs.set(name, { data: t.data, shape: t.shape });
  }
  const rt = await init();
  try {
    const loaded = await fromPretrained(o.model);
    const { model, config } = loaded;
    try {
      if (inputs) {
        const outputs = await runModel(model, inputs, { grads: o.grads });
        const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
        for (const [name, v] of outputs) tensors[name] = { data: v.data as Float32Array, shape: v.shape };
        await writeAtomic(o.out!, writeSafetensors(tensors));
        return 0;
      }
      let tokenizer: Encoder | null = loaded.tokenizer;
      if (!tokenizer && existsSync(join(o.model, 'vocab.json')) && existsSync(join(o.model, 'merges.txt')))
        tokenizer = loadByteLevelBpeFiles(join(o.model, 'vocab.json'), join(o.model, 'merges.txt'));
      const maxLength = config.max_position_embeddings - (config.model_type === 'roberta' ? 2 : 0);
      const where = o.inputs === '-' ? 'stdin' : o.inputs;
      const lines = createInterface({ input: o.inputs === '-' ? io.stdin : createReadStream(o.inputs), crlfDelay: Infinity });
      const results: string[] = [];
      let n = 0;
      for await (const line of lines) {
        n++;
        if (!line.trim()) continue;
        let outputs: NamedArrays;
        try {
          const named = jsonInputs(line, tokenizer, maxLength, o.model);
          outputs = await runModel(model, named, { grads: o.grads });
        } catch (err) {
          lines.close();
          throw new Error(`--inputs ${where} line ${n}: ${(err as Error).message}`);
        }
        const record: Record<string, unknown> = {};
        for (const [name, v] of outputs) {
          if (name.startsWith('hidden_states.') && !o.hiddenStates) continue;
          record[name] = nest(v.data, v.shape);
        }
        const text = JSON.stringify(record) + '\n';
        if (o.out) results.push(text);
        else io.stdout.write(text);
      }
      if (o.out) await writeAtomic(o.out, results.join(''));
      return 0;
    } finally {
      model.dispose();
    }
  } finally {
    rt.destroy();
  }
}

/** One JSON line as named input arrays: nested arrays of HF forward() arguments, or {"text", "pair"}. */
function jsonInputs(line: string, tokenizer: Encoder | null, maxLength: number, modelDir: string): NamedArrays {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('expected an object of forward() arguments, e.g. {"input_ids": [[101, 102]]} or {"text": "..."}');
  const obj = value as Record<string, unknown>;
  const named: NamedArrays = new Map();
  if ('text' in obj) {
    if (typeof obj.text !== 'string') throw new Error('"text" must be a string');
    if (obj.pair !== undefined && obj.pair !== null && typeof obj.pair !== 'string') throw new Error('"pair" must be a string');
    if (!tokenizer) throw new Error(`"text" needs a tokenizer in ${modelDir} (vocab.txt, tokenizer.json, or vocab.json + merges.txt)`);
    const e = tokenizer.encode(obj.text, obj.pair ?? null, { maxLength, truncation: 'longest_first' });
    const T = e.inputIds.length;
    named.set('input_ids', { data: Int32Array.from(e.inputIds), shape: [1, T] });
    named.set('token_type_ids', { data: Int32Array.from(e.tokenTypeIds), shape: [1, T] });
    named.set('attention_mask', { data: Int32Array.from(e.attentionMask), shape: [1, T] });
  }
  for (const [name, v] of Object.entries(obj)) {
    // `tokens` rides along in `bertgpu tokenize` output, so its lines can be piped in as they are
    if (name === 'text' || name === 'pair' || name === 'tokens') continue;
    if (named.has(name)) throw new Error(`give either "text" or "${name}", not both`);
    const { data, shape } = flatten(v, name);
    const integer = INTEGER_INPUTS.has(name) && data.every(Number.isInteger);
    if (INTEGER_INPUTS.has(name) && name !== 'labels' && !integer) throw new Error(`${name} must hold integers`);
    named.set(name, { data: integer ? Int32Array.from(data) : Float32Array.from(data), shape });
  }
  return named;
}

/** A rectangular nested array of numbers -> flat values and shape. */
function flatten(value: unknown, name: string): { data: number[]; shape: number[] } {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  const data: number[] = [];
  const walk = (v: unknown, depth: number, at: string) => {
    if (depth === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(`${name}${at} must be a finite number, got ${JSON.stringify(v)?.slice(0, 40)}`);
      data.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth])
      throw new Error(`${name}${at} must be an array of ${shape[depth]} (a rectangular nested array, shape [${shape}])`);
    v.forEach((x, i) => walk(x, depth + 1, `${at}[${i}]`));
  };
  walk(value, 0, '');
  if (shape.includes(0)) throw new Error(`${name} is empty (shape [${shape}])`);
  return { data, shape };
}

/** Flat values and shape -> nested arrays. */
function nest(data: ArrayLike<number>, shape: number[]): unknown {
  if (shape.length === 0) return data[0];
  const build = (offset: number, depth: number): unknown => {
    if (depth === shape.length - 1) return Array.from({ length: shape[depth] }, (_, i) => data[offset + i]);
    const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[depth] }, (_, i) => build(offset + i * stride, depth + 1));
  };
  return build(0, 0);
}
