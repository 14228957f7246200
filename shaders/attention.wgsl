// Fused attention, forward and backward (FlashAttention-2's recipe): softmax(q k^T * scale + mask)
// with dropout on the probabilities, times v, without storing the [T, T] probabilities.
// q, k, v, o and their gradients are [B, T, heads * D] (the projections, heads not split
// out); row t of head h of batch b starts at (b * T + t) * row_stride + h * D. The mask is
// additive over keys, [B, T] (HF's extended mask [B, 1, 1, T] of 0 / f32 min).
//  - forward: one invocation per query row, an online softmax over blocks of BK keys; writes o and
//    the row's logsumexp L (the backward recomputes p = exp(s - L) from it).
//  - backward_dq: per query row, D = rowsum(dO * O) (written for backward_dkv) and
//    dq = scale * sum_j dS_ij k_j with dS = P * (dP - D), dP_ij = (dO_i . v_j) * dropout_ij;
//  - backward_dkv: per key row, dv = sum_i P_ij dropout_ij dO_i and dk = scale * sum_i dS_ij q_i.
// dq and dk/dv are separate kernels, so no row is written by two invocations (no atomics).
// Dropout keeps element (b, h, i, j) of the [B, heads, T, T] probabilities when Philox's uniform
// for flat index ((b * heads + h) * T + i) * T + j is >= p, as dropout.wgsl decides for that
// tensor: the same seed gives the unfused path's mask, bit for bit, in forward and backward.
// Variants: *_rows read keys (queries) straight from storage, no barriers (CPU adapters);
// *_tiled stage blocks of them in workgroup memory shared by the workgroup's 64 rows (GPUs).
// A row whose keys are all masked (every score <= -3.4e38, as softmax.wgsl decides) gives zeros.
// Packed q, k, v (one [B, T, 3 * heads * D] QKV projection, bound as q, k and v alike): their rows
// (and those of dq, dk, dv, one [B, T, 3 * heads * D] gradient bound as dq and dk) are qkv_stride
// apart, k starts k_col and v v_col columns in; o and dout keep row_stride.
struct Params {
  T: u32, heads: u32, row_stride: u32, scale: f32,
  has_mask: u32, has_dropout: u32, drop_p: f32, drop_scale: f32,
  seed_lo: u32, seed_hi: u32, offset: u32, head_dim: u32,
  qkv_stride: u32, k_col: u32, v_col: u32, packed: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
// forward
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
// backward
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read> saved_o: array<f32>;
@group(0) @binding(9) var<storage, read> saved_lse: array<f32>;
@group(0) @binding(10) var<storage, read_write> dq: array<f32>;
@group(0) @binding(11) var<storage, read_write> delta: array<f32>;
@group(0) @binding(12) var<storage, read> saved_delta: array<f32>;
@group(0) @binding(13) var<storage, read_write> dk: array<f32>;
@group(0) @binding(14) var<storage, read_write> dv: array<f32>;

// Rows of one invocation (rows variants: 4 while 4 rows of the head size fit the per-row arrays; the
// tiled variants 1): each key (query) row read serves ROWS rows, fewer loads per multiply-add.
override ROWS: u32 = 1u;
override ROWS_GROUP: u32 = 16u; // WG / ROWS: the rows variants' workgroup size
const MAX_D4 = 32u; // head_dim <= 128
const MAX_ROWS = 4u;
const ROW_VEC4S = 128u; // ROWS * ceil(head_dim / 4) <= 128
const WG = 64u; // rows per workgroup
const BK = 16u; // keys (queries) per block
const LOWEST = -3.402823466e38;
const DEAD_LSE = 3.402823466e38; // L of a row with every key masked: its p are 0

// A uniform, not an override: constant loop bounds made lavapipe unroll the rows variants into
// shaders that took minutes to compile.
// Arrays declared inside loops are initialised explicitly: on Dawn + lavapipe `var a: array<..>;`
// in a loop body kept the previous iteration's values instead of zeros.

fn d4() -> u32 { return (p.head_dim + 3u) / 4u; }

fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn max_nan(a: f32, b: f32) -> f32 { return select(select(max(a, b), b, is_nan(b)), a, is_nan(a)); }

// o and dout rows; q, k, v (and their gradients) rows
fn row_base(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.row_stride + h * p.head_dim; }
fn qkv_base(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.qkv_stride + h * p.head_dim; }

// Rows are read and written 4 lanes at a time; lanes past head_dim are 0 / not stored.
fn lanes(c: u32) -> vec4<bool> { return vec4u(4u * c) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.head_dim); }
fn ld_q(base: u32, c: u32) -> vec4f { let i = base + 4u * c; return select(vec4f(0.0), vec4f(q[i], q[i + 1u], q[i + 2u], q[i + 3u]), lanes(c)); }
fn ld_k(base: u32, c: u32) -> vec4f { let i = base + p.k_col + 4u * c; return select(vec4f(0.0), vec4f(k[i], k[i + 1u], k[i + 2u], k[i + 3u]), lanes(c)); }
fn ld_v(base: u32, c: u32) -> vec4f { let i = base + p.v_col + 4u * c; return select(vec4f(0.0), vec4f(v[i], v[i + 1u], v[i + 2u], v[i + 3u]), lanes(c)); }
fn ld_g(base: u32, c: u32) -> vec4f { let i = base + 4u * c; return select(vec4f(0.0), vec4f(dout[i], dout[i + 1u], dout[i + 2u], dout[i + 3u]), lanes(c)); }
fn ld_o(base: u32, c: u32) -> vec4f { let i = base + 4u * c; return select(vec4f(0.0), vec4f(saved_o[i], saved_o[i + 1u], saved_o[i + 2u], saved_o[i + 3u]), lanes(c)); }
fn st_o(base: u32, c: u32, x: vec4f) { for (var j = 0u; j < 4u; j++) { if (4u * c + j < p.head_dim) { o[base + 4u * c + j] = x[j]; } } }
fn st_dq(base: u32, c: u32, x: vec4f) { for (var j = 0u; j < 4u; j++) { if (4u * c + j < p.head_dim) { dq[base + 4u * c + j] = x[j]; } } }
fn st_dk(base: u32, c: u32, x: vec4f) { for (var j = 0u; j < 4u; j++) { if (4u * c + j < p.head_dim) { dk[base + p.k_col + 4u * c + j] = x[j]; } } }
// packed: dv is a placeholder and v's gradient goes into dk's buffer (no buffer bound writable twice)
fn st_dv(base: u32, c: u32, x: vec4f) {
  for (var j = 0u; j < 4u; j++) {
    if (4u * c + j < p.head_dim) {
      if (p.packed == 1u) { dk[base + p.v_col + 4u * c + j] = x[j]; } else { dv[base + 4u * c + j] = x[j]; }
    }
  }
}

