// Cross-entropy over logits [N, C] with integer targets [N]; targets equal to ignore_index
// contribute nothing and are not counted. Forward: per-row loss (lse - x[target]), the row's
// log-sum-exp (kept for the backward) and a 0/1 "counted" flag; the mean is taken by the caller.
// Backward: dx = (softmax(x) - onehot(target)) * factor[0] on counted rows (0 elsewhere), factor = g / count.
// cross_entropy_backward4 computes the same over vec4s of the flat logits (src/ops/losses.ts picks it).
struct Params { rows: u32, cols: u32, ignore_index: i32, pad: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> counted: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@group(0) @binding(6) var<storage, read> saved_lse: array<f32>;
@group(0) @binding(7) var<storage, read> factor: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

// NaN test on the bits: compilers may assume `v != v` is false (WGSL allows finite-math folding).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
// max that keeps a NaN (max(NaN, v) may be v), so a row with a NaN gives NaN as in torch
fn max_nan(a: f32, b: f32) -> f32 { return select(select(max(a, b), b, is_nan(b)), a, is_nan(a)); }

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u, size: u32) -> u32 { return (wid.y * nwg.x + wid.x) * size + lid.x; }

@compute @workgroup_size(64)
fn cross_entropy_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = index_of(wid, nwg, lid, 64u);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var m = -3.402823e38;
  for (var j = 0u; j < p.cols; j++) { m = max_nan(m, logits[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += exp(logits[base + j] - m); }
  let l = select(m + log(s), m, is_nan(m)); // a NaN logit makes the row's loss NaN
  lse[r] = l;
  let t = targets[r];
  // Out-of-range targets are rejected on the CPU; a GPU-made one is not counted.
  let ok = t != p.ignore_index && t >= 0 && t < i32(p.cols);
  counted[r] = select(0.0, 1.0, ok);
  loss[r] = select(0.0, l - logits[base + u32(clamp(t, 0, i32(p.cols) - 1))], ok);
}

// The 'workgroup' variant (row-reduce.wgsl): one workgroup per row; the max keeps a NaN as
// max_nan does (a NaN in any share makes the row's max NaN).
@compute @workgroup_size(64)
fn cross_entropy_forward_wg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; } // the whole workgroup: r is uniform
  let base = r * p.cols;
  var mine = -3.402823e38;
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) { mine = max_nan(mine, logits[base + j]); }
  // max over the workgroup by the same tree as row_sum2's
  row_red[lid.x] = vec2f(mine, 0.0);
  workgroupBarrier();
  for (var half = ROW_THREADS / 2u; half > 0u; half >>= 1u) {
    if (lid.x < half) { row_red[lid.x].x = max_nan(row_red[lid.x].x, row_red[lid.x + half].x); }
    workgroupBarrier();
  }
  let m = row_red[0].x;
  workgroupBarrier();
  var part = 0.0;
  for (var j = lid.x; j < p.cols; j += ROW_THREADS) { part += exp(logits[base + j] - m); }
  let total = row_sum(lid.x, part);
  if (lid.x == 0u) {
    let l = select(m + log(total), m, is_nan(m));
    lse[r] = l;
    let t = targets[r];
    let ok = t != p.ignore_index && t >= 0 && t < i32(p.cols);
    counted[r] = select(0.0, 1.0, ok);
    loss[r] = select(0.0, l - logits[base + u32(clamp(t, 0, i32(p.cols) - 1))], ok);
  }
}

// One workgroup per row: the target, the saved log-sum-exp and the factor are uniform loads
// (lavapipe: one scalar load each instead of one per lane and column), the logits stream by lane.
@compute @workgroup_size(64)
fn cross_entropy_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) { return; } // the whole workgroup: r is uniform
  let t = targets[r];
  let ok = t != p.ignore_index && t >= 0 && t < i32(p.cols);
  let l = saved_lse[r];
  let f = factor[0];
  let base = r * p.cols;
  for (var j = lid.x; j < p.cols; j += 64u) {
    let onehot = select(0.0, 1.0, i32(j) == t);
    dx[base + j] = select(0.0, (exp(logits[base + j] - l) - onehot) * f, ok);
  }
}

