// Softmax and log-softmax over the last axis of `rows` rows of `cols`, of (x * scale + mask).
// The optional additive mask has mask_rows rows; row r uses mask row r / mask_group
// (an attention mask [B, 1, 1, T] serves scores [B, H, T, T]). One invocation per row.
// softmax_dropout_* add the attention probabilities' dropout (philox.wgsl's mask, as ops.dropout).
struct Params {
  rows: u32, cols: u32, scale: f32, has_mask: u32,
  mask_group: u32, seed_lo: u32, seed_hi: u32, offset: u32,
  drop_p: f32, drop_scale: f32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// backward
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> saved_y: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
// dropout: the dropped probabilities (y keeps the softmax itself, saved for backward)
@group(0) @binding(7) var<storage, read_write> y_dropped: array<f32>;

override LOG: bool = false;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 64u + lid.x; }

// NaN test on the bits: compilers may assume `v != v` is false (WGSL allows finite-math folding).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
// max that keeps a NaN (max(NaN, v) may be v), so a row with a NaN gives NaN as in torch
fn max_nan(a: f32, b: f32) -> f32 { return select(select(max(a, b), b, is_nan(b)), a, is_nan(a)); }

// Where row r's mask row starts, computed once per row: an integer division per element was
// about half of softmax_dropout_forward's time on lavapipe.
fn mask_base(r: u32) -> u32 { return (r / p.mask_group) * p.cols; }

fn logit(base: u32, mbase: u32, j: u32) -> f32 {
  var v = x[base + j] * p.scale;
  if (p.has_mask == 1u) { v += mask[mbase + j]; }
  return v;
}

// The row's maximum and sum of exp(logit - maximum).
fn row_stats(base: u32, mbase: u32) -> vec2f {
  var m = -3.402823e38;
  for (var j = 0u; j < p.cols; j++) { m = max_nan(m, logit(base, mbase, j)); }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += exp(logit(base, mbase, j) - m); }
  return vec2f(m, s);
}

// A row masked entirely with -inf has no maximum: it gives zeros; a NaN in the row makes the
// whole row NaN (exp(NaN) is +inf on some adapters).
fn prob(v: f32, m: f32, s: f32) -> f32 {
  if (is_nan(m)) { return m; }
  return select(exp(v - m) / s, 0.0, s == 0.0 || m < -3.4e38);
}

@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mbase = mask_base(r);
  let st = row_stats(base, mbase);
  let m = st.x;
  // a fully -inf row gives -inf in log-softmax
  let lse = m + log(st.y);
  for (var j = 0u; j < p.cols; j++) {
    let v = logit(base, mbase, j);
    if (LOG && !is_nan(m)) { y[base + j] = v - lse; } else { y[base + j] = prob(v, m, st.y); }
  }
}

@compute @workgroup_size(64)
fn softmax_dropout_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mbase = mask_base(r);
  let st = row_stats(base, mbase);
  var w = vec4u(0u); // the dropout words of element base + j's group of four (one Philox call per 4)
  for (var j = 0u; j < p.cols; j++) {
    let i = base + j;
    if (j == 0u || (i & 3u) == 0u) { w = dropout_words(i, p.offset, p.seed_lo, p.seed_hi); }
    let yv = prob(logit(base, mbase, j), st.x, st.y);
    y[i] = yv;
    y_dropped[i] = select(0.0, yv * p.drop_scale, dropout_keep_in(w, i, p.drop_p));
  }
}

// softmax:     dx = scale * y * (g - sum(g * y))
// log-softmax: dx = scale * (g - exp(y) * sum(g))
@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    if (LOG) { s += g[base + j]; } else { s += g[base + j] * saved_y[base + j]; }
  }
  for (var j = 0u; j < p.cols; j++) {
    let yv = saved_y[base + j];
    if (LOG) { dx[base + j] = p.scale * (g[base + j] - exp(yv) * s); } else { dx[base + j] = p.scale * yv * (g[base + j] - s); }
  }
}

// dropout's backward (g through the same mask) then softmax's: gd = dropout(g),
// dx = scale * y * (gd - sum(gd * y)); gd is parked in dx between the two passes.
@compute @workgroup_size(64)
fn softmax_dropout_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var s = 0.0;
  var w = vec4u(0u);
  for (var j = 0u; j < p.cols; j++) {
    let i = base + j;
    if (j == 0u || (i & 3u) == 0u) { w = dropout_words(i, p.offset, p.seed_lo, p.seed_hi); }
    let gd = select(0.0, g[i] * p.drop_scale, dropout_keep_in(w, i, p.drop_p));
    dx[i] = gd;
    s += gd * saved_y[i];
  }
  for (var j = 0u; j < p.cols; j++) {
    let yv = saved_y[base + j];
    dx[base + j] = p.scale * yv * (dx[base + j] - s);
  }
}
