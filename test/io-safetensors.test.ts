// safetensors read/write: bit-exact round trips, half-precision conversions (exhaustive), every
// header validation failure by message, and every PyTorch fixture under test/fixtures/models.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  readSafetensors,
  writeSafetensors,
  parseSafetensorsHeader,
  float16ToFloat32,
  bfloat16ToFloat32,
  float32ToFloat16,
  float32ToBfloat16,
} from '../src/io/safetensors.js';

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const floatsFromBits = (bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);

/** A hand-built file: 8-byte length, the header text as given (no padding), then the data. */
function rawFile(header: unknown, data: Uint8Array | number = 0, headerLen?: number): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + d.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(headerLen ?? text.length), true);
  out.set(text, 8);
  out.set(d, 8 + text.length);
  return out;
}

function throwsWith(fn: () => unknown, ...parts: (string | RegExp)[]) {
  let msg = '';
  try {
    fn();
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.ok(msg, `expected an error containing ${parts.join(' / ')}`);
  for (const p of parts) {
    const ok = typeof p === 'string' ? msg.includes(p) : p.test(msg);
    assert.ok(ok, `error "${msg}" should contain ${p}`);
  }
}

// -------------------------------------------------------------------------------------------
// round trips

test('F32 round trip is bit-exact (NaN payloads, -0, +-Inf, subnormals, extremes)', () => {
  const bits = [
    0x7fc00000, 0x7f800001, 0xffc00001, 0x7fbfffff, 0x80000000, 0x00000000, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x7f7fffff,
    0xff7fffff, 0x3f800000, 0xbf800000, 0x3eaaaaab, 0x00800000,
  ];
  const data = floatsFromBits(bits);
  const bytes = writeSafetensors({ x: { data, shape: [4, 4] } });
  const back = readSafetensors(bytes).tensors.get('x')!;
  assert.is(back.dtype, 'F32');
  assert.equal(back.shape, [4, 4]);
  assert.ok(back.data instanceof Float32Array);
  assert.equal(bitsOf(back.data), bits);
});

test('I32 and I64 round trips, including int32 extremes and negatives', () => {
  const v = Int32Array.from([0, 1, -1, 2147483647, -2147483648, 12345, -99, 7]);
  const bytes = writeSafetensors({ a: { data: v, shape: [2, 4] }, b: { data: v, shape: [8], dtype: 'I64' } });
  const t = readSafetensors(bytes).tensors;
  assert.is(t.get('a')!.dtype, 'I32');
  assert.is(t.get('b')!.dtype, 'I64');
  assert.ok(t.get('a')!.data instanceof Int32Array);
  assert.ok(t.get('b')!.data instanceof Int32Array);
  assert.equal(Array.from(t.get('a')!.data), Array.from(v));
  assert.equal(Array.from(t.get('b')!.data), Array.from(v));
  // I64 bytes are the sign-extended 64-bit values
  const h = parseSafetensorsHeader(bytes);
  const e = h.entries.find((x) => x.name === 'b')!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  assert.is(dv.getBigInt64(e.begin + 8 * 4, true), -2147483648n);
  assert.is(dv.getBigInt64(e.begin + 8 * 2, true), -1n);
});

test('F16: every one of the 65536 half bit patterns survives read -> write exactly', () => {
  const halves = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) halves[i] = i;
  const file = rawFile({ h: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } }, new Uint8Array(halves.buffer));
  const t = readSafetensors(file).tensors.get('h')!;
  assert.is(t.dtype, 'F16');
  const f = t.data as Float32Array;
  for (let i = 0; i < 65536; i += 997) {
    const want = float16ToFloat32(i);
    assert.ok(Object.is(f[i], want) || (Number.isNaN(f[i]) && Number.isNaN(want)), `half ${i}`);
  }
  const again = writeSafetensors({ h: { data: f, shape: [65536], dtype: 'F16' } });
  const h = parseSafetensorsHeader(again).entries[0];
  const back = new Uint16Array(again.slice(h.begin, h.end).buffer);
  let mismatches = 0;
  for (let i = 0; i < 65536; i++) if (back[i] !== i) mismatches++;
  assert.is(mismatches, 0);
});

test('BF16: every bit pattern reads exactly and writes back to itself', () => {
  const raw = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) raw[i] = i;
  const file = rawFile({ b: { dtype: 'BF16', shape: [256, 256], data_offsets: [0, 131072] } }, new Uint8Array(raw.buffer));
  const t = readSafetensors(file).tensors.get('b')!;
  assert.equal(t.shape, [256, 256]);
  const bits = new Uint32Array((t.data as Float32Array).buffer);
  for (let i = 0; i < 65536; i++) if (bits[i] !== (i << 16) >>> 0) assert.unreachable(`bf16 ${i}`);
  const again = writeSafetensors({ b: { data: t.data, shape: [256, 256], dtype: 'BF16' } });
  const e = parseSafetensorsHeader(again).entries[0];
  const back = new Uint16Array(again.slice(e.begin, e.end).buffer);
  let mismatches = 0;
  for (let i = 0; i < 65536; i++) if (back[i] !== i) mismatches++;
  assert.is(mismatches, 0);
});

