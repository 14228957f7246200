// Batches: dynamic padding to the longest sequence of the batch, and a seeded length-bucketed
// batch order (Hugging Face's LengthGroupedSampler: shuffle, then sort within mega-batches).
import { Rng } from '../data/rng.js';
import type { EncodedFeature } from './encoding.js';

export interface Array2 {
  data: Int32Array | Float32Array;
  shape: number[];
}

/** Named as the model's forward() arguments (runModel / ModelInputs take these names). */
export interface Batch {
  input_ids: Array2;
  token_type_ids: Array2;
  attention_mask: Array2;
  labels?: Array2;
  start_positions?: Array2;
  end_positions?: Array2;
}

/** A feature with its targets: a class id or a float (sequence), one id per token (tagging, -100 = ignored), or a span. */
export interface LabelledFeature extends EncodedFeature {
  labels?: number | number[];
  start_positions?: number;
  end_positions?: number;
}

/** Multiple choice: one encoded pair per choice. */
export interface ChoiceFeature {
  choices: EncodedFeature[];
  labels?: number;
}

export interface CollateOptions {
  /** The model's pad_token_id (config.json): RoBERTa's position ids count non-pad tokens. */
  padId: number;
  /** 'f32' for regression targets; default 'i32'. */
  labelDtype?: 'i32' | 'f32';
}

function padRows(rows: readonly (readonly number[])[], length: number, value: number): Int32Array {
  const out = new Int32Array(rows.length * length).fill(value);
  rows.forEach((r, i) => out.set(r, i * length));
  return out;
}

/** Pads every feature to the longest one: ids with padId, type ids and mask with 0, token labels with -100. */
export function collate(features: readonly LabelledFeature[], { padId, labelDtype = 'i32' }: CollateOptions): Batch {
  if (!features.length) throw new Error('collate: no features');
  const B = features.length;
  const T = Math.max(...features.map((f) => f.input_ids.length));
  const shape = [B, T];
  const batch: Batch = {
    input_ids: {
      data: padRows(
        features.map((f) => f.input_ids),
        T,
        padId,
      ),
      shape,
    },
    token_type_ids: {
      data: padRows(
        features.map((f) => f.token_type_ids),
        T,
        0,
      ),
      shape,
    },
    attention_mask: {
      data: padRows(
        features.map((f) => f.attention_mask),
        T,
        0,
      ),
      shape,
    },
  };
  const labelled = features.filter((f) => f.labels !== undefined).length;
  if (labelled && labelled !== B) throw new Error(`collate: ${labelled} of ${B} features have labels; a batch is all labelled or none`);
  if (labelled) {
    if (Array.isArray(features[0].labels)) {
      const rows = features.map((f, i) => {
        const l = f.labels as number[];
        if (!Array.isArray(l) || l.length !== f.input_ids.length)
          throw new Error(`collate: feature ${i} has ${Array.isArray(l) ? l.length : 'no'} token labels for ${f.input_ids.length} tokens`);
        return l;
      });
      batch.labels = { data: padRows(rows, T, -100), shape };
    } else {
      const values = features.map((f) => f.labels as number);
      batch.labels = { data: labelDtype === 'f32' ? Float32Array.from(values) : Int32Array.from(values), shape: [B] };
    }
  }
  if (features[0].start_positions !== undefined) {
    batch.start_positions = { data: Int32Array.from(features, (f) => f.start_positions!), shape: [B] };
    batch.end_positions = { data: Int32Array.from(features, (f) => f.end_positions!), shape: [B] };
  }
  return batch;
}

/** [B, C, T] inputs: every choice of every example padded to the longest of the batch. */
export function collateChoices(features: readonly ChoiceFeature[], { padId }: CollateOptions): Batch {
  if (!features.length) throw new Error('collate: no features');
  const C = features[0].choices.length;
  features.forEach((f, i) => {
    if (f.choices.length !== C) throw new Error(`collate: feature ${i} has ${f.choices.length} choices, feature 0 has ${C}`);
  });
  const flat = collate(
    features.flatMap((f) => f.choices),
    { padId },
  );
  const shape = [features.length, C, flat.input_ids.shape[1]];
  const batch: Batch = {
    input_ids: { data: flat.input_ids.data, shape },
    token_type_ids: { data: flat.token_type_ids.data, shape },
    attention_mask: { data: flat.attention_mask.data, shape },
  };
  if (features.every((f) => f.labels !== undefined))
    batch.labels = { data: Int32Array.from(features, (f) => f.labels!), shape: [features.length] };
  return batch;
}

export interface BucketOptions {
  seed: number;
  /** Examples sorted together: batchSize × this many (Hugging Face's mega-batch factor, 50). */
  megaBatchFactor?: number;
  /** Keep the last, smaller batch (default true). */
  keepLast?: boolean;
}

/**
 * Batches of indices with similar lengths, so dynamic padding pads little: a seeded shuffle,
 * then each mega-batch of batchSize × megaBatchFactor sorted by length (longest first) and cut
 * into batches. The same seed gives the same batches.
 */
export function bucketedBatches(
  lengths: readonly number[],
  batchSize: number,
  { seed, megaBatchFactor = 50, keepLast = true }: BucketOptions,
): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const order = new Rng(seed).shuffle(Array.from(lengths, (_, i) => i));
  const mega = batchSize * megaBatchFactor;
  const batches: number[][] = [];
  for (let m = 0; m < order.length; m += mega) {
    // stable sort: equal lengths keep their shuffled order
    const group = order.slice(m, m + mega).sort((a, b) => lengths[b] - lengths[a]);
    for (let b = 0; b < group.length; b += batchSize) batches.push(group.slice(b, b + batchSize));
  }
  if (!keepLast && batches.length && batches[batches.length - 1].length < batchSize) batches.pop();
  return batches;
}
