// One eval-mode forward (and optionally backward) over named inputs, with outputs named as
// Hugging Face's: the engine behind `bertgpu run` and the golden tests.
import { Tensor, scopeAsync, shapeStr } from '../tensor.js';
import * as ops from '../ops/index.js';
import type { PreTrainedModel, ModelInputs } from './tasks.js';

export type NamedArrays = Map<string, { data: Float32Array | Int32Array; shape: number[] }>;

const INPUT_NAMES = [
  'input_ids',
  'token_type_ids',
  'attention_mask',
  'labels',
  'next_sentence_label',
  'start_positions',
  'end_positions',
] as const;
const INTEGER_INPUTS = new Set([
  'input_ids',
  'token_type_ids',
  'attention_mask',
  'next_sentence_label',
  'start_positions',
  'end_positions',
]);

/**
 * Runs `model` in eval mode; returns outputs (and `grad.<name>` per parameter when `grads`). With
 * `autocast`, the forward runs under ops.autocast (f16 matmul operands; the backward follows it).
 */
export async function runModel(
  model: PreTrainedModel,
  inputs: NamedArrays,
  { grads = false, autocast = false } = {},
): Promise<NamedArrays> {
  for (const name of inputs.keys()) {
    if (!(INPUT_NAMES as readonly string[]).includes(name))
      throw new Error(`inputs: unknown tensor '${name}' (expected ${INPUT_NAMES.join(', ')})`);
  }
  if (!inputs.has('input_ids')) throw new Error('inputs: input_ids is required');
  model.eval();
  model.zeroGrad();
  return scopeAsync(async () => {
    const args: Partial<ModelInputs> = {};
    for (const [name, { data, shape }] of inputs) {
      if (INTEGER_INPUTS.has(name) && !(data instanceof Int32Array))
        throw new Error(`inputs: ${name} must be an integer tensor (I64 or I32)`);
      (args as Record<string, Tensor>)[name] = ops.tensor(data, shape, data instanceof Int32Array ? 'i32' : 'f32');
    }
    const forward = () => model.forward(args as ModelInputs, { labelledOnly: false });
    const out = autocast ? ops.autocast(forward) : forward();
    const result: NamedArrays = new Map();
    const put = async (name: string, t: Tensor) => result.set(name, { data: await t.toArray(), shape: [...t.shape] });
    if (grads) {
      if (!out.loss) throw new Error('--grads needs a loss: give the labels the model takes');
      out.loss.backward();
    }
    for (const name of ['loss', 'logits', 'prediction_logits', 'seq_relationship_logits', 'start_logits', 'end_logits'] as const) {
      const t = out[name];
      if (t) await put(name, t);
    }
    for (const [i, h] of out.hidden_states.entries()) await put(`hidden_states.${i}`, h);
    if (grads) {
      for (const [name, p] of model.namedParameters()) {
        if (!p.grad) throw new Error(`parameter ${name} ${shapeStr(p.shape)} got no gradient`);
        await put(`grad.${name}`, p.grad);
      }
      model.zeroGrad();
    }
    return result;
  });
}
