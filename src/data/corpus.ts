// Corpus files -> documents of sentences. Bytes are checked before they become training data, so
// a binary file given by mistake is refused instead of silently trained on. Pure TypeScript.
import { textToDocuments } from './text.js';

/** Invalid UTF-8 above this share of the characters refuses a file; below it, a warning. */
export const MAX_INVALID_UTF8_SHARE = 0.01;

export interface DecodedText {
  text: string;
  /** Byte sequences that were not valid UTF-8 (each decoded as U+FFFD). */
  invalid: number;
}

/**
 * Decodes a corpus file as UTF-8. Throws, naming `name`, for a file with NUL bytes (no text file
 * has them) or with more than MAX_INVALID_UTF8_SHARE of its characters invalid UTF-8.
 */
export function decodeCorpusText(bytes: Uint8Array, name: string): DecodedText {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    let count = 0;
    for (const b of bytes) if (b === 0) count++;
    throw new Error(`${name}: not a text file (${count} NUL byte(s), the first at byte ${nul}); a corpus is UTF-8 text`);
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  const before = countReplacement(text);
  // U+FFFD written in the file itself is text, not an error: count only what decoding added
  const written = countReplacementBytes(bytes);
  const invalid = before - written;
  if (invalid > MAX_INVALID_UTF8_SHARE * Math.max(1, text.length)) {
    throw new Error(`${name}: not UTF-8 text (${invalid} invalid byte sequence(s) in ${text.length} characters, more than ${MAX_INVALID_UTF8_SHARE * 100}%)`);
  }
  return { text, invalid };
}

/** U+FFFD characters in decoded text. */
export function countReplacement(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

/** U+FFFD encoded in the bytes (EF BF BD). */
export function countReplacementBytes(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(0xef); i >= 0 && i + 2 < bytes.length; i = bytes.indexOf(0xef, i + 1)) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) n++;
  }
  return n;
}

/** How a corpus file becomes documents: one per file, or blocks between blank lines. */
export type DocumentSplit = 'file' | 'blank-line';
/** How a document becomes sentences: `splitSentences` on prose, or one sentence per line. */
export type SentenceSplit = 'split' | 'line';

export interface CorpusText {
  /** The name errors and reports use. */
  name: string;
  text: string;
}

export interface Corpus {
  /** Documents, each a list of sentences, in file order. */
  documents: string[][];
  /** Per file: its name and its documents' range [first, first + count). */
  files: { name: string; first: number; count: number }[];
  sentences: number;
}

/**
 * Corpus texts -> documents of sentences. `.jsonl` files hold one document per line, as
 * {"text": "..."} (or a JSON string); other files are plain text, split into documents by
 * `documents` and into sentences by `sentences` (google-research/bert's own format is
 * `blank-line` + `line`: one sentence per line, a blank line between documents).
 */
export function readCorpus(texts: readonly CorpusText[], documents: DocumentSplit, sentences: SentenceSplit): Corpus {
  const docs: string[][] = [];
  const files: Corpus['files'] = [];
  const options = { documents, sentences } as const;
  for (const { name, text } of texts) {
    const first = docs.length;
    if (name.endsWith('.jsonl')) {
      text.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        const doc = textToDocuments(jsonlText(line, `${name}:${i + 1}`), { ...options, documents: 'file' });
        if (doc.length) docs.push(doc[0]);
      });
    } else docs.push(...textToDocuments(text, options));
    files.push({ name, first, count: docs.length - first });
  }
  return { documents: docs, files, sentences: docs.reduce((n, d) => n + d.length, 0) };
}

/** The text of one .jsonl line ({"text": "..."} or a JSON string); errors name `where` (file:line). */
export function jsonlText(line: string, where: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`${where}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof value === 'string') return value;
  const text = (value as { text?: unknown } | null)?.text;
  if (typeof text !== 'string') throw new Error(`${where}: expected {"text": "..."} or a JSON string`);
  return text;
}

/** Which files (or parts of them) the documents from `from` on come from, for reports. */
export function describeDocuments(corpus: Corpus, from: number, basename: (name: string) => string = (n) => n): string[] {
  const parts: string[] = [];
  for (const f of corpus.files) {
    const end = f.first + f.count;
    if (end <= from || !f.count) continue;
    if (f.first >= from) parts.push(f.count === 1 && corpus.files.length > 1 ? basename(f.name) : `${basename(f.name)} (${f.count} documents)`);
    else parts.push(`the last ${end - from} of ${basename(f.name)}'s ${f.count} documents`);
  }
  return parts;
}
