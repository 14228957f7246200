// `bertgpu tokenize`: lines in (plain text, a JSON string, or {"text": ..., "pair": ...}), one JSON object
// out per line: {"input_ids", "token_type_ids", "attention_mask", "tokens"}. A line is written
// only once it is fully computed; on the first bad line the command stops with one error line
// on stderr and exit code 1, so output lines always match the first input lines.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { TokenizerEncoding } from '../tokenizers/encoding.js';
import { loadByteLevelBpeFiles, loadWordPieceVocabFile } from '../tokenizers/node-io.js';
import { UsageError, newCommand, processIo, runCommand, type CliCommand, type Io } from './program.js';

const HELP_AFTER = `
Input, one per line (blank lines are skipped):
  plain text                            a sequence
  "a JSON string"                       a sequence
  {"text": "...", "pair": "..."}        a pair ("pair" optional)
With --input auto (the default) a line starting with " or { or [ is read as JSON, any other
line as plain text. Output, one JSON object per line: input_ids, token_type_ids,
attention_mask, tokens. A line is written once it is whole; on the first bad line the
command stops (exit 1) with the line number, so output lines match the first input lines.`;

interface Encoder {
  encode(text: string, pair?: string | null, options?: { maxLength?: number; truncation?: 'longest_first' }): TokenizerEncoding;
}

type InputMode = 'auto' | 'json' | 'text';

export const command: CliCommand = {
  name: 'tokenize',
  gpu: false,
  build: (io) =>
    newCommand('tokenize', 'text or JSON lines on stdin -> token ids as JSON lines on stdout', io, (cmd) => tokenize(cmd, io))
      .option('--vocab <file>', 'WordPiece vocab.txt (BERT)')
      .option('--cased', 'keep case and accents (WordPiece; default: lowercase, strip accents)')
      .option('--max-length <n>', 'truncate to N tokens, special tokens included (pairs: longest_first)')
      .option('--bpe-vocab <file>', 'byte-level BPE vocab.json (RoBERTa / GPT-2 style)')
      .option('--merges <file>', 'byte-level BPE merges.txt')
      .option('--input <mode>', 'auto, json (every line JSON) or text (every line plain text)', 'auto')
      .addHelpText('after', HELP_AFTER),
};

/** `bertgpu tokenize ARGS`: the exit code (used by cli.ts and, with other streams, by the tests). */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  return runCommand(command.build(io), argv, io);
}

async function tokenize(cmd: Command, io: Io): Promise<number> {
  const fail = (message: string) => {
    io.stderr.write(`bertgpu tokenize: ${message}\n`);
    return 1;
  };
  const values = cmd.opts<{ vocab?: string; cased?: boolean; maxLength?: string; bpeVocab?: string; merges?: string; input: string }>();
  const bpe = values.bpeVocab !== undefined || values.merges !== undefined;
  if (values.vocab !== undefined && bpe) throw new UsageError('give either --vocab or --bpe-vocab/--merges, not both');
  let maxLength: number | undefined;
  if (values.maxLength !== undefined) {
    const text = values.maxLength;
    maxLength = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(maxLength)) throw new UsageError(`--max-length must be a whole number, got '${text}'`);
    if (maxLength < 2) throw new UsageError(`--max-length ${maxLength} is smaller than the 2 special tokens every sequence needs`);
  }
  if (!['auto', 'json', 'text'].includes(values.input)) throw new UsageError(`--input must be auto, json or text, got '${values.input}'`);
  const mode = values.input as InputMode;
  if (bpe) {
    if (values.bpeVocab === undefined || values.merges === undefined)
      throw new UsageError('byte-level BPE needs both --bpe-vocab and --merges');
    if (values.cased) throw new UsageError('--cased applies to WordPiece vocabularies only (byte-level BPE is always cased)');
  } else if (values.vocab === undefined) throw new UsageError('missing --vocab FILE (or --bpe-vocab FILE --merges FILE)');
  let tokenizer: Encoder;
  try {
    tokenizer = bpe
      ? loadByteLevelBpeFiles(values.bpeVocab!, values.merges!)
      : loadWordPieceVocabFile(values.vocab!, values.cased ? { lowercase: false } : {});
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }

  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      const [text, pair] = parseInputLine(line, mode);
      const e = tokenizer.encode(text, pair, maxLength === undefined ? {} : { maxLength, truncation: 'longest_first' });
      const out = JSON.stringify({
        input_ids: e.inputIds,
        token_type_ids: e.tokenTypeIds,
        attention_mask: e.attentionMask,
        tokens: e.tokens,
      });
      if (!io.stdout.write(out + '\n')) await once(io.stdout, 'drain');
    }
  } catch (err) {
    lines.close();
    return fail(`line ${lineNumber}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return 0;
}

/** [text, pair] from one input line: plain text, a JSON string or {"text": string, "pair"?: string}. */
function parseInputLine(line: string, mode: InputMode): [string, string | null] {
  if (mode === 'text' || (mode === 'auto' && !/^\s*["{[]/.test(line))) return [line, null];
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof value === 'string') return [value, null];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { text, pair } = value as { text?: unknown; pair?: unknown };
    if (typeof text !== 'string') throw new Error('expected "text" to be a string');
    if (pair !== undefined && pair !== null && typeof pair !== 'string') throw new Error('expected "pair" to be a string');
    return [text, pair ?? null];
  }
  throw new Error('expected a JSON string or an object {"text": ..., "pair": ...}');
}