// The same gradient with logits and dx read and written as vec4s of the flat [rows * cols] array
// (on lavapipe a vec4 load or store costs about what a scalar one does: ~2x the scalar kernel on
// the MLM decoder's 30522-wide rows, which are not 4-aligned). Workgroup r takes the vectors
// whose first element lies in row r; elements past the row's end belong to row r + 1 (cols >= 4,
// so a vector spans at most two rows), whose target and log-sum-exp it loads too. The last row's
// last vector may run past rows * cols into the buffers' padding (they are whole vec4s): those
// lanes are written and never read.
@group(0) @binding(9) var<storage, read> logits4: array<vec4f>;
@group(0) @binding(10) var<storage, read_write> dx4: array<vec4f>;

fn counted_target(t: i32) -> bool { return t != p.ignore_index && t >= 0 && t < i32(p.cols); }

@compute @workgroup_size(64)
fn cross_entropy_backward4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) { return; } // the whole workgroup: r is uniform
  let r1 = min(r + 1u, p.rows - 1u);
  let t0 = targets[r];
  let t1 = targets[r1];
  let l0 = saved_lse[r];
  let l1 = saved_lse[r1];
  let ok0 = counted_target(t0);
  let ok1 = counted_target(t1);
  let f = factor[0];
  let start = r * p.cols;
  let next = start + p.cols;
  for (var q = (start + 3u) / 4u + lid.x; q < (next + 3u) / 4u; q += 64u) {
    let e = vec4u(4u * q) + vec4u(0u, 1u, 2u, 3u);
    let second = e >= vec4u(next);
    let col = vec4i(select(e - vec4u(start), e - vec4u(next), second));
    let onehot = select(vec4f(0.0), vec4f(1.0), col == select(vec4i(t0), vec4i(t1), second));
    let g = (exp(logits4[q] - select(vec4f(l0), vec4f(l1), second)) - onehot) * f;
    dx4[q] = select(vec4f(0.0), g, select(vec4<bool>(ok0), vec4<bool>(ok1), second));
  }
}

// The forward over vec4s of the flat logits, one workgroup per row (src/ops/losses.ts: CPU
// adapters, rows of >= 4 classes; ~2x the one-invocation-per-row kernel on lavapipe): each
// invocation keeps a running max and a sum of exp(x - max) rescaled when the max grows (one pass
// over the row), then the workgroup combines the pairs. Vectors straddling a row's ends are read
// whole and the other rows' elements masked out.
fn lse_pair(a: vec2f, b: vec2f) -> vec2f {
  let m = max_nan(a.x, b.x);
  // a share that saw no element has sum 0 and keeps the running max's start value
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

@compute @workgroup_size(64)
fn cross_entropy_forward4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = row_of(wid, nwg);
  if (r >= p.rows) { return; } // the whole workgroup: r is uniform
  let start = r * p.cols;
  let next = start + p.cols;
  var m = vec4f(-3.402823e38);
  var s = vec4f(0.0);
  for (var q = start / 4u + lid.x; q < (next + 3u) / 4u; q += ROW_THREADS) {
    let e = vec4u(4u * q) + vec4u(0u, 1u, 2u, 3u);
    let inside = (e >= vec4u(start)) & (e < vec4u(next));
    let x = select(vec4f(-3.402823e38), logits4[q], inside);
    let grown = vec4f(max_nan(m.x, x.x), max_nan(m.y, x.y), max_nan(m.z, x.z), max_nan(m.w, x.w));
    s = s * exp(m - grown) + select(vec4f(0.0), exp(x - grown), inside);
    m = grown;
  }
  var mine = lse_pair(lse_pair(vec2f(m.x, s.x), vec2f(m.y, s.y)), lse_pair(vec2f(m.z, s.z), vec2f(m.w, s.w)));
  row_red[lid.x] = mine;
  workgroupBarrier();
  for (var half = ROW_THREADS / 2u; half > 0u; half >>= 1u) {
    if (lid.x < half) { row_red[lid.x] = lse_pair(row_red[lid.x], row_red[lid.x + half]); }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let total = row_red[0];
    let l = select(total.x + log(total.y), total.x, is_nan(total.x)); // a NaN logit makes the row's loss NaN
    lse[r] = l;
    let t = targets[r];
    let ok = counted_target(t);
    counted[r] = select(0.0, 1.0, ok);
    let tq = start + u32(clamp(t, 0, i32(p.cols) - 1));
    loss[r] = select(0.0, l - logits4[tq / 4u][tq % 4u], ok);
  }
}
