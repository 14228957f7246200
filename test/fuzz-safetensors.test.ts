// Fuzzes the safetensors reader from valid files (the model fixtures and a file of every writable
// dtype): header JSON mutated structurally, bogus header lengths, dtypes, shapes and offsets,
// truncated and flipped bytes. Every input must be read or refused with a plain Error naming the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { FUZZ_SCALE, int, jsonText, mutateBytes, mutateJson, pick, runFuzz, type Rng } from './fuzz-mutate.js';

const RUNS = 3000 * FUZZ_SCALE;
const SOURCE = 'fuzz/model.safetensors';
const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2'];
const SIZE: Record<string, number> = {
  F64: 8,
  I64: 8,
  U64: 8,
  F32: 4,
  I32: 4,
  U32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

interface Parsed {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  data: Uint8Array;
}

function split(bytes: Uint8Array): Parsed {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function assemble(headerText: string, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const MODELS = 'test/fixtures/models';
const files: Uint8Array[] = existsSync(MODELS)
  ? readdirSync(MODELS)
      .flatMap((d) => ['model', 'inputs'].map((f) => join(MODELS, d, `${f}.safetensors`)))
      .filter(existsSync)
      .slice(0, 12)
      .map((p) => new Uint8Array(readFileSync(p)))
  : [];
// every writable dtype, a scalar, a zero-size tensor and metadata
files.push(
  writeSafetensors(
    {
      f32: { data: Float32Array.from([1, -2, NaN, Infinity]), shape: [2, 2] },
      f16: { data: Float32Array.from([0.5, 65504, -0]), shape: [3], dtype: 'F16' },
      bf16: { data: Float32Array.from([1e30, -1e-30]), shape: [2, 1], dtype: 'BF16' },
      i32: { data: Int32Array.from([-2147483648, 2147483647]), shape: [2] },
      i64: { data: Int32Array.from([-1, 5, 7]), shape: [3], dtype: 'I64' },
      scalar: { data: Float32Array.from([3]), shape: [] },
      empty: { data: new Float32Array(0), shape: [0, 4] },
    },
    { format: 'pt', note: 'fuzz' },
  ),
);
const parsed = files.map(split);
const WORDS = [...DTYPES, 'dtype', 'shape', 'data_offsets', '__metadata__', 'f32', 'i64'];

/** A header entry retyped to another dtype with a shape that still fits its bytes (reaches every decoder). */
function retype(r: Rng, p: Parsed): { text: string; what: string } {
  const header = structuredClone(p.header);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(r, names);
  const e = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
  const dtype = pick(r, DTYPES);
  const bytes = e.data_offsets[1] - e.data_offsets[0];
  e.dtype = dtype;
  e.shape = bytes % SIZE[dtype] === 0 ? [bytes / SIZE[dtype]] : [int(r, 0, bytes)];
  return { text: JSON.stringify(header), what: `"${name}" retyped ${dtype} ${JSON.stringify(e.shape)}` };
}

function makeInput(r: Rng): { bytes: Uint8Array; what: string } {
  const p = pick(r, parsed);
  const roll = r.next();
  if (roll < 0.45) {
    const { doc, what } = mutateJson(r, p.header, WORDS);
    return { bytes: assemble(jsonText(doc), p.data), what: `header: ${what.join('; ')}` };
  }
  if (roll < 0.6) {
    const { text, what } = retype(r, p);
    return { bytes: assemble(text, p.data), what };
  }
  const original = assemble(JSON.stringify(p.header), p.data);
  if (roll < 0.7) {
    const lengths = [0n, 1n, 2n, 7n, 8n, 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n, BigInt(original.length), BigInt(original.length - 9)];
    const n = pick(r, lengths) + BigInt(int(r, -1, 1));
    const length = n < 0n ? 0n : n >= 2n ** 64n ? 2n ** 64n - 1n : n;
    return { bytes: assemble(JSON.stringify(p.header), p.data, length), what: `header length ${length}` };
  }
  const headerEnd = original.length - p.data.length;
  const range: [number, number] = r.next() < 0.7 ? [0, headerEnd] : [headerEnd, original.length];
  const { bytes, what } = mutateBytes(r, original, range);
  return { bytes, what: `bytes: ${what}` };
}

test('fuzz: the safetensors reader reads or refuses every mutated file with a clean error naming it', () => {
  assert.ok(parsed.length >= 2, 'seed files');
  const counts = runFuzz(
    'safetensors',
    RUNS,
    12_000,
    (r) => {
      const { bytes, what } = makeInput(r);
      return {
        what,
        run: () => {
          const file = readSafetensors(bytes, SOURCE);
          for (const [name, t] of file.tensors) {
            const n = t.shape.reduce((a, b) => a * b, 1);
            if (t.data.length !== n) throw new TypeError(`accepted tensor ${name} has ${t.data.length} values for shape [${t.shape}]`);
          }
        },
      };
    },
    (err) => err.message.startsWith(`${SOURCE}: `),
  );
  assert.ok(counts.accepted > 0 && counts.cleanErrors > counts.inputs / 2, 'the mutations reach both outcomes');
});

test.run();
