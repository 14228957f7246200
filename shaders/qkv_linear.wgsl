// The fused QKV projection's packing (src/ops/qkv-linear.ts): query / key / value's weights (n
// elements each) and then their biases (m each) laid end to end in one buffer, packed from the
// three Linear layers' own parameters each forward, and their gradients split back out of the
// packed weight and bias gradients in one pass.
struct Params { n: u32, m: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> bias_a: array<f32>;
@group(0) @binding(6) var<storage, read> bias_b: array<f32>;
@group(0) @binding(7) var<storage, read> bias_c: array<f32>;
// backward
@group(0) @binding(8) var<storage, read> g: array<f32>;
@group(0) @binding(9) var<storage, read> g_bias: array<f32>;
@group(0) @binding(10) var<storage, read_write> da: array<f32>;
@group(0) @binding(11) var<storage, read_write> db: array<f32>;
@group(0) @binding(12) var<storage, read_write> dc: array<f32>;
@group(0) @binding(13) var<storage, read_write> d_bias_a: array<f32>;
@group(0) @binding(14) var<storage, read_write> d_bias_b: array<f32>;
@group(0) @binding(15) var<storage, read_write> d_bias_c: array<f32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// out = [a; b; c; bias_a; bias_b; bias_c] (3n + 3m elements; m <= n)
@compute @workgroup_size(256)
fn pack_qkv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  out[i] = a[i];
  out[p.n + i] = b[i];
  out[2u * p.n + i] = c[i];
  if (i < p.m) {
    let o = 3u * p.n;
    out[o + i] = bias_a[i];
    out[o + p.m + i] = bias_b[i];
    out[o + 2u * p.m + i] = bias_c[i];
  }
}

// g [3n] and g_bias [3m] split into da, db, dc and d_bias_a, d_bias_b, d_bias_c
@compute @workgroup_size(256)
fn unpack_qkv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  da[i] = g[i];
  db[i] = g[p.n + i];
  dc[i] = g[2u * p.n + i];
  if (i < p.m) {
    d_bias_a[i] = g_bias[i];
    d_bias_b[i] = g_bias[p.m + i];
    d_bias_c[i] = g_bias[2u * p.m + i];
  }
}
