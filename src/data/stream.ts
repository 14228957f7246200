// Corpora larger than memory. The files are read through positioned reads (ByteSource), cut into
// shards of about `shardBytes` (byte ranges, so a shard is found by a seek, not by reading what
// comes before it), and a shard's documents are read, tokenized and made into instances only when
// training reaches it — google-research/bert's create_pretraining_data run once per input shard
// (dupe factor and random next documents within the shard), then a sharded loader. Every random
// choice is a function of (seed, epoch, shard, instance), so the state to checkpoint is
// { epoch, shard, position }. Held-back documents are chosen by a hash of where they start
// (file, byte offset), not by their rank, so choosing them needs no pass over the corpus. Pure
// TypeScript: the reads are synchronous because the trainer asks for batches synchronously (Node's
// readSync, Deno's FsFile.readSync, a browser Worker's FileReaderSync).
import { countReplacement, countReplacementBytes, jsonlText, MAX_INVALID_UTF8_SHARE, type DocumentSplit, type SentenceSplit } from './corpus.js';
import { PretrainingDataset, type PretrainingBatch, type PretrainingDatasetOptions, type PretrainingMode } from './dataset.js';
import { mixSeed, Rng } from './rng.js';
import { textToDocuments } from './text.js';
import { tokenizeDocuments } from './vocab.js';

/** A corpus file as positioned reads. */
export interface ByteSource {
  /** The name errors and reports use (a path). */
  readonly name: string;
  readonly size: number;
  /** Bytes [position, position + length), fewer at the end of the file. */
  read(position: number, length: number): Uint8Array;
}

/** Bytes [start, end) of file `file`: the documents that start there. */
export interface ShardPiece {
  file: number;
  start: number;
  end: number;
}

export interface StreamDocument {
  file: number;
  /** Byte offset of the document's first line in its file. */
  start: number;
  sentences: string[];
}

export interface CorpusStreamOptions {
  documents: DocumentSplit;
  sentences: SentenceSplit;
  /** Shard size in bytes (the last shard of the corpus may be smaller). */
  shardBytes: number;
  /** Share of the documents held back for evaluation, chosen by heldBackScore. */
  heldBack: number;
  /** Told about a little invalid UTF-8 (more refuses the file). */
  warn?: (line: string) => void;
}

const READ_CHUNK = 1 << 20;
/** A longer line (no newline in 64 MiB) is refused rather than held in memory. */
export const MAX_LINE_BYTES = 64 << 20;
const TAG_HELD = 0x68656c64;
const TAG_SHARD = 0x73686172;
const TAG_SHARD_ORDER = 0x73686f72;

/** In [0, 1): a document is held back when this is below the held-back share. */
export function heldBackScore(file: number, start: number): number {
  return mixSeed(TAG_HELD, file, start) / 4294967296;
}

/** The byte ranges of the shards: whole files when a file is one document, else cut anywhere (a document belongs to the shard it starts in). */
export function planShards(files: readonly { size: number; splittable: boolean }[], shardBytes: number): ShardPiece[][] {
  if (!(Number.isSafeInteger(shardBytes) && shardBytes > 0)) throw new Error(`corpus shards: shardBytes must be a positive integer, got ${shardBytes}`);
  const shards: ShardPiece[][] = [];
  let current: ShardPiece[] = [];
  let bytes = 0;
  files.forEach(({ size, splittable }, file) => {
    for (let pos = 0; pos < size; ) {
      const length = splittable ? Math.min(shardBytes - bytes, size - pos) : size;
      current.push({ file, start: pos, end: pos + length });
      bytes += length;
      pos += length;
      if (bytes >= shardBytes) {
        shards.push(current);
        current = [];
        bytes = 0;
      }
    }
  });
  if (current.length) shards.push(current);
  return shards;
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0c || b === 0x0d;
const isBlank = (bytes: Uint8Array) => bytes.every(isSpace);

/** Lines (without their '\n') from byte `from` on, each with the offset it starts at. */
function* lines(source: ByteSource, from: number): Generator<{ start: number; bytes: Uint8Array }> {
  let carry = new Uint8Array(0);
  let carryStart = from;
  for (let pos = from; pos < source.size; ) {
    const chunk = source.read(pos, Math.min(READ_CHUNK, source.size - pos));
    if (!chunk.length) break;
    pos += chunk.length;
    const buf = carry.length ? concat(carry, chunk) : chunk;
    let lineStart = 0;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, lineStart)) {
      yield { start: carryStart + lineStart, bytes: buf.subarray(lineStart, i) };
      lineStart = i + 1;
    }
    carry = buf.slice(lineStart);
    carryStart += lineStart;
    if (carry.length > MAX_LINE_BYTES)
      throw new Error(`${source.name}: a line longer than ${MAX_LINE_BYTES} bytes from byte ${carryStart} on; a corpus needs line breaks`);
  }
  if (carry.length) yield { start: carryStart, bytes: carry };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Whether the line holding byte `pos` is blank from its start up to `pos` (reading backwards). */
