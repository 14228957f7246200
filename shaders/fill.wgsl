// Fills a tensor with a constant, or with start + i * step (arange).
struct Params { n: u32, value: f32, step: f32 }

@group(0) @binding(0) var<storage, read_write> out_f32: array<f32>;
@group(0) @binding(1) var<storage, read_write> out_i32: array<i32>;
@group(0) @binding(2) var<uniform> p: Params;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

@compute @workgroup_size(256)
fn fill_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  out_f32[i] = p.value + f32(i) * p.step;
}

@compute @workgroup_size(256)
fn fill_i32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  out_i32[i] = i32(p.value) + i32(i) * i32(p.step);
}
