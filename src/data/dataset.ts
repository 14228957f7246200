// The pre-training data pipeline a trainer iterates: documents -> instances (created once, from
// the seed) -> per epoch, a seeded permutation of the instances -> masking when an instance is
// served (static: the same masks every epoch; dynamic: drawn anew each epoch) -> padded batches.
// Every random choice is a function of (seed, epoch, instance), so the state to checkpoint is
// just { epoch, position }.
import { bertMask, electraMask, type MaskedInstance } from './masking.js';
import { createBertInstances, createElectraInstances, createRobertaInstances, type CreationStats, type Instance } from './instances.js';
import { Rng } from './rng.js';
import { textToDocuments, type DocumentOptions } from './text.js';
import { tokenizeDocuments, vocabInfo, type PretrainingTokenizer, type VocabInfo } from './vocab.js';

export type PretrainingMode = 'bert' | 'roberta' | 'electra';

export interface PretrainingDatasetOptions {
  tokenizer: PretrainingTokenizer;
  /**
   * 'bert': segment pairs with next-sentence prediction, 80/10/10 masking (google-research/bert);
   * 'roberta': FULL-SENTENCES packing, no NSP, 80/10/10 masking, dynamic by default;
   * 'electra': ELECTRA's example builder, no NSP, 85% [MASK] / 15% kept, dynamic by default.
   */
  mode?: PretrainingMode;
  /** Raw text(s), split into documents and sentences with `textOptions`. */
  texts?: string | readonly string[];
  textOptions?: DocumentOptions;
  /** Or documents already split into sentences. */
  sentenceDocuments?: readonly (readonly string[])[];
  /** Or documents already tokenized: document -> sentence -> token ids. */
  documents?: readonly (readonly number[])[][];
  maxSeqLength?: number;
  /** BERT mode: probability that a document's target length is drawn short (default 0.1). */
  shortSeqProb?: number;
  maskedLmProb?: number;
  /** Default ceil(maxSeqLength * maskedLmProb) (20 for 128), ELECTRA int((p + 0.005) * maxSeqLength) (19 for 128). */
  maxPredictionsPerSeq?: number;
  /** BERT / RoBERTa modes: mask "##" pieces together with their word (google's do_whole_word_mask). */
  wholeWordMask?: boolean;
  /** 'static': masks fixed once per instance; 'dynamic': new masks every epoch. */
  masking?: 'static' | 'dynamic';
  /** BERT mode: passes of instance creation over the corpus (google's dupe_factor; default 1). */
  dupeFactor?: number;
  seed?: number;
  /** Pad every batch to maxSeqLength ('max', default: fixed shapes) or to its longest sequence. */
  padTo?: 'max' | 'longest';
}

export interface PretrainingBatch {
  batchSize: number;
  seqLength: number;
  /** P, the masked-position slots per sequence. */
  maxPredictions: number;
  /** [B * T] each. */
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  /** [B * T]: the original id at masked positions, -100 elsewhere. */
  mlmLabels: Int32Array;
  /** [B]: 1 random next, 0 actual next, -100 without NSP (RoBERTa / ELECTRA). */
  nextSentenceLabel: Int32Array;
  /** [B * P]: masked positions within each sequence (0 in unused slots), as ELECTRA's masked_lm_positions. */
  maskedPositions: Int32Array;
  /** [B * P]: original ids at those positions (0 in unused slots). */
  maskedIds: Int32Array;
  /** [B * P]: 1 for used slots, 0 for unused. */
  maskedWeights: Float32Array;
  /** Instance indices (into dataset.instances) of the rows. */
  instanceIds: Int32Array;
  /** Epoch each row was served in. */
  epochs: Int32Array;
}

export interface PretrainingDatasetState {
  epoch: number;
  position: number;
  seed: number;
  mode: PretrainingMode;
  instances: number;
}

const TAG_CREATE = 0x63726561;
const TAG_ORDER = 0x6f726472;
const TAG_MASK = 0x6d61736b;

export class PretrainingDataset {
  readonly mode: PretrainingMode;
  readonly vocab: VocabInfo;
  readonly instances: readonly Instance[];
  readonly stats: CreationStats;
  readonly seed: number;
  readonly maxSeqLength: number;
  readonly maskedLmProb: number;
  readonly maxPredictions: number;
  readonly wholeWordMask: boolean;
  readonly masking: 'static' | 'dynamic';
  readonly padTo: 'max' | 'longest';
  /** Next instance to serve: position `position` of epoch `epoch`'s permutation. */
  epoch = 0;
  position = 0;
  private orderEpoch = -1;
  private orderCache: Uint32Array = new Uint32Array(0);

