// Fine-tuning data: JSON lines, CSV / TSV with named columns and `word/TAG` sentences, read from
// text (no file system here, so it runs in browsers; src/finetune/node-data.ts reads files), into
// the example shapes of the tasks. The first bad line stops reading with its file, line number,
// and what was expected: nothing trains on a file that fails.
// Untrusted values go into messages through describeJson (shallow): JSON.stringify overflows on deep nesting.
import { describeJson } from '../tokenizers/json-fields.js';

/** Where an example came from, for messages. */
export interface Located {
  source: string;
  /** 1-based line where the record starts. */
  line: number;
}

/** `{"text","label"}` or `{"text","pair","label"}`; regression labels are numbers. */
export interface TextExample extends Located {
  text: string;
  pair?: string;
  label?: string | number;
}

/** `{"text","choices","label"}`: label is the index of the right choice. */
export interface ChoiceExample extends Located {
  text: string;
  choices: string[];
  label?: number;
}

/**
 * A tagged sentence: `{"tokens","tags"}` (words given), or `{"text","entities"}` turned into
 * words with IOB2 tags. `text` / `wordOffsets` (UTF-16, into text) are set for text input.
 */
export interface TagExample extends Located {
  words: string[];
  tags?: string[];
  text?: string;
  wordOffsets?: [number, number][];
}

/** SQuAD-style; `answer_start` are UTF-16 indices (String.prototype.slice) into `context`. */
export interface QaExample extends Located {
  id: string;
  question: string;
  context: string;
  answers: { text: string[]; answer_start: number[] };
}

/** A record before it is checked against a task's shape: a JSON object or a row of named columns. */
export interface RawRecord extends Located {
  value: Record<string, unknown>;
}

export class DataError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    what: string,
  ) {
    super(`${source}:${line}: ${what}`);
    this.name = 'DataError';
  }
}

const describe = (v: unknown) =>
  v === undefined
    ? 'nothing'
    : Array.isArray(v)
      ? 'an array'
      : v === null
        ? 'null'
        : typeof v === 'string'
          ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
          : typeof v === 'object'
            ? 'an object'
            : String(v);

const stripBom = (text: string) => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

// ---- record formats ----

export interface JsonLinesOptions {
  /** A line that does not start with `{` is taken as `{"text": line}` (prediction input). */
  plainText?: boolean;
}

/** One JSON object per line; blank lines are skipped. */
export function parseJsonLines(text: string, source: string, { plainText = false }: JsonLinesOptions = {}): RawRecord[] {
  const out: RawRecord[] = [];
  stripBom(text)
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (!line.trim()) return;
      if (plainText && !line.trimStart().startsWith('{')) {
        out.push({ source, line: i + 1, value: { text: line } });
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new DataError(source, i + 1, `not valid JSON (${(err as Error).message}); expected one JSON object per line`);
      }
      if (!value || typeof value !== 'object' || Array.isArray(value))
        throw new DataError(source, i + 1, `expected a JSON object, got ${describe(value)}`);
      out.push({ source, line: i + 1, value: value as Record<string, unknown> });
    });
  return out;
}

export interface DelimitedOptions {
  /** Field separator: ',' (CSV, the default) or '\t' (TSV). */
  delimiter?: string;
  /**
   * Quote character ('"' by default for CSV): quoted fields may hold delimiters, newlines and
   * doubled quotes (RFC 4180). `null` reads every character literally, as GLUE's own TSV reader
   * does (`csv.reader(delimiter='\t', quotechar=None)`); the default for '\t'.
   */
  quote?: string | null;
  /** Column names for a file without a header row; default: the first row names them. */
  columns?: string[];
}

/**
 * CSV / TSV rows as records keyed by column name. A quoted field may span lines (Pang & Lee's
 * CSV); each row must have as many fields as there are columns; blank lines are skipped.
 */
