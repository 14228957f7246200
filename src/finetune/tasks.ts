// The fine-tuning tasks as data (DESIGN.md, "one task registry"): each task says how to read
// its file, encode examples into features, batch them, which Hugging Face class it trains, how
// to turn read-back logits into predictions and which metrics to report. The trainer, the CLI
// and the pipelines look tasks up here; decoding takes plain number arrays, so it runs on the CPU.
import {
  DataError,
  readRecords,
  textExamples,
  choiceExamples,
  tagExamples,
  qaExamples,
  labelSet,
  labelConfig,
  labelId,
  type ReadOptions,
  type LabelSet,
  type Located,
  type TextExample,
  type ChoiceExample,
  type TagExample,
  type QaExample,
} from './data.js';
import { encodePair, type TaskTokenizer } from './encoding.js';
import { collate, collateChoices, type Batch, type ChoiceFeature, type CollateOptions, type LabelledFeature } from './collate.js';
import { qaFeatures, decodeQa, type QaFeature, type QaPrediction, type QaDecodeOptions } from './qa.js';
import {
  tagFeatures,
  wordTags,
  groupEntities,
  softmaxRow,
  type TagFeature,
  type AggregationStrategy,
  type EntityGroup,
  type TokenEntity,
} from './tagging.js';
import { accuracy, binaryF1, macroF1, matthewsCorrelation, pearson, spearman, entityScores, squadScores } from './metrics.js';
import type { BertConfig } from '../models/config.js';
import type { BaseName } from '../models/tasks.js';

export type TaskName = 'cls' | 'pair' | 'regression' | 'choice' | 'tag' | 'qa';

export interface TaskReadOptions extends ReadOptions {
  /** Labels required (training, evaluation); false for prediction input. Default true. */
  labelled?: boolean;
}

export interface EncodeContext {
  tokenizer: TaskTokenizer;
  /** Tokens per sequence, special tokens included (default 128; QA 384). */
  maxLength?: number;
  /** The label set (cls, pair, tag): from the training data or the model's config.json. */
  labels?: LabelSet;
  /** Compute targets. Default true. */
  labelled?: boolean;
  /** QA: tokens shared by consecutive context windows (default 128). */
  docStride?: number;
  /** Tagging: label every piece of a word, not only the first. */
  labelAllTokens?: boolean;
}

/** One feature's outputs as read back from the model (flat, row-major, at least as long as the feature). */
export interface FeatureOutput {
  logits?: ArrayLike<number>;
  start_logits?: ArrayLike<number>;
  end_logits?: ArrayLike<number>;
}

export interface DecodeContext extends QaDecodeOptions {
  labels?: LabelSet;
  tokenizer?: TaskTokenizer;
  /** Tagging of text input: how tokens are grouped into entities (default 'simple'). */
  aggregation?: AggregationStrategy;
}

export interface Task<E extends Located, F, P> {
  name: TaskName;
  /** Examples of a file's text. */
  read(text: string, source: string, options?: TaskReadOptions): E[];
  /** The labels of training data, for config.json (classification and tagging). */
  labelSet?(examples: readonly E[]): LabelSet;
  /** The config.json fields the task class needs (num_labels, id2label, label2id, problem_type). */
  configFields(labels?: LabelSet): Partial<BertConfig>;
  /** Features of examples (QA: one per context window), each knowing its example by index. */
  encode(examples: readonly E[], context: EncodeContext): F[];
  /** Tokens of a feature, for length-bucketed batches. */
  length(feature: F): number;
  collate(features: readonly F[], options: CollateOptions): Batch;
  /** The Hugging Face class this task trains for a family. */
  modelClass(family: BaseName): string;
  /** One prediction per example, from the outputs of its features (same order as `features`). */
  decode(examples: readonly E[], features: readonly F[], outputs: readonly FeatureOutput[], context?: DecodeContext): P[];
  /** The task's metrics of predictions against the examples' labels. */
  metrics(predictions: readonly P[], examples: readonly E[]): Record<string, number | null>;
}

type Indexed<T> = T & { example: number };

export interface ClassPrediction {
  label: string | number;
  score: number;
  /** Every label with its probability, most likely first (`--top-k` takes the head). */
  ranked: { label: string | number; score: number }[];
}

export interface RegressionPrediction {
  score: number;
}

export interface ChoicePrediction {
  label: number;
  scores: number[];
}

export interface TagPrediction {
  /** Per word; null for a word cut off by max length. */
  tags: (string | null)[];
  /** For text input: entities with UTF-16 character offsets. */
  entities?: (EntityGroup | TokenEntity)[];
}

const FAMILY: Record<BaseName, string> = { bert: 'Bert', electra: 'Electra', roberta: 'Roberta' };

function needLabels(labels: LabelSet | undefined, task: string): LabelSet {
  if (!labels) throw new Error(`${task}: a label set is needed (from the training data or the model's id2label)`);
  return labels;
}

function output(o: FeatureOutput, name: keyof FeatureOutput, i: number): ArrayLike<number> {
  const v = o[name];
  if (!v) throw new Error(`decode: feature ${i} has no ${name}`);
  return v;
}

