// Fill-mask with any masked-LM model of the library: one eval-mode forward (runModel), then the
// k most probable tokens at each [MASK], with softmax probabilities over the vocabulary.
import * as bg from '../../src/index.js';

export interface Guess {
  token: string;
  id: number;
  probability: number;
}

export interface Filled {
  text: string;
  tokens: string[];
  /** One list of guesses per [MASK], in order. */
  masks: { position: number; guesses: Guess[] }[];
}

/** The classes whose output has a logit per vocabulary entry at every position. */
export const MASKED_LM = ['BertForMaskedLM', 'BertForPreTraining', 'RobertaForMaskedLM', 'ElectraForMaskedLM'];

export async function fillMask(model: bg.PreTrainedModel, tokenizer: bg.WordPieceTokenizer, text: string, k: number): Promise<Filled> {
  if (!MASKED_LM.includes(model.architecture)) {
    throw new Error(
      `fill-mask needs a masked language model (${MASKED_LM.join(', ')}), got ${model.architecture}${model.architecture === 'ElectraForPreTraining' ? ' (an ELECTRA discriminator: use its generator)' : ''}`,
    );
  }
  const enc = tokenizer.encode(text, null, { maxLength: model.config.max_position_embeddings, truncation: 'longest_first' });
  const maskId = tokenizer.tokenToId(tokenizer.maskToken);
  if (maskId === undefined) throw new Error(`the vocabulary has no ${tokenizer.maskToken} token`);
  const positions = enc.inputIds.flatMap((id, t) => (id === maskId ? [t] : []));
  if (!positions.length) throw new Error(`"${text}" has no ${tokenizer.maskToken}`);
  const T = enc.inputIds.length;
  const out = await bg.runModel(
    model,
    new Map([
      ['input_ids', { data: Int32Array.from(enc.inputIds), shape: [1, T] }],
      ['token_type_ids', { data: Int32Array.from(enc.tokenTypeIds), shape: [1, T] }],
      ['attention_mask', { data: Int32Array.from(enc.attentionMask), shape: [1, T] }],
    ]),
  );
  const logits = (out.get('logits') ?? out.get('prediction_logits'))!.data as Float32Array;
  const V = model.config.vocab_size;
  const masks = positions.map((t) => {
    const row = logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    const top = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, k);
    return {
      position: t,
      guesses: top.map((id) => ({ token: tokenizer.idToToken(id) ?? `#${id}`, id, probability: Math.exp(row[id] - max) / sum })),
    };
  });
  return { text, tokens: enc.tokens, masks };
}
