// Pre-training objectives over one batch: MLM, MLM + NSP, RoBERTa-style MLM, and ELECTRA's
// generator + discriminator (replaced-token detection). Each records a whole step's forward
// on the GPU; metrics are read back only when asked for.
import electraSource from '../../shaders/electra.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, noGrad } from '../tensor.js';
import * as ops from '../ops/index.js';
import { Generator } from '../ops/creation.js';
import { bertConfig, type BertConfig } from '../models/config.js';
import {
  BertForMaskedLM,
  BertForPreTraining,
  ElectraForMaskedLM,
  ElectraForPreTraining,
  RobertaForMaskedLM,
  replacedTokenLoss,
  type PreTrainedModel,
} from '../models/tasks.js';
import { free } from '../models/bert.js';

const ELECTRA = defineShader('electra', electraSource);

export type ObjectiveName = 'mlm' | 'mlm-nsp' | 'roberta' | 'electra';
export const OBJECTIVES: ObjectiveName[] = ['mlm', 'mlm-nsp', 'roberta', 'electra'];

/** One batch, flat row-major [batchSize * seqLength] arrays. */
export interface PretrainingBatch {
  batchSize: number;
  seqLength: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  /** The original token at predicted positions, -100 elsewhere. */
  mlmLabels: Int32Array;
  /** [batchSize]: 1 = B is a random sentence, 0 = B follows A, -100 = none (mlm-nsp). */
  nextSentenceLabel?: Int32Array;
}

/** Tensors of one recorded step; `loss` drives backward, `parts` are its named components. */
export interface StepTensors {
  loss: Tensor;
  parts: Record<string, Tensor>;
  /**
   * Readback of accuracies etc. as counts (hits of total), so an evaluation over several batches
   * pools them; call after the step was recorded (costs one sync).
   */
  metrics(): Promise<Record<string, Count>>;
}

/** A rate as its counts: `hits` of `total` (e.g. right predictions of labelled positions). */
export interface Count {
  hits: number;
  total: number;
}

/** hits / total, NaN for an empty total. */
export function rate(c: Count): number {
  return c.total ? c.hits / c.total : NaN;
}

/**
 * What the Trainer trains: pre-training objectives here, fine-tuning tasks in src/finetune
 * (batches of another shape: `B`).
 */
export interface Objective<B = PretrainingBatch> {
  /** An ObjectiveName, or `finetune:<task>`. */
  readonly name: string;
  /** The models that are saved (ELECTRA: generator and discriminator). */
  readonly models: Record<string, PreTrainedModel>;
  /** Every trained parameter once (shared embeddings once). */
  namedParameters(): [string, Tensor][];
  /** The generators whose state a checkpoint keeps (dropout, sampling). */
  readonly generators: Record<string, Generator>;
  step(batch: B, withMetrics: boolean): StepTensors;
  train(mode: boolean): void;
  /** Tokens of a batch (for tokens/s). */
  tokenCount(batch: B): number;
  /**
   * Labelled units of a batch (tokens with a tag, examples): given, accumulated micro-batches are
   * weighted by their share of the whole accumulated batch, so the loss is the mean over all of
   * its units, not a mean of per-micro-batch means. Absent: equal weights.
   */
  targetCount?(batch: B): number;
}

/** Real tokens (attention mask ones) of a pre-training batch. */
function maskedTokens(b: PretrainingBatch): number {
  let n = 0;
  for (const v of b.attentionMask) n += v;
  return n;
}

function inputsOf(b: PretrainingBatch, nsp: boolean) {
  const shape = [b.batchSize, b.seqLength];
  return {
    input_ids: ops.tensor(b.inputIds, shape, 'i32'),
    token_type_ids: ops.tensor(b.tokenTypeIds, shape, 'i32'),
    attention_mask: ops.tensor(b.attentionMask, shape, 'i32'),
    labels: ops.tensor(b.mlmLabels, shape, 'i32'),
    next_sentence_label: nsp && b.nextSentenceLabel ? ops.tensor(b.nextSentenceLabel, [b.batchSize], 'i32') : undefined,
  };
}

/** Accuracy of argmax(logits [N, C]) against labels (read back). */
async function accuracy(logits: Tensor, labels: ArrayLike<number>): Promise<Count> {
  const pred = noGrad(() => ops.argmax(logits, 1));
  const p = await pred.toArray();
  pred.dispose();
  let right = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === labels[i]) right++;
  return { hits: right, total: p.length };
}

function compactLabels(labels: Int32Array): Int32Array {
  return labels.filter((v) => v !== -100);
}

