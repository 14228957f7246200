// The arguments of `bertgpu pretrain`, as one table: how each is read and checked, its default,
// and what a resumed run does with it. A checkpoint keeps the arguments of its run, so
// `--resume DIR` alone continues it; a flag given again either overrides (run control: steps,
// logging, output) or must equal the checkpoint's (what shaped the model, data and optimizer).
import { resolve } from 'node:path';
import { Option } from 'commander';
import { PRESETS } from '../models/config.js';
import { OBJECTIVES } from '../train/objectives.js';
import { UsageError } from './program.js';

export type FlagKind = 'int' | 'number' | 'string' | 'boolean' | 'files' | 'path';

export interface Flag {
  kind: FlagKind;
  /** The default as the user would type it; absent: none. */
  default?: string | boolean;
  /** Checks the parsed value: an error message ("must be ...") or null. */
  check?: (v: any) => string | null;
  /**
   * On --resume: 'fixed' (must equal the checkpoint's; taken from it when not given), 'override'
   * (taken from the checkpoint when not given, else the new value), 'none' (not kept).
   */
  onResume: 'fixed' | 'override' | 'none';
  help: string;
  /** The value's name in --help (default: n for integers, x for numbers, value). */
  arg?: string;
}

const oneOf = (values: readonly string[]) => (v: string) =>
  values.includes(v) ? null : values.length === 2 ? `must be ${values[0]} or ${values[1]}` : `must be one of ${values.join(', ')}`;
const positive = (v: number) => (v > 0 ? null : 'must be a positive number');
const atLeast1 = (v: number) => (v >= 1 ? null : 'must be at least 1');

