// Philox4x32-10 (Salmon et al. 2011), a counter-based RNG: the same (key, counter) gives the
// same four words on every device. Included by rng.wgsl and dropout.wgsl (no bindings here).

// 32x32 -> 64-bit product as (hi, lo), from 16-bit halves (WGSL has no mulhi).
fn philox_mulhilo(a: u32, b: u32) -> vec2u {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lolo = a_lo * b_lo;
  let lohi = a_lo * b_hi;
  let hilo = a_hi * b_lo;
  let hihi = a_hi * b_hi;
  let cross = (lolo >> 16u) + (lohi & 0xffffu) + (hilo & 0xffffu);
  let hi = hihi + (lohi >> 16u) + (hilo >> 16u) + (cross >> 16u);
  return vec2u(hi, a * b);
}

fn philox4x32(counter: vec4u, key_in: vec2u) -> vec4u {
  var c = counter;
  var k = key_in;
  for (var r = 0u; r < 10u; r++) {
    let p0 = philox_mulhilo(0xD2511F53u, c.x);
    let p1 = philox_mulhilo(0xCD9E8D57u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// Uniform in [0, 1) with 24 bits.
fn philox_uniform(w: u32) -> f32 { return f32(w >> 8u) * (1.0 / 16777216.0); }

// Dropout's mask: element i is kept when the uniform of word i % 4 of counter (i / 4, offset, 0, 0)
// is >= p, so four consecutive elements share one Philox call (a kernel walking a row draws once
// per 4 elements: dropout_words, then dropout_keep_in). Shared by every kernel that drops, so a
// fused kernel keeps exactly the mask ops.dropout would draw.
fn dropout_words(i: u32, offset: u32, seed_lo: u32, seed_hi: u32) -> vec4u {
  return philox4x32(vec4u(i >> 2u, offset, 0u, 0u), vec2u(seed_lo, seed_hi));
}

// The keep test of element i from the words of its group of four.
fn dropout_keep_in(w: vec4u, i: u32, p: f32) -> bool { return philox_uniform(w[i & 3u]) >= p; }

fn dropout_keep(i: u32, offset: u32, seed_lo: u32, seed_hi: u32, p: f32) -> bool {
  return dropout_keep_in(dropout_words(i, offset, seed_lo, seed_hi), i, p);
}