export function parseDelimited(text: string, source: string, options: DelimitedOptions = {}): RawRecord[] {
  const delimiter = options.delimiter ?? ',';
  const quote = options.quote === undefined ? (delimiter === '\t' ? null : '"') : options.quote;
  if (delimiter.length !== 1 || (quote !== null && quote.length !== 1) || delimiter === quote) {
    throw new Error(
      `${source}: delimiter and quote must be two different single characters, got ${JSON.stringify(delimiter)} and ${JSON.stringify(quote)}`,
    );
  }
  const s = stripBom(text);
  const rows: { line: number; fields: string[] }[] = [];
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quotedAt = 0;
    // one record: fields until an unquoted newline or the end
    for (;;) {
      if (quote !== null && field === '' && s[i] === quote) {
        quotedAt = line;
        i++;
        for (;;) {
          if (i >= s.length) throw new DataError(source, quotedAt, `quoted field is never closed (expected a closing ${quote})`);
          const c = s[i];
          if (c === quote) {
            if (s[i + 1] === quote) {
              field += quote;
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (s[i] === '\r' && s[i + 1] === '\n') i++;
        if (i < s.length && s[i] !== delimiter && s[i] !== '\n') {
          throw new DataError(
            source,
            line,
            `unexpected ${JSON.stringify(s[i])} after a closing quote (expected ${JSON.stringify(delimiter)} or the end of the line)`,
          );
        }
      } else {
        while (i < s.length && s[i] !== delimiter && s[i] !== '\n') field += s[i++];
        if (s[i] === '\n' && field.endsWith('\r')) field = field.slice(0, -1); // CRLF
      }
      if (i < s.length && s[i] === delimiter) {
        fields.push(field);
        field = '';
        i++;
        continue;
      }
      fields.push(field);
      if (i < s.length) {
        i++; // the newline
        line++;
      }
      break;
    }
    if (fields.length === 1 && fields[0] === '' && !quotedAt) continue; // blank line
    rows.push({ line: start, fields });
  }
  let columns = options.columns;
  if (!columns) {
    const header = rows.shift();
    if (!header) throw new DataError(source, 1, 'expected a header row naming the columns, got an empty file');
    columns = header.fields;
    const seen = new Set<string>();
    for (const c of columns) {
      if (!c) throw new DataError(source, header.line, 'a column has no name in the header row');
      if (seen.has(c)) throw new DataError(source, header.line, `column ${JSON.stringify(c)} is named twice in the header row`);
      seen.add(c);
    }
  }
  return rows.map(({ line, fields }) => {
    if (fields.length !== columns.length) {
      throw new DataError(source, line, `expected ${columns.length} fields (${columns.join(', ')}), got ${fields.length}`);
    }
    return { source, line, value: Object.fromEntries(columns.map((c, k) => [c, fields[k]])) };
  });
}

/** `word/TAG word/TAG ...` sentences, one per line (the Penn Treebank style of the WSJ / OANC corpora). */
export function parseSlashTagged(text: string, source: string): RawRecord[] {
  const out: RawRecord[] = [];
  stripBom(text)
    .split('\n')
    .forEach((raw, i) => {
      const items = raw.trim().split(/\s+/u).filter(Boolean);
      if (!items.length) return;
      const tokens: string[] = [];
      const tags: string[] = [];
      for (const item of items) {
        const cut = item.lastIndexOf('/');
        if (cut <= 0 || cut === item.length - 1) throw new DataError(source, i + 1, `expected word/TAG, got ${JSON.stringify(item)}`);
        tokens.push(item.slice(0, cut));
        tags.push(item.slice(cut + 1));
      }
      out.push({ source, line: i + 1, value: { tokens, tags } });
    });
  return out;
}

export type RecordFormat = 'jsonl' | 'csv' | 'tsv' | 'word/tag';

export interface ReadOptions extends DelimitedOptions, JsonLinesOptions {
  /** Default: from the source's extension (.csv, .tsv; otherwise JSON lines). */
  format?: RecordFormat;
  /** Column (or JSON field) holding each field of the example, e.g. { text: 'sentence1', pair: 'sentence2' }. */
  fields?: Partial<Record<string, string>>;
}

/** Records of a file's text in the format its name (or `format`) says, with fields renamed by `fields`. */
export function readRecords(text: string, source: string, options: ReadOptions = {}): RawRecord[] {
  const ext = source.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  const format = options.format ?? (ext === 'csv' ? 'csv' : ext === 'tsv' ? 'tsv' : 'jsonl');
  const records =
    format === 'csv'
      ? parseDelimited(text, source, options)
      : format === 'tsv'
        ? parseDelimited(text, source, { ...options, delimiter: options.delimiter ?? '\t' })
        : format === 'word/tag'
          ? parseSlashTagged(text, source)
          : parseJsonLines(text, source, options);
  const renames = Object.entries(options.fields ?? {}).filter(([to, from]) => from && from !== to) as [string, string][];
  if (!renames.length) return records;
  return records.map((r) => {
    const value = { ...r.value };
    for (const [to, from] of renames) {
      if (!(from in r.value))
        throw new DataError(
          r.source,
          r.line,
          `expected a field ${JSON.stringify(from)} (for ${to}); the record has ${Object.keys(r.value).join(', ') || 'none'}`,
        );
      value[to] = r.value[from];
    }
    return { ...r, value };
  });
}

// ---- fields ----

function field(r: RawRecord, name: string): unknown {
  return r.value[name];
}

function stringField(r: RawRecord, name: string, optional = false): string | undefined {
  const v = field(r, name);
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new DataError(r.source, r.line, `expected "${name}" to be a string, got ${describe(v)}`);
  return v;
}

function stringArray(r: RawRecord, name: string): string[] {
  const v = field(r, name);
  if (!Array.isArray(v)) throw new DataError(r.source, r.line, `expected "${name}" to be an array of strings, got ${describe(v)}`);
  v.forEach((x, k) => {
    if (typeof x !== 'string') throw new DataError(r.source, r.line, `expected "${name}"[${k}] to be a string, got ${describe(x)}`);
  });
  return v as string[];
}

/** A label as given: a string, or an integer (JSON) — classes. CSV / TSV cells are strings. */
function classLabel(r: RawRecord): string | number | undefined {
  const v = field(r, 'label');
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) return v;
  throw new DataError(r.source, r.line, `expected "label" to be a string or an integer class, got ${describe(v)}`);
}

/** A regression target: a finite number (CSV / TSV: a numeric cell). */
function numberLabel(r: RawRecord): number | undefined {
  const v = field(r, 'label');
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new DataError(r.source, r.line, `expected "label" to be a number (regression), got ${describe(v)}`);
  return n;
}

function requireLabel<T>(r: RawRecord, label: T | undefined, labelled: boolean): T | undefined {
  if (labelled && label === undefined)
    throw new DataError(r.source, r.line, 'expected a "label" (the file is read for training or evaluation)');
  return label;
}

export interface ExampleOptions {
  /** Labels (tags, answers) are required: true for training and evaluation, false for prediction. */
  labelled?: boolean;
}

/** `{"text", "label"}` / `{"text", "pair", "label"}`: `pair` required (true), read when present ('optional') or ignored (false). */
export function textExamples(
  records: RawRecord[],
  { labelled = true, pair = false, regression = false }: ExampleOptions & { pair?: boolean | 'optional'; regression?: boolean } = {},
): TextExample[] {
  return records.map((r) => {
    const ex: TextExample = { source: r.source, line: r.line, text: stringField(r, 'text')! };
    if (pair) {
      const p = stringField(r, 'pair', pair === 'optional');
      if (p !== undefined) ex.pair = p;
    }
    const label = requireLabel(r, regression ? numberLabel(r) : classLabel(r), labelled);
    if (label !== undefined) ex.label = label;
    return ex;
  });
}

/** `{"text", "choices", "label"}`: the same number of choices on every line (they batch as [B, C, T]). */
export function choiceExamples(records: RawRecord[], { labelled = true }: ExampleOptions = {}): ChoiceExample[] {
  let count = 0;
  return records.map((r) => {
    const choices = stringArray(r, 'choices');
    if (choices.length < 2) throw new DataError(r.source, r.line, `expected at least 2 choices, got ${choices.length}`);
    if (count && choices.length !== count)
      throw new DataError(r.source, r.line, `expected ${count} choices (as the first line), got ${choices.length}`);
    count = choices.length;
    const ex: ChoiceExample = { source: r.source, line: r.line, text: stringField(r, 'text')!, choices };
    const v = field(r, 'label');
    if (v !== undefined && v !== null) {
      const k = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= choices.length) {
        throw new DataError(
          r.source,
          r.line,
          `expected "label" to be the index of a choice (0 to ${choices.length - 1}), got ${describe(v)}`,
        );
      }
      ex.label = k;
    } else requireLabel(r, undefined, labelled);
    return ex;
  });
}

