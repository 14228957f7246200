// A collated batch as the model's inputs (tensors named as Hugging Face's forward() arguments).
import * as ops from '../ops/index.js';
import type { ModelInputs } from '../models/tasks.js';
import type { Array2, Batch } from './collate.js';

const tensorOf = (a: Array2) => ops.tensor(a.data, a.shape, a.data instanceof Int32Array ? 'i32' : 'f32');

/** Tensors of a batch (made from CPU data, so RoBERTa's position ids and the QA clamps can read them). */
export function batchInputs(batch: Batch): ModelInputs {
  const out: ModelInputs = {
    input_ids: tensorOf(batch.input_ids),
    attention_mask: tensorOf(batch.attention_mask),
    token_type_ids: tensorOf(batch.token_type_ids),
  };
  for (const name of ['labels', 'start_positions', 'end_positions'] as const) {
    const a = batch[name];
    if (a) out[name] = tensorOf(a);
  }
  return out;
}