class MaskedLmObjective implements Objective {
  readonly models: Record<string, PreTrainedModel>;
  readonly generators: Record<string, Generator>;
  constructor(
    readonly name: ObjectiveName,
    readonly model: PreTrainedModel,
    generator: Generator,
  ) {
    this.models = { model };
    this.generators = { model: generator };
  }
  namedParameters() {
    return this.model.namedParameters();
  }
  train(mode: boolean) {
    this.model.train(mode);
  }
  tokenCount(batch: PretrainingBatch): number {
    return maskedTokens(batch);
  }
  step(batch: PretrainingBatch, withMetrics: boolean): StepTensors {
    const nsp = this.name === 'mlm-nsp';
    if (nsp && (!batch.nextSentenceLabel || batch.nextSentenceLabel.some((v) => v !== 0 && v !== 1)))
      throw new Error('mlm-nsp: the batch needs next-sentence labels (0/1) for every row (use the BERT data mode)');
    const inputs = inputsOf(batch, nsp);
    const out = this.model.forward(inputs, { labelledOnly: true });
    if (!out.loss) throw new Error(`${this.name}: the batch has no masked position`);
    const parts: Record<string, Tensor> = {};
    const mlmLogits = nsp ? out.prediction_logits! : out.logits!;
    const nspLogits = out.seq_relationship_logits;
    let mlmLoss = out.loss;
    if (nsp) {
      // recompute the parts for logging: loss = mlm + nsp. Under noGrad: a taped copy would
      // keep its saved tensors (labels, logits, lse, max) alive forever, since backward never
      // reaches a root it does not start from.
      const nspLoss = noGrad(() => ops.crossEntropy(nspLogits!, inputs.next_sentence_label!));
      parts.nsp = nspLoss;
      mlmLoss = noGrad(() => ops.sub(out.loss!, nspLoss));
    }
    parts.mlm = mlmLoss;
    if (withMetrics) {
      mlmLogits.keep();
      nspLogits?.keep();
    }
    return {
      loss: out.loss,
      parts,
      metrics: async () => {
        const m: Record<string, Count> = { mlm_accuracy: await accuracy(mlmLogits, compactLabels(batch.mlmLabels)) };
        if (nspLogits) m.nsp_accuracy = await accuracy(nspLogits, batch.nextSentenceLabel!);
        free(mlmLogits, nspLogits);
        return m;
      },
    };
  }
}

/**
 * ELECTRA: the generator (MLM) and the discriminator share the embeddings. Replacements are
 * sampled from the generator's softmax (temperature 1, Gumbel-max) under noGrad, so no gradient
 * flows through sampling; total loss = generator MLM loss + discriminatorWeight * RTD loss.
 */
class ElectraObjective implements Objective {
  readonly name = 'electra' as const;
  readonly models: Record<string, PreTrainedModel>;
  readonly generators: Record<string, Generator>;
  constructor(
    readonly generator: ElectraForMaskedLM,
    readonly discriminator: ElectraForPreTraining,
    readonly dropout: Generator,
    readonly sampling: Generator,
    readonly discriminatorWeight = 50,
  ) {
    this.models = { generator, discriminator };
    this.generators = { dropout, sampling };
  }
  namedParameters() {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of [
      ['discriminator', this.discriminator],
      ['generator', this.generator],
    ] as const) {
      for (const [n, t] of m.namedParameters()) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([`${prefix}.${n}`, t]);
      }
    }
    return out;
  }
  train(mode: boolean) {
    this.generator.train(mode);
    this.discriminator.train(mode);
  }
  tokenCount(batch: PretrainingBatch): number {
    return maskedTokens(batch);
  }
  step(batch: PretrainingBatch, withMetrics: boolean): StepTensors {
    const inputs = inputsOf(batch, false);
    const gen = this.generator.forward(inputs, { labelledOnly: true });
    if (!gen.loss) throw new Error('electra: the batch has no masked position');
    const positions = gen.mlm_positions!;
    // original tokens: the masked inputs with the labels put back
    const original = Int32Array.from(batch.inputIds, (v, i) => (batch.mlmLabels[i] === -100 ? v : batch.mlmLabels[i]));
    const { replaced, rtdLabels } = noGrad(() => {
      const samples = ops.gumbelMaxSample(gen.logits!, { generator: this.sampling, low: 1e-12 });
      const originalT = ops.tensor(original, [batch.batchSize, batch.seqLength], 'i32');
      const pos = ops.tensor(positions, [positions.length], 'i32');
      const replacedIds = Tensor.empty([batch.batchSize, batch.seqLength], 'i32', 'electra replaced ids');
      // originals were range-checked on the CPU (inputs, labels), samples are argmax over the vocabulary
      replacedIds.intRange = [0, gen.logits!.shape[1]];
      const labels = Tensor.empty([batch.batchSize, batch.seqLength], 'f32', 'electra labels');
      const p = { tokens: original.length, count: positions.length, pad0: 0, pad1: 0 };
      const rt = runtime();
      rt.dispatch(ELECTRA, 'replace_init', { original: originalT, replaced: replacedIds, labels, p }, { threads: original.length });
      rt.dispatch(
        ELECTRA,
        'replace_scatter',
        { original: originalT, positions: pos, samples, replaced: replacedIds, labels, p },
        { threads: positions.length },
      );
      return { replaced: replacedIds, rtdLabels: labels };
    });
    const disc = this.discriminator.forward({
      input_ids: replaced,
      token_type_ids: inputs.token_type_ids,
      attention_mask: inputs.attention_mask,
    });
    const rtd = replacedTokenLoss(disc.logits!, rtdLabels, inputs.attention_mask);
    const weighted = ops.mulScalar(rtd, this.discriminatorWeight);
    const loss = ops.add(gen.loss, weighted);
    if (withMetrics) {
      gen.logits!.keep();
      disc.logits!.keep();
      rtdLabels.keep();
    }
    return {
      loss,
      parts: { generator: gen.loss, discriminator: rtd },
      metrics: async () => {
        const m: Record<string, Count> = { mlm_accuracy: await accuracy(gen.logits!, compactLabels(batch.mlmLabels)) };
        const logits = await disc.logits!.toArray();
        const labels = await rtdLabels.toArray();
        let tp = 0,
          fp = 0,
          fn = 0,
          right = 0,
          n = 0,
          replacedCount = 0;
        for (let i = 0; i < logits.length; i++) {
          if (!batch.attentionMask[i]) continue;
          const pred = logits[i] > 0;
          const truth = labels[i] === 1;
          n++;
          if (truth) replacedCount++;
          if (pred === truth) right++;
          if (pred && truth) tp++;
          if (pred && !truth) fp++;
          if (!pred && truth) fn++;
        }
        m.disc_accuracy = { hits: right, total: n };
        m.disc_precision = { hits: tp, total: tp + fp };
        m.disc_recall = { hits: tp, total: tp + fn };
        m.disc_all_original_accuracy = { hits: n - replacedCount, total: n }; // the baseline that predicts "original" everywhere
        free(gen.logits, disc.logits, rtdLabels);
        return m;
      },
    };
  }
}