fn mask_at(b: u32, j: u32) -> f32 { return select(0.0, mask[b * p.T + j], p.has_mask == 1u); }

// 0 (dropped) or 1 / (1 - p) for probability (i, j) of head bh.
fn drop_mult(bh: u32, i: u32, j: u32) -> f32 {
  if (p.has_dropout == 0u) { return 1.0; }
  let e = (bh * p.T + i) * p.T + j;
  return select(0.0, p.drop_scale, dropout_keep(e, p.offset, p.seed_lo, p.seed_hi, p.drop_p));
}

// p_ij from the saved logsumexp (0 for a row whose keys are all masked).
fn prob(s: f32, l: f32) -> f32 { return select(exp(s - l), 0.0, l >= DEAD_LSE); }

// Blocks of BK rows in workgroup memory for the tiled variants: keys and values (forward, dq),
// or queries, output gradients and their rows' L and D (dkv). Rows past T repeat the last one.
var<workgroup> tile_a: array<vec4f, BK * MAX_D4>;
var<workgroup> tile_b: array<vec4f, BK * MAX_D4>;
var<workgroup> tile_l: array<f32, BK>;
var<workgroup> tile_d: array<f32, BK>;

fn load_kv_tiles(b: u32, h: u32, t0: u32, lid: u32) {
  workgroupBarrier(); // the previous block is no longer read
  for (var x = lid; x < BK * d4(); x += WG) {
    let base = qkv_base(b, min(t0 + x / d4(), p.T - 1u), h);
    tile_a[x] = ld_k(base, x % d4());
    tile_b[x] = ld_v(base, x % d4());
  }
  workgroupBarrier();
}

