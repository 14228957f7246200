// Token-id documents -> unmasked training instances, for the three pre-training recipes:
// BERT (google-research/bert create_instances_from_document: segment pairs with next-sentence
// prediction), ELECTRA (google-research/electra build_pretraining_dataset.ExampleBuilder: one or
// two segments, no NSP) and RoBERTa (FULL-SENTENCES packing across documents, no NSP).
import { Rng } from './rng.js';
import type { VocabInfo } from './vocab.js';

export interface Instance {
  /** [CLS] A [SEP] (B [SEP]), unmasked. */
  tokens: Int32Array;
  /** Index of the first token with token type 1 (tokens.length when there is one segment). */
  typeStart: number;
  /** 1: B is a random next (IsRandom), 0: B is the actual next, -100: no NSP. */
  nextSentenceLabel: number;
  /** BERT: the chunk had one segment, so B had to be random (google's rule). */
  forcedRandomNext?: boolean;
}

export interface CreationStats {
  documents: number;
  /** BERT: documents whose target length was drawn short (short_seq_prob). */
  shortTargetDocuments: number;
  instances: number;
  randomNext: number;
  forcedRandomNext: number;
}

export function emptyStats(documents: number): CreationStats {
  return { documents, shortTargetDocuments: 0, instances: 0, randomNext: 0, forcedRandomNext: 0 };
}

function build(vocab: VocabInfo, a: readonly number[], b: readonly number[]): { tokens: Int32Array; typeStart: number } {
  const tokens = new Int32Array(a.length + b.length + (b.length ? 3 : 2));
  let k = 0;
  tokens[k++] = vocab.cls;
  for (const t of a) tokens[k++] = t;
  tokens[k++] = vocab.sep;
  const typeStart = b.length ? k : tokens.length;
  if (b.length) {
    for (const t of b) tokens[k++] = t;
    tokens[k++] = vocab.sep;
  }
  return { tokens, typeStart };
}

/** google's truncate_seq_pair: drop from the front or back (coin flip) of the longer one. */
export function truncateSeqPair(a: number[], b: number[], maxNumTokens: number, rng: Rng): void {
  while (a.length + b.length > maxNumTokens) {
    const t = a.length > b.length ? a : b;
    if (rng.random() < 0.5) t.shift();
    else t.pop();
  }
}

export interface BertInstanceOptions {
  maxSeqLength: number;
  shortSeqProb: number;
}

/**
 * create_instances_from_document, line for line (minus the masking, done when an instance is
 * served): max_num_tokens = maxSeqLength - 3; with probability shortSeqProb the document's
 * target length is randint(2, max_num_tokens) (drawn once per document, as google does);
 * sentences accumulate into a chunk until the target is reached; A takes randint(1, n-1) of its
 * n segments; B is the rest (label 0) or, with probability 0.5 or when the chunk has one
 * segment, text from a random other document (label 1), in which case the unused segments are
 * put back (i -= num_unused_segments); then truncate_seq_pair.
 */
export function bertInstancesFromDocument(docs: readonly (readonly number[])[][], docIndex: number, vocab: VocabInfo, opts: BertInstanceOptions, rng: Rng, stats: CreationStats): Instance[] {
  const document = docs[docIndex];
  const maxNumTokens = opts.maxSeqLength - 3;
  let target = maxNumTokens;
  if (rng.random() < opts.shortSeqProb) {
    target = rng.randint(2, maxNumTokens);
    stats.shortTargetDocuments++;
  }
  const out: Instance[] = [];
  let chunk: (readonly number[])[] = [];
  let length = 0;
  let i = 0;
  while (i < document.length) {
    const segment = document[i];
    chunk.push(segment);
    length += segment.length;
    if (i === document.length - 1 || length >= target) {
      if (chunk.length) {
        const aEnd = chunk.length >= 2 ? rng.randint(1, chunk.length - 1) : 1;
        const a: number[] = [];
        for (let j = 0; j < aEnd; j++) a.push(...chunk[j]);
        const b: number[] = [];
        let isRandomNext: boolean;
        const forced = chunk.length === 1;
        if (forced || rng.random() < 0.5) {
          isRandomNext = true;
          const targetB = target - a.length;
          let r = 0;
          for (let k = 0; k < 10; k++) {
            r = rng.randint(0, docs.length - 1);
            if (r !== docIndex) break;
          }
          const randomDoc = docs[r];
          const start = rng.randint(0, randomDoc.length - 1);
          for (let j = start; j < randomDoc.length; j++) {
            b.push(...randomDoc[j]);
            if (b.length >= targetB) break;
          }
          i -= chunk.length - aEnd;
        } else {
          isRandomNext = false;
          for (let j = aEnd; j < chunk.length; j++) b.push(...chunk[j]);
        }
        truncateSeqPair(a, b, maxNumTokens, rng);
        if (!a.length || !b.length) throw new Error('bert instances: an empty segment (documents must not contain empty sentences)');
        const { tokens, typeStart } = build(vocab, a, b);
        out.push({ tokens, typeStart, nextSentenceLabel: isRandomNext ? 1 : 0, forcedRandomNext: forced });
        stats.instances++;
        if (isRandomNext) stats.randomNext++;
        if (forced) stats.forcedRandomNext++;
      }
      chunk = [];
      length = 0;
    }
    i++;
  }
  return out;
}

