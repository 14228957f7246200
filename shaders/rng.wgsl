// Random tensors from Philox4x32-10 (philox.wgsl): element i uses counter (i, offset, 0, 0) and
// key (seed_lo, seed_hi). uniform: a + (b - a) * u; normal: a + b * N(0, 1) (Box-Muller);
// bernoulli: 1 with probability a.
struct Params { n: u32, seed_lo: u32, seed_hi: u32, offset: u32, a: f32, b: f32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

@compute @workgroup_size(256)
fn rand_uniform(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let w = philox4x32(vec4u(i, p.offset, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  out[i] = p.a + (p.b - p.a) * philox_uniform(w.x);
}

@compute @workgroup_size(256)
fn rand_normal(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let w = philox4x32(vec4u(i, p.offset, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  let u1 = 1.0 - philox_uniform(w.x); // (0, 1]: log() stays finite
  let u2 = philox_uniform(w.y);
  out[i] = p.a + p.b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

@compute @workgroup_size(256)
fn rand_bernoulli(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let w = philox4x32(vec4u(i, p.offset, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  out[i] = select(0.0, 1.0, philox_uniform(w.x) < p.a);
}
