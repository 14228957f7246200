// Hugging Face's BertNormalizer followed by BertPreTokenizer, in one pass over the text, keeping
// for every normalised character the code point of the input it came from (for offsets).
import { CLASS_CJK, CLASS_MARK, CLASS_OTHER, CLASS_PUNCTUATION, CLASS_SPACE, charClass, decompose, lowercase } from './unicode.js';

export interface BertNormalizerOptions {
  /** Drop control characters and U+FFFD, turn whitespace into spaces. Default true. */
  cleanText?: boolean;
  /** Put spaces around CJK ideographs so each is a word. Default true. */
  handleChineseChars?: boolean;
  /** NFD, then drop non-spacing marks. Default: same as lowercase. */
  stripAccents?: boolean;
  /** Lowercase (per character). Default true. */
  lowercase?: boolean;
}

/**
 * Receives one word: its code points in chars[0..length) and, in origins[0..length), the code
 * point index in the input of each. The arrays are reused after the call returns.
 */
export type WordSink = (chars: number[], origins: number[], length: number) => void;

export class BertPreTokenizer {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean;
  readonly lowercase: boolean;

  constructor(options: BertNormalizerOptions = {}) {
    this.cleanText = options.cleanText ?? true;
    this.handleChineseChars = options.handleChineseChars ?? true;
    this.lowercase = options.lowercase ?? true;
    this.stripAccents = options.stripAccents ?? this.lowercase;
  }

  /**
   * Splits text[from, to) (UTF-16 indices) into words, calling sink for each. `firstCodePoint` is
   * the code point index of text[from] in the input; returns the index just past text[to - 1].
   * A lone surrogate counts as one code point and is read as U+FFFD (what Rust receives).
   */
  split(text: string, sink: WordSink, from = 0, to = text.length, firstCodePoint = 0): number {
    const chars: number[] = [];
    const origins: number[] = [];
    let n = 0;
    const flush = () => {
      if (n > 0) sink(chars, origins, n);
      n = 0;
    };
    const push = (cp: number, origin: number) => {
      chars[n] = cp;
      origins[n] = origin;
      n++;
    };
    // After normalisation each character is a boundary, a word of its own, or part of a word.
    const place = (cp: number, origin: number) => {
      const cls = charClass(cp);
      if (cls & CLASS_SPACE) flush();
      else if (cls & CLASS_PUNCTUATION) {
        flush();
        push(cp, origin);
        flush();
      } else push(cp, origin);
    };
    const { cleanText, handleChineseChars, stripAccents, lowercase: lower } = this;

    let origin = firstCodePoint;
    for (let i = from; i < to; i++, origin++) {
      let cp = text.charCodeAt(i);
      if (cp < 0x80) {
        // ASCII: nothing to decompose, lowercase is +32.
        const cls = charClass(cp);
        if (cls & CLASS_OTHER && cleanText) continue;
        if (lower && cp >= 0x41 && cp <= 0x5a) cp += 32;
        if (cls === 0 || cls === CLASS_OTHER) push(cp, origin);
        else place(cp, origin);
        continue;
      }
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const lo = i + 1 < to ? text.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        } else cp = 0xfffd;
      }
      const cls = charClass(cp);
      if (cleanText && cls & CLASS_OTHER) continue;
      if (cls & CLASS_SPACE) {
        flush();
        continue;
      }
      const isolated = handleChineseChars && (cls & CLASS_CJK) !== 0;
      if (isolated) flush();
      if (!stripAccents && !lower) place(cp, origin);
      else {
        const decomposed = stripAccents ? decompose(cp) : [cp];
        for (const d of decomposed) {
          if (stripAccents && charClass(d) & CLASS_MARK) continue;
          if (lower) for (const l of lowercase(d)) place(l, origin);
          else place(d, origin);
        }
      }
      if (isolated) flush();
    }
    flush();
    return origin;
  }

  /** The words of a text, normalised (a convenience for training and inspection). */
  words(text: string): string[] {
    const out: string[] = [];
    this.split(text, (chars, _origins, length) => out.push(fromCodePoints(chars, length)));
    return out;
  }
}

/** String of chars[0..length), without spreading huge arrays onto the stack. */
export function fromCodePoints(chars: readonly number[], length: number): string {
  let s = '';
  for (let i = 0; i < length; i += 4096) {
    s += String.fromCodePoint(...chars.slice(i, Math.min(length, i + 4096)));
  }
  return s;
}