test('float16ToFloat32 / bfloat16ToFloat32 on known values', () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0xfbff, -65504],
    [0x0001, 2 ** -24],
    [0x0400, 2 ** -14],
    [0x03ff, 1023 * 2 ** -24],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x3555, 0.333251953125],
    [0x3800, 0.5],
    [0x4248, 3.140625],
    [0x0000, 0],
    [0x3bff, 0.99951171875],
  ];
  for (const [h, v] of cases) assert.is(float16ToFloat32(h), v, `half 0x${h.toString(16)}`);
  assert.ok(Object.is(float16ToFloat32(0x8000), -0));
  assert.ok(Number.isNaN(float16ToFloat32(0x7e00)));
  assert.ok(Number.isNaN(float16ToFloat32(0xfc01)));
  const bcases: [number, number][] = [
    [0x3f80, 1],
    [0x4049, 3.140625],
    [0xc000, -2],
    [0xff80, -Infinity],
    [0x7f80, Infinity],
    [0x0001, 2 ** -133],
    [0x7f7f, 3.3895313892515355e38],
    [0x3e80, 0.25],
    [0x0080, 2 ** -126],
  ];
  for (const [h, v] of bcases) assert.is(bfloat16ToFloat32(h), v, `bf16 0x${h.toString(16)}`);
  assert.ok(Object.is(bfloat16ToFloat32(0x8000), -0));
  assert.ok(Number.isNaN(bfloat16ToFloat32(0x7fc0)));
});

test('float32ToFloat16 rounds to nearest even, overflows to Inf, keeps NaN', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [2 ** -25 * 1.0000001, 0x0001],
    [3 * 2 ** -25, 0x0002],
    [5 * 2 ** -25, 0x0002],
    [2 ** -14, 0x0400],
    [2 ** -14 - 2 ** -25, 0x0400],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1e-10, 0x0000],
    [-1e-10, 0x8000],
    [0.5, 0x3800],
    [2048 + 1, 0x6800],
    [2048 + 3, 0x6802],
  ];
  for (const [x, h] of cases) assert.is(float32ToFloat16(x), h, `f16(${x})`);
  assert.is(float32ToFloat16(-0), 0x8000);
  const nan = float32ToFloat16(NaN);
  assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0);
  // a NaN whose payload lives only in the low 13 bits must not become Inf
  const f = floatsFromBits([0x7f800001]);
  const w = writeSafetensors({ n: { data: f, shape: [1], dtype: 'F16' } });
  const e = parseSafetensorsHeader(w).entries[0];
  const h = new DataView(w.buffer).getUint16(e.begin, true);
  assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0, `0x${h.toString(16)}`);
  // bf16
  assert.is(float32ToBfloat16(1), 0x3f80);
  assert.is(float32ToBfloat16(1 + 2 ** -8), 0x3f80); // tie -> even
  assert.is(float32ToBfloat16(1 + 3 * 2 ** -8), 0x3f82); // tie -> even (up)
  assert.is(float32ToBfloat16(3.4e38), 0x7f80); // rounds past max -> Inf
  assert.ok((float32ToBfloat16(NaN) & 0x7f80) === 0x7f80 && (float32ToBfloat16(NaN) & 0x7f) !== 0);
});

test('float values written as F16 read back to the nearest half', () => {
  const data = Float32Array.from([0.1, -3.3, 1000.7, 6e-8, 70000]);
  const back = readSafetensors(writeSafetensors({ x: { data, shape: [5], dtype: 'F16' } })).tensors.get('x')!;
  assert.is(back.dtype, 'F16');
  assert.equal(
    Array.from(back.data),
    Array.from(data, (v) => float16ToFloat32(float32ToFloat16(v))),
  );
  assert.is(back.data[4], Infinity);
});

test('scalar [] and zero-size shapes round trip next to other tensors', () => {
  const bytes = writeSafetensors(
    new Map([
      ['scalar', { data: Float32Array.from([2.5]), shape: [] as number[] }],
      ['empty', { data: new Float32Array(0), shape: [0] }],
      ['empty3', { data: new Int32Array(0), shape: [2, 0, 3] }],
      ['ids', { data: Int32Array.from([1, 2, 3]), shape: [3], dtype: 'I64' as const }],
      ['w', { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] }],
    ]),
  );
  const t = readSafetensors(bytes).tensors;
  assert.equal(t.get('scalar')!.shape, []);
  assert.equal(Array.from(t.get('scalar')!.data), [2.5]);
  assert.equal(t.get('empty')!.shape, [0]);
  assert.is(t.get('empty')!.data.length, 0);
  assert.equal(t.get('empty3')!.shape, [2, 0, 3]);
  assert.is(t.get('empty3')!.dtype, 'I32');
  assert.equal(Array.from(t.get('ids')!.data), [1, 2, 3]);
  assert.equal(Array.from(t.get('w')!.data), [1, 2, 3, 4, 5, 6]);
});

