// Character classes and per-character normalisation exactly as Hugging Face's BertNormalizer and
// BertPreTokenizer see them. The class tables come from the reference itself (unicode-tables.ts),
// not from \p{...}, because the reference uses older Unicode data than today's JS engines.
import { NFD_KEEP, NONSPACING_MARK_RANGES, OTHER_RANGES, PUNCTUATION_RANGES } from './unicode-tables.js';

export const CLASS_OTHER = 1; // dropped by clean text
export const CLASS_PUNCTUATION = 2; // isolated by the pre-tokenizer
export const CLASS_MARK = 4; // non-spacing mark, dropped by strip accents
export const CLASS_SPACE = 8; // whitespace, becomes a word boundary
export const CLASS_CJK = 16; // CJK ideograph, becomes a word of its own

// Rust's char::is_whitespace (the Unicode White_Space property), which never changes.
const WHITESPACE = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009,
  0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

// The ranges HF's is_chinese_char calls "Chinese characters" (BERT's list, with 2B820 read as 2B920).
const CJK_RANGES = [
  0x4e00, 0x9fff, 0x3400, 0x4dbf, 0x20000, 0x2a6df, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f, 0x2b920, 0x2ceaf, 0xf900, 0xfaff, 0x2f800, 0x2fa1f,
];

function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function classOf(cp: number): number {
  let c = 0;
  if (inRanges(OTHER_RANGES, cp)) c |= CLASS_OTHER;
  if (inRanges(PUNCTUATION_RANGES, cp)) c |= CLASS_PUNCTUATION;
  if (inRanges(NONSPACING_MARK_RANGES, cp)) c |= CLASS_MARK;
  if (WHITESPACE.includes(cp)) c |= CLASS_SPACE;
  for (let i = 0; i < CJK_RANGES.length; i += 2) {
    if (cp >= CJK_RANGES[i] && cp <= CJK_RANGES[i + 1]) c |= CLASS_CJK;
  }
  return c;
}

// The Basic Multilingual Plane gets a 64 KiB lookup table; astral code points are rarer and
// take the binary searches (their answers are remembered).
let bmpClasses: Uint8Array | undefined;
const astralClasses = new Map<number, number>();

/** Bit set of CLASS_* flags for a code point. */
export function charClass(cp: number): number {
  if (cp < 0x10000) {
    if (!bmpClasses) {
      bmpClasses = new Uint8Array(0x10000);
      for (let i = 0; i < 0x10000; i++) bmpClasses[i] = classOf(i);
    }
    return bmpClasses[cp];
  }
  let c = astralClasses.get(cp);
  if (c === undefined) {
    c = classOf(cp);
    astralClasses.set(cp, c);
  }
  return c;
}

const nfdKeep = new Set(NFD_KEEP);
const decompositions = new Map<number, number[]>();

/** Canonical decomposition (NFD) of one code point, as code points. */
export function decompose(cp: number): number[] {
  let d = decompositions.get(cp);
  if (d === undefined) {
    const s = String.fromCodePoint(cp);
    d = nfdKeep.has(cp) ? [cp] : codePoints(s.normalize('NFD'));
    decompositions.set(cp, d);
  }
  return d;
}

const lowercases = new Map<number, number[]>();

/**
 * Lowercase of one code point, as code points. Per character, like Rust's char::to_lowercase:
 * no context rules (a word-final capital sigma becomes σ, not ς).
 */
export function lowercase(cp: number): number[] {
  let l = lowercases.get(cp);
  if (l === undefined) {
    l = codePoints(String.fromCodePoint(cp).toLowerCase());
    lowercases.set(cp, l);
  }
  return l;
}

/** Code points of a string; a lone surrogate counts as one code point, U+FFFD. */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const lo = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else cp = 0xfffd;
    }
    out.push(cp);
  }
  return out;
}

/** Number of code points in a string (a lone surrogate counts as one). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
