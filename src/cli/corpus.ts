// The pre-training corpus of `bertgpu pretrain`: files and directories -> documents, and which of
// them are held back for evaluation (the last ones), said in plain words; or, for a corpus larger
// than memory, the files as a CorpusStream (src/data/stream.ts) read one shard at a time.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decodeCorpusText, describeDocuments, readCorpus, type Corpus, type DocumentSplit, type SentenceSplit } from '../data/corpus.js';
import { CorpusStream, type ByteSource, type CorpusStreamOptions } from '../data/stream.js';

const CORPUS_EXTENSIONS = ['.txt', '.jsonl'];

/** Paths -> files: a directory gives its .txt and .jsonl files, recursively, in code-point order of their paths. */
export async function corpusFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((err: Error) => {
      throw new Error(`cannot read --corpus ${path}: ${err.message}`);
    });
    if (!info.isDirectory()) {
      files.push(path);
      continue;
    }
    const found = (await readdir(path, { recursive: true }))
      .filter((n) => CORPUS_EXTENSIONS.some((e) => n.endsWith(e)))
      .map((n) => join(path, n));
    const inDir: string[] = [];
    for (const f of found) if ((await stat(f)).isFile()) inDir.push(f);
    if (!inDir.length) throw new Error(`--corpus ${path}: a directory without ${CORPUS_EXTENSIONS.join(' or ')} files`);
    files.push(...inDir.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return files;
}

export interface LoadedCorpus {
  corpus: Corpus;
  files: string[];
  /** The document split used (auto resolved). */
  documents: DocumentSplit;
}

/**
 * Reads and decodes the files (refusing binary ones, warning about a little invalid UTF-8) and
 * splits them into documents: `auto` is blank-line for a single text file, else one per file.
 */
export async function loadCorpus(
  paths: readonly string[],
  documents: DocumentSplit | 'auto',
  sentences: SentenceSplit,
  warn: (line: string) => void,
): Promise<LoadedCorpus> {
  const files = await corpusFiles(paths);
  const texts = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new Error(`cannot read --corpus ${file}: ${(err as Error).message}`);
    }
    const { text, invalid } = decodeCorpusText(bytes, `--corpus ${file}`);
    if (invalid) warn(`warning: --corpus ${file}: ${invalid} invalid UTF-8 byte sequence(s), read as U+FFFD`);
    texts.push({ name: file, text });
  }
  const textFiles = files.filter((f) => !f.endsWith('.jsonl')).length;
  const split: DocumentSplit = documents === 'auto' ? (textFiles <= 1 ? 'blank-line' : 'file') : documents;
  const corpus = readCorpus(texts, split, sentences);
  if (!corpus.documents.length) throw new Error(`--corpus ${paths.join(' ')}: no text in ${files.length} file(s)`);
  return { corpus, files, documents: split };
}

export interface HeldBack {
  train: string[][];
  eval: string[][];
  /** One line for the user: what was found and what is held back. */
  report: string;
  /** The held-back files / documents, for the "training data" line. */
  names: string[];
}

/**
 * The last documents held back for evaluation: round(n * fraction), at least 1. Refused when they
 * would be more than half of the sentences (unless `allowLarge`), or when there is one document
 * and the fraction was asked for; with one document and the default fraction, nothing is held back.
 */