test('output is deterministic: sorted, header padded with spaces to 8, metadata kept', () => {
  const a = { data: Float32Array.from([1, 2]), shape: [2] };
  const b = { data: Int32Array.from([3]), shape: [1] };
  const c = { data: Float32Array.from([4]), shape: [1], dtype: 'F16' as const };
  const d = { data: Int32Array.from([5]), shape: [1], dtype: 'I64' as const };
  const meta = { format: 'pt', note: 'héllo' };
  const one = writeSafetensors({ zeta: a, alpha: b, mid: c, '10': d, '2': a }, meta);
  const two = writeSafetensors(new Map(Object.entries({ mid: c, '2': a, '10': d, alpha: b, zeta: a })), { ...meta });
  assert.equal(Array.from(one), Array.from(two));
  const n = Number(new DataView(one.buffer).getBigUint64(0, true));
  assert.is(n % 8, 0);
  const text = new TextDecoder().decode(one.subarray(8, 8 + n));
  assert.ok(text.startsWith('{"__metadata__":{"format":"pt","note":"héllo"},'), text);
  assert.ok(/\} *$/.test(text) && !text.trimEnd().includes('\n'));
  // order: element size descending (I64, then 4-byte F32/I32 by name, then F16), then name
  const keys = [...text.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
  assert.equal(keys, ['10', '2', 'alpha', 'zeta', 'mid']);
  const f = readSafetensors(one, 'det.safetensors');
  assert.equal(f.metadata, meta);
  for (const e of parseSafetensorsHeader(one).entries)
    assert.is((e.begin - 8 - n) % (e.dtype === 'F16' ? 2 : e.dtype === 'I64' ? 8 : 4), 0);
  // no metadata -> no __metadata__ key
  const plain = writeSafetensors({ a });
  assert.not.ok(new TextDecoder().decode(plain).includes('__metadata__'));
  assert.equal(readSafetensors(plain).metadata, {});
});

test('reads from an ArrayBuffer and from an unaligned Uint8Array view', () => {
  const bytes = writeSafetensors({
    w: { data: Float32Array.from([1.5, -2.25, 3]), shape: [3] },
    i: { data: Int32Array.from([-7, 8]), shape: [2] },
  });
  const fromBuffer = readSafetensors(bytes.slice().buffer);
  assert.equal(Array.from(fromBuffer.tensors.get('w')!.data), [1.5, -2.25, 3]);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const view = shifted.subarray(3);
  const fromView = readSafetensors(view);
  assert.equal(Array.from(fromView.tensors.get('w')!.data), [1.5, -2.25, 3]);
  assert.equal(Array.from(fromView.tensors.get('i')!.data), [-7, 8]);
  // a Node Buffer (whose slice() is a view, not a copy) inside a larger pooled allocation
  const pooled = Buffer.concat([Buffer.alloc(5), Buffer.from(bytes)]).subarray(5);
  const fromBuffer2 = readSafetensors(pooled);
  assert.equal(Array.from(fromBuffer2.tensors.get('w')!.data), [1.5, -2.25, 3]);
  assert.equal(Array.from(fromBuffer2.tensors.get('i')!.data), [-7, 8]);
});

test('other dtypes: F64, I16, I8, U8, U16, U32, BOOL, U64', () => {
  const dv = (n: number) => new DataView(new ArrayBuffer(n));
  const f64 = dv(16);
  f64.setFloat64(0, 0.1, true);
  f64.setFloat64(8, -1e300, true);
  const i16 = dv(4);
  i16.setInt16(0, -300, true);
  i16.setInt16(2, 300, true);
  const u16 = dv(2);
  u16.setUint16(0, 65535, true);
  const u32 = dv(4);
  u32.setUint32(0, 2147483647, true);
  const u64 = dv(8);
  u64.setBigUint64(0, 42n, true);
  const data = new Uint8Array([
    ...new Uint8Array(f64.buffer),
    ...new Uint8Array(i16.buffer),
    0xff,
    0x7f,
    200,
    3,
    0,
    1,
    ...new Uint8Array(u16.buffer),
    ...new Uint8Array(u32.buffer),
    ...new Uint8Array(u64.buffer),
  ]);
  const file = rawFile(
    {
      f: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
      s: { dtype: 'I16', shape: [2], data_offsets: [16, 20] },
      b: { dtype: 'I8', shape: [2], data_offsets: [20, 22] },
      u: { dtype: 'U8', shape: [2], data_offsets: [22, 24] },
      z: { dtype: 'BOOL', shape: [2], data_offsets: [24, 26] },
      p: { dtype: 'U16', shape: [], data_offsets: [26, 28] },
      q: { dtype: 'U32', shape: [1], data_offsets: [28, 32] },
      r: { dtype: 'U64', shape: [1], data_offsets: [32, 40] },
    },
    data,
  );
  const t = readSafetensors(file).tensors;
  assert.equal(Array.from(t.get('f')!.data), [Math.fround(0.1), -Infinity]);
  assert.ok(t.get('f')!.data instanceof Float32Array);
  assert.equal(Array.from(t.get('s')!.data), [-300, 300]);
  assert.equal(Array.from(t.get('b')!.data), [-1, 127]);
  assert.equal(Array.from(t.get('u')!.data), [200, 3]);
  assert.equal(Array.from(t.get('z')!.data), [0, 1]);
  assert.equal(Array.from(t.get('p')!.data), [65535]);
  assert.equal(Array.from(t.get('q')!.data), [2147483647]);
  assert.equal(Array.from(t.get('r')!.data), [42]);
  assert.is(t.get('z')!.dtype, 'BOOL');
});

