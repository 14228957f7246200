// `bertgpu tokenize`: JSON lines in (a string, or {"text": ..., "pair": ...}), one JSON object
// out per line: {"input_ids", "token_type_ids", "attention_mask", "tokens"}. A line is written
// only once it is fully computed; on the first bad line the command stops with one error line
// on stderr and exit code 1, so output lines always match the first input lines.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { TokenizerEncoding } from '../tokenizers/encoding.js';
import { loadByteLevelBpeFiles, loadWordPieceVocabFile } from '../tokenizers/node-io.js';

const USAGE = `usage: bertgpu tokenize --vocab FILE [--cased] [--max-length N]
       bertgpu tokenize --bpe-vocab vocab.json --merges merges.txt [--max-length N]
Reads JSON lines on stdin: "text" or {"text": "...", "pair": "..."}.
Writes one JSON object per line: input_ids, token_type_ids, attention_mask, tokens.
  --vocab FILE        WordPiece vocab.txt (BERT)
  --cased             keep case and accents (default: lowercase, strip accents)
  --max-length N      truncate to N tokens, special tokens included (pairs: longest_first)
  --bpe-vocab FILE    byte-level BPE vocab.json (RoBERTa/GPT-2 style)
  --merges FILE       byte-level BPE merges.txt`;

interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

interface Encoder {
  encode(text: string, pair?: string | null, options?: { maxLength?: number; truncation?: 'longest_first' }): TokenizerEncoding;
}

class UsageError extends Error {}

export async function main(argv: string[], io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const fail = (message: string, code = 1) => {
    io.stderr.write(`bertgpu tokenize: ${message}\n`);
    return code;
  };

  let tokenizer: Encoder;
  let maxLength: number | undefined;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        vocab: { type: 'string' },
        cased: { type: 'boolean', default: false },
        'max-length': { type: 'string' },
        'bpe-vocab': { type: 'string' },
        merges: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    });
    if (values.help) {
      io.stdout.write(USAGE + '\n');
      return 0;
    }
    const bpe = values['bpe-vocab'] !== undefined || values.merges !== undefined;
    if (values.vocab !== undefined && bpe) throw new UsageError('give either --vocab or --bpe-vocab/--merges, not both');
    if (values['max-length'] !== undefined) {
      const text = values['max-length'];
      maxLength = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(maxLength)) throw new UsageError(`--max-length must be a whole number, got '${text}'`);
      if (maxLength < 2) throw new UsageError(`--max-length ${maxLength} is smaller than the 2 special tokens every sequence needs`);
    }
    if (bpe) {
      if (values['bpe-vocab'] === undefined || values.merges === undefined) throw new UsageError('byte-level BPE needs both --bpe-vocab and --merges');
      if (values.cased) throw new UsageError('--cased applies to WordPiece vocabularies only (byte-level BPE is always cased)');
      tokenizer = loadByteLevelBpeFiles(values['bpe-vocab'], values.merges);
    } else {
      if (values.vocab === undefined) throw new UsageError('missing --vocab FILE (or --bpe-vocab FILE --merges FILE)');
      tokenizer = loadWordPieceVocabFile(values.vocab, values.cased ? { lowercase: false } : {});
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseArgs' own errors (unknown option, missing value) are usage errors too.
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    return fail(usage ? `${message}\n${USAGE}` : message, usage ? 2 : 1);
  }

  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      const [text, pair] = parseInputLine(line);
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

/** [text, pair] from one input line: a JSON string or {"text": string, "pair"?: string}. */
function parseInputLine(line: string): [string, string | null] {
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
    return [text, (pair as string | null | undefined) ?? null];
  }
  throw new Error('expected a JSON string or an object {"text": ..., "pair": ...}');
}
