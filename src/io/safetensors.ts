// safetensors read/write (https://github.com/huggingface/safetensors), pure TypeScript: no GPU and
// no `node:` imports, so it runs in browsers, Deno and Node on ArrayBuffer / Uint8Array.
//
// Layout: 8 bytes little-endian u64 N, then N bytes of UTF-8 JSON header
// {"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...},
// then the data section; offsets are relative to the data section's start. Like Hugging Face's
// reader we require the tensors to tile the data section exactly (no overlap, no hole).
// The header is untrusted: its values are described briefly in errors (describeJson), never stringified whole.
import { describeJson } from '../tokenizers/json-fields.js';

/** Every dtype name the safetensors format defines. */
export type SafetensorsDType =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

/** One tensor as read: floats widen to Float32Array, integers narrow/widen to Int32Array. */
export interface SafetensorsTensor {
  /** The dtype stored in the file (the data is converted; this says what it was). */
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A header entry, validated; `begin`/`end` are absolute byte offsets into the file. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Absolute byte offset of the data section. */
  dataStart: number;
}

/** Dtypes `writeSafetensors` can produce. */
export type WritableDType = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';

export interface TensorToWrite {
  data: Float32Array | Int32Array;
  shape: readonly number[];
  /** Defaults to F32 for Float32Array, I32 for Int32Array. */
  dtype?: WritableDType;
}

const DTYPE_SIZE: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const UNSUPPORTED = new Set<SafetensorsDType>(['F8_E4M3', 'F8_E5M2']);

/** Headers larger than this are refused (Hugging Face's reader uses the same 100 MB bound). */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// half-precision helpers

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits -> float32 bits (exact: every half is a float; NaN payload kept). */
function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal: normalise
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** float32 bits -> IEEE binary16 bits, round to nearest even; overflow -> Inf; NaN stays NaN. */
function floatBitsToHalfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const m = mant >>> 13;
    return sign | 0x7c00 | (m === 0 ? 0x200 : m); // keep the payload, never turn NaN into Inf
  }
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: +-0
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) !== 0)) half++;
    return sign | half; // a carry lands on the smallest normal, as it should
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half++; // a carry may reach Inf: correct
  return sign | half;
}

/** float32 bits -> bfloat16 bits, round to nearest even; NaN stays NaN. */
function floatBitsToBfloatBits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const h = x >>> 16;
    return (h & 0x7f) === 0 ? h | 0x40 : h;
  }
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** IEEE binary16 (given as its 16 bits) -> number. Exact. */
export function float16ToFloat32(h: number): number {
  u32[0] = halfBitsToFloatBits(h & 0xffff);
  return f32[0];
}

/** bfloat16 (given as its 16 bits) -> number. Exact. */
export function bfloat16ToFloat32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** number -> IEEE binary16 bits: the value is first rounded to float32, then to half (nearest even). */
export function float32ToFloat16(x: number): number {
  f32[0] = x;
  return floatBitsToHalfBits(u32[0]);
}

/** number -> bfloat16 bits: rounded to float32, then to bfloat16 (nearest even). */
export function float32ToBfloat16(x: number): number {
  f32[0] = x;
  return floatBitsToBfloatBits(u32[0]);
}

let halfTable: Uint32Array | null = null;
function halfToFloatTable(): Uint32Array {
  if (!halfTable) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfBitsToFloatBits(h);
  }
  return halfTable;
}

// ---------------------------------------------------------------------------------------------
// reading

function asBytes(bytes: ArrayBuffer | Uint8Array): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) {
    const v = bytes as ArrayBufferView;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  throw new TypeError('safetensors: expected an ArrayBuffer or Uint8Array');
}