test('I64 / U32 values outside int32 are a clear error', () => {
  const d = new DataView(new ArrayBuffer(16));
  d.setBigInt64(0, 5n, true);
  d.setBigInt64(8, 2n ** 31n, true);
  throwsWith(
    () => readSafetensors(rawFile({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(d.buffer)), 'in.st'),
    'in.st',
    '"ids"',
    '2147483648',
    'flat index 1',
    'int32 range',
  );
  d.setBigInt64(8, -(2n ** 31n) - 1n, true);
  throwsWith(
    () => readSafetensors(rawFile({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(d.buffer))),
    '-2147483649',
  );
  const u = new Uint8Array([0, 0, 0, 0x80]);
  throwsWith(() => readSafetensors(rawFile({ u: { dtype: 'U32', shape: [1], data_offsets: [0, 4] } }, u)), 'U32 value 2147483648');
});

// -------------------------------------------------------------------------------------------
// bad headers: one clear message each, naming the source

const S = 'bad.safetensors';
const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

test('bad header: file too short, header length beyond the file or absurd', () => {
  throwsWith(() => readSafetensors(new Uint8Array(5), S), S, '5 bytes', 'shorter than the 8-byte');
  throwsWith(() => readSafetensors(new Uint8Array(0), S), S, '0 bytes');
  throwsWith(() => readSafetensors(rawFile({ a: ok }, 8, 5000), S), S, 'header length 5000', 'beyond the end of the file');
  throwsWith(() => readSafetensors(rawFile({ a: ok }, 8, 200_000_000), S), S, 'header length 200000000', 'absurd');
  const huge = rawFile('{}');
  new DataView(huge.buffer).setUint32(4, 1, true); // 2^32 + 2
  throwsWith(() => readSafetensors(huge, S), S, 'absurd');
});

test('bad header: not JSON, not an object, not UTF-8', () => {
  throwsWith(() => readSafetensors(rawFile('{"a": {"dtype": "F32"', 8), S), S, 'not valid JSON');
  throwsWith(() => readSafetensors(rawFile('[1, 2]'), S), S, 'not an object', '[1,2]');
  throwsWith(() => readSafetensors(rawFile('42'), S), S, 'not an object');
  throwsWith(() => readSafetensors(rawFile('null'), S), S, 'not an object');
  const bad = rawFile('{"a":1}');
  bad[9] = 0xff; // invalid UTF-8 inside the header
  throwsWith(() => readSafetensors(bad, S), S, 'not valid UTF-8');
});

test('bad header: entry missing dtype / shape / data_offsets, or not an object', () => {
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    const entry: Record<string, unknown> = { ...ok };
    delete entry[field];
    throwsWith(() => readSafetensors(rawFile({ w: entry }, 8), S), S, '"w"', `missing "${field}"`);
  }
  throwsWith(() => readSafetensors(rawFile({ w: [1, 2] }, 8), S), S, '"w"', 'not an object');
});

test('bad header: unknown dtype is named', () => {
  throwsWith(() => readSafetensors(rawFile({ w: { ...ok, dtype: 'F33' } }, 8), S), S, '"w"', 'unknown dtype "F33"');
  throwsWith(() => readSafetensors(rawFile({ w: { ...ok, dtype: 4 } }, 8), S), 'unknown dtype 4');
  throwsWith(() => readSafetensors(rawFile({ w: { ...ok, dtype: 'F8_E4M3', shape: [8] } }, 8), S), S, 'F8_E4M3', 'not supported');
});

test('bad header: shape not an array of non-negative integers', () => {
  for (const shape of [[-1], [1.5], '2', [2, '1'], null, [2, null]]) {
    throwsWith(() => readSafetensors(rawFile({ w: { ...ok, shape } }, 8), S), S, '"w"', 'shape must be an array of non-negative integers');
  }
});

test('bad header: data_offsets not [begin, end] integers with begin <= end', () => {
  for (const data_offsets of [[8, 0], [0], [0, 8, 9], ['0', 8], [0, 8.5], [-1, 7], 'x']) {
    throwsWith(() => readSafetensors(rawFile({ w: { ...ok, data_offsets } }, 8), S), S, '"w"', 'data_offsets must be [begin, end]');
  }
});

test('bad header: offsets outside the data section; byte length != shape x dtype size', () => {
  throwsWith(
    () => readSafetensors(rawFile({ w: { ...ok, data_offsets: [0, 12] } }, 8), S),
    S,
    '"w"',
    '[0, 12]',
    'outside the data section (8 bytes)',
  );
  throwsWith(
    () => readSafetensors(rawFile({ w: { ...ok, shape: [3] } }, 8), S),
    S,
    '"w"',
    'byte length 8 != product(shape [3]) 3 x 4 bytes (F32)',
  );
  throwsWith(() => readSafetensors(rawFile({ w: { ...ok, dtype: 'F16' } }, 8), S), 'byte length 8 != product(shape [2]) 2 x 2 bytes (F16)');
});

test('bad header: overlapping tensors, holes and uncovered tail', () => {
  throwsWith(
    () => readSafetensors(rawFile({ a: { ...ok, data_offsets: [0, 8] }, b: { ...ok, data_offsets: [4, 12] } }, 12), S),
    S,
    '"a"',
    '"b"',
    'overlap',
  );
  throwsWith(() => readSafetensors(rawFile({ a: ok, b: { ...ok, data_offsets: [0, 8] } }, 8), S), 'overlap');
  throwsWith(() => readSafetensors(rawFile({ a: ok, z: { ...ok, shape: [0], data_offsets: [4, 4] } }, 8), S), 'overlap');
  throwsWith(
    () => readSafetensors(rawFile({ a: { ...ok, data_offsets: [4, 12] } }, 12), S),
    S,
    'hole',
    '[0, 4)',
    'cover the data section exactly',
  );
  throwsWith(() => readSafetensors(rawFile({ a: ok, b: { ...ok, data_offsets: [12, 20] } }, 20), S), S, 'hole', '[8, 12)', '"b"');
  throwsWith(() => readSafetensors(rawFile({ a: ok }, 12), S), S, 'not fully covered', '[8, 12)', 'cover the data section exactly');
  // zero-size tensors at a boundary are fine
  const fine = readSafetensors(
    rawFile({ a: ok, z: { ...ok, shape: [0], data_offsets: [8, 8] }, y: { ...ok, shape: [2, 0], data_offsets: [0, 0] } }, 8),
    S,
  );
  assert.is(fine.tensors.size, 3);
  // an empty file with only metadata is valid
  assert.equal(readSafetensors(rawFile({ __metadata__: { a: 'b' } })).metadata, { a: 'b' });
  assert.is(readSafetensors(rawFile({})).tensors.size, 0);
});

test('bad header: __metadata__ must map strings to strings', () => {
  throwsWith(() => readSafetensors(rawFile({ __metadata__: { a: 1 }, w: ok }, 8), S), S, '__metadata__', '"a"', 'not a string');
  throwsWith(() => readSafetensors(rawFile({ __metadata__: ['x'], w: ok }, 8), S), S, '__metadata__', 'not an object');
});

test('writeSafetensors checks its arguments', () => {
  throwsWith(() => writeSafetensors({ w: { data: new Float32Array(5), shape: [2, 3] } }), '"w"', '5 elements', 'shape [2,3] needs 6');
  throwsWith(() => writeSafetensors({ w: { data: Float32Array.from([1.5]), shape: [1], dtype: 'I32' } }), '"w"', '1.5', 'not an int32');
  throwsWith(() => writeSafetensors({ w: { data: new Float32Array(1), shape: [-1] } }), 'shape must be non-negative integers');
  throwsWith(() => writeSafetensors({ __metadata__: { data: new Float32Array(1), shape: [1] } }), 'reserved');
  throwsWith(() => writeSafetensors({ w: { data: new Float32Array(1), shape: [1], dtype: 'F64' as never } }), 'cannot write dtype "F64"');
  throwsWith(() => writeSafetensors({ w: { data: [1] as never, shape: [1] } }), 'Float32Array or Int32Array');
  // converting writes: integers as F32, integral floats as I64
  const t = readSafetensors(
    writeSafetensors({
      a: { data: Int32Array.from([3, -4]), shape: [2], dtype: 'F32' },
      b: { data: Float32Array.from([5, -6]), shape: [2], dtype: 'I64' },
    }),
  ).tensors;
  assert.equal([Array.from(t.get('a')!.data), t.get('a')!.data instanceof Float32Array], [[3, -4], true]);
  assert.equal([Array.from(t.get('b')!.data), t.get('b')!.data instanceof Int32Array], [[5, -6], true]);
});

// -------------------------------------------------------------------------------------------
// PyTorch fixtures (test/fixtures/models/<Class>/, written by gen.py's own Python writer)

const MODELS = resolve('test/fixtures/models');
const fixtureDirs = existsSync(MODELS)
  ? readdirSync(MODELS)
      .filter((d) => existsSync(join(MODELS, d, 'config.json')))
      .sort()
  : [];

interface Cfg {
  architectures: string[];
  model_type: 'bert' | 'electra' | 'roberta';
  vocab_size: number;
  hidden_size: number;
  embedding_size?: number;
  num_hidden_layers: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  id2label?: Record<string, string>;
}

/** The parameter names (named_parameters() order does not matter) and shapes HF gives `cfg`. */
function expectedParameters(cfg: Cfg): Map<string, number[]> {
  const arch = cfg.architectures[0];
  const H = cfg.hidden_size;
  const E = cfg.embedding_size ?? H;
  const V = cfg.vocab_size;
  const I = cfg.intermediate_size;
  const nl = cfg.id2label ? Object.keys(cfg.id2label).length : 2;
  const p = new Map<string, number[]>();
  const lin = (name: string, out: number, inp: number) => {
    p.set(`${name}.weight`, [out, inp]);
    p.set(`${name}.bias`, [out]);
  };
  const ln = (name: string, n: number) => {
    p.set(`${name}.weight`, [n]);
    p.set(`${name}.bias`, [n]);
  };
  const base = cfg.model_type;
  p.set(`${base}.embeddings.word_embeddings.weight`, [V, E]);
  p.set(`${base}.embeddings.position_embeddings.weight`, [cfg.max_position_embeddings, E]);
  p.set(`${base}.embeddings.token_type_embeddings.weight`, [cfg.type_vocab_size, E]);
  ln(`${base}.embeddings.LayerNorm`, E);
  if (base === 'electra' && E !== H) lin('electra.embeddings_project', H, E);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const L = `${base}.encoder.layer.${l}`;
    for (const m of ['query', 'key', 'value']) lin(`${L}.attention.self.${m}`, H, H);
    lin(`${L}.attention.output.dense`, H, H);
    ln(`${L}.attention.output.LayerNorm`, H);
    lin(`${L}.intermediate.dense`, I, H);
    lin(`${L}.output.dense`, H, I);
    ln(`${L}.output.LayerNorm`, H);
  }
  const pooled = [
    'BertForPreTraining',
    'BertForNextSentencePrediction',
    'BertForSequenceClassification',
    'BertForMultipleChoice',
    'RobertaForMultipleChoice',
  ];
  if (pooled.includes(arch)) lin(`${base}.pooler.dense`, H, H);
  if (arch === 'BertForPreTraining' || arch === 'BertForMaskedLM') {
    lin('cls.predictions.transform.dense', H, H);
    ln('cls.predictions.transform.LayerNorm', H);
    p.set('cls.predictions.bias', [V]);
  }
  if (arch === 'BertForPreTraining' || arch === 'BertForNextSentencePrediction') lin('cls.seq_relationship', 2, H);
  if (arch === 'BertForSequenceClassification' || arch.endsWith('ForTokenClassification')) lin('classifier', nl, H);
  if (arch.endsWith('ForMultipleChoice')) lin('classifier', 1, H);
  if (arch === 'ElectraForMultipleChoice') lin('sequence_summary.summary', H, H);
  if (arch.endsWith('ForQuestionAnswering')) lin('qa_outputs', nl, H);
  if (arch === 'ElectraForPreTraining') {
    lin('discriminator_predictions.dense', H, H);
    lin('discriminator_predictions.dense_prediction', 1, H);
  }
  if (arch === 'ElectraForMaskedLM') {
    lin('generator_predictions.dense', E, H);
    ln('generator_predictions.LayerNorm', E);
    p.set('generator_lm_head.bias', [V]);
  }
  if (arch === 'ElectraForSequenceClassification' || arch === 'RobertaForSequenceClassification') {
    lin('classifier.dense', H, H);
    lin('classifier.out_proj', nl, H);
  }
  if (arch === 'RobertaForMaskedLM') {
    lin('lm_head.dense', H, H);
    ln('lm_head.layer_norm', H);
    p.set('lm_head.bias', [V]);
  }
  return p;
}

