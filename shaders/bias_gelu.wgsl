// A linear layer's bias and exact GELU in one pass: y = gelu(x + bias[col]) over rows x cols
// (x is the bias-free matmul output). The backward writes dx = g * gelu'(x + bias) and sums it
// over the rows into dbias in the same kernel: one invocation per column walks every row.
struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// backward
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbias: array<f32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// NaN test on the bits: compilers may assume `v != v` is false (WGSL allows finite-math folding).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(256)
fn bias_gelu_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.rows * p.cols) { return; }
  let v = x[i] + bias[i % p.cols];
  // some builtins (SwiftShader's exp(NaN) = inf) lose a NaN: pass it through as torch does
  y[i] = select(gelu_erf(v), v, is_nan(v));
}

@compute @workgroup_size(256)
fn bias_gelu_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let j = index_of(wid, nwg, lid);
  if (j >= p.cols) { return; }
  let b = bias[j];
  var db = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let i = r * p.cols + j;
    let d = g[i] * gelu_erf_grad(x[i] + b);
    dx[i] = d;
    db += d;
  }
  dbias[j] = db;
}