  constructor(opts: PretrainingDatasetOptions) {
    this.mode = opts.mode ?? 'bert';
    if (!['bert', 'roberta', 'electra'].includes(this.mode)) throw new Error(`PretrainingDataset: unknown mode '${this.mode}'`);
    this.vocab = vocabInfo(opts.tokenizer);
    this.seed = opts.seed ?? 0;
    this.maxSeqLength = opts.maxSeqLength ?? 128;
    this.maskedLmProb = opts.maskedLmProb ?? 0.15;
    if (!(this.maskedLmProb > 0 && this.maskedLmProb < 1)) throw new Error(`PretrainingDataset: maskedLmProb must be in (0, 1), got ${this.maskedLmProb}`);
    this.maxPredictions = opts.maxPredictionsPerSeq
      ?? (this.mode === 'electra' ? Math.floor((this.maskedLmProb + 0.005) * this.maxSeqLength) : Math.ceil(this.maxSeqLength * this.maskedLmProb));
    this.wholeWordMask = opts.wholeWordMask ?? false;
    if (this.wholeWordMask && this.mode === 'electra') throw new Error('PretrainingDataset: wholeWordMask is not part of the ELECTRA recipe');
    this.masking = opts.masking ?? (this.mode === 'bert' ? 'static' : 'dynamic');
    this.padTo = opts.padTo ?? 'max';

    let docs = opts.documents;
    if (!docs) {
      const sentenceDocs = opts.sentenceDocuments ?? (opts.texts !== undefined ? textToDocuments(opts.texts, opts.textOptions) : null);
      if (!sentenceDocs) throw new Error('PretrainingDataset: give texts, sentenceDocuments or (tokenized) documents');
      docs = tokenizeDocuments(sentenceDocs, opts.tokenizer);
    }
    const rng = new Rng([this.seed, TAG_CREATE]);
    const made = this.mode === 'bert'
      ? createBertInstances(docs, this.vocab, { maxSeqLength: this.maxSeqLength, shortSeqProb: opts.shortSeqProb ?? 0.1, dupeFactor: opts.dupeFactor ?? 1 }, rng)
      : this.mode === 'electra'
        ? createElectraInstances(docs, this.vocab, { maxSeqLength: this.maxSeqLength }, rng)
        : createRobertaInstances(docs, this.vocab, { maxSeqLength: this.maxSeqLength });
    if (!made.instances.length) throw new Error('PretrainingDataset: the corpus produced no instances');
    this.instances = made.instances;
    this.stats = made.stats;
  }

  get length(): number {
    return this.instances.length;
  }

  /** The order instances are served in during `epoch` (a seeded permutation). */
  order(epoch: number): Uint32Array {
    if (epoch !== this.orderEpoch) {
      const idx = Array.from({ length: this.instances.length }, (_, i) => i);
      new Rng([this.seed, TAG_ORDER, epoch]).shuffle(idx);
      this.orderCache = Uint32Array.from(idx);
      this.orderEpoch = epoch;
    }
    return this.orderCache;
  }

  /** Instance `index` masked as it is served in `epoch` (static masking ignores the epoch). */
  masked(index: number, epoch: number): MaskedInstance {
    const inst = this.instances[index];
    const rng = new Rng([this.seed, TAG_MASK, index, this.masking === 'static' ? 0 : epoch]);
    return this.mode === 'electra'
      ? electraMask(inst.tokens, this.vocab, { maskedLmProb: this.maskedLmProb, maxPredictions: this.maxPredictions }, rng)
      : bertMask(inst.tokens, this.vocab, { maskedLmProb: this.maskedLmProb, maxPredictions: this.maxPredictions, wholeWordMask: this.wholeWordMask }, rng);
  }

