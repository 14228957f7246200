// CPU references for rng.wgsl / dropout.wgsl: Philox4x32-10 and the integer fixed-point
// Box-Muller, in BigInt, operation for operation, so that tests can demand the GPU's exact bits.

const M32 = 0xffffffffn;

/** Philox4x32-10 of counter (4 words) and key (2 words). */
export function philox(counter: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  const mul = (a: number, b: number) => {
    const p = BigInt(a) * BigInt(b);
    return [Number(p >> 32n) >>> 0, Number(p & M32) >>> 0];
  };
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mul(0xd2511f53, c0);
    const [hi1, lo1] = mul(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** The four Philox words of element i of a draw (generator seed, draw offset). */
export function philoxWords(seed: number, offset: number, i: number): number[] {
  return philox([i, offset, 0, 0], [seed >>> 0, Math.floor(seed / 2 ** 32)]);
}

/** rng.wgsl's uniform: the top 24 bits of a word times 2^-24 (exact in f32). */
export const uniform24 = (w: number) => (w >>> 8) / 2 ** 24;

/** Dropout's uniform for element i (philox.wgsl's dropout_keep): word i % 4 of counter (i / 4, offset). */
export const dropoutUniform = (seed: number, offset: number, i: number) => uniform24(philoxWords(seed, offset, Math.floor(i / 4))[i % 4]);

const mulhi = (a: bigint, b: bigint) => (a * b) >> 32n;
const ONE_Q31 = 1n << 31n;
const LN2_Q58 = (0x2c5c85fn << 32n) | 0xdf473de7n;
const PI_Q30 = 3373259426n;

/** -ln(u1) in Q58 for u1 = 1 - uniform24(w0) (rng.wgsl's neg_log_q58). */
function negLogQ58(w0: number): bigint {
  const m = 0x1000000 - (w0 >>> 8);
  const e = 32 - Math.clz32(m - 1);
  const t = e === 0 ? 0n : (BigInt(2 ** e - m) << BigInt(32 - e)) & M32;
  let g = 0n;
  for (let k = 30n; k >= 1n; k--) g = (1n << 30n) / k + mulhi(t, g);
  return LN2_Q58 * BigInt(24 - e) + ((t * g) >> 4n);
}

function isqrt(y: bigint): bigint {
  let r = 0n;
  for (let b = 31n; b >= 0n; b--) {
    const c = r | (1n << b);
    if (c * c <= y) r = c;
  }
  return r;
}

/** cos(2 pi k / 2^24) as [c, f, negative] with |cos| = c * 2^-f (rng.wgsl's cos_turns). */
function cosTurns(k: number): [bigint, number, boolean] {
  const quadrant = k >>> 22;
  const j = k & 0x3fffff;
  const mirrored = j > 0x200000;
  const a = mirrored ? 0x400000 - j : j;
  const x = (((BigInt(a) << 9n) * PI_Q30) >> 30n) & M32;
  const y = mulhi(x, x);
  const step = (acc: bigint, d: bigint) => ONE_Q31 - mulhi(y, acc) / d;
  const negative = quadrant === 1 || quadrant === 2;
  if (((quadrant & 1) === 0) !== mirrored) return [[132n, 90n, 56n, 30n, 12n, 2n].reduce(step, ONE_Q31), 31, negative];
  const series = [156n, 110n, 72n, 42n, 20n, 6n].reduce(step, ONE_Q31);
  const lz = Math.clz32(a);
  const xn = mulhi((BigInt(a) << BigInt(lz)) & M32, PI_Q30);
  return [mulhi(xn, series), 20 + lz, negative];
}

/** p * 2^-fracBits rounded to the nearest f32, ties to even. */
function roundToF32(p: bigint, fracBits: number): number {
  if (p === 0n) return 0;
  const shift = p.toString(2).length - 24;
  let mant = shift > 0 ? p >> BigInt(shift) : p << BigInt(-shift);
  if (shift > 0) {
    const rest = p - (mant << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (mant & 1n) === 1n)) mant += 1n;
  }
  return Number(mant) * 2 ** (shift - fracBits);
}

/** rng.wgsl's standard normal of two Philox words, as an f32 value. */
export function normalFromWords(w0: number, w1: number): number {
  const v = negLogQ58(w0) << 1n;
  if (v === 0n) return 0;
  const halfShift = (64 - v.toString(2).length) >> 1;
  const r = isqrt(v << BigInt(2 * halfShift));
  const [c, cosBits, negative] = cosTurns(w1 >>> 8);
  const z = roundToF32(r * c, 29 + halfShift + cosBits);
  return negative && z !== 0 ? -z : z;
}

/** Box-Muller of the same words in float64 (what the integer version approximates). */
export function normalFromWordsExact(w0: number, w1: number): number {
  return Math.sqrt(-2 * Math.log(1 - uniform24(w0))) * Math.cos(2 * Math.PI * uniform24(w1));
}