/** ELECTRA's generator config: hidden size a fraction of the discriminator's, heads = max(1, H/64). */
export function electraGeneratorConfig(disc: BertConfig, sizeFraction = 0.25): BertConfig {
  if (!(sizeFraction > 0 && sizeFraction <= 1))
    throw new Error(`electra: generator size must be a fraction in (0, 1] of the discriminator's hidden size, got ${sizeFraction}`);
  const H = Math.max(1, Math.round(disc.hidden_size * sizeFraction));
  const heads = Math.max(1, Math.floor(H / 64));
  return bertConfig({
    ...disc,
    hidden_size: H,
    num_attention_heads: heads,
    intermediate_size: 4 * H,
    embedding_size: disc.embedding_size ?? disc.hidden_size,
  });
}

export interface ObjectiveModels {
  model?: PreTrainedModel;
  generator?: ElectraForMaskedLM;
  discriminator?: ElectraForPreTraining;
  /** The generators existing models were built with (their dropout draws from them). */
  generators?: Record<string, Generator>;
}

/** Builds an objective from a (discriminator / main) config, or around existing models. */
export function createObjective(
  name: ObjectiveName,
  config: BertConfig,
  seed: number,
  existing: ObjectiveModels = {},
  generatorFraction = 0.25,
): Objective {
  const dropout = existing.generators?.model ?? existing.generators?.dropout ?? new Generator(seed);
  switch (name) {
    case 'mlm':
      return new MaskedLmObjective(name, existing.model ?? new BertForMaskedLM(config, { generator: dropout }), dropout);
    case 'mlm-nsp':
      return new MaskedLmObjective(name, existing.model ?? new BertForPreTraining(config, { generator: dropout }), dropout);
    case 'roberta':
      return new MaskedLmObjective(
        name,
        existing.model ?? new RobertaForMaskedLM({ ...config, model_type: 'roberta' }, { generator: dropout }),
        dropout,
      );
    case 'electra': {
      const electraConfig = { ...config, model_type: 'electra' as const, embedding_size: config.embedding_size ?? config.hidden_size };
      const discriminator = existing.discriminator ?? new ElectraForPreTraining(electraConfig, { generator: dropout });
      const generator =
        existing.generator ??
        new ElectraForMaskedLM(electraGeneratorConfig(electraConfig, generatorFraction), {
          generator: dropout,
          embeddings: discriminator.electra.embeddings,
        });
      return new ElectraObjective(generator, discriminator, dropout, existing.generators?.sampling ?? new Generator(seed + 1));
    }
    default:
      throw new Error(`unknown objective '${name}' (${OBJECTIVES.join(', ')})`);
  }
}
