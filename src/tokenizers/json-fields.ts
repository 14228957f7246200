// Checked reads of untrusted JSON (tokenizer.json, config.json, a safetensors header): a bad
// field is an Error naming the file and the field's path, e.g.
// `tokenizer.json: model.vocab must be an object of token -> id, got null`.
// Values are described shallowly and briefly, never by JSON.stringify of the whole thing, so a
// value nested 100,000 levels deep or a 100 MB string still gives a short message (not a RangeError).

/** A plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A short, JSON-like description of any value: `null`, `"x"`, `-1`, `[2,3]`, `[1,[...]]`, `{"a":1,...}`. */
export function describeJson(value: unknown, room = 80): string {
  const s = sketch(value, true, room);
  return s.length > room ? s.slice(0, room - 3) + '...' : s;
}

function sketch(v: unknown, top: boolean, room: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > room ? v.slice(0, room) + '...' : v);
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? `${v}n` : String(v);
  const array = Array.isArray(v);
  const [open, close] = array ? ['[', ']'] : ['{', '}'];
  if (!top) return isEmpty(v) ? open + close : `${open}...${close}`;
  const parts: string[] = [];
  let length = 0;
  for (const key in v) {
    if (length > room) {
      parts.push('...');
      break;
    }
    const item = sketch((v as Record<string, unknown>)[key], false, room);
    const part = array ? item : `${JSON.stringify(key.length > room ? key.slice(0, room) + '...' : key)}:${item}`;
    parts.push(part);
    length += part.length + 1;
  }
  return open + parts.join(',') + close;
}

function isEmpty(v: object): boolean {
  for (const _ in v) return false;
  return true;
}

/** Reads fields of one untrusted file; every failure names `source` and the field's path. */
export class JsonFields {
  constructor(readonly source: string) {}

  /** Throws `source: path must be expected, got value`. */
  fail(path: string, expected: string, value: unknown): never {
    throw new Error(`${this.source}: ${path} must be ${expected}, got ${describeJson(value)}`);
  }

  /** Parses JSON text (a parsed value passes through). */
  parse(text: unknown): unknown {
    if (typeof text !== 'string') return text;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.source} is not valid JSON (${(err as Error).message})`);
    }
  }

  object(value: unknown, path: string): Record<string, unknown> {
    return isJsonObject(value) ? value : this.fail(path, 'an object', value);
  }

  /** An object, or undefined for null / absent. */
  optionalObject(value: unknown, path: string): Record<string, unknown> | undefined {
    return value == null ? undefined : this.object(value, path);
  }

  /** A string, or undefined for null / absent. */
  optionalString(value: unknown, path: string): string | undefined {
    return value == null ? undefined : typeof value === 'string' ? value : this.fail(path, 'a string', value);
  }

  /** A boolean, or undefined for null / absent. */
  optionalBoolean(value: unknown, path: string): boolean | undefined {
    return value == null ? undefined : typeof value === 'boolean' ? value : this.fail(path, 'true or false', value);
  }

  /** An integer >= min, or undefined for null / absent. */
  optionalInteger(value: unknown, path: string, min: number): number | undefined {
    if (value == null) return undefined;
    return Number.isSafeInteger(value) && (value as number) >= min ? (value as number) : this.fail(path, `an integer >= ${min}`, value);
  }

  array(value: unknown, path: string): unknown[] {
    return Array.isArray(value) ? value : this.fail(path, 'an array', value);
  }
}
