// A small seeded mutation fuzzer for the fuzz-*.test.ts suites: structural mutations of JSON
// (replace / delete / add a value at a random path, with nulls, wrong types, huge numbers,
// 100,000-deep nesting), byte and text mutations, adversarial Unicode text, and a driver that
// counts accepted inputs and clean errors and reports anything else with the input that caused it.
import * as assert from 'uvu/assert';
import { rng } from './helpers.js';

export type Rng = ReturnType<typeof rng>;

/** Inputs per fuzz target: sized so each target takes ~5 s on a 2-core CI machine. FUZZ_SCALE=10 runs 10x as many. */
export const FUZZ_SCALE = Number(globalThis.process?.env?.FUZZ_SCALE ?? 1);

export const pick = <T>(r: Rng, items: readonly T[]): T => items[Math.floor(r.next() * items.length)];
export const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r.next() * (hi - lo + 1));

// ---------------------------------------------------------------------------------------------
// text

/** Code point ranges that tokenizers treat specially, or that are easy to get wrong. */
const CODE_POINT_RANGES: [number, number][] = [
  [0x20, 0x7e], // ASCII
  [0x20, 0x7e],
  [0x00, 0x1f], // controls, tab, newline
  [0x7f, 0x9f], // DEL, C1 controls
  [0xa0, 0xff], // Latin-1 (accents, NBSP)
  [0x300, 0x36f], // combining marks
  [0x370, 0x52f], // Greek, Cyrillic
  [0x590, 0x6ff], // Hebrew, Arabic (right to left)
  [0x900, 0x97f], // Devanagari
  [0x2000, 0x206f], // spaces, zero-width, bidi controls, punctuation
  [0x3000, 0x303f], // CJK punctuation
  [0x4e00, 0x9fff], // CJK ideographs
  [0xac00, 0xd7a3], // Hangul
  [0xd800, 0xdfff], // lone surrogates
  [0xfe00, 0xfe0f], // variation selectors
  [0xfff0, 0xffff], // specials, U+FFFD, non-characters
  [0x1f300, 0x1faff], // emoji
  [0x20000, 0x2a6df], // CJK extension B (astral)
  [0xe0000, 0xe007f], // tags
  [0x10fff0, 0x10ffff], // last plane
];
const SPECIAL_WORDS = [
  '[CLS]',
  '[SEP]',
  '[PAD]',
  '[MASK]',
  '[UNK]',
  '<s>',
  '</s>',
  '<pad>',
  '<mask>',
  '<unk>',
  '##',
  'Ġ',
  "'s",
  "n't",
  ' ',
  '  ',
  '\n',
  '\r\n',
  '\t',
];

/** Random text: runs of characters from the ranges above, special tokens, spaces; sometimes one very long word. */
export function randomText(r: Rng, maxLength = 400): string {
  const length = int(r, 0, maxLength);
  let out = '';
  while (out.length < length) {
    const roll = r.next();
    if (roll < 0.1) out += pick(r, SPECIAL_WORDS);
    else if (roll < 0.3) out += ' ';
    else {
      const [lo, hi] = pick(r, CODE_POINT_RANGES);
      const run = int(r, 1, 12);
      for (let i = 0; i < run; i++) out += String.fromCodePoint(int(r, lo, hi));
    }
  }
  if (r.next() < 0.05) out += pick(r, ['a', 'x', 'é', '中', '😀', '\u0301']).repeat(int(r, 100, 20_000)); // one long word
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

// Nesting can't go through JSON.stringify (it recurses): a marker string stands for it and is
// expanded in the text afterwards.
const DEEP = '\u0001deep';
const deepMarker = (depth: number, kind: 'array' | 'object') => `${DEEP}:${kind}:${depth}`;
function expandDeep(text: string): string {
  return text.replace(/"\\u0001deep:(array|object):(\d+)"/g, (_, kind: string, depth: string) => {
    const n = +depth;
    return kind === 'array' ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '0' + '}'.repeat(n);
  });
}

/** A random JSON value of a wrong type, an edge-case number, a dictionary word, or deep nesting. */
export function randomJsonValue(r: Rng, words: readonly string[] = []): unknown {
  const roll = r.next();
  if (roll < 0.15 && words.length) return pick(r, words);
  if (roll < 0.22) return deepMarker(pick(r, [2, 50, 1000, 100_000]), pick(r, ['array', 'object'] as const));
  if (roll < 0.25) return 'x'.repeat(int(r, 1000, 200_000));
  if (roll < 0.3) return randomText(r, 20);
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    -0,
    1,
    -1,
    2,
    3,
    0.5,
    -1.5,
    7,
    100,
    1e9,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    1e21,
    1e308,
    -1e308,
    5e-324,
    '',
    'x',
    '0',
    '1e9',
    'null',
    [],
    [null],
    [0],
    [1, 2],
    [-1],
    [2, 3, 4],
    ['x', 1],
    [[]],
    {},
    { a: 1 },
    { type: 'x' },
    { '': null },
  ];
  return pick(r, values);
}