const EXPECTED_OUTPUTS: Record<string, string[]> = {
  BertForPreTraining: ['prediction_logits', 'seq_relationship_logits'],
  BertForQuestionAnswering: ['start_logits', 'end_logits'],
  ElectraForQuestionAnswering: ['start_logits', 'end_logits'],
  RobertaForQuestionAnswering: ['start_logits', 'end_logits'],
};

test('model fixtures exist (run test/fixtures/models/gen.py to create them)', () => {
  assert.ok(fixtureDirs.length >= 19, `found ${fixtureDirs.length} fixture directories`);
});

for (const dir of fixtureDirs) {
  test(`fixture ${dir}: parses; weights, inputs, outputs and one gradient per parameter`, () => {
    const path = (f: string) => join(MODELS, dir, f);
    const cfg = JSON.parse(readFileSync(path('config.json'), 'utf8')) as Cfg;
    const arch = cfg.architectures[0];
    assert.ok(dir === arch || dir.startsWith(`${arch}-`), `${dir} holds ${arch}`);
    const params = expectedParameters(cfg);
    const model = readSafetensors(readFileSync(path('model.safetensors')), path('model.safetensors'));
    const inputs = readSafetensors(readFileSync(path('inputs.safetensors')), path('inputs.safetensors'));
    const outputs = readSafetensors(readFileSync(path('outputs.safetensors')), path('outputs.safetensors'));
    assert.is(model.metadata.format, 'pt');

    // weights: exactly the parameters (tied decoder weights are not saved, as HF does), F32
    assert.equal([...model.tensors.keys()].sort(), [...params.keys()].sort());
    for (const [name, shape] of params) {
      const t = model.tensors.get(name)!;
      assert.is(t.dtype, 'F32', name);
      assert.equal(t.shape, shape, name);
      assert.ok(
        t.data.every((v) => Number.isFinite(v)),
        name,
      );
    }

    // gradients: one per parameter, same shape
    const grads = [...outputs.tensors.keys()].filter((k) => k.startsWith('grad.'));
    assert.is(grads.length, params.size);
    for (const [name, shape] of params) assert.equal(outputs.tensors.get(`grad.${name}`)?.shape, shape, `grad.${name}`);
    // The pad row of the word embeddings gets no gradient from the lookup (nn.Embedding
    // padding_idx); with a tied LM decoder it still gets the decoder's share, as in HF.
    const pad = cfg.model_type === 'roberta' ? 1 : 0;
    const E = cfg.embedding_size ?? cfg.hidden_size;
    const tied = /ForMaskedLM$|^BertForPreTraining$/.test(arch);
    const gw = outputs.tensors.get(`grad.${cfg.model_type}.embeddings.word_embeddings.weight`)!.data;
    const padRowZero = gw.subarray(pad * E, (pad + 1) * E).every((v) => v === 0);
    assert.is(padRowZero, !tied, 'word-embedding pad row gradient is zero unless the decoder is tied');
    assert.ok(gw.some((v) => v !== 0));
    if (cfg.model_type === 'roberta') {
      // RoBERTa position embeddings: padding_idx 1 gets no gradient, and row 0 is never used
      const gp = outputs.tensors.get('grad.roberta.embeddings.position_embeddings.weight')!.data;
      assert.ok(
        gp.subarray(0, 2 * E).every((v) => v === 0),
        'position rows 0 and 1 get no gradient',
      );
      assert.ok(
        gp.subarray(2 * E, 3 * E).some((v) => v !== 0),
        'position row 2 (first token) gets a gradient',
      );
    }

    // inputs
    const ids = inputs.tensors.get('input_ids')!;
    assert.is(ids.dtype, 'I64');
    for (const k of ['attention_mask', 'token_type_ids']) assert.equal(inputs.tensors.get(k)?.shape, ids.shape, k);
    const B = ids.shape[0];
    const T = ids.shape[ids.shape.length - 1];
    assert.ok(ids.data.every((v) => v >= 0 && v < cfg.vocab_size));

    // outputs
    const loss = outputs.tensors.get('loss')!;
    assert.equal(loss.shape, []);
    assert.ok(Number.isFinite(loss.data[0]) && loss.data[0] > 0, `loss ${loss.data[0]}`);
    const names = EXPECTED_OUTPUTS[arch] ?? ['logits'];
    for (const n of names) assert.ok(outputs.tensors.has(n), `${dir} has ${n}`);
    for (let l = 0; l <= cfg.num_hidden_layers; l++) {
      const h = outputs.tensors.get(`hidden_states.${l}`);
      assert.ok(h, `hidden_states.${l}`);
      assert.equal(h.shape, [arch.endsWith('ForMultipleChoice') ? B * ids.shape[1] : B, T, cfg.hidden_size]);
    }
    assert.not.ok(outputs.tensors.has(`hidden_states.${cfg.num_hidden_layers + 1}`));
    for (const t of outputs.tensors.values()) assert.is(t.dtype, 'F32');
    const nOut = names.length + 1 + cfg.num_hidden_layers + 1 + params.size;
    assert.is(outputs.tensors.size, nOut, 'no unexpected output tensors');
    for (let i = 0; i < ids.data.length; i++) {
      if (inputs.tensors.get('attention_mask')!.data[i] === 0) assert.is(ids.data[i], pad, 'padding positions hold the pad id');
    }

    // The loss, recomputed here in float64 from the stored logits and labels, matches.
    const out = (n: string) => outputs.tensors.get(n)!.data;
    const inp = (n: string) => inputs.tensors.get(n)!.data;
    const want = recomputeLoss(arch, cfg, out, inp, T);
    assert.ok(Math.abs(want - loss.data[0]) < 2e-5 * Math.max(1, want), `loss ${loss.data[0]} vs recomputed ${want}`);

    // Linear heads over the last hidden state: logits = hidden_states.L @ W^T + b.
    const head = arch.endsWith('ForQuestionAnswering') ? 'qa_outputs' : arch.endsWith('ForTokenClassification') ? 'classifier' : null;
    if (head) {
      const h = out(`hidden_states.${cfg.num_hidden_layers}`);
      const W = model.tensors.get(`${head}.weight`)!;
      const b = model.tensors.get(`${head}.bias`)!.data;
      const [K, H] = W.shape;
      for (let r = 0; r < B * T; r++) {
        for (let k = 0; k < K; k++) {
          let z = b[k];
          for (let j = 0; j < H; j++) z += h[r * H + j] * W.data[k * H + j];
          const got = head === 'qa_outputs' ? out(k === 0 ? 'start_logits' : 'end_logits')[r] : out('logits')[r * K + k];
          assert.ok(Math.abs(z - got) < 1e-4, `${head} row ${r} class ${k}: ${z} vs ${got}`);
        }
      }
    }
  });
}

