// Workgroup reductions for the row kernels' 'workgroup' variants (prepended to layernorm.wgsl,
// residual_layernorm.wgsl and cross_entropy.wgsl): one workgroup of ROW_THREADS invocations per
// row, each summing a strided share of the row's columns, then a tree in workgroup memory. A GPU
// reads the row coalesced this way; CPU adapters keep one invocation per row (no barriers).
// Call only from uniform control flow (every invocation of the workgroup).
const ROW_THREADS = 64u;
var<workgroup> row_red: array<vec2f, 64>;

// The row of workgroup wid (the x-y grid of runtime.dispatch's `threads`).
fn row_of(wid: vec3u, nwg: vec3u) -> u32 { return wid.y * nwg.x + wid.x; }

// Both components summed over the workgroup; every invocation gets the totals.
fn row_sum2(lid: u32, v: vec2f) -> vec2f {
  row_red[lid] = v;
  workgroupBarrier();
  for (var half = ROW_THREADS / 2u; half > 0u; half >>= 1u) {
    if (lid < half) { row_red[lid] += row_red[lid + half]; }
    workgroupBarrier();
  }
  let total = row_red[0];
  workgroupBarrier(); // before row_red is written again
  return total;
}

fn row_sum(lid: u32, v: f32) -> f32 { return row_sum2(lid, vec2f(v, 0.0)).x; }
