// out = cond != 0 ? a : b, all three broadcast to the output shape (strides 0 where broadcast).
struct Params {
  n: u32, rank: u32, pad0: u32, pad1: u32,
  shape_lo: vec4u, shape_hi: vec4u,
  c_lo: vec4u, c_hi: vec4u,
  a_lo: vec4u, a_hi: vec4u,
  b_lo: vec4u, b_hi: vec4u,
}

@group(0) @binding(0) var<storage, read> cond: array<i32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn pick(lo: vec4u, hi: vec4u, d: u32) -> u32 { return select(hi[d & 3u], lo[d & 3u], d < 4u); }
fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

@compute @workgroup_size(256)
fn where_(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  var rest = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let size = pick(p.shape_lo, p.shape_hi, du);
    let c = rest % size;
    rest = rest / size;
    ic += c * pick(p.c_lo, p.c_hi, du);
    ia += c * pick(p.a_lo, p.a_hi, du);
    ib += c * pick(p.b_lo, p.b_hi, du);
  }
  out[i] = select(b[ib], a[ia], cond[ic] != 0);
}
