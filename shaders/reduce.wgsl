// Reductions over the middle axis of a [outer, n, inner] view: one invocation per output (max
// and argmax over rows also as a workgroup per output: the _wg entries below).
// sum (times `scale`, so mean = sum * 1/n), max, argmax (first maximum, as torch), and the
// gradient of max, which flows to the argmax position only.
struct Params { outer: u32, n: u32, inner: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> out_index: array<i32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> arg: array<i32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

@compute @workgroup_size(256)
fn reduce_sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.outer * p.inner) { return; }
  let o = i / p.inner;
  let k = i % p.inner;
  let base = o * p.n * p.inner + k;
  // Kahan summation: long rows (losses, norms) stay accurate in f32.
  var s = 0.0;
  var c = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let yv = x[base + j * p.inner] - c;
    let t = s + yv;
    c = (t - s) - yv;
    s = t;
  }
  out[i] = s * p.scale;
}

// First pass of a long sum: invocation (o, c, k) sums rows [c * CHUNK, (c + 1) * CHUNK) into
// partial[o, c, k]; reduce_sum then adds the partials. Spreads a column of many rows over many
// invocations (one serial loop of 8192 rows leaves a GPU idle) and keeps a fixed order.
const CHUNK = 256u;

@compute @workgroup_size(256)
fn reduce_sum_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  let chunks = (p.n + CHUNK - 1u) / CHUNK;
  if (i >= p.outer * chunks * p.inner) { return; }
  let k = i % p.inner;
  let c = (i / p.inner) % chunks;
  let o = i / (p.inner * chunks);
  let base = o * p.n * p.inner + k;
  var s = 0.0;
  var comp = 0.0;
  for (var j = c * CHUNK; j < min(p.n, (c + 1u) * CHUNK); j++) {
    let yv = x[base + j * p.inner] - comp;
    let t = s + yv;
    comp = (t - s) - yv;
    s = t;
  }
  out[i] = s;
}

// NaN test on the bits: compilers may assume `v != v` is false (WGSL allows finite-math folding).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

fn argmax_at(base: u32) -> u32 {
  var best = x[base];
  var at = 0u;
  if (is_nan(best)) { return 0u; }
  for (var j = 1u; j < p.n; j++) {
    let v = x[base + j * p.inner];
    // the first NaN wins (propagates), as in torch.max / torch.argmax
    if (is_nan(v)) { return j; }
    if (v > best) { best = v; at = j; }
  }
  return at;
}

@compute @workgroup_size(256)
fn reduce_max(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.n * p.inner + i % p.inner;
  let at = argmax_at(base);
  out[i] = x[base + at * p.inner];
  out_index[i] = i32(at);
}

@compute @workgroup_size(256)
fn reduce_argmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.n * p.inner + i % p.inner;
  out_index[i] = i32(argmax_at(base));
}

// The 'workgroup' row variant of max / argmax over a row (inner = 1, e.g. ELECTRA's sampling
// argmax over the vocabulary): 64 invocations scan strided shares, then a tree keeps the pair
// that argmax_at would: the first NaN if any, else the first maximum (arg-better.wgsl).
var<workgroup> arg_val: array<f32, 64>;
var<workgroup> arg_idx: array<u32, 64>;

fn argmax_wg(base: u32, lid: u32) -> u32 {
  var bv = 0.0;
  var bi = NO_INDEX;
  for (var j = lid; j < p.n; j += 64u) {
    let v = x[base + j * p.inner];
    if (arg_better(bv, bi, v, j)) {
      bv = v;
      bi = j;
    }
  }
  arg_val[lid] = bv;
  arg_idx[lid] = bi;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half >>= 1u) {
    if (lid < half && arg_better(arg_val[lid], arg_idx[lid], arg_val[lid + half], arg_idx[lid + half])) {
      arg_val[lid] = arg_val[lid + half];
      arg_idx[lid] = arg_idx[lid + half];
    }
    workgroupBarrier();
  }
  return arg_idx[0];
}

@compute @workgroup_size(64)
fn reduce_max_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.y * nwg.x + wid.x;
  if (i >= p.outer * p.inner) { return; } // uniform: the whole workgroup
  let base = (i / p.inner) * p.n * p.inner + i % p.inner;
  let at = argmax_wg(base, lid.x);
  if (lid.x == 0u) {
    out[i] = x[base + at * p.inner];
    out_index[i] = i32(at);
  }
}

@compute @workgroup_size(64)
fn reduce_argmax_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.y * nwg.x + wid.x;
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.n * p.inner + i % p.inner;
  let at = argmax_wg(base, lid.x);
  if (lid.x == 0u) { out_index[i] = i32(at); }
}

// dx[o, j, k] = g[o, k] where j == arg[o, k], else 0
@compute @workgroup_size(256)
fn max_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.outer * p.n * p.inner) { return; }
  let k = i % p.inner;
  let j = (i / p.inner) % p.n;
  let o = i / (p.inner * p.n);
  let r = o * p.inner + k;
  out[i] = select(0.0, g[r], arg[r] == i32(j));
}