fn load_qg_tiles(b: u32, h: u32, bh: u32, t0: u32, lid: u32) {
  workgroupBarrier();
  for (var x = lid; x < BK * d4(); x += WG) {
    let t = min(t0 + x / d4(), p.T - 1u);
    tile_a[x] = ld_q(qkv_base(b, t, h), x % d4());
    tile_b[x] = ld_g(row_base(b, t, h), x % d4());
  }
  if (lid < BK) {
    let t = min(t0 + lid, p.T - 1u);
    tile_l[lid] = saved_lse[bh * p.T + t];
    tile_d[lid] = saved_delta[bh * p.T + t];
  }
  workgroupBarrier();
}

// Lanes c of row jj of the block starting at t0: from the tile, or straight from storage.
fn key4(tiled: bool, b: u32, h: u32, t0: u32, jj: u32, c: u32) -> vec4f {
  if (tiled) { return tile_a[jj * d4() + c]; }
  return ld_k(qkv_base(b, t0 + jj, h), c);
}
fn val4(tiled: bool, b: u32, h: u32, t0: u32, jj: u32, c: u32) -> vec4f {
  if (tiled) { return tile_b[jj * d4() + c]; }
  return ld_v(qkv_base(b, t0 + jj, h), c);
}
fn qry4(tiled: bool, b: u32, h: u32, t0: u32, ii: u32, c: u32) -> vec4f {
  if (tiled) { return tile_a[ii * d4() + c]; }
  return ld_q(qkv_base(b, t0 + ii, h), c);
}
fn grd4(tiled: bool, b: u32, h: u32, t0: u32, ii: u32, c: u32) -> vec4f {
  if (tiled) { return tile_b[ii * d4() + c]; }
  return ld_g(row_base(b, t0 + ii, h), c);
}

// The rows of one invocation: ROWS consecutive query (key) rows of head bh (clamped inside T;
// only those below T are stored). One workgroup covers WG rows: 64 / ROWS invocations.
struct Rows { b: u32, h: u32, bh: u32, first: u32 }
fn rows_of(wid: vec3u, lid: u32) -> Rows {
  return Rows(wid.y / p.heads, wid.y % p.heads, wid.y, wid.x * WG + lid * ROWS);
}
fn row(rs: Rows, r: u32) -> u32 { return min(rs.first + r, p.T - 1u); }
fn stored(rs: Rows, r: u32) -> bool { return rs.first + r < p.T; }

