// Hugging Face model directories, both ways: config.json + model.safetensors (+ vocab.txt).
// `architectures[0]` picks the class; tied weights are omitted on save, as HF does.
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { joinPath, readBytes, readText, writeAtomic, makeDir } from './files.js';
import { bertConfig, configToJson, parseConfigJson, type BertConfig } from '../models/config.js';
import { createModel, type PreTrainedModel } from '../models/tasks.js';
import { WordPieceTokenizer } from '../tokenizers/wordpiece.js';
import { formatVocabText } from '../tokenizers/vocab.js';
import { tokenizerConfigFor, wordPieceOptionsFromTokenizerConfig } from '../tokenizers/tokenizer-config.js';
import type { ModelInit } from '../models/bert.js';

export interface PretrainedFiles {
  /** config.json as text or parsed. */
  config: string | Record<string, unknown>;
  /** model.safetensors bytes (an ArrayBuffer, a Uint8Array, or a Blob / File in browsers). */
  weights: ArrayBuffer | Uint8Array | Blob;
  /** vocab.txt text, when the tokenizer should come along. */
  vocab?: string;
  /** tokenizer_config.json text beside vocab.txt (casing, accents, special tokens). */
  tokenizerConfig?: string;
  /** Or a Hugging Face tokenizer.json (WordPiece model). */
  tokenizerJson?: string;
}

export interface LoadOptions extends ModelInit {
  /** Class to build instead of config.architectures[0]. */
  architecture?: string;
  /**
   * Parameters that may be absent from the checkpoint and keep their fresh initialisation (e.g.
   * a new classifier on a pre-trained encoder). `true` allows any; default: none (strict).
   */
  allowMissing?: boolean | string[];
  /** config.json fields to replace (a task head's num_labels, id2label, label2id, problem_type). */
  config?: Partial<BertConfig>;
}

export interface Loaded {
  model: PreTrainedModel;
  config: BertConfig;
  tokenizer: WordPieceTokenizer | null;
  /** Parameters the checkpoint did not have (freshly initialised). */
  missing: string[];
  /** Checkpoint tensors the model has no parameter for (ignored). */
  unexpected: string[];
}

/** Builds the model of a Hugging Face directory (path or URL) or of in-memory files. */
export async function fromPretrained(source: string | PretrainedFiles, options: LoadOptions = {}): Promise<Loaded> {
  let files: PretrainedFiles;
  const where = typeof source === 'string' ? source : 'files';
  if (typeof source === 'string') {
    const config = await readText(joinPath(source, 'config.json'));
    if (config === null) throw new Error(`${source}: no config.json`);
    const weights = await readBytes(joinPath(source, 'model.safetensors'));
    if (weights === null) throw new Error(`${source}: no model.safetensors (only safetensors checkpoints are read)`);
    const vocab = await readText(joinPath(source, 'vocab.txt'));
    const tokenizerJson = vocab === null ? await readText(joinPath(source, 'tokenizer.json')) : null;
    const tokenizerConfig = vocab === null ? null : await readText(joinPath(source, 'tokenizer_config.json'));
    files = {
      config,
      weights,
      vocab: vocab ?? undefined,
      tokenizerJson: tokenizerJson ?? undefined,
      tokenizerConfig: tokenizerConfig ?? undefined,
    };
  } else files = source;
  const parsed = parseConfigJson(files.config, `${where}/config.json`);
  const architecture = parsed.architecture;
  const config = options.config ? bertConfig({ ...parsed.config, ...options.config }) : parsed.config;
  const arch = options.architecture ?? architecture;
  if (!arch) throw new Error(`${where}: config.json has no architectures[0] and no architecture was given`);
  // the tokenizer first: it is cheap to check, and a bad one should not cost a model
  const tokenizer = files.vocab
    ? WordPieceTokenizer.fromVocabText(
        files.vocab,
        files.tokenizerConfig ? wordPieceOptionsFromTokenizerConfig(files.tokenizerConfig, `${where}/tokenizer_config.json`) : {},
        `${where}/vocab.txt`,
      )
    : files.tokenizerJson
      ? WordPieceTokenizer.fromTokenizerJson(files.tokenizerJson, `${where}/tokenizer.json`)
      : null;
  const bytes = files.weights instanceof Blob ? new Uint8Array(await files.weights.arrayBuffer()) : files.weights;
  const st = readSafetensors(bytes, `${where}/model.safetensors`);
  let model: PreTrainedModel;
  try {
    model = createModel(arch, config, options);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  const names = new Set(model.allNamedParameters().map(([n]) => n));
  const missing = [...names].filter((n) => !st.tensors.has(n));
  const unexpected = [...st.tensors.keys()].filter((n) => !names.has(n));
  const tied = new Set(
    model
      .allNamedParameters()
      .map(([n]) => n)
      .filter((n) => !model.namedParameters().some(([m]) => m === n)),
  );
  const allow = options.allowMissing === true ? [...names] : [...(options.allowMissing || []), ...tied];
  try {
    model.loadWeights(st.tensors, { source: `${where}/model.safetensors`, allowMissing: allow });
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, config, tokenizer, missing: missing.filter((n) => !tied.has(n)), unexpected };
}

/** The files of a Hugging Face directory, in memory (for browsers: download or store them). */
export async function exportPretrained(model: PreTrainedModel, tokenizer?: WordPieceTokenizer | null): Promise<Record<string, Uint8Array>> {
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [name, t] of model.namedParameters()) {
    tensors[name] = { data: (await t.toArray()) as Float32Array, shape: [...t.shape] };
  }
  const enc = new TextEncoder();
  const out: Record<string, Uint8Array> = {
    'config.json': enc.encode(JSON.stringify(configToJson(model.config, model.architecture), null, 2) + '\n'),
    'model.safetensors': writeSafetensors(tensors, { format: 'pt' }),
  };
  if (tokenizer) {
    out['vocab.txt'] = enc.encode(formatVocabText(tokenizer.vocab));
    // without it a cased tokenizer would load back lowercasing (BertTokenizer's default)
    const tc = tokenizerConfigFor(tokenizer);
    if (tc) out['tokenizer_config.json'] = enc.encode(JSON.stringify(tc, null, 2) + '\n');
  }
  return out;
}

/** The files exportPretrained may give, in the order to write them (config last: a directory with one is complete). */
export const PRETRAINED_FILES = ['model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'config.json'];

/** Writes config.json, model.safetensors (and vocab.txt, tokenizer_config.json) into `dir`, each file atomically. */
export async function savePretrained(model: PreTrainedModel, dir: string, tokenizer?: WordPieceTokenizer | null): Promise<void> {
  const files = await exportPretrained(model, tokenizer);
  await makeDir(dir);
  // weights first, config last: a directory with a config.json is complete
  for (const name of PRETRAINED_FILES) {
    if (files[name]) await writeAtomic(joinPath(dir, name), files[name]);
  }
}