export const PRETRAIN_FLAGS: Record<string, Flag> = {
  objective: {
    kind: 'string',
    onResume: 'fixed',
    check: oneOf(OBJECTIVES),
    arg: 'name',
    help: `training objective: ${OBJECTIVES.join(', ')}`,
  },
  corpus: { kind: 'files', onResume: 'fixed', help: 'text files (.txt, .jsonl) and directories of them' },
  documents: {
    kind: 'string',
    default: 'auto',
    onResume: 'fixed',
    arg: 'split',
    check: oneOf(['auto', 'file', 'blank-line']),
    help: 'documents: file (one per file), blank-line (blocks between blank lines), or auto',
  },
  sentences: {
    kind: 'string',
    default: 'split',
    onResume: 'fixed',
    arg: 'split',
    check: oneOf(['split', 'line']),
    help: 'sentences: split (found in prose) or line (one per line)',
  },
  stream: {
    kind: 'string',
    default: 'auto',
    onResume: 'fixed',
    arg: 'when',
    check: oneOf(['auto', 'always', 'never']),
    help: 'read the corpus shard by shard as training reaches it (auto: above 32 MiB of files), or whole',
  },
  'shard-bytes': {
    kind: 'int',
    default: String(4 << 20),
    onResume: 'fixed',
    check: atLeast1,
    help: 'streamed corpus: bytes per shard (a shard is read, made into instances and shuffled at a time)',
  },
  'vocab-sample-bytes': {
    kind: 'int',
    default: String(16 << 20),
    onResume: 'fixed',
    check: atLeast1,
    help: 'streamed corpus: --train-vocab counts words in about this many bytes of whole shards spread over the corpus',
  },
  vocab: { kind: 'path', onResume: 'fixed', arg: 'file', help: 'a WordPiece vocab.txt' },
  'train-vocab': {
    kind: 'int',
    onResume: 'fixed',
    check: atLeast1,
    help: 'train a WordPiece vocabulary of this size on the training documents',
  },
  cased: {
    kind: 'boolean',
    default: false,
    onResume: 'fixed',
    help: 'keep case and accents (BertTokenizer do_lower_case false): the vocabulary is trained and read cased',
  },
  config: {
    kind: 'string',
    default: 'bert-tiny',
    onResume: 'fixed',
    check: oneOf(Object.keys(PRESETS)),
    arg: 'preset',
    help: `model size: ${Object.keys(PRESETS).join(', ')}`,
  },
  out: {
    kind: 'path',
    onResume: 'override',
    arg: 'dir',
    help: "output: a Hugging Face directory and checkpoint/ (on --resume: the resumed run's)",
  },
  steps: { kind: 'int', default: '1000', onResume: 'override', check: atLeast1, help: 'optimizer steps' },
  batch: { kind: 'int', default: '16', onResume: 'fixed', check: atLeast1, help: 'sequences per micro-batch' },
  seq: {
    kind: 'int',
    default: '128',
    onResume: 'fixed',
    check: (v) => (v >= 8 ? null : 'must be at least 8'),
    help: 'sequence length in tokens',
  },
  lr: { kind: 'number', default: '0.001', onResume: 'fixed', check: positive, help: 'peak learning rate' },
  warmup: { kind: 'int', onResume: 'fixed', help: 'warm-up steps (default: 10% of --steps)' },
  seed: { kind: 'int', default: '0', onResume: 'fixed', help: 'seed of every random choice' },
  accumulate: { kind: 'int', default: '1', onResume: 'fixed', check: atLeast1, help: 'micro-batches per optimizer step' },
  precision: {
    kind: 'string',
    default: 'f32',
    onResume: 'fixed',
    check: oneOf(['f32', 'f16']),
    arg: 'f32|f16',
    help: "f16: the linear layers' matmuls on f16 operands (f32 accumulation) with a dynamic loss scale; needs the adapter feature shader-f16",
  },
  'dupe-factor': {
    kind: 'int',
    default: '10',
    onResume: 'fixed',
    check: atLeast1,
    help: 'mlm, mlm-nsp: passes of instance creation over the corpus (google-research/bert)',
  },
  masking: {
    kind: 'string',
    onResume: 'fixed',
    arg: 'kind',
    check: oneOf(['static', 'dynamic']),
    help: 'static or dynamic (default: static for mlm/mlm-nsp, dynamic otherwise)',
  },
  'whole-word-mask': { kind: 'boolean', default: false, onResume: 'fixed', help: 'mask "##" pieces together with their word' },
  'generator-size': {
    kind: 'number',
    onResume: 'fixed',
    check: (v) => (v > 0 && v <= 1 ? null : 'must be a fraction in (0, 1]'),
    help: "electra: the generator's hidden size as a fraction of the discriminator's (default 0.25)",
  },
  dropout: {
    kind: 'number',
    onResume: 'fixed',
    check: (v) => (v >= 0 && v < 1 ? null : 'must be a probability in [0, 1)'),
    help: "hidden and attention dropout (default: the preset's 0.1)",
  },
  'weight-decay': {
    kind: 'number',
    default: '0.01',
    onResume: 'fixed',
    check: (v) => (v >= 0 ? null : 'must be a non-negative number'),
    help: 'AdamW weight decay (not on biases and LayerNorm weights)',
  },
  'eval-fraction': {
    kind: 'number',
    default: '0.05',
    onResume: 'fixed',
    check: (v) => (v >= 0 && v < 1 ? null : 'must be in [0, 1)'),
    help: 'share of the documents held back for evaluation (the last ones; streamed: by a hash of where each starts)',
  },
  'allow-large-held-back': {
    kind: 'boolean',
    default: false,
    onResume: 'fixed',
    help: 'allow --eval-fraction to hold back more than half of the sentences',
  },
  'eval-batches': { kind: 'int', default: '8', onResume: 'override', help: 'held-back batches per evaluation' },
  'eval-every': { kind: 'int', default: '0', onResume: 'override', help: 'evaluate every N steps (0: at the end only)' },
  'log-every': { kind: 'int', default: '10', onResume: 'override', check: atLeast1, help: 'read the loss back every N steps' },
  'checkpoint-every': { kind: 'int', default: '0', onResume: 'override', help: 'write checkpoint/ every N steps (0: at the end only)' },
  log: { kind: 'path', onResume: 'override', arg: 'file', help: 'JSON-lines log file (on resume: cut back to the checkpoint step)' },
  profile: { kind: 'int', default: '0', onResume: 'none', help: 'time every kernel of N steps with GPU timestamp queries' },
  resume: { kind: 'path', onResume: 'none', arg: 'dir', help: 'continue the run whose checkpoint is DIR or DIR/checkpoint' },
  overwrite: { kind: 'boolean', default: false, onResume: 'none', help: 'replace a model already in --out' },
  quiet: { kind: 'boolean', default: false, onResume: 'none', help: 'no progress output (a bar on a terminal, else a line per log step)' },
};

