// Three tensors of n elements each laid end to end ([a; b; c], 3n elements) in one pass, and the
// backward's split of the gradient into its three parts in one pass: the fused QKV projection's
// weight and bias from query / key / value's own parameters, each step.
struct Params { n: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
// backward
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read_write> da: array<f32>;
@group(0) @binding(7) var<storage, read_write> db: array<f32>;
@group(0) @binding(8) var<storage, read_write> dc: array<f32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

@compute @workgroup_size(256)
fn concat3_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  out[i] = a[i];
  out[p.n + i] = b[i];
  out[2u * p.n + i] = c[i];
}

@compute @workgroup_size(256)
fn concat3_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  da[i] = g[i];
  db[i] = g[p.n + i];
  dc[i] = g[2u * p.n + i];
}