function checkOutputs(features: readonly unknown[], outputs: readonly FeatureOutput[]): void {
  if (features.length !== outputs.length) throw new Error(`decode: ${outputs.length} outputs for ${features.length} features`);
}

/** A file's records; a training or evaluation file without any is an error (nothing would train). */
function records(text: string, source: string, options: TaskReadOptions) {
  const rs = readRecords(text, source, options);
  if (!rs.length && options.labelled !== false) throw new DataError(source, 1, 'no examples in the file (expected one per line)');
  return rs;
}

/** The target of a labelled example; an unlabelled one read for prediction cannot train. */
function target<T>(ex: Located & { label?: T }): T {
  if (ex.label === undefined) throw new DataError(ex.source, ex.line, 'expected a "label" (features with targets were asked for)');
  return ex.label;
}

function labelFields(labels: LabelSet | undefined, problem?: BertConfig['problem_type']): Partial<BertConfig> {
  const l = needLabels(labels, 'config');
  return { num_labels: l.labels.length, ...labelConfig(l), ...(problem ? { problem_type: problem } : {}) };
}

function sequenceTask(name: 'cls' | 'pair'): Task<TextExample, Indexed<LabelledFeature>, ClassPrediction> {
  const pair = name === 'pair';
  return {
    name,
    read: (text, source, options = {}) => textExamples(records(text, source, options), { labelled: options.labelled, pair }),
    labelSet: (examples) => labelSet(examples),
    configFields: (labels) => labelFields(labels, 'single_label_classification'),
    encode: (examples, { tokenizer, maxLength = 128, labels, labelled = true }) =>
      examples.map((ex, example) => ({
        example,
        ...encodePair(tokenizer, ex.text, pair ? ex.pair : undefined, maxLength),
        ...(labelled ? { labels: labelId(needLabels(labels, name), ex) } : {}),
      })),
    length: (f) => f.input_ids.length,
    collate: (features, options) => collate(features, options),
    modelClass: (family) => `${FAMILY[family]}ForSequenceClassification`,
    decode: (examples, features, outputs, { labels } = {}) => {
      checkOutputs(features, outputs);
      const l = needLabels(labels, name);
      return outputs.map((o, i) => {
        const probs = softmaxRow(output(o, 'logits', i), 0, l.labels.length);
        const ranked = probs.map((score, k) => ({ label: l.labels[k], score })).sort((a, b) => b.score - a.score);
        return { label: ranked[0].label, score: ranked[0].score, ranked };
      });
    },
    metrics: (preds, examples) => {
      const p = preds.map((x) => String(x.label));
      const g = examples.map((x) => String(x.label));
      const classes = [...new Set(g)].sort();
      // binary: F1 of the second class (id 1 in sorted order, scikit-learn's pos_label=1)
      const f1 = classes.length === 2 ? binaryF1(p, g, classes[1]) : macroF1(p, g);
      return { accuracy: accuracy(p, g), f1, macro_f1: macroF1(p, g), mcc: matthewsCorrelation(p, g) };
    },
  };
}

const regression: Task<TextExample, Indexed<LabelledFeature>, RegressionPrediction> = {
  name: 'regression',
  // STS-B style: a pair when the lines have one
  read: (text, source, options = {}) =>
    textExamples(records(text, source, options), { labelled: options.labelled, pair: 'optional', regression: true }),
  configFields: () => ({ num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 }, problem_type: 'regression' }),
  encode: (examples, { tokenizer, maxLength = 128, labelled = true }) =>
    examples.map((ex, example) => ({
      example,
      ...encodePair(tokenizer, ex.text, ex.pair, maxLength),
      ...(labelled ? { labels: target(ex) as number } : {}),
    })),
  length: (f) => f.input_ids.length,
  collate: (features, options) => collate(features, { ...options, labelDtype: 'f32' }),
  modelClass: (family) => `${FAMILY[family]}ForSequenceClassification`,
  decode: (examples, features, outputs) => {
    checkOutputs(features, outputs);
    return outputs.map((o, i) => ({ score: output(o, 'logits', i)[0] }));
  },
  metrics: (preds, examples) => {
    const p = preds.map((x) => x.score);
    const g = examples.map((x) => x.label as number);
    const mse = p.reduce((s, v, i) => s + (v - g[i]) ** 2, 0) / p.length;
    return { pearson: pearson(p, g), spearman: spearman(p, g), mse };
  },
};

const choice: Task<ChoiceExample, Indexed<ChoiceFeature>, ChoicePrediction> = {
  name: 'choice',
  read: (text, source, options = {}) => choiceExamples(records(text, source, options), { labelled: options.labelled }),
  configFields: () => ({}),
  // run_swag: the context paired with each ending, truncated longest-first
  encode: (examples, { tokenizer, maxLength = 128, labelled = true }) =>
    examples.map((ex, example) => ({
      example,
      choices: ex.choices.map((c) => encodePair(tokenizer, ex.text, c, maxLength)),
      ...(labelled ? { labels: target(ex) } : {}),
    })),
  length: (f) => Math.max(...f.choices.map((c) => c.input_ids.length)),
  collate: (features, options) => collateChoices(features, options),
  modelClass: (family) => `${FAMILY[family]}ForMultipleChoice`,
  decode: (examples, features, outputs) => {
    checkOutputs(features, outputs);
    return outputs.map((o, i) => {
      const scores = softmaxRow(output(o, 'logits', i), 0, features[i].choices.length);
      return { label: scores.indexOf(Math.max(...scores)), scores };
    });
  },
  metrics: (preds, examples) => ({
    accuracy: accuracy(
      preds.map((p) => p.label),
      examples.map((e) => e.label),
    ),
  }),
};