function blankBackFrom(source: ByteSource, pos: number): boolean {
  while (pos >= 0) {
    const from = Math.max(0, pos - 4095);
    const bytes = source.read(from, pos - from + 1);
    for (let i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i] === 10) return true;
      if (!isSpace(bytes[i])) return false;
    }
    pos = from - 1;
  }
  return true;
}

/** 1-based line number of byte `offset` (counted only when an error needs it). */
export function lineAt(source: ByteSource, offset: number): number {
  let line = 1;
  for (let pos = 0; pos < offset; ) {
    const chunk = source.read(pos, Math.min(READ_CHUNK, offset - pos));
    if (!chunk.length) break;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) line++;
    pos += chunk.length;
  }
  return line;
}

/** Decodes lines as UTF-8, refusing NUL bytes (file:line) and counting invalid sequences. */
class LineDecoder {
  private readonly decoder = new TextDecoder('utf-8');
  invalid = 0;
  chars = 0;
  constructor(private readonly source: ByteSource) {}

  decode(line: { start: number; bytes: Uint8Array }): string {
    const nul = line.bytes.indexOf(0);
    if (nul >= 0) throw new Error(`${this.where(line.start)}: not a text file (a NUL byte at byte ${line.start + nul}); a corpus is UTF-8 text`);
    const text = this.decoder.decode(line.bytes);
    this.chars += text.length;
    if (text.includes('\uFFFD')) this.invalid += countReplacement(text) - countReplacementBytes(line.bytes);
    return text;
  }

  where(offset: number): string {
    return `${this.source.name}:${lineAt(this.source, offset)}`;
  }

  /** After a piece: refuses it above MAX_INVALID_UTF8_SHARE invalid, else warns. */
  check(piece: ShardPiece, warn?: (line: string) => void): void {
    if (!this.invalid) return;
    const range = `${this.source.name} bytes ${piece.start}-${piece.end}`;
    if (this.invalid > MAX_INVALID_UTF8_SHARE * Math.max(1, this.chars))
      throw new Error(`${range}: not UTF-8 text (${this.invalid} invalid byte sequence(s) in ${this.chars} characters, more than ${MAX_INVALID_UTF8_SHARE * 100}%)`);
    warn?.(`warning: ${range}: ${this.invalid} invalid UTF-8 byte sequence(s), read as U+FFFD`);
  }
}

/** A corpus of files as shards of documents, read one shard at a time. */
export class CorpusStream {
  readonly shards: ShardPiece[][];

  constructor(
    readonly sources: readonly ByteSource[],
    readonly options: CorpusStreamOptions,
  ) {
    if (!sources.length) throw new Error('corpus stream: no files');
    if (!(options.heldBack >= 0 && options.heldBack < 1)) throw new Error(`corpus stream: the held-back share must be in [0, 1), got ${options.heldBack}`);
    this.shards = planShards(
      sources.map((s) => ({ size: s.size, splittable: this.isJsonl(s) || options.documents === 'blank-line' })),
      options.shardBytes,
    );
    if (!this.shards.length) throw new Error(`corpus stream: ${sources.length} empty file(s)`);
  }