/** The commander option of a flag; --help shows its default. */
export function flagOption(name: string, flag: Flag): Option {
  const arg =
    flag.kind === 'boolean'
      ? ''
      : flag.kind === 'files'
        ? ' <files...>'
        : ` <${flag.arg ?? (flag.kind === 'int' ? 'n' : flag.kind === 'number' ? 'x' : 'value')}>`;
  const option = new Option(`--${name}${arg}`, flag.help);
  if (flag.default !== undefined && flag.kind !== 'boolean')
    option.default(flag.kind === 'int' || flag.kind === 'number' ? Number(flag.default) : flag.default);
  return option;
}

export type ArgValue = string | number | boolean | string[];
export type PretrainValues = Record<string, ArgValue | undefined>;

/** A raw command-line value (string, boolean or string[]) as its flag's kind; throws "--name ...". */
export function parseFlag(name: string, raw: string | boolean | string[]): ArgValue {
  const flag = PRETRAIN_FLAGS[name];
  const fail = (expected: string): never => {
    throw new UsageError(`--${name} ${expected}, got '${raw}'`);
  };
  let v: ArgValue;
  switch (flag.kind) {
    case 'int':
      v = Number(raw);
      if (typeof raw !== 'string' || !/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(v)) fail('must be a non-negative integer');
      break;
    case 'number':
      v = Number(raw);
      if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v)) fail('must be a finite number');
      break;
    case 'files':
      v = (Array.isArray(raw) ? raw : [String(raw)]).map((f) => resolve(f));
      break;
    case 'path':
      v = resolve(String(raw));
      break;
    default:
      v = raw;
  }
  const problem = flag.check?.(v);
  if (problem) fail(problem);
  return v;
}

export interface ResolvedArgs {
  values: PretrainValues;
  /** Flags the command line gave a value different from the checkpoint's run (reported). */
  overridden: string[];
}

/**
 * The run's arguments: `given` (parsed) over the checkpoint's `saved` arguments (on resume) over
 * the defaults. Throws when a 'fixed' flag differs from the checkpoint's.
 */
export function resolveArgs(given: PretrainValues, saved: PretrainValues | null, checkpoint: string | null): ResolvedArgs {
  const values: PretrainValues = {};
  const overridden: string[] = [];
  for (const [name, flag] of Object.entries(PRETRAIN_FLAGS)) {
    const g = given[name];
    const s = saved && flag.onResume !== 'none' ? saved[name] : undefined;
    if (g !== undefined && s !== undefined && !sameValue(g, s)) {
      if (flag.onResume === 'fixed') {
        throw new UsageError(
          `--${name} ${show(g)} conflicts with the run in ${checkpoint} (--${name} ${show(s)}): a resumed run keeps what shaped its model, data and optimizer. ` +
            `Leave --${name} out to continue it, or start a new run in another --out`,
        );
      }
      overridden.push(`--${name} ${show(g)} (the checkpoint's run: ${show(s)})`);
    }
    if (saved && flag.onResume === 'fixed' && g !== undefined && s === undefined && flag.default === undefined) {
      throw new UsageError(`--${name} ${show(g)} conflicts with the run in ${checkpoint}, which had no --${name}`);
    }
    const d = flag.default === undefined ? undefined : parseFlag(name, flag.default);
    values[name] = g ?? s ?? d;
  }
  return { values, overridden };
}

function sameValue(a: ArgValue, b: ArgValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function show(v: ArgValue): string {
  return Array.isArray(v) ? v.join(' ') : String(v);
}

/** The arguments a checkpoint keeps: every flag but the 'none' ones. */
export function argsToKeep(values: PretrainValues): PretrainValues {
  return Object.fromEntries(Object.entries(values).filter(([name, v]) => v !== undefined && PRETRAIN_FLAGS[name].onResume !== 'none'));
}
