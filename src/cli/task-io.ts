// What the fine-tuning commands (finetune, predict, evaluate, fill-mask, merge-adapter) share:
// option parsers that refuse bad values before any work, checks of --model / --out, input from
// a file or stdin, and writing a model or adapter directory (each file atomically, config last).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { access, rm, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { makeDir, writeAtomic } from '../io/files.js';
import { UsageError, type Io } from './program.js';

/** A commander parser of integers >= min. */
export const intArg =
  (min: number) =>
  (raw: string): number => {
    const v = Number(raw);
    if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return v;
  };

/** A commander parser of finite numbers that `ok` accepts (`want` says what it wants). */
export const numberArg =
  (ok: (v: number) => boolean, want: string) =>
  (raw: string): number => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || !ok(v)) throw new InvalidArgumentError(`must be ${want}`);
    return v;
  };

/** --model DIR must be a Hugging Face directory. */
export function checkModelDir(dir: string, flag = '--model'): void {
  if (!existsSync(join(dir, 'config.json'))) throw new UsageError(`${flag} ${dir}: no config.json (a Hugging Face directory is expected)`);
}

/** --adapter DIR must hold PEFT's two files. */
export function checkAdapterDir(dir: string): void {
  for (const f of ['adapter_config.json', 'adapter_model.safetensors'])
    if (!existsSync(join(dir, f))) throw new UsageError(`--adapter ${dir}: no ${f} (a PEFT adapter directory is expected)`);
}

/** A data file given by `flag`: present and not a directory. */
export function checkDataFile(path: string, flag: string): void {
  if (path === '-') return;
  if (!existsSync(path)) throw new UsageError(`${flag} ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UsageError(`${flag} ${path} is a directory`);
}

const MODEL_FILES = [
  'config.json',
  'model.safetensors',
  'adapter_config.json',
  'adapter_model.safetensors',
  'feature_head.safetensors',
  'feature_config.json',
];

/**
 * Refuses an --out that cannot take a model, before any work: a file, under a file, not
 * writable, or holding a model or adapter already (unless `overwrite`).
 */
export async function checkOutDir(out: string, overwrite: boolean): Promise<void> {
  let info = await stat(out).catch(() => null);
  if (info && !info.isDirectory())
    throw new UsageError(`--out ${out} is a file; it must be a directory (new, or holding a model to replace with --overwrite)`);
  if (info) {
    const held = MODEL_FILES.filter((n) => existsSync(join(out, n)));
    if (held.length && !overwrite)
      throw new UsageError(`--out ${out} already holds a model (${held.join(', ')}); pass --overwrite to replace it`);
  }
  let dir = out;
  while (!info) {
    dir = dirname(dir);
    info = await stat(dir).catch(() => null);
  }
  if (!info.isDirectory()) throw new UsageError(`--out ${out}: ${dir} is a file, not a directory`);
  await access(dir, constants.W_OK).catch(() => {
    throw new UsageError(`--out ${out}: ${dir} is not writable`);
  });
}

const TOKENIZER_FILES = [
  'vocab.txt',
  'tokenizer.json',
  'vocab.json',
  'merges.txt',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
];

/** The tokenizer files of a directory, as they are (they go into a fine-tuned model's directory unchanged). */
export function tokenizerFiles(dir: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const name of TOKENIZER_FILES) if (existsSync(join(dir, name))) files[name] = new Uint8Array(readFileSync(join(dir, name)));
  return files;
}

/**
 * Writes a model or adapter directory: each file atomically, weights first and config last (a
 * directory with its config is complete); model / adapter files of an earlier run that this
 * one does not write go, so the directory holds one model.
 */
export async function writeModelDir(out: string, files: Record<string, Uint8Array>): Promise<void> {
  await makeDir(out);
  const last = ['adapter_config.json', 'feature_config.json', 'config.json'];
  const order = [...Object.keys(files).filter((n) => !last.includes(n)), ...last.filter((n) => files[n])];
  for (const stale of MODEL_FILES) if (!files[stale] && existsSync(join(out, stale))) await rm(join(out, stale));
  for (const name of order) await writeAtomic(join(out, name), files[name]);
}

/** The text of --input FILE, or of stdin for '-'; the name errors use for it. */
export async function readInput(path: string, io: Io): Promise<{ text: string; source: string }> {
  if (path !== '-') return { text: readFileSync(path, 'utf8'), source: path };
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return { text: Buffer.concat(chunks).toString('utf8'), source: 'stdin' };
}

/** Prints JSON lines to stdout. */
export function writeJsonLines(io: Io, values: readonly unknown[]): void {
  io.stdout.write(values.map((v) => JSON.stringify(v) + '\n').join(''));
}