/** Parses and validates the header only (cheap: touches no tensor data). */
export function parseSafetensorsHeader(bytes: ArrayBuffer | Uint8Array, source = 'safetensors'): SafetensorsHeader {
  const u8 = asBytes(bytes);
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (u8.byteLength < 8) fail(`file is ${u8.byteLength} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 4294967296 + lo;
  if (headerLen > MAX_HEADER_BYTES)
    fail(`header length ${headerLen} is absurd (over the ${MAX_HEADER_BYTES}-byte limit); not a safetensors file?`);
  if (8 + headerLen > u8.byteLength) fail(`header length ${headerLen} runs beyond the end of the file (${u8.byteLength} bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(u8.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail(`header JSON is not an object (got ${describeJson(header)})`);
  const dataStart = 8 + headerLen;
  const dataLen = u8.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        fail(`__metadata__ is not an object of strings (got ${describeJson(raw)})`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value for "${k}" is not a string (got ${describeJson(v)})`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`${where}: entry is not an object (got ${describeJson(raw)})`);
    const info = raw as Record<string, unknown>;
    for (const field of ['dtype', 'shape', 'data_offsets']) if (!(field in info)) fail(`${where}: entry is missing "${field}"`);
    const dtype = info.dtype;
    if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_SIZE, dtype)) {
      fail(`${where}: unknown dtype ${describeJson(dtype)} (known: ${Object.keys(DTYPE_SIZE).join(', ')})`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      fail(`${where}: shape must be an array of non-negative integers (got ${describeJson(shape)})`);
    }
    const offs = info.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) ||
      offs[0] > offs[1]
    ) {
      fail(`${where}: data_offsets must be [begin, end], non-negative integers with begin <= end (got ${describeJson(offs)})`);
    }
    const [b, e] = offs as [number, number];
    if (e > dataLen) fail(`${where}: data_offsets [${b}, ${e}] lie outside the data section (${dataLen} bytes)`);
    const dims = shape as number[];
    let numel = 1;
    for (const d of dims) {
      numel *= d;
      // like Hugging Face's checked multiply: [2^52, 2^52, 0] overflows before the 0 is reached
      if (!Number.isSafeInteger(numel)) fail(`${where}: shape ${describeJson(dims)} has more elements than a file can hold`);
    }
    const size = DTYPE_SIZE[dtype as SafetensorsDType];
    if (!Number.isSafeInteger(numel * size) || numel * size !== e - b) {
      fail(`${where}: byte length ${e - b} != product(shape ${describeJson(dims)}) ${numel} x ${size} bytes (${dtype})`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: dims.slice(), begin: dataStart + b, end: dataStart + e });
  }
  // Hugging Face's rule: sorted by offsets, the tensors tile the data section exactly.
  const sorted = entries.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = dataStart;
  let prev: SafetensorsEntry | null = null;
  for (const t of sorted) {
    if (t.begin < at) fail(`tensors "${prev!.name}" and "${t.name}" overlap in the data section`);
    if (t.begin > at) {
      fail(
        `data section has a hole: bytes [${at - dataStart}, ${t.begin - dataStart}) before tensor "${t.name}" belong to no tensor (the tensors must cover the data section exactly)`,
      );
    }
    at = t.end;
    prev = t;
  }
  if (at !== u8.byteLength) {
    fail(
      `data section is not fully covered: bytes [${at - dataStart}, ${dataLen}) at its end belong to no tensor (the tensors must cover the data section exactly)`,
    );
  }
  return { entries, metadata, dataStart };
}

/**
 * Copies `[begin, end)` into a fresh, aligned buffer. (Not `u8.slice`: on a Node Buffer, a
 * Uint8Array subclass, `slice` is a view into the same memory, not a copy.)
 */
function copyOut(u8: Uint8Array, begin: number, end: number): ArrayBuffer {
  const out = new Uint8Array(end - begin);
  out.set(u8.subarray(begin, end));
  return out.buffer;
}

/** Converts one validated entry's bytes to a typed array. */
export function decodeTensor(bytes: ArrayBuffer | Uint8Array, entry: SafetensorsEntry, source = 'safetensors'): Float32Array | Int32Array {
  const u8 = asBytes(bytes);
  const { begin, end, dtype, name } = entry;
  const n = (end - begin) / DTYPE_SIZE[dtype];
  const dv = new DataView(u8.buffer, u8.byteOffset + begin, end - begin);
  const fail = (msg: string): never => {
    throw new Error(`${source}: tensor "${name}": ${msg}`);
  };
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(copyOut(u8, begin, end));
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const table = halfToFloatTable();
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = table[dv.getUint16(2 * i, true)];
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I32': {
      if (LITTLE_ENDIAN) return new Int32Array(copyOut(u8, begin, end));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      return out;
    }
    case 'I64':
    case 'U64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = dv.getInt32(8 * i, true);
        const hi = dv.getInt32(8 * i + 4, true);
        const ok = dtype === 'I64' ? hi === lo >> 31 : hi === 0 && lo >= 0;
        if (!ok) {
          const v = dtype === 'I64' ? dv.getBigInt64(8 * i, true) : dv.getBigUint64(8 * i, true);
          fail(`${dtype} value ${v} at flat index ${i} is outside the int32 range [-2147483648, 2147483647]`);
        }
        out[i] = lo;
      }
      return out;
    }
    case 'U32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getUint32(4 * i, true);
        if (v > 0x7fffffff) fail(`U32 value ${v} at flat index ${i} is outside the int32 range`);
        out[i] = v;
      }
      return out;
    }
    case 'I16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      return out;
    }
    case 'U16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true);
      return out;
    }
    case 'I8':
      return Int32Array.from(new Int8Array(u8.buffer, u8.byteOffset + begin, n));
    case 'U8':
      return Int32Array.from(u8.subarray(begin, end));
    case 'BOOL': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = u8[begin + i] !== 0 ? 1 : 0;
      return out;
    }
    default:
      return fail(`dtype ${dtype} is not supported for reading`);
  }
}

/**
 * Reads a whole safetensors file. F64/F32/F16/BF16 become Float32Array (F64 rounds; the others
 * are exact), integer and BOOL dtypes become Int32Array (64-bit and U32 values outside int32
 * are an error). Every header problem is an Error that names `source`.
 */
export function readSafetensors(bytes: ArrayBuffer | Uint8Array, source = 'safetensors'): SafetensorsFile {
  const u8 = asBytes(bytes);
  const header = parseSafetensorsHeader(u8, source);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of header.entries) {
    if (UNSUPPORTED.has(e.dtype)) throw new Error(`${source}: tensor "${e.name}": dtype ${e.dtype} is not supported for reading`);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decodeTensor(u8, e, source) });
  }
  return { tensors, metadata: header.metadata };
}

// ---------------------------------------------------------------------------------------------
// writing

/** The float32 bits of the data (an Int32Array stored as a float dtype is converted by value). */
function floatBitsOf(data: Float32Array | Int32Array): Uint32Array {
  if (data instanceof Float32Array) return new Uint32Array(data.buffer, data.byteOffset, data.length);
  return new Uint32Array(Float32Array.from(data).buffer);
}

function intValues(data: Float32Array | Int32Array, name: string, dtype: WritableDType): Int32Array {
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new Error(`writeSafetensors: tensor "${name}": value ${v} at flat index ${i} is not an int32, cannot store it as ${dtype}`);
    }
    out[i] = v;
  }
  return out;
}

/**
 * Serialises tensors to safetensors bytes, deterministically: tensors are ordered by dtype
 * element size (largest first, as Hugging Face's writer does, so every tensor is aligned to its
 * element size) and then by name; the header JSON is padded with spaces to a multiple of 8 bytes;
 * `__metadata__` is written when given.
 */
export function writeSafetensors(
  tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items = list.map(([name, t]) => {
    const where = `writeSafetensors: tensor "${name}"`;
    if (name === '__metadata__') throw new Error(`${where}: the name __metadata__ is reserved`);
    if (!t || !(t.data instanceof Float32Array || t.data instanceof Int32Array)) {
      throw new Error(`${where}: data must be a Float32Array or Int32Array`);
    }
    const shape = Array.from(t.shape);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${where}: shape must be non-negative integers (got ${describeJson(shape)})`);
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== numel)
      throw new Error(`${where}: data has ${t.data.length} elements but shape ${describeJson(shape)} needs ${numel}`);
    const dtype: WritableDType = t.dtype ?? (t.data instanceof Float32Array ? 'F32' : 'I32');
    if (!['F32', 'F16', 'BF16', 'I32', 'I64'].includes(dtype))
      throw new Error(`${where}: cannot write dtype ${describeJson(dtype)} (F32, F16, BF16, I32, I64)`);
    return { name, data: t.data, shape, dtype, bytes: numel * DTYPE_SIZE[dtype] };
  });
  items.sort((a, b) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new Error(`writeSafetensors: __metadata__ value for "${k}" must be a string (got ${describeJson(v)})`);
    }
    header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  for (const it of items) {
    header[it.name] = { dtype: it.dtype, shape: it.shape, data_offsets: [offset, offset + it.bytes] };
    offset += it.bytes;
  }
  // Integer-like names would be reordered by JS object key order; build the JSON by hand to keep ours.
  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(header.__metadata__)}`);
  for (const it of items) parts.push(`${JSON.stringify(it.name)}:${JSON.stringify(header[it.name])}`);
  let json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const headerBytes = new Uint8Array(padded).fill(0x20);
  headerBytes.set(json);
  json = headerBytes;

  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, padded, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const it of items) {
    const n = it.data.length;
    switch (it.dtype) {
      case 'F32': {
        const bits = floatBitsOf(it.data);
        for (let i = 0; i < n; i++) dv.setUint32(at + 4 * i, bits[i], true);
        break;
      }
      case 'F16': {
        const bits = floatBitsOf(it.data);
        for (let i = 0; i < n; i++) dv.setUint16(at + 2 * i, floatBitsToHalfBits(bits[i]), true);
        break;
      }
      case 'BF16': {
        const bits = floatBitsOf(it.data);
        for (let i = 0; i < n; i++) dv.setUint16(at + 2 * i, floatBitsToBfloatBits(bits[i]), true);
        break;
      }
      case 'I32': {
        const v = intValues(it.data, it.name, it.dtype);
        for (let i = 0; i < n; i++) dv.setInt32(at + 4 * i, v[i], true);
        break;
      }
      case 'I64': {
        const v = intValues(it.data, it.name, it.dtype);
        for (let i = 0; i < n; i++) {
          dv.setInt32(at + 8 * i, v[i], true);
          dv.setInt32(at + 8 * i + 4, v[i] < 0 ? -1 : 0, true);
        }
        break;
      }
    }
    at += it.bytes;
  }
  return out;
}