fn forward(tiled: bool, wid: vec3u, lid: u32) {
  let rs = rows_of(wid, lid);
  let b = rs.b;
  let h = rs.h;
  var qr: array<vec4f, ROW_VEC4S>;
  var acc: array<vec4f, ROW_VEC4S>;
  var m: array<f32, MAX_ROWS>;
  var l: array<f32, MAX_ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    for (var c = 0u; c < d4(); c++) { qr[r * d4() + c] = ld_q(qkv_base(b, row(rs, r), h), c); }
    m[r] = LOWEST;
  }
  for (var t0 = 0u; t0 < p.T; t0 += BK) {
    if (tiled) { load_kv_tiles(b, h, t0, lid); }
    let n = min(BK, p.T - t0);
    var s = array<f32, MAX_ROWS * BK>();
    var bm = m;
    for (var jj = 0u; jj < n; jj++) {
      var dot_qk = array<f32, MAX_ROWS>();
      for (var c = 0u; c < d4(); c++) {
        let kc = key4(tiled, b, h, t0, jj, c);
        for (var r = 0u; r < ROWS; r++) { dot_qk[r] += dot(qr[r * d4() + c], kc); }
      }
      let mk = mask_at(b, t0 + jj);
      for (var r = 0u; r < ROWS; r++) {
        s[r * BK + jj] = dot_qk[r] * p.scale + mk;
        bm[r] = max_nan(bm[r], s[r * BK + jj]);
      }
    }
    for (var r = 0u; r < ROWS; r++) {
      let corr = exp(m[r] - bm[r]);
      l[r] *= corr;
      for (var c = 0u; c < d4(); c++) { acc[r * d4() + c] *= corr; }
    }
    for (var jj = 0u; jj < n; jj++) {
      var w = array<f32, MAX_ROWS>();
      for (var r = 0u; r < ROWS; r++) {
        let e = exp(s[r * BK + jj] - bm[r]);
        l[r] += e;
        w[r] = e * drop_mult(rs.bh, row(rs, r), t0 + jj);
      }
      for (var c = 0u; c < d4(); c++) {
        let vc = val4(tiled, b, h, t0, jj, c);
        for (var r = 0u; r < ROWS; r++) { acc[r * d4() + c] += w[r] * vc; }
      }
    }
    m = bm;
  }
  for (var r = 0u; r < ROWS; r++) {
    if (!stored(rs, r)) { break; }
    let i = row(rs, r);
    let mr = m[r];
    let dead = mr < -3.4e38;
    let inv = select(1.0 / l[r], 0.0, dead);
    // a NaN score makes the whole row NaN (exp(NaN) is +inf on some adapters)
    for (var c = 0u; c < d4(); c++) { st_o(row_base(b, i, h), c, select(acc[r * d4() + c] * inv, vec4f(mr), is_nan(mr))); }
    lse[rs.bh * p.T + i] = select(select(mr + log(l[r]), DEAD_LSE, dead), mr, is_nan(mr));
  }
}

