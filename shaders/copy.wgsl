// Strided copy: for every index c of a region of shape `shape`,
// dst[dst_offset + sum(c_d * dst_stride_d)] = src[src_offset + sum(c_d * src_stride_d)].
// Serves permute/transpose, slice, concat, expand (stride 0) and contiguous copies.
struct Params {
  n: u32, rank: u32, src_offset: u32, dst_offset: u32,
  shape_lo: vec4u, shape_hi: vec4u,
  src_lo: vec4u, src_hi: vec4u,
  dst_lo: vec4u, dst_hi: vec4u,
}

@group(0) @binding(0) var<storage, read> src_f32: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst_f32: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> src_i32: array<i32>;
@group(0) @binding(4) var<storage, read_write> dst_i32: array<i32>;

fn pick(lo: vec4u, hi: vec4u, d: u32) -> u32 { return select(hi[d & 3u], lo[d & 3u], d < 4u); }
fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

fn offsets(i: u32) -> vec2u {
  var rest = i;
  var s = p.src_offset;
  var t = p.dst_offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let size = pick(p.shape_lo, p.shape_hi, du);
    let c = rest % size;
    rest = rest / size;
    s += c * pick(p.src_lo, p.src_hi, du);
    t += c * pick(p.dst_lo, p.dst_hi, du);
  }
  return vec2u(s, t);
}

@compute @workgroup_size(256)
fn copy_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let o = offsets(i);
  dst_f32[o.y] = src_f32[o.x];
}

@compute @workgroup_size(256)
fn copy_i32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let o = offsets(i);
  dst_i32[o.y] = src_i32[o.x];
}