  /** The next `batchSize` instances of the stream (crossing into the next epoch when needed). */
  nextBatch(batchSize: number): PretrainingBatch {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`PretrainingDataset: batchSize must be a positive integer, got ${batchSize}`);
    const rows: { index: number; epoch: number }[] = [];
    for (let b = 0; b < batchSize; b++) {
      rows.push({ index: this.order(this.epoch)[this.position], epoch: this.epoch });
      this.position++;
      if (this.position >= this.instances.length) {
        this.position = 0;
        this.epoch++;
      }
    }
    return this.collate(rows);
  }

  /**
   * Batches from the current state on; endless unless `epochs` is given, in which case it
   * stops when the stream reaches that epoch (an absolute count, so it resumes correctly),
   * the last batch then being short unless `dropLast`.
   */
  *batches(batchSize: number, { epochs, dropLast = false }: { epochs?: number; dropLast?: boolean } = {}): Generator<PretrainingBatch> {
    for (;;) {
      if (epochs !== undefined) {
        if (this.epoch >= epochs) return;
        const left = this.instances.length - this.position;
        if (this.epoch === epochs - 1 && left < batchSize) {
          if (dropLast || left === 0) { this.position = 0; this.epoch++; return; }
          yield this.nextBatch(left);
          return;
        }
      }
      yield this.nextBatch(batchSize);
    }
  }

  state(): PretrainingDatasetState {
    return { epoch: this.epoch, position: this.position, seed: this.seed, mode: this.mode, instances: this.instances.length };
  }

  /** Resumes from `state()` (taken from a dataset built with the same corpus and options). */
  restore(state: PretrainingDatasetState): void {
    if (state.seed !== this.seed || state.mode !== this.mode || state.instances !== this.instances.length) {
      throw new Error(`PretrainingDataset.restore: the state is for seed ${state.seed}, mode ${state.mode}, ${state.instances} instances; this dataset has seed ${this.seed}, mode ${this.mode}, ${this.instances.length} instances`);
    }
    if (!(Number.isInteger(state.epoch) && state.epoch >= 0 && Number.isInteger(state.position) && state.position >= 0 && state.position < this.instances.length)) {
      throw new Error(`PretrainingDataset.restore: bad epoch/position ${state.epoch}/${state.position}`);
    }
    this.epoch = state.epoch;
    this.position = state.position;
  }

  /**
   * Pads masked instances into one batch; a row `from` another dataset of the same settings (a
   * streamed corpus's next shard) takes its instance from there.
   */
  collate(rows: readonly { index: number; epoch: number; from?: PretrainingDataset }[]): PretrainingBatch {
    const B = rows.length;
    const masked = rows.map((r) => (r.from ?? this).masked(r.index, r.epoch));
    const T = this.padTo === 'max' ? this.maxSeqLength : Math.max(...masked.map((m) => m.inputIds.length));
    const P = this.maxPredictions;
    const batch: PretrainingBatch = {
      batchSize: B, seqLength: T, maxPredictions: P,
      inputIds: new Int32Array(B * T).fill(this.vocab.pad),
      tokenTypeIds: new Int32Array(B * T),
      attentionMask: new Int32Array(B * T),
      mlmLabels: new Int32Array(B * T).fill(-100),
      nextSentenceLabel: new Int32Array(B),
      maskedPositions: new Int32Array(B * P),
      maskedIds: new Int32Array(B * P),
      maskedWeights: new Float32Array(B * P),
      instanceIds: Int32Array.from(rows, (r) => r.index),
      epochs: Int32Array.from(rows, (r) => r.epoch),
    };
    rows.forEach((r, b) => {
      const inst = (r.from ?? this).instances[r.index];
      const m = masked[b];
      const n = m.inputIds.length;
      if (n > T) throw new Error(`PretrainingDataset: instance ${r.index} has ${n} tokens, more than ${T}`);
      batch.inputIds.set(m.inputIds, b * T);
      for (let i = 0; i < n; i++) {
        batch.attentionMask[b * T + i] = 1;
        if (i >= inst.typeStart) batch.tokenTypeIds[b * T + i] = 1;
      }
      for (let k = 0; k < m.positions.length; k++) {
        batch.mlmLabels[b * T + m.positions[k]] = m.labels[k];
        if (k < P) {
          batch.maskedPositions[b * P + k] = m.positions[k];
          batch.maskedIds[b * P + k] = m.labels[k];
          batch.maskedWeights[b * P + k] = 1;
        }
      }
      batch.nextSentenceLabel[b] = inst.nextSentenceLabel;
    });
    return batch;
  }
}

