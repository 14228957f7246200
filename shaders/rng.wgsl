// Random tensors from Philox4x32-10 (philox.wgsl): element i uses counter (i, offset, 0, 0) and
// key (seed_lo, seed_hi). uniform: a + (b - a) * u; normal: a + b * N(0, 1) (Box-Muller);
// bernoulli: 1 with probability a.
//
// The same seed gives the same bits on every adapter: the uniforms are exact (24-bit integers
// times 2^-24), and Box-Muller's sqrt(-2 ln u1) * cos(2 pi u2) is computed in integer fixed
// point (no f32 log / sqrt / cos, whose accuracy WGSL leaves to each adapter, and no f32
// multiply-add a compiler might fuse), then rounded to f32 to nearest even. Only the final
// a + b * z (and a + (b - a) * u) are f32 arithmetic; with a = 0 fusing cannot change them.
struct Params { n: u32, seed_lo: u32, seed_hi: u32, offset: u32, a: f32, b: f32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// ---- unsigned fixed point; 64-bit values are vec2u(hi, lo) like philox_mulhilo's products ----
const ONE_Q31 = 0x80000000u;
const LN2_Q58 = vec2u(0x2C5C85Fu, 0xDF473DE7u); // round(ln 2 * 2^58)
const PI_Q30 = 3373259426u;                      // round(pi * 2^30)

fn mulhi(a: u32, b: u32) -> u32 { return philox_mulhilo(a, b).x; }
fn add64(a: vec2u, b: vec2u) -> vec2u {
  let lo = a.y + b.y;
  return vec2u(a.x + b.x + select(0u, 1u, lo < a.y), lo);
}
fn shl64(a: vec2u, s: u32) -> vec2u { // s < 64
  if (s == 0u) { return a; }
  if (s >= 32u) { return vec2u(a.y << (s - 32u), 0u); }
  return vec2u((a.x << s) | (a.y >> (32u - s)), a.y << s);
}
fn clz64(a: vec2u) -> u32 { return select(countLeadingZeros(a.x), 32u + countLeadingZeros(a.y), a.x == 0u); }
fn le64(a: vec2u, b: vec2u) -> bool { return a.x < b.x || (a.x == b.x && a.y <= b.y); }

// -ln(u1) in Q58 for u1 = m / 2^24, m = 2^24 - (w >> 8) in [1, 2^24]. With e = ceil(log2 m),
// x = m / 2^e is in (1/2, 1] and -ln u1 = (24 - e) ln 2 - ln(1 - t), t = 1 - x < 1/2, where
// -ln(1 - t) = t * (1 + t/2 + t^2/3 + ...) keeps its relative precision as u1 -> 1.
fn neg_log_q58(w: u32) -> vec2u {
  let m = 0x1000000u - (w >> 8u);
  let e = 32u - countLeadingZeros(m - 1u);
  let t = ((1u << e) - m) << (32u - e); // Q32 (0 when e = 0: then m = 1 and t = 0)
  var g = 0u; // sum t^(k-1) / k for k = 1..30, Q30 (the tail is below 2^-31)
  for (var k = 30u; k >= 1u; k--) { g = 0x40000000u / k + mulhi(t, g); }
  let tg = philox_mulhilo(t, g); // Q62
  let lo = philox_mulhilo(LN2_Q58.y, 24u - e);
  let whole = vec2u(LN2_Q58.x * (24u - e) + lo.x, lo.y); // (24 - e) ln 2, Q58
  return add64(whole, vec2u(tg.x >> 4u, (tg.y >> 4u) | (tg.x << 28u)));
}

// floor(sqrt(y)) of a 64-bit y, bit by bit.
fn isqrt64(y: vec2u) -> u32 {
  var r = 0u;
  for (var b = 32u; b >= 1u; b--) {
    let c = r | (1u << (b - 1u));
    if (le64(philox_mulhilo(c, c), y)) { r = c; }
  }
  return r;
}

// One step of the nested Taylor series 1 - y/d (acc): Q31 in, Q31 out (y is x^2 in Q32).
fn taylor_step(y: u32, acc: u32, d: u32) -> u32 { return ONE_Q31 - mulhi(y, acc) / d; }

// cos(2 pi k / 2^24) for k < 2^24 as (c, f, negative): |cos| = c * 2^-f. Reduced exactly to an
// angle x <= pi/4 in its quadrant, where Taylor to x^12 (cos) / x^13 (sin) is exact to 2^-40;
// sin x = x * (1 - x^2/6 ...) keeps x's own bits, so values near a zero of cos keep ~30 bits.
fn cos_turns(k: u32) -> vec3u {
  let quadrant = k >> 22u;
  let j = k & 0x3FFFFFu;
  let mirrored = j > 0x200000u;                     // past pi/4: use pi/2 - angle
  let a = select(j, 0x400000u - j, mirrored);      // x = a * (pi/2) / 2^22 = a / 2^23 * pi
  let px = philox_mulhilo(a << 9u, PI_Q30);        // Q62
  let x = (px.x << 2u) | (px.y >> 30u);            // Q32
  let y = mulhi(x, x);
  let negative = select(0u, 1u, quadrant == 1u || quadrant == 2u);
  if (((quadrant & 1u) == 0u) != mirrored) {
    let c = taylor_step(y, taylor_step(y, taylor_step(y, taylor_step(y, taylor_step(y, taylor_step(y, ONE_Q31, 132u), 90u), 56u), 30u), 12u), 2u);
    return vec3u(c, 31u, negative);
  }
  let series = taylor_step(y, taylor_step(y, taylor_step(y, taylor_step(y, taylor_step(y, taylor_step(y, ONE_Q31, 156u), 110u), 72u), 42u), 20u), 6u);
  let lz = countLeadingZeros(a);                   // a = 0: sin 0 = 0 whatever the shift
  let xn = mulhi(a << lz, PI_Q30);                 // x = xn * 2^-(21 + lz)
  return vec3u(mulhi(xn, series), 20u + lz, negative);
}

// p * 2^-frac_bits (negated if negative == 1), rounded to the nearest f32 (ties to even).
fn f32_from_fixed(p: vec2u, frac_bits: u32, negative: u32) -> f32 {
  if (p.x == 0u && p.y == 0u) { return 0.0; }
  let lz = clz64(p);
  let n = shl64(p, lz); // leading 1 at bit 63
  var mant = n.x >> 8u;
  var e = i32(63u - lz) - i32(frac_bits);
  if (((n.x >> 7u) & 1u) == 1u && ((n.x & 0x7Fu) != 0u || n.y != 0u || (mant & 1u) == 1u)) { mant += 1u; }
  if (mant == 0x1000000u) { mant = 0x800000u; e += 1; }
  return bitcast<f32>((negative << 31u) | (u32(e + 127) << 23u) | (mant & 0x7FFFFFu));
}

// Box-Muller with u1 = 1 - (w0 >> 8) / 2^24 in (0, 1] and u2 = (w1 >> 8) / 2^24.
fn philox_normal(w0: u32, w1: u32) -> f32 {
  let v = shl64(neg_log_q58(w0), 1u); // -2 ln u1 < 33.3, Q58
  if (v.x == 0u && v.y == 0u) { return 0.0; }
  let half_shift = clz64(v) / 2u;
  let r = isqrt64(shl64(v, 2u * half_shift)); // sqrt(v) = r * 2^-(29 + half_shift)
  let c = cos_turns(w1 >> 8u);
  return f32_from_fixed(philox_mulhilo(r, c.x), 29u + half_shift + c.y, c.z);
}

@compute @workgroup_size(256)
fn rand_uniform(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let w = philox4x32(vec4u(i, p.offset, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  out[i] = p.a + (p.b - p.a) * philox_uniform(w.x);
}

@compute @workgroup_size(256)
fn rand_normal(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let w = philox4x32(vec4u(i, p.offset, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  out[i] = p.a + p.b * philox_normal(w.x, w.y);
}

@compute @workgroup_size(256)
fn rand_bernoulli(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let w = philox4x32(vec4u(i, p.offset, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  out[i] = select(0.0, 1.0, philox_uniform(w.x) < p.a);
}
