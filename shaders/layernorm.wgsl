// Layer norm over the last axis: y = (x - mean) * rstd * weight + bias, rstd = 1/sqrt(var + eps)
// (biased variance, as torch). The forward saves mean and rstd per row for the backward.
struct Params { rows: u32, cols: u32, eps: f32, pad: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
// backward
@group(0) @binding(7) var<storage, read> g: array<f32>;
@group(0) @binding(8) var<storage, read> saved_mean: array<f32>;
@group(0) @binding(9) var<storage, read> saved_rstd: array<f32>;
@group(0) @binding(10) var<storage, read_write> dx: array<f32>;
@group(0) @binding(11) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(12) var<storage, read_write> dbias: array<f32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 64u + lid.x; }

@compute @workgroup_size(64)
fn layernorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let n = f32(p.cols);
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += x[base + j]; }
  let mu = s / n;
  var v = 0.0;
  for (var j = 0u; j < p.cols; j++) { let d = x[base + j] - mu; v += d * d; }
  let rs = inverseSqrt(v / n + p.eps);
  for (var j = 0u; j < p.cols; j++) { y[base + j] = (x[base + j] - mu) * rs * weight[j] + bias[j]; }
  mean[r] = mu;
  rstd[r] = rs;
}

// dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = g * weight
@compute @workgroup_size(64)
fn layernorm_backward_x(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mu = saved_mean[r];
  let rs = saved_rstd[r];
  var sum_gw = 0.0;
  var sum_gw_xhat = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let gw = g[base + j] * weight[j];
    sum_gw += gw;
    sum_gw_xhat += gw * (x[base + j] - mu) * rs;
  }
  let n = f32(p.cols);
  for (var j = 0u; j < p.cols; j++) {
    let xhat = (x[base + j] - mu) * rs;
    dx[base + j] = rs * (g[base + j] * weight[j] - sum_gw / n - xhat * sum_gw_xhat / n);
  }
}

// The 'workgroup' variants (row-reduce.wgsl): one workgroup per row, columns strided over its
// ROW_THREADS invocations; the same two-pass mean / variance.
@compute @workgroup_size(64)
fn layernorm_forward_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; } // the whole workgroup: r is uniform
  let base = r * p.cols;
  let n = f32(p.cols);
  var s = 0.0;
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) { s += x[base + j]; }
  let mu = row_sum(lid.x, s) / n;
  var v = 0.0;
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) { let d = x[base + j] - mu; v += d * d; }
  let rs = inverseSqrt(row_sum(lid.x, v) / n + p.eps);
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) { y[base + j] = (x[base + j] - mu) * rs * weight[j] + bias[j]; }
  if (lid.x == 0u) {
    mean[r] = mu;
    rstd[r] = rs;
  }
}

@compute @workgroup_size(64)
fn layernorm_backward_x_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mu = saved_mean[r];
  let rs = saved_rstd[r];
  var part = vec2f(0.0);
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) {
    let gw = g[base + j] * weight[j];
    part += vec2f(gw, gw * (x[base + j] - mu) * rs);
  }
  let sums = row_sum2(lid.x, part);
  let n = f32(p.cols);
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) {
    let xhat = (x[base + j] - mu) * rs;
    dx[base + j] = rs * (g[base + j] * weight[j] - sums.x / n - xhat * sums.y / n);
  }
}

// dweight[j] = sum_r g * xhat, dbias[j] = sum_r g: one invocation per column.
@compute @workgroup_size(64)
fn layernorm_backward_weight(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let j = index_of(wid, nwg, lid);
  if (j >= p.cols) { return; }
  var dw = 0.0;
  var db = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let gv = g[r * p.cols + j];
    dw += gv * (x[r * p.cols + j] - saved_mean[r]) * saved_rstd[r];
    db += gv;
  }
  dweight[j] = dw;
  dbias[j] = db;
}

// The same over a chunk of rows, for many rows: invocation (c, j) sums rows
// [c * CHUNK, (c + 1) * CHUNK) into dweight[c, j] / dbias[c, j]; the chunks are summed after
// (layerNorm's backward), so no single invocation loops over thousands of rows.
const CHUNK = 256u;

@compute @workgroup_size(64)
fn layernorm_backward_weight_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  let chunks = (p.rows + CHUNK - 1u) / CHUNK;
  if (i >= chunks * p.cols) { return; }
  let j = i % p.cols;
  let c = i / p.cols;
  var dw = 0.0;
  var db = 0.0;
  for (var r = c * CHUNK; r < min(p.rows, (c + 1u) * CHUNK); r++) {
    let gv = g[r * p.cols + j];
    dw += gv * (x[r * p.cols + j] - saved_mean[r]) * saved_rstd[r];
    db += gv;
  }
  dweight[i] = dw;
  dbias[i] = db;
}
