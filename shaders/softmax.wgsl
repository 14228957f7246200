// Softmax and log-softmax over the last axis of `rows` rows of `cols`, of (x * scale + mask).
// The optional additive mask has mask_rows rows; row r uses mask row r / mask_group
// (an attention mask [B, 1, 1, T] serves scores [B, H, T, T]). One invocation per row.
struct Params { rows: u32, cols: u32, scale: f32, has_mask: u32, mask_group: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// backward
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> saved_y: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

override LOG: bool = false;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 64u + lid.x; }

// NaN test on the bits: compilers may assume `v != v` is false (WGSL allows finite-math folding).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
// max that keeps a NaN (max(NaN, v) may be v), so a row with a NaN gives NaN as in torch
fn max_nan(a: f32, b: f32) -> f32 { return select(select(max(a, b), b, is_nan(b)), a, is_nan(a)); }

fn logit(r: u32, base: u32, j: u32) -> f32 {
  var v = x[base + j] * p.scale;
  if (p.has_mask == 1u) { v += mask[(r / p.mask_group) * p.cols + j]; }
  return v;
}

@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var m = -3.402823e38;
  for (var j = 0u; j < p.cols; j++) { m = max_nan(m, logit(r, base, j)); }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += exp(logit(r, base, j) - m); }
  // A row masked entirely with -inf has no maximum: it gives zeros (softmax) / -inf (log-softmax).
  let lse = m + log(s);
  for (var j = 0u; j < p.cols; j++) {
    let v = logit(r, base, j);
    // a NaN in the row makes the whole row NaN (exp(NaN) is +inf on some adapters)
    if (is_nan(m)) { y[base + j] = m; }
    else if (LOG) { y[base + j] = v - lse; } else { y[base + j] = select(exp(v - m) / s, 0.0, s == 0.0 || m < -3.4e38); }
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
