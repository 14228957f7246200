// Row gather (embedding lookup / index_select) over a [outer, V, inner] view of `table`:
// out[o, m, :] = table[o, ids[m], :]. The backward is a deterministic scatter-add (no atomics,
// so the result does not depend on scheduling); rows equal to padding_idx get no gradient.
// - gather_backward_sorted: ids known on the CPU, more ids than rows: they arrive bucketed by row
//   (offsets / order, a stable counting sort); one invocation per (o, v, k) sums its row's
//   gradients in index order. A 2-row table (token types) still spreads over 2 * inner threads.
// - gather_backward_rows: ids known on the CPU, no more ids than rows (word embeddings, positions,
//   the MLM gather): the caller clears dtable; they arrive bucketed by distinct id (offsets /
//   order over `distinct` buckets, padding left out) and one workgroup per (o, bucket) sums its
//   id's gradient rows in index order. Everything it reads but g is uniform in the workgroup.
// - gather_backward_links + gather_backward_chains: ids made on the GPU, no more ids than rows
//   (ELECTRA's replaced tokens): the caller clears dtable; each position learns the next one with
//   its id (count^2 uniform id loads, not rows x count), then one workgroup per first occurrence
//   sums its id's gradient rows along that chain, in index order.
// - gather_backward: ids made on the GPU, more ids than rows; one invocation per (o, v) row scans all ids.
struct Params { outer: u32, rows: u32, inner: u32, count: u32, padding_idx: i32, distinct: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(6) var<storage, read> offsets: array<i32>;
@group(0) @binding(7) var<storage, read> order: array<i32>;
@group(0) @binding(8) var<storage, read_write> links: array<i32>;
@group(0) @binding(9) var<storage, read> links_in: array<i32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// Element j of the table (src/ops/gather.ts rewrites this for an f16 table).
fn table_at(j: u32) -> f32 { return table[j]; }

// The table row that output row om = o * count + m copies: row ids[m] of slice o.
// Out-of-range ids are rejected on the CPU; the clamp keeps a GPU-made bad id inside the buffer.
fn source_row(om: u32) -> u32 {
  let m = om % p.count;
  let o = om / p.count;
  return o * p.rows + u32(clamp(ids[m], 0, i32(p.rows) - 1));
}

@compute @workgroup_size(256)
fn gather_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.outer * p.count * p.inner) { return; }
  out[i] = table_at(source_row(i / p.inner) * p.inner + i % p.inner);
}

// gather_forward_rows: the same, one workgroup of 64 per output row (o, m), for rows of >= 64
// (src/ops/gather.ts): the id is one uniform load per row and no index is divided per element.
@compute @workgroup_size(64)
fn gather_forward_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let om = wid.y * nwg.x + wid.x;
  if (om >= p.outer * p.count) { return; }
  let src = source_row(om);
  for (var k = lid.x; k < p.inner; k += 64u) { out[om * p.inner + k] = table_at(src * p.inner + k); }
}

// The same over vec4s, for rows whose length is a multiple of 4 (an f32 table; inner4 = inner / 4).
@group(0) @binding(10) var<storage, read> table4: array<vec4f>;
@group(0) @binding(11) var<storage, read_write> out4: array<vec4f>;

@compute @workgroup_size(64)
fn gather_forward_rows4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let om = wid.y * nwg.x + wid.x;
  if (om >= p.outer * p.count) { return; }
  let src = source_row(om);
  let inner4 = p.inner / 4u;
  for (var k = lid.x; k < inner4; k += 64u) { out4[om * inner4 + k] = table4[src * inner4 + k]; }
}

@compute @workgroup_size(256)
fn gather_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.outer * p.rows) { return; }
  let v = i % p.rows;
  let o = i / p.rows;
  let base = i * p.inner;
  for (var k = 0u; k < p.inner; k++) { dtable[base + k] = 0.0; }
  if (i32(v) == p.padding_idx) { return; }
  for (var m = 0u; m < p.count; m++) {
    if (ids[m] != i32(v)) { continue; }
    let src_row = (o * p.count + m) * p.inner;
    for (var k = 0u; k < p.inner; k++) { dtable[base + k] += g[src_row + k]; }
  }
}

@compute @workgroup_size(256)
fn gather_backward_sorted(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.outer * p.rows * p.inner) { return; }
  let k = i % p.inner;
  let v = (i / p.inner) % p.rows;
  let o = i / (p.inner * p.rows);
  var sum = 0.0;
  if (i32(v) != p.padding_idx) {
    for (var j = offsets[v]; j < offsets[v + 1u]; j++) {
      sum += g[(o * p.count + u32(order[j])) * p.inner + k];
    }
  }
  dtable[i] = sum;
}

@compute @workgroup_size(64)
fn gather_backward_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let u = wid.y * nwg.x + wid.x;
  if (u >= p.outer * p.distinct) { return; } // the whole workgroup: u is uniform
  let o = u / p.distinct;
  let d = u % p.distinct;
  let start = offsets[d];
  let end = offsets[d + 1u];
  let v = u32(ids[order[start]]);
  for (var k = lid.x; k < p.inner; k += 64u) {
    var sum = 0.0;
    for (var j = start; j < end; j++) { sum += g[(o * p.count + u32(order[j])) * p.inner + k]; }
    dtable[(o * p.rows + v) * p.inner + k] = sum;
  }
}

// gather_backward_links, then gather_backward_chains: links[m] = the next position with ids[m]'s
// id (count if none), plus SEEN if an earlier position has it; every invocation of a workgroup runs
// the same loop over all ids (uniform loads), each testing its own position.
const SEEN = 0x40000000;

@compute @workgroup_size(64)
fn gather_backward_links(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let group = wid.y * nwg.x + wid.x;
  if (group * 64u >= p.count) { return; } // the whole workgroup
  let m = group * 64u + lid.x;
  let mine = ids[min(m, p.count - 1u)];
  var seen = false;
  var next = p.count;
  for (var j = 0u; j < p.count; j++) {
    if (ids[j] == mine) {
      if (j < m) { seen = true; }
      if (j > m && next == p.count) { next = j; }
    }
  }
  if (m < p.count) { links[m] = i32(next) | select(0, SEEN, seen); }
}

// One workgroup per position m whose id appears there first: sums the gradient rows along its
// chain of positions (index order) into dtable, which the caller cleared.
@compute @workgroup_size(64)
fn gather_backward_chains(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m = wid.y * nwg.x + wid.x;
  if (m >= p.count) { return; } // the whole workgroup: m and everything read from ids / links are uniform
  let id = ids[m];
  // out of range only if made wrong on the GPU: its range check fails the next readback
  if ((links_in[m] & SEEN) != 0 || id == p.padding_idx || id < 0 || id >= i32(p.rows)) { return; }
  for (var o = 0u; o < p.outer; o++) {
    for (var k = lid.x; k < p.inner; k += 64u) {
      var sum = 0.0;
      var j = m;
      loop {
        sum += g[(o * p.count + j) * p.inner + k];
        j = u32(links_in[j] & (SEEN - 1));
        if (j >= p.count) { break; }
      }
      dtable[(o * p.rows + u32(id)) * p.inner + k] = sum;
    }
  }
}