  get bytes(): number {
    return this.sources.reduce((n, s) => n + s.size, 0);
  }

  isHeldBack(doc: { file: number; start: number }): boolean {
    return heldBackScore(doc.file, doc.start) < this.options.heldBack;
  }

  /** What a checkpoint compares on resume: the files, their sizes and how they are cut. */
  fingerprint(): string {
    const { documents, sentences, shardBytes, heldBack } = this.options;
    return JSON.stringify({ files: this.sources.map((s) => [s.name, s.size]), documents, sentences, shardBytes, heldBack });
  }

  /** The documents that start in shard `index`, in file order. */
  readShard(index: number): StreamDocument[] {
    const shard = this.shards[index];
    if (!shard) throw new Error(`corpus stream: no shard ${index} (there are ${this.shards.length})`);
    const docs: StreamDocument[] = [];
    for (const piece of shard) {
      const source = this.sources[piece.file];
      if (!this.isJsonl(source) && this.options.documents === 'file') this.readWholeFile(piece, docs);
      else this.readLines(piece, docs);
    }
    return docs;
  }

  /**
   * Held-back documents for evaluation, read from the first shards in file order until `enough`
   * says so (the same documents on every run and resume).
   */
  heldBackDocuments(enough: (docs: string[][]) => boolean): string[][] {
    const held: string[][] = [];
    if (this.options.heldBack === 0) return held;
    for (let k = 0; k < this.shards.length && !enough(held); k++) {
      for (const d of this.readShard(k)) if (this.isHeldBack(d)) held.push(d.sentences);
    }
    return held;
  }

  /**
   * Training sentences for a vocabulary from about `bytes` of the corpus: whole shards spread
   * evenly over it (a cap on the bytes sampled, so the count of distinct words stays bounded too),
   * read one shard at a time as the sentences are iterated; `read` counts what has been given.
   */
  sampleSentences(bytes: number): { sentences: Iterable<string>; shards: number; bytes: number; read: { sentences: number } } {
    const n = this.shards.length;
    const take = Math.min(n, Math.max(1, Math.ceil(bytes / this.options.shardBytes)));
    const picked = Array.from({ length: take }, (_, i) => Math.floor((i * n) / take));
    const read = { sentences: 0 };
    const sentences = function* (this: CorpusStream): Generator<string> {
      read.sentences = 0;
      for (const k of picked) {
        for (const d of this.readShard(k)) {
          if (this.isHeldBack(d)) continue;
          read.sentences += d.sentences.length;
          yield* d.sentences;
        }
      }
    }.bind(this);
    const sampled = picked.reduce((sum, k) => sum + this.shards[k].reduce((s, p) => s + p.end - p.start, 0), 0);
    return { sentences: { [Symbol.iterator]: sentences }, shards: take, bytes: sampled, read };
  }

  private isJsonl(source: ByteSource): boolean {
    return source.name.endsWith('.jsonl');
  }

  private readWholeFile(piece: ShardPiece, docs: StreamDocument[]): void {
    const source = this.sources[piece.file];
    const decoder = new LineDecoder(source);
    const text = [...lines(source, 0)].map((l) => decoder.decode(l)).join('\n');
    decoder.check(piece, this.options.warn);
    const [doc] = textToDocuments(text, { documents: 'file', sentences: this.options.sentences });
    if (doc) docs.push({ file: piece.file, start: 0, sentences: doc });
  }