const isIob = (tags: readonly string[]) => tags.every((t) => t === 'O' || /^[BI]-./.test(t));

const tag: Task<TagExample, TagFeature, TagPrediction> = {
  name: 'tag',
  read: (text, source, options = {}) => tagExamples(records(text, source, options), { labelled: options.labelled }),
  labelSet: (examples) => labelSet(examples.flatMap((ex) => ex.tags!.map((label) => ({ source: ex.source, line: ex.line, label })))),
  configFields: (labels) => labelFields(labels),
  encode: (examples, { tokenizer, maxLength = 128, labels, labelled = true, labelAllTokens }) =>
    tagFeatures(examples, tokenizer, { maxLength, labels, labelled, labelAllTokens }),
  length: (f) => f.input_ids.length,
  collate: (features, options) => collate(features, options),
  modelClass: (family) => `${FAMILY[family]}ForTokenClassification`,
  decode: (examples, features, outputs, { labels, tokenizer, aggregation = 'simple' } = {}) => {
    checkOutputs(features, outputs);
    const l = needLabels(labels, 'tag');
    return features.map((f, i) => {
      const ex = examples[f.example];
      const logits = output(outputs[i], 'logits', i);
      const p: TagPrediction = { tags: wordTags(f, logits, l, ex.words.length) };
      if (ex.text !== undefined) {
        if (!tokenizer) throw new Error('tag decode: entities of text input need the tokenizer');
        p.entities = groupEntities(f, logits, ex.text, l, tokenizer, aggregation);
      }
      return p;
    });
  },
  metrics: (preds, examples) => {
    const golds = examples.map((e) => e.tags!);
    // a word cut off by max length counts as tagged 'O' (and wrong, unless it is O)
    const tags = preds.map((p) => p.tags.map((t) => t ?? 'O'));
    const out: Record<string, number | null> = { accuracy: accuracy(tags.flat(), golds.flat()) };
    if (isIob(golds.flat())) {
      const s = entityScores(tags, golds);
      Object.assign(out, { precision: s.precision, recall: s.recall, f1: s.f1 });
    }
    return out;
  },
};

const qa: Task<QaExample, QaFeature, QaPrediction> = {
  name: 'qa',
  read: (text, source, options = {}) => qaExamples(records(text, source, options), { labelled: options.labelled }),
  configFields: () => ({}),
  encode: (examples, { tokenizer, maxLength = 384, docStride = 128, labelled = true }) =>
    qaFeatures(examples, tokenizer, { maxLength, docStride, labelled }),
  length: (f) => f.input_ids.length,
  collate: (features, options) => collate(features, options),
  modelClass: (family) => `${FAMILY[family]}ForQuestionAnswering`,
  decode: (examples, features, outputs, options = {}) => {
    checkOutputs(features, outputs);
    return decodeQa(
      examples,
      features,
      outputs.map((o, i) => output(o, 'start_logits', i)),
      outputs.map((o, i) => output(o, 'end_logits', i)),
      options,
    );
  },
  metrics: (preds, examples) => {
    const s = squadScores(
      preds.map((p) => p.answer),
      examples.map((e) => e.answers.text),
    );
    return { ...s };
  },
};

export const TASKS = {
  cls: sequenceTask('cls'),
  pair: sequenceTask('pair'),
  regression,
  choice,
  tag,
  qa,
};

export type AnyTask = Task<any, any, any>;

export function getTask(name: string): AnyTask {
  const task = (TASKS as Record<string, AnyTask>)[name];
  if (!task) throw new Error(`unknown task '${name}' (tasks: ${Object.keys(TASKS).join(', ')})`);
  return task;
}

/**
 * Per-feature outputs of one batch read back flat: each of logits / start_logits / end_logits is
 * cut into B equal rows (row i belongs to the batch's feature i).
 */
export function splitBatchOutputs(flat: FeatureOutput, batchSize: number): FeatureOutput[] {
  const rows: FeatureOutput[] = Array.from({ length: batchSize }, () => ({}));
  for (const name of ['logits', 'start_logits', 'end_logits'] as const) {
    const v = flat[name];
    if (!v) continue;
    if (v.length % batchSize !== 0) throw new Error(`${name}: ${v.length} values do not split into ${batchSize} rows`);
    const n = v.length / batchSize;
    for (let b = 0; b < batchSize; b++) rows[b][name] = Array.prototype.slice.call(v, b * n, (b + 1) * n) as number[];
  }
  return rows;
}