/**
 * google's create_training_instances after tokenization: shuffle the documents, then
 * `dupeFactor` passes of bertInstancesFromDocument over all of them. (google then shuffles the
 * instances once; the dataset here shuffles them every epoch instead.)
 */
export function createBertInstances(documents: readonly (readonly number[])[][], vocab: VocabInfo, opts: BertInstanceOptions & { dupeFactor: number }, rng: Rng): { instances: Instance[]; stats: CreationStats } {
  if (opts.maxSeqLength < 5) throw new Error(`bert instances: maxSeqLength must be at least 5, got ${opts.maxSeqLength}`);
  const docs = rng.shuffle(documents.filter((d) => d.length).map((d) => d.filter((s) => s.length)).filter((d) => d.length));
  if (!docs.length) throw new Error('bert instances: no non-empty documents');
  const stats = emptyStats(docs.length * opts.dupeFactor);
  const instances: Instance[] = [];
  for (let dupe = 0; dupe < opts.dupeFactor; dupe++) {
    for (let d = 0; d < docs.length; d++) instances.push(...bertInstancesFromDocument(docs, d, vocab, opts, rng, stats));
  }
  return { instances, stats };
}

/**
 * ELECTRA's ExampleBuilder: sentences accumulate until the target length (maxSeqLength, or with
 * probability 0.05 after each example randint(5, maxSeqLength)) or the end of a document; the
 * first segment gets sentences up to (target - 3) // 2 tokens (a sentence that would overshoot
 * goes there with probability 0.5 while the second is empty), or everything with probability
 * 0.1 (a single-segment example); segments are then cut to fit maxSeqLength.
 */
export function createElectraInstances(documents: readonly (readonly number[])[][], vocab: VocabInfo, opts: { maxSeqLength: number }, rng: Rng): { instances: Instance[]; stats: CreationStats } {
  const max = opts.maxSeqLength;
  if (max < 5) throw new Error(`electra instances: maxSeqLength must be at least 5, got ${max}`);
  const instances: Instance[] = [];
  const stats = emptyStats(documents.length);
  let sentences: (readonly number[])[] = [];
  let length = 0;
  let target = max;
  const create = () => {
    const firstTarget = rng.random() < 0.1 ? 100000 : Math.floor((target - 3) / 2);
    let first: number[] = [];
    let second: number[] = [];
    for (const s of sentences) {
      if (first.length === 0 || first.length + s.length < firstTarget || (second.length === 0 && first.length < firstTarget && rng.random() < 0.5)) first.push(...s);
      else second.push(...s);
    }
    first = first.slice(0, max - 2);
    second = second.slice(0, Math.max(0, max - first.length - 3));
    sentences = [];
    length = 0;
    target = rng.random() < 0.05 ? rng.randint(5, max) : max;
    if (!first.length && !second.length) return;
    const { tokens, typeStart } = build(vocab, first, second);
    instances.push({ tokens, typeStart, nextSentenceLabel: -100 });
    stats.instances++;
  };
  for (const doc of documents) {
    for (const s of doc) {
      sentences.push(s);
      length += s.length;
      if (length >= target) create();
    }
    if (length !== 0) create(); // the blank line between documents
  }
  return { instances, stats };
}

/**
 * RoBERTa's FULL-SENTENCES: whole sentences packed contiguously, crossing document boundaries
 * with a [SEP] between documents, into `[CLS] ... [SEP]` of at most maxSeqLength tokens; a
 * sentence longer than a whole sequence is cut into pieces. One segment, no NSP.
 */
export function createRobertaInstances(documents: readonly (readonly number[])[][], vocab: VocabInfo, opts: { maxSeqLength: number }): { instances: Instance[]; stats: CreationStats } {
  const cap = opts.maxSeqLength - 2;
  if (cap < 1) throw new Error(`roberta instances: maxSeqLength must be at least 3, got ${opts.maxSeqLength}`);
  const instances: Instance[] = [];
  const stats = emptyStats(documents.length);
  let cur: number[] = [];
  const emit = () => {
    while (cur.length && cur[cur.length - 1] === vocab.sep) cur.pop(); // no [SEP] [SEP] at the end
    if (cur.length) {
      const { tokens, typeStart } = build(vocab, cur, []);
      instances.push({ tokens, typeStart, nextSentenceLabel: -100 });
      stats.instances++;
    }
    cur = [];
  };
  documents.forEach((doc, d) => {
    for (const s of doc) {
      for (let off = 0; off < s.length; off += cap) {
        const piece = s.slice(off, off + cap);
        if (cur.length + piece.length > cap) emit();
        cur.push(...piece);
      }
    }
    if (d < documents.length - 1 && cur.length) {
      if (cur.length + 1 <= cap) cur.push(vocab.sep);
      else emit();
    }
  });
  emit();
  return { instances, stats };
}