fn backward_dq(tiled: bool, wid: vec3u, lid: u32) {
  let rs = rows_of(wid, lid);
  let b = rs.b;
  let h = rs.h;
  var qr: array<vec4f, ROW_VEC4S>;
  var gr: array<vec4f, ROW_VEC4S>;
  var acc: array<vec4f, ROW_VEC4S>;
  var di: array<f32, MAX_ROWS>;
  var li: array<f32, MAX_ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    let i = row(rs, r);
    let base = row_base(b, i, h);
    for (var c = 0u; c < d4(); c++) {
      qr[r * d4() + c] = ld_q(qkv_base(b, i, h), c);
      gr[r * d4() + c] = ld_g(base, c);
      di[r] += dot(gr[r * d4() + c], ld_o(base, c));
    }
    if (stored(rs, r)) { delta[rs.bh * p.T + i] = di[r]; }
    li[r] = saved_lse[rs.bh * p.T + i];
  }
  for (var t0 = 0u; t0 < p.T; t0 += BK) {
    if (tiled) { load_kv_tiles(b, h, t0, lid); }
    let n = min(BK, p.T - t0);
    for (var jj = 0u; jj < n; jj++) {
      var dot_qk = array<f32, MAX_ROWS>();
      var dot_gv = array<f32, MAX_ROWS>();
      var krow: array<vec4f, MAX_D4>; // read once, used twice
      for (var c = 0u; c < d4(); c++) {
        let kc = key4(tiled, b, h, t0, jj, c);
        let vc = val4(tiled, b, h, t0, jj, c);
        krow[c] = kc;
        for (var r = 0u; r < ROWS; r++) {
          dot_qk[r] += dot(qr[r * d4() + c], kc);
          dot_gv[r] += dot(gr[r * d4() + c], vc);
        }
      }
      let mk = mask_at(b, t0 + jj);
      var ds = array<f32, MAX_ROWS>();
      for (var r = 0u; r < ROWS; r++) {
        let pij = prob(dot_qk[r] * p.scale + mk, li[r]);
        ds[r] = pij * (dot_gv[r] * drop_mult(rs.bh, row(rs, r), t0 + jj) - di[r]);
      }
      for (var c = 0u; c < d4(); c++) {
        for (var r = 0u; r < ROWS; r++) { acc[r * d4() + c] += ds[r] * krow[c]; }
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    if (!stored(rs, r)) { break; }
    for (var c = 0u; c < d4(); c++) { st_dq(qkv_base(b, row(rs, r), h), c, acc[r * d4() + c] * p.scale); }
  }
}

fn backward_dkv(tiled: bool, wid: vec3u, lid: u32) {
  let rs = rows_of(wid, lid);
  let b = rs.b;
  let h = rs.h;
  var kr: array<vec4f, ROW_VEC4S>;
  var vr: array<vec4f, ROW_VEC4S>;
  var acc_k: array<vec4f, ROW_VEC4S>;
  var acc_v: array<vec4f, ROW_VEC4S>;
  var mj: array<f32, MAX_ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    let base = qkv_base(b, row(rs, r), h);
    for (var c = 0u; c < d4(); c++) {
      kr[r * d4() + c] = ld_k(base, c);
      vr[r * d4() + c] = ld_v(base, c);
    }
    mj[r] = mask_at(b, row(rs, r));
  }
  for (var t0 = 0u; t0 < p.T; t0 += BK) {
    if (tiled) { load_qg_tiles(b, h, rs.bh, t0, lid); }
    let n = min(BK, p.T - t0);
    for (var ii = 0u; ii < n; ii++) {
      let i = t0 + ii;
      var dot_qk = array<f32, MAX_ROWS>();
      var dot_gv = array<f32, MAX_ROWS>();
      var qrow: array<vec4f, MAX_D4>; // read once, used twice
      var grow: array<vec4f, MAX_D4>;
      for (var c = 0u; c < d4(); c++) {
        let qc = qry4(tiled, b, h, t0, ii, c);
        let gc = grd4(tiled, b, h, t0, ii, c);
        qrow[c] = qc;
        grow[c] = gc;
        for (var r = 0u; r < ROWS; r++) {
          dot_qk[r] += dot(qc, kr[r * d4() + c]);
          dot_gv[r] += dot(gc, vr[r * d4() + c]);
        }
      }
      var li: f32;
      var di: f32;
      if (tiled) { li = tile_l[ii]; di = tile_d[ii]; } else { li = saved_lse[rs.bh * p.T + i]; di = saved_delta[rs.bh * p.T + i]; }
      var ds = array<f32, MAX_ROWS>();
      var pd = array<f32, MAX_ROWS>();
      for (var r = 0u; r < ROWS; r++) {
        let pij = prob(dot_qk[r] * p.scale + mj[r], li);
        let keep = drop_mult(rs.bh, i, row(rs, r));
        ds[r] = pij * (dot_gv[r] * keep - di);
        pd[r] = pij * keep;
      }
      for (var c = 0u; c < d4(); c++) {
        for (var r = 0u; r < ROWS; r++) {
          acc_v[r * d4() + c] += pd[r] * grow[c];
          acc_k[r * d4() + c] += ds[r] * qrow[c];
        }
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    if (!stored(rs, r)) { break; }
    let base = qkv_base(b, row(rs, r), h);
    for (var c = 0u; c < d4(); c++) {
      st_dk(base, c, acc_k[r * d4() + c] * p.scale);
      st_dv(base, c, acc_v[r * d4() + c]);
    }
  }
}

// Grid: [ceil(T / 64), B * heads, 1] workgroups of 64 / ROWS invocations (rows variants) or 64
// with ROWS = 1 (tiled: 64 invocations share the loads of each tile).
@compute @workgroup_size(ROWS_GROUP)
fn attention_forward_rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) { forward(false, wid, lid); }
@compute @workgroup_size(WG)
fn attention_forward_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) { forward(true, wid, lid); }
@compute @workgroup_size(ROWS_GROUP)
fn attention_dq_rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) { backward_dq(false, wid, lid); }
@compute @workgroup_size(WG)
fn attention_dq_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) { backward_dq(true, wid, lid); }
@compute @workgroup_size(ROWS_GROUP)
fn attention_dkv_rows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) { backward_dkv(false, wid, lid); }
@compute @workgroup_size(WG)
fn attention_dkv_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) { backward_dkv(true, wid, lid); }
