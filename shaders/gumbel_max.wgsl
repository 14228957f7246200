// Gumbel-max sampling from rows of logits [rows, cols]: sample[r] = argmax_j (logits[r, j] + g),
// g = -log(-log(u)), u = a + (b - a) * philox_uniform (philox.wgsl, element i = r * cols + j under
// counter (i, offset, 0, 0)) -- the same numbers, in the same f32 operations, as rand (rng.wgsl),
// log, neg, log, neg, add and argmax would make one kernel at a time, without the five [rows, cols]
// intermediates. The argmax keeps the first maximum, and the first NaN if any (as argmax: arg-better.wgsl).
// One workgroup per row: 64 invocations take strided columns, then a tree keeps the winner.
struct Params { rows: u32, cols: u32, seed_lo: u32, seed_hi: u32, offset: u32, a: f32, b: f32, pad0: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> sample: array<i32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> best_val: array<f32, 64>;
var<workgroup> best_idx: array<u32, 64>;

fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(64)
fn gumbel_max_sample(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) { return; } // the whole workgroup: r is uniform
  let base = r * p.cols;
  var bv = 0.0;
  var bi = NO_INDEX;
  for (var j = lid.x; j < p.cols; j += 64u) {
    let w = philox4x32(vec4u(base + j, p.offset, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
    let u = p.a + (p.b - p.a) * philox_uniform(w.x);
    let v = logits[base + j] + -log(-log(u));
    if (arg_better(bv, bi, v, j)) {
      bv = v;
      bi = j;
    }
  }
  best_val[lid.x] = bv;
  best_idx[lid.x] = bi;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half >>= 1u) {
    if (lid.x < half && arg_better(best_val[lid.x], best_idx[lid.x], best_val[lid.x + half], best_idx[lid.x + half])) {
      best_val[lid.x] = best_val[lid.x + half];
      best_idx[lid.x] = best_idx[lid.x + half];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { sample[r] = i32(best_idx[0]); }
}