/**
 * Offsets as written in a file: JavaScript (UTF-16) indices, or Python's code-point indices
 * (SQuAD's answer_start). Returns the UTF-16 start where `text.slice(start, start + part.length)`
 * is `part`, or null.
 */
function utf16Start(text: string, start: number, part: string): number | null {
  if (text.startsWith(part, start)) return start;
  const cps = Array.from(text);
  if (start > cps.length) return null;
  const at = cps.slice(0, start).join('').length;
  return text.startsWith(part, at) ? at : null;
}

/** Words of a text with their UTF-16 offsets: runs of letters, marks and digits, or single other non-space characters. */
export function splitWords(text: string): { words: string[]; offsets: [number, number][] } {
  const words: string[] = [];
  const offsets: [number, number][] = [];
  for (const m of text.matchAll(/[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu)) {
    words.push(m[0]);
    offsets.push([m.index, m.index + m[0].length]);
  }
  return { words, offsets };
}

/**
 * `{"tokens", "tags"}` (words given; no word may be empty or hold a space), or
 * `{"text", "entities": [{start, end, label}]}` (character offsets, end exclusive): the text
 * is split into words (`splitWords`) and tagged IOB2; an entity must start and end on word
 * boundaries and not overlap another.
 */
export function tagExamples(records: RawRecord[], { labelled = true }: ExampleOptions = {}): TagExample[] {
  return records.map((r) => {
    if (field(r, 'tokens') !== undefined) {
      const words = stringArray(r, 'tokens');
      words.forEach((w, k) => {
        if (!w || /\s/u.test(w))
          throw new DataError(r.source, r.line, `expected "tokens"[${k}] to be a word without spaces, got ${describe(w)}`);
      });
      const ex: TagExample = { source: r.source, line: r.line, words };
      if (field(r, 'tags') !== undefined) {
        const tags = stringArray(r, 'tags');
        if (tags.length !== words.length)
          throw new DataError(r.source, r.line, `expected one tag per token (${words.length}), got ${tags.length} tags`);
        tags.forEach((t, k) => {
          if (!t) throw new DataError(r.source, r.line, `expected "tags"[${k}] to be a tag such as "B-PER" or "O", got ""`);
        });
        ex.tags = tags;
      } else if (labelled) throw new DataError(r.source, r.line, 'expected "tags" (one per token)');
      return ex;
    }
    const text = stringField(r, 'text');
    const { words, offsets } = splitWords(text!);
    const ex: TagExample = { source: r.source, line: r.line, words, text, wordOffsets: offsets };
    const entities = field(r, 'entities');
    if (entities === undefined) {
      if (labelled) throw new DataError(r.source, r.line, 'expected "tokens" and "tags", or "text" and "entities"');
      return ex;
    }
    if (!Array.isArray(entities))
      throw new DataError(r.source, r.line, `expected "entities" to be an array of {start, end, label}, got ${describe(entities)}`);
    const tags = words.map(() => 'O');
    entities.forEach((e, k) => {
      const bad = (what: string) => new DataError(r.source, r.line, `entity ${k}: ${what}`);
      if (
        !e ||
        typeof e !== 'object' ||
        typeof e.label !== 'string' ||
        !e.label ||
        !Number.isInteger(e.start) ||
        !Number.isInteger(e.end)
      ) {
        throw bad(`expected {start, end, label} with integer offsets and a label, got ${describeJson(e)}`);
      }
      if (!(0 <= e.start && e.start < e.end)) throw bad(`expected 0 <= start < end, got [${e.start}, ${e.end})`);
      // UTF-16 offsets, or code-point ones (Python's) where the text has characters beyond the BMP
      const cps = Array.from(text!);
      const candidates: [number, number][] = [[e.start, e.end]];
      if (cps.length !== text!.length && e.end <= cps.length)
        candidates.push([cps.slice(0, e.start).join('').length, cps.slice(0, e.end).join('').length]);
      if (e.end > text!.length) throw bad(`end ${e.end} is past the text (${text!.length} characters)`);
      let first = -1;
      let last = -1;
      for (const [start, end] of candidates) {
        first = offsets.findIndex(([s]) => s === start);
        last = offsets.findIndex(([, en]) => en === end);
        if (first >= 0 && last >= first) break;
      }
      if (first < 0 || last < first)
        throw bad(
          `${JSON.stringify(text!.slice(e.start, e.end))} [${e.start}, ${e.end}) does not start and end on word boundaries (words: ${JSON.stringify(words.slice(0, 12))})`,
        );
      for (let w = first; w <= last; w++) {
        if (tags[w] !== 'O') throw bad(`overlaps another entity at word ${JSON.stringify(words[w])}`);
        tags[w] = `${w === first ? 'B' : 'I'}-${e.label}`;
      }
    });
    ex.tags = tags;
    return ex;
  });
}

/**
 * SQuAD-style `{"id", "question", "context", "answers": {"text": [...], "answer_start": [...]}}`;
 * every answer must be found at its answer_start (UTF-16 or code-point index); empty lists mean
 * unanswerable (v2.0). A missing id becomes "<source>:<line>".
 */
export function qaExamples(records: RawRecord[], { labelled = true }: ExampleOptions = {}): QaExample[] {
  const ids = new Map<string, number>();
  return records.map((r) => {
    const rawId = field(r, 'id');
    if (rawId !== undefined && typeof rawId !== 'string' && typeof rawId !== 'number')
      throw new DataError(r.source, r.line, `expected "id" to be a string, got ${describe(rawId)}`);
    const id = rawId === undefined ? `${r.source}:${r.line}` : String(rawId);
    if (ids.has(id)) throw new DataError(r.source, r.line, `id ${JSON.stringify(id)} was already used on line ${ids.get(id)}`);
    ids.set(id, r.line);
    const question = stringField(r, 'question')!;
    const context = stringField(r, 'context')!;
    const ex: QaExample = { source: r.source, line: r.line, id, question, context, answers: { text: [], answer_start: [] } };
    const answers = field(r, 'answers') as { text?: unknown; answer_start?: unknown } | undefined;
    if (answers === undefined) {
      if (labelled) throw new DataError(r.source, r.line, 'expected "answers": {"text": [...], "answer_start": [...]}');
      return ex;
    }
    if (
      !answers ||
      typeof answers !== 'object' ||
      !Array.isArray(answers.text) ||
      !Array.isArray(answers.answer_start) ||
      answers.text.length !== answers.answer_start.length
    ) {
      throw new DataError(
        r.source,
        r.line,
        `expected "answers": {"text": [...], "answer_start": [...]} with lists of the same length, got ${describeJson(answers)}`,
      );
    }
    answers.text.forEach((t, k) => {
      const s = (answers.answer_start as unknown[])[k];
      if (typeof t !== 'string' || !t || !Number.isInteger(s) || (s as number) < 0) {
        throw new DataError(
          r.source,
          r.line,
          `answer ${k}: expected a non-empty text and an integer answer_start >= 0, got ${describeJson(t)} at ${describeJson(s)}`,
        );
      }
      const at = utf16Start(context, s as number, t);
      if (at === null)
        throw new DataError(
          r.source,
          r.line,
          `answer ${k} ${JSON.stringify(t)} is not in the context at answer_start ${s} (found ${JSON.stringify(context.slice(s as number, (s as number) + t.length))})`,
        );
      ex.answers.text.push(t);
      ex.answers.answer_start.push(at);
    });
    return ex;
  });
}

// ---- labels ----

/** Class labels as Hugging Face's config.json holds them. */
export interface LabelSet {
  /** Labels in id order, as they appear in the data (strings, or integers from JSON). */
  labels: (string | number)[];
  id2label: Record<string, string>;
  label2id: Record<string, number>;
}

/**
 * The labels seen in training data, sorted (numbers numerically, strings by code unit) so that
 * the ids do not depend on the order of the lines. Strings and numbers may not be mixed
 * (1 and "1" would share a name in config.json).
 */
export function labelSet(examples: readonly (Located & { label?: string | number })[]): LabelSet {
  let firstString: Located | null = null;
  let firstNumber: Located | null = null;
  const seen = new Set<string | number>();
  for (const ex of examples) {
    if (ex.label === undefined) throw new DataError(ex.source, ex.line, 'expected a "label"');
    if (typeof ex.label === 'string') firstString ??= ex;
    else firstNumber ??= ex;
    if (firstString && firstNumber) {
      const later = firstString.line > firstNumber.line || firstString.source !== firstNumber.source ? firstString : firstNumber;
      throw new DataError(
        later.source,
        later.line,
        `labels mix strings and numbers (line ${firstNumber.line} has a number, line ${firstString.line} a string): use one kind`,
      );
    }
    seen.add(ex.label);
  }
  if (seen.size === 0) throw new Error('no labelled examples');
  const labels = [...seen].sort((a, b) => (typeof a === 'number' ? a - (b as number) : a < b ? -1 : a > b ? 1 : 0));
  return {
    labels,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), String(l)])),
    label2id: Object.fromEntries(labels.map((l, i) => [String(l), i])),
  };
}