type Json = unknown;
const isContainer = (v: Json): v is Record<string, Json> | Json[] => v !== null && typeof v === 'object';

/** A random path into value: from the root, stop with probability 0.3 at each level, else go into a random child. */
function randomPath(r: Rng, value: Json): (string | number)[] {
  const path: (string | number)[] = [];
  let node = value;
  while (isContainer(node)) {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0 || (path.length > 0 && r.next() < 0.3)) break;
    const key = pick(r, keys);
    path.push(key);
    node = (node as Record<string, Json>)[key as string];
  }
  return path;
}

const pathText = (path: readonly (string | number)[]) =>
  path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k.length > 30 ? k.slice(0, 30) + '...' : k}`)).join('') || '(root)';
const brief = (v: Json) => {
  const s = typeof v === 'string' && v.startsWith(DEEP) ? v.slice(1) : (JSON.stringify(v) ?? String(v));
  return s.length > 40 ? s.slice(0, 40) + '...' : s;
};

/**
 * Mutates a deep copy of `value` 1-3 times (replace / delete / add at random paths) and returns
 * its JSON text and what was done. `words` are strings worth trying as values (type names etc.).
 */
export function mutateJson(r: Rng, value: Json, words: readonly string[] = []): { doc: Json; what: string[] } {
  let doc = structuredClone(value);
  const what: string[] = [];
  const count = int(r, 1, 3);
  for (let m = 0; m < count; m++) {
    const path = randomPath(r, doc);
    const parent = path.slice(0, -1).reduce<Json>((node, k) => (node as Record<string, Json>)[k as string], doc) as
      Record<string, Json> | Json[] | undefined;
    const key = path[path.length - 1];
    const roll = r.next();
    if (path.length === 0) {
      doc = randomJsonValue(r, words);
      what.push(`(root) = ${brief(doc)}`);
    } else if (roll < 0.15) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, Json>)[key as string];
      what.push(`delete ${pathText(path)}`);
    } else if (roll < 0.25 && isContainer(parent)) {
      const v = randomJsonValue(r, words);
      if (Array.isArray(parent)) parent.push(v);
      else parent[pick(r, ['extra', ...words])] = v;
      what.push(`add to ${pathText(path.slice(0, -1))}: ${brief(v)}`);
    } else if (roll < 0.32) {
      // a copy of another part of the document (the right type in the wrong place)
      const other = randomPath(r, doc).reduce<Json>((node, k) => (node as Record<string, Json>)[k as string], doc);
      (parent as Record<string, Json>)[key as string] = structuredClone(other);
      what.push(`${pathText(path)} = copy of ${brief(other)}`);
    } else {
      const v = randomJsonValue(r, words);
      (parent as Record<string, Json>)[key as string] = v;
      what.push(`${pathText(path)} = ${brief(v)}`);
    }
  }
  return { doc, what };
}

/** JSON text of a (mutated) document, deep-nesting markers expanded. */
export const jsonText = (doc: Json): string => expandDeep(JSON.stringify(doc) ?? 'undefined');

/** Text-level damage: truncate, change, insert or duplicate characters. */
export function mutateText(r: Rng, text: string): { text: string; what: string } {
  const at = int(r, 0, text.length);
  const roll = r.next();
  if (roll < 0.3) return { text: text.slice(0, at), what: `truncated to ${at} chars` };
  if (roll < 0.6)
    return { text: text.slice(0, at) + String.fromCodePoint(int(r, 0, 0x7f)) + text.slice(at + 1), what: `char ${at} changed` };
  if (roll < 0.8) return { text: text.slice(0, at) + randomText(r, 8) + text.slice(at), what: `text inserted at ${at}` };
  const end = Math.min(text.length, at + int(r, 1, 200));
  return { text: text.slice(0, end) + text.slice(at), what: `chars ${at}..${end} duplicated` };
}

/** Byte-level damage: truncate, flip bits, overwrite a run, or insert bytes. */
export function mutateBytes(r: Rng, bytes: Uint8Array, range: [number, number] = [0, bytes.length]): { bytes: Uint8Array; what: string } {
  const at = int(r, range[0], Math.max(range[0], range[1] - 1));
  const roll = r.next();
  if (roll < 0.25) return { bytes: bytes.slice(0, at), what: `truncated to ${at} bytes` };
  const out = bytes.slice();
  if (roll < 0.6) {
    const n = int(r, 1, 8);
    for (let i = 0; i < n; i++) {
      const j = int(r, range[0], Math.max(range[0], range[1] - 1));
      if (j < out.length) out[j] ^= 1 << int(r, 0, 7);
    }
    return { bytes: out, what: `${n} bit flips near ${at}` };
  }
  if (roll < 0.8) {
    const n = int(r, 1, 16);
    const fill = pick(r, [0x00, 0xff, 0x7b, 0x22, 0x5b]);
    for (let i = at; i < Math.min(out.length, at + n); i++) out[i] = fill;
    return { bytes: out, what: `${n} bytes from ${at} set to 0x${fill.toString(16)}` };
  }
  const extra = Uint8Array.from({ length: int(r, 1, 16) }, () => int(r, 0, 255));
  const grown = new Uint8Array(bytes.length + extra.length);
  grown.set(bytes.subarray(0, at));
  grown.set(extra, at);
  grown.set(bytes.subarray(at), at + extra.length);
  return { bytes: grown, what: `${extra.length} bytes inserted at ${at}` };
}

// ---------------------------------------------------------------------------------------------
// driver

/** Errors the engine raises by accident, never on purpose (our own are Error or a subclass such as DataError). */
const JS_ERRORS = [TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];

export interface FuzzCase {
  /** What this input is, for the failure report (the mutations from a valid file, or the text). */
  what: string;
  /** Runs the target; returns normally if the input was accepted. */
  run: () => void;
}

export interface FuzzCounts {
  inputs: number;
  cleanErrors: number;
  accepted: number;
}

/**
 * Runs `runs` inputs made by `make` (input i from seed + i, so any failure can be replayed).
 * An input may be accepted or refused with our own Error for which `isClean` holds; anything
 * else (a TypeError, a RangeError, an Error that does not name the file) fails the test, which
 * prints the first few such inputs.
 */
export function runFuzz(
  name: string,
  runs: number,
  seed: number,
  make: (r: Rng) => FuzzCase,
  isClean: (err: Error) => boolean,
): FuzzCounts {
  const counts: FuzzCounts = { inputs: 0, cleanErrors: 0, accepted: 0 };
  const failures: string[] = [];
  const start = performance.now();
  // the slowest input is printed (not asserted: no timed tests), to spot near-hangs
  let slowest = { ms: -1, what: '' };
  for (let i = 0; i < runs; i++) {
    const c = make(rng(seed + i));
    counts.inputs++;
    const t0 = performance.now();
    try {
      c.run();
      counts.accepted++;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (!JS_ERRORS.some((type) => e instanceof type) && isClean(e)) counts.cleanErrors++;
      else if (failures.length < 5) {
        const where = (e.stack ?? '').split('\n').slice(1, 4).join('\n');
        failures.push(`input ${i} (seed ${seed + i}): ${c.what}\n  -> ${e.constructor.name}: ${e.message.slice(0, 300)}\n${where}`);
      } else failures.push('');
    } finally {
      const ms = performance.now() - t0;
      if (ms > slowest.ms) slowest = { ms, what: `input ${i}: ${c.what.slice(0, 120)}` };
    }
  }
  console.log(
    `fuzz ${name}: ${counts.inputs} inputs, ${counts.cleanErrors} clean errors, ${counts.accepted} accepted, ${failures.length} other (${((performance.now() - start) / 1000).toFixed(1)} s; slowest ${slowest.ms.toFixed(0)} ms, ${slowest.what})`,
  );
  if (failures.length)
    assert.unreachable(`${name}: ${failures.length} of ${runs} inputs gave an unclean error:\n${failures.filter(Boolean).join('\n')}`);
  return counts;
}