  /**
   * Text with blank lines between documents, or .jsonl (a document per line): the documents whose
   * first line starts in [start, end), the last one read to its end past `end`.
   */
  private readLines(piece: ShardPiece, docs: StreamDocument[]): void {
    const source = this.sources[piece.file];
    const jsonl = this.isJsonl(source);
    const decoder = new LineDecoder(source);
    const sentences = this.options.sentences;
    // the line before the piece's first whole line decides whether that line starts a document
    let previousBlank = true;
    let partial = false;
    if (piece.start > 0) {
      partial = source.read(piece.start - 1, 1)[0] !== 10;
      previousBlank = blankBackFrom(source, piece.start - (partial ? 1 : 2));
    }
    let doc: { start: number; lines: string[] } | null = null;
    const finish = () => {
      const [found] = textToDocuments(doc!.lines.join('\n'), { documents: 'blank-line', sentences });
      if (found) docs.push({ file: piece.file, start: doc!.start, sentences: found });
      doc = null;
    };
    for (const line of lines(source, piece.start)) {
      if (partial) {
        // the rest of a line that starts in the previous piece
        partial = false;
        previousBlank &&= isBlank(line.bytes);
        continue;
      }
      if (jsonl) {
        if (line.start >= piece.end) break;
        const text = decoder.decode(line);
        if (!text.trim()) continue;
        const [found] = textToDocuments(jsonlText(text, decoder.where(line.start)), { documents: 'file', sentences });
        if (found) docs.push({ file: piece.file, start: line.start, sentences: found });
        continue;
      }
      if (isBlank(line.bytes)) {
        if (doc) finish();
        previousBlank = true;
        continue;
      }
      if (!doc) {
        if (line.start >= piece.end) break;
        if (previousBlank) doc = { start: line.start, lines: [] };
      }
      // (without a document: the rest of one that starts in the previous piece)
      if (doc) doc.lines.push(decoder.decode(line));
      previousBlank = false;
    }
    if (doc) finish();
    decoder.check(piece, this.options.warn);
  }
}

/** What one shard gave, for reports ("as training reaches it"). */
export interface ShardReport {
  shard: number;
  epoch: number;
  /** Its place in the epoch's order, from 0. */
  position: number;
  documents: number;
  sentences: number;
  heldBackDocuments: number;
  instances: number;
}

export interface StreamedDatasetOptions extends Omit<PretrainingDatasetOptions, 'texts' | 'textOptions' | 'sentenceDocuments' | 'documents'> {
  corpus: CorpusStream;
  /** Called when a shard has been read and made into instances. */
  onShard?: (report: ShardReport) => void;
}

export interface StreamedDatasetState {
  streamed: 1;
  epoch: number;
  /** Place in the epoch's shard order. */
  shard: number;
  /** Place in that shard's instance order. */
  position: number;
  seed: number;
  mode: PretrainingMode;
  corpus: string;
}

/**
 * PretrainingDataset's stream over a CorpusStream: each epoch serves the shards in a seeded order
 * (seed, epoch), each shard's instances in its own seeded order (shard seed, epoch). A shard's
 * instances are created from its training documents with seed (seed, shard) — not the epoch, so
 * that, as in the whole-corpus dataset and google-research/bert, every epoch trains on the same
 * dupe-factor instances; dynamic masking still draws new masks per epoch. One shard is in memory.
 */
export class StreamedPretrainingDataset {
  readonly corpus: CorpusStream;
  readonly seed: number;
  readonly mode: PretrainingMode;
  epoch = 0;
  shard = 0;
  position = 0;
  private readonly shardOptions: Omit<PretrainingDatasetOptions, 'documents'>;
  private readonly onShard?: (report: ShardReport) => void;
  private loaded: { index: number; set: PretrainingDataset | null } | null = null;
  private orderEpoch = -1;
  private orderCache = new Uint32Array(0);

  constructor({ corpus, onShard, ...options }: StreamedDatasetOptions) {
    this.corpus = corpus;
    this.onShard = onShard;
    this.seed = options.seed ?? 0;
    this.mode = options.mode ?? 'bert';
    this.shardOptions = options;
  }