/**
 * Integer labels keep their type through config.json, whose id2label holds strings (Hugging
 * Face's): this key says so, and predictions give numbers again.
 */
export const LABEL_TYPE_KEY = 'bertgpu_label_type';

/** The config.json fields of a label set: id2label / label2id, and LABEL_TYPE_KEY for integer labels. */
export function labelConfig(set: LabelSet): {
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  [LABEL_TYPE_KEY]?: 'number';
} {
  // set explicitly (undefined: dropped from config.json) so that a base's key does not carry over to string labels
  return { id2label: set.id2label, label2id: set.label2id, [LABEL_TYPE_KEY]: typeof set.labels[0] === 'number' ? 'number' : undefined };
}

/**
 * The label set of a fine-tuned model's config.json (labels are the id2label names; numbers when
 * LABEL_TYPE_KEY says 'number' or when the names are JSON numbers, as an adapter's metadata keeps them).
 */
export function labelSetFromConfig(config: { id2label?: Record<string, string | number>; [LABEL_TYPE_KEY]?: unknown }): LabelSet {
  const entries = Object.entries(config.id2label ?? {});
  if (!entries.length) throw new Error('config.json has no id2label');
  const numeric = config[LABEL_TYPE_KEY] === 'number' || entries.every(([, name]) => typeof name === 'number');
  const labels: (string | number)[] = [];
  for (const [id, name] of entries) {
    const i = Number(id);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length)
      throw new Error(`config.json id2label: id ${JSON.stringify(id)} is not in 0..${entries.length - 1}`);
    if (numeric && !Number.isFinite(Number(name)))
      throw new Error(`config.json id2label: ${JSON.stringify(name)} is not a number (${LABEL_TYPE_KEY} says the labels are)`);
    labels[i] = numeric ? Number(name) : String(name);
  }
  return {
    labels,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), String(l)])),
    label2id: Object.fromEntries(labels.map((l, i) => [String(l), i])),
  };
}

/** The id of an example's label; a label the set does not have is an error at its line. */
export function labelId(set: LabelSet, ex: Located & { label?: string | number }): number {
  const id = ex.label === undefined ? undefined : set.label2id[String(ex.label)];
  if (id === undefined)
    throw new DataError(
      ex.source,
      ex.line,
      `label ${JSON.stringify(ex.label)} is not one of the model's labels (${set.labels.map((l) => JSON.stringify(l)).join(', ')})`,
    );
  return id;
}
