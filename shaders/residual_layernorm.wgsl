// BERT's post-LN residual block in one pass per row: s = dropout(h) + residual, y = LayerNorm(s)
// (BertSelfOutput / BertOutput after their dense). Dropout keeps dropout.wgsl's mask exactly
// (philox.wgsl's dropout_keep under the step's seed), y = h * scale or 0. The forward
// saves s and the row's mean / rstd; the backward gives d residual = dLayerNorm/ds and
// dh = dropout(d residual) from one invocation per row; the weight / bias gradients are
// layernorm.wgsl's kernels on the saved s.
struct Params {
  rows: u32, cols: u32, eps: f32, has_dropout: u32,
  seed_lo: u32, seed_hi: u32, offset: u32, p: f32,
  scale: f32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> residual: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> s: array<f32>;
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;
// backward
@group(0) @binding(9) var<storage, read> g: array<f32>;
@group(0) @binding(10) var<storage, read> saved_s: array<f32>;
@group(0) @binding(11) var<storage, read> saved_mean: array<f32>;
@group(0) @binding(12) var<storage, read> saved_rstd: array<f32>;
@group(0) @binding(13) var<storage, read_write> dresidual: array<f32>;
@group(0) @binding(14) var<storage, read_write> dh: array<f32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 64u + lid.x; }

// dropout.wgsl's mask and scaling of element i, for v = h[i] (forward) or its gradient (backward)
fn dropped(i: u32, v: f32) -> f32 {
  if (p.has_dropout == 0u) { return v; }
  return select(0.0, v * p.scale, dropout_keep(i, p.offset, p.seed_lo, p.seed_hi, p.p));
}

// The same from the words of i's group of four (the row loops of one invocation draw once per 4:
// `words` redraws them at a row's start and at each multiple of 4).
fn words(w: vec4u, i: u32, first: bool) -> vec4u {
  if (p.has_dropout == 0u || !(first || (i & 3u) == 0u)) { return w; }
  return dropout_words(i, p.offset, p.seed_lo, p.seed_hi);
}
fn dropped_in(w: vec4u, i: u32, v: f32) -> f32 {
  if (p.has_dropout == 0u) { return v; }
  return select(0.0, v * p.scale, dropout_keep_in(w, i, p.p));
}

@compute @workgroup_size(64)
fn residual_layernorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let n = f32(p.cols);
  var total = 0.0;
  var w = vec4u(0u);
  for (var j = 0u; j < p.cols; j++) {
    w = words(w, base + j, j == 0u);
    let v = dropped_in(w, base + j, h[base + j]) + residual[base + j];
    s[base + j] = v;
    total += v;
  }
  let mu = total / n;
  var var_ = 0.0;
  for (var j = 0u; j < p.cols; j++) { let d = s[base + j] - mu; var_ += d * d; }
  let rs = inverseSqrt(var_ / n + p.eps);
  for (var j = 0u; j < p.cols; j++) { y[base + j] = (s[base + j] - mu) * rs * weight[j] + bias[j]; }
  mean[r] = mu;
  rstd[r] = rs;
}

// ds = rstd * (gw - mean(gw) - shat * mean(gw * shat)), gw = g * weight (as layernorm_backward_x)
@compute @workgroup_size(64)
fn residual_layernorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mu = saved_mean[r];
  let rs = saved_rstd[r];
  var sum_gw = 0.0;
  var sum_gw_shat = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let gw = g[base + j] * weight[j];
    sum_gw += gw;
    sum_gw_shat += gw * (saved_s[base + j] - mu) * rs;
  }
  let n = f32(p.cols);
  var w = vec4u(0u);
  for (var j = 0u; j < p.cols; j++) {
    w = words(w, base + j, j == 0u);
    let shat = (saved_s[base + j] - mu) * rs;
    let ds = rs * (g[base + j] * weight[j] - sum_gw / n - shat * sum_gw_shat / n);
    dresidual[base + j] = ds;
    dh[base + j] = dropped_in(w, base + j, ds);
  }
}

// The 'workgroup' variants (row-reduce.wgsl): one workgroup per row, the same arithmetic.
@compute @workgroup_size(64)
fn residual_layernorm_forward_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; } // the whole workgroup: r is uniform
  let base = r * p.cols;
  let n = f32(p.cols);
  var total = 0.0;
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) {
    let v = dropped(base + j, h[base + j]) + residual[base + j];
    s[base + j] = v;
    total += v;
  }
  let mu = row_sum(lid.x, total) / n;
  var var_ = 0.0;
  // each invocation reads back only the s it wrote itself
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) { let d = s[base + j] - mu; var_ += d * d; }
  let rs = inverseSqrt(row_sum(lid.x, var_) / n + p.eps);
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) { y[base + j] = (s[base + j] - mu) * rs * weight[j] + bias[j]; }
  if (lid.x == 0u) {
    mean[r] = mu;
    rstd[r] = rs;
  }
}

@compute @workgroup_size(64)
fn residual_layernorm_backward_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mu = saved_mean[r];
  let rs = saved_rstd[r];
  var part = vec2f(0.0);
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) {
    let gw = g[base + j] * weight[j];
    part += vec2f(gw, gw * (saved_s[base + j] - mu) * rs);
  }
  let sums = row_sum2(lid.x, part);
  let n = f32(p.cols);
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) {
    let shat = (saved_s[base + j] - mu) * rs;
    let ds = rs * (g[base + j] * weight[j] - sums.x / n - shat * sums.y / n);
    dresidual[base + j] = ds;
    dh[base + j] = dropped(base + j, ds);
  }
}