  /** The order shards are served in during `epoch`. */
  shardOrder(epoch: number): Uint32Array {
    if (epoch !== this.orderEpoch) {
      const idx = Array.from({ length: this.corpus.shards.length }, (_, i) => i);
      new Rng([this.seed, TAG_SHARD_ORDER, epoch]).shuffle(idx);
      this.orderCache = Uint32Array.from(idx);
      this.orderEpoch = epoch;
    }
    return this.orderCache;
  }

  /** The instances of shard `index` (null when it has no training documents). */
  buildShard(index: number): PretrainingDataset | null {
    const docs = this.corpus.readShard(index);
    const train = docs.filter((d) => !this.corpus.isHeldBack(d)).map((d) => d.sentences);
    const tokenized = tokenizeDocuments(train, this.shardOptions.tokenizer);
    const set = tokenized.length ? new PretrainingDataset({ ...this.shardOptions, documents: tokenized, seed: mixSeed(this.seed, TAG_SHARD, index) }) : null;
    this.onShard?.({
      shard: index,
      epoch: this.epoch,
      position: this.shard,
      documents: docs.length,
      sentences: docs.reduce((n, d) => n + d.sentences.length, 0),
      heldBackDocuments: docs.length - train.length,
      instances: set?.length ?? 0,
    });
    return set;
  }

  private current(): PretrainingDataset {
    const n = this.corpus.shards.length;
    for (let empty = 0; ; empty++) {
      if (empty >= n) throw new Error(`streamed corpus: none of its ${n} shards gave a training instance (every document empty or held back)`);
      const index = this.shardOrder(this.epoch)[this.shard];
      if (this.loaded?.index !== index) this.loaded = { index, set: this.buildShard(index) };
      if (this.loaded.set) return this.loaded.set;
      this.advanceShard();
    }
  }

  private advanceShard(): void {
    this.position = 0;
    if (++this.shard >= this.corpus.shards.length) {
      this.shard = 0;
      this.epoch++;
    }
  }

  /** The next `batchSize` instances (crossing into the next shard and epoch when needed). */
  nextBatch(batchSize: number): PretrainingBatch {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`StreamedPretrainingDataset: batchSize must be a positive integer, got ${batchSize}`);
    const rows: { index: number; epoch: number; from: PretrainingDataset }[] = [];
    while (rows.length < batchSize) {
      const set = this.current();
      rows.push({ index: set.order(this.epoch)[this.position], epoch: this.epoch, from: set });
      if (++this.position >= set.length) this.advanceShard();
    }
    return rows[0].from.collate(rows);
  }

  state(): StreamedDatasetState {
    return { streamed: 1, epoch: this.epoch, shard: this.shard, position: this.position, seed: this.seed, mode: this.mode, corpus: this.corpus.fingerprint() };
  }

  /** Resumes from `state()`: only the shard it stopped in is read again. */
  restore(state: StreamedDatasetState): void {
    if (state?.streamed !== 1)
      throw new Error('StreamedPretrainingDataset.restore: the checkpoint was written from a corpus read whole (not streamed); resume it with the same --stream setting');
    if (state.seed !== this.seed || state.mode !== this.mode || state.corpus !== this.corpus.fingerprint()) {
      throw new Error(
        `StreamedPretrainingDataset.restore: the state is for seed ${state.seed}, mode ${state.mode}, corpus ${state.corpus}; this dataset has seed ${this.seed}, mode ${this.mode}, corpus ${this.corpus.fingerprint()}`,
      );
    }
    const n = this.corpus.shards.length;
    const ok = (v: number, below = Infinity) => Number.isInteger(v) && v >= 0 && v < below;
    if (!(ok(state.epoch) && ok(state.shard, n) && ok(state.position))) throw new Error(`StreamedPretrainingDataset.restore: bad epoch/shard/position ${state.epoch}/${state.shard}/${state.position}`);
    this.epoch = state.epoch;
    this.shard = state.shard;
    this.position = state.position;
    this.loaded = null;
    const set = this.current();
    if (this.position >= set.length) throw new Error(`StreamedPretrainingDataset.restore: position ${state.position} is past the ${set.length} instances of its shard`);
  }
}