export function holdBack(
  loaded: LoadedCorpus,
  fraction: number,
  { explicit, allowLarge, needsPairs }: { explicit: boolean; allowLarge: boolean; needsPairs: boolean },
): HeldBack {
  const { corpus } = loaded;
  const n = corpus.documents.length;
  let held = fraction > 0 ? Math.max(1, Math.round(n * fraction)) : 0;
  if (n === 1 && held) {
    if (explicit) {
      throw new Error(
        `--eval-fraction ${fraction}: the corpus is one document, so none can be held back. Give more documents (more files, or blank lines between documents in one file), or --eval-fraction 0`,
      );
    }
    held = 0;
  }
  const train = corpus.documents.slice(0, n - held);
  const evalDocs = corpus.documents.slice(n - held);
  const sentences = (docs: string[][]) => docs.reduce((s, d) => s + d.length, 0);
  const heldSentences = sentences(evalDocs);
  const share = heldSentences / corpus.sentences;
  const percent = `${(100 * share).toFixed(share < 0.01 && share > 0 ? 1 : 0)}%`;
  if (share > 0.5 && !allowLarge) {
    throw new Error(
      `--eval-fraction ${fraction} holds back ${held} of ${n} documents, ${heldSentences} of ${corpus.sentences} sentences (${percent}): more than half of the data. ` +
        'Give more documents, lower --eval-fraction (0 holds nothing back), or pass --allow-large-held-back',
    );
  }
  if (needsPairs && train.length < 2) {
    throw new Error(
      `mlm-nsp needs at least 2 training documents for its random next sentences; the corpus gives ${train.length} after holding back ${held}. Give more documents (blank lines separate them in one file), or use --objective mlm`,
    );
  }
  const names = held ? describeDocuments(corpus, n - held, basename) : [];
  const found = `corpus: ${loaded.files.length} file(s), ${n} documents, ${corpus.sentences} sentences (documents: ${loaded.documents === 'file' ? 'one per file' : 'separated by blank lines'})`;
  const heldText = held
    ? `held back for evaluation: ${held} documents, ${heldSentences} sentences (${percent}): ${names.join(', ')}`
    : `held back for evaluation: nothing${n === 1 && fraction > 0 ? ' (one document)' : ''}`;
  return { train, eval: evalDocs, report: `${found}; ${heldText}`, names };
}

/** --stream auto reads a corpus whole up to this many bytes and streams a larger one. */
export const STREAM_ABOVE_BYTES = 32 << 20;

/** A file as synchronous positioned reads (the trainer asks for batches synchronously). */
export function fileSource(path: string): ByteSource & { close(): void } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`cannot read --corpus ${path}: ${(err as Error).message}`);
  }
  const size = fstatSync(fd).size;
  return {
    name: path,
    size,
    read(position, length) {
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - position)));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, position + got);
        if (!n) break;
        got += n;
      }
      return got === buf.length ? buf : buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

/** Whether --stream (auto, always, never) streams these files. */
export async function shouldStream(when: string, files: readonly string[]): Promise<boolean> {
  if (when !== 'auto') return when === 'always';
  let bytes = 0;
  for (const f of files) bytes += (await stat(f)).size;
  return bytes > STREAM_ABOVE_BYTES;
}

/** The files of --corpus as a CorpusStream, with the line saying what was found and how it is read. */
export function openCorpusStream(
  files: readonly string[],
  options: Omit<CorpusStreamOptions, 'documents'> & { documents: DocumentSplit | 'auto' },
): { corpus: CorpusStream; report: string; close(): void } {
  const sources = files.map(fileSource);
  const textFiles = files.filter((f) => !f.endsWith('.jsonl')).length;
  const documents: DocumentSplit = options.documents === 'auto' ? (textFiles <= 1 ? 'blank-line' : 'file') : options.documents;
  const corpus = new CorpusStream(sources, { ...options, documents });
  const mib = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 3 : 1)} MiB`;
  const report =
    `corpus: ${files.length} file(s), ${mib(corpus.bytes)}, streamed in ${corpus.shards.length} shards of ${mib(options.shardBytes)} ` +
    `(documents: ${documents === 'file' ? 'one per file' : 'separated by blank lines'}; documents and sentences are counted as training reaches each shard); ` +
    `held back for evaluation: ${options.heldBack ? `the documents whose hash of (file, start offset) falls below ${options.heldBack} (about ${(100 * options.heldBack).toFixed(0)}%)` : 'nothing'}`;
  return { corpus, report, close: () => sources.forEach((s) => s.close()) };
}