/** Mean cross entropy over rows of `logits` [N, K] whose label is not `ignore`. */
function crossEntropy(logits: ArrayLike<number>, labels: ArrayLike<number>, K: number, ignore = -100): number {
  let sum = 0;
  let n = 0;
  for (let r = 0; r < labels.length; r++) {
    if (labels[r] === ignore) continue;
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logits[r * K + k]);
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(logits[r * K + k] - max);
    sum += max + Math.log(z) - logits[r * K + labels[r]];
    n++;
  }
  return sum / n;
}

function recomputeLoss(
  arch: string,
  cfg: Cfg,
  out: (n: string) => Float32Array | Int32Array,
  inp: (n: string) => Float32Array | Int32Array,
  T: number,
): number {
  const V = cfg.vocab_size;
  const nl = cfg.id2label ? Object.keys(cfg.id2label).length : 2;
  switch (arch) {
    case 'BertForPreTraining':
      return (
        crossEntropy(out('prediction_logits'), inp('labels'), V) +
        crossEntropy(out('seq_relationship_logits'), inp('next_sentence_label'), 2)
      );
    case 'BertForMaskedLM':
    case 'ElectraForMaskedLM':
    case 'RobertaForMaskedLM':
      return crossEntropy(out('logits'), inp('labels'), V);
    case 'BertForNextSentencePrediction':
      return crossEntropy(out('logits'), inp('labels'), 2);
    case 'BertForMultipleChoice':
    case 'ElectraForMultipleChoice':
    case 'RobertaForMultipleChoice':
      return crossEntropy(out('logits'), inp('labels'), inp('input_ids').length / inp('labels').length / T);
    case 'BertForSequenceClassification':
    case 'ElectraForSequenceClassification':
    case 'RobertaForSequenceClassification': {
      if (nl > 1) return crossEntropy(out('logits'), inp('labels'), nl);
      const y = inp('labels');
      const x = out('logits');
      let s = 0;
      for (let i = 0; i < y.length; i++) s += (x[i] - y[i]) ** 2;
      return s / y.length;
    }
    case 'BertForTokenClassification':
    case 'ElectraForTokenClassification':
    case 'RobertaForTokenClassification':
      return crossEntropy(out('logits'), inp('labels'), nl);
    case 'BertForQuestionAnswering':
    case 'ElectraForQuestionAnswering':
    case 'RobertaForQuestionAnswering': {
      const clamp = (a: ArrayLike<number>) => Array.from(a, (v) => Math.min(Math.max(v, 0), T));
      return (
        (crossEntropy(out('start_logits'), clamp(inp('start_positions')), T, T) +
          crossEntropy(out('end_logits'), clamp(inp('end_positions')), T, T)) /
        2
      );
    }
    case 'ElectraForPreTraining': {
      const x = out('logits');
      const y = inp('labels');
      const m = inp('attention_mask');
      let s = 0;
      let n = 0;
      for (let i = 0; i < x.length; i++) {
        if (m[i] !== 1) continue;
        s += Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
        n++;
      }
      return s / n;
    }
    default:
      throw new Error(`no loss for ${arch}`);
  }
}

test.run();
