// Binary cross-entropy with logits, per-element weights (as torch's BCEWithLogitsLoss):
// loss_i = w_i * (max(x, 0) - x * y + log(1 + exp(-|x|)));  dx_i = w_i * (sigmoid(x) - y) * factor[0].
struct Params { n: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> factor: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

@compute @workgroup_size(256)
fn bce_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  loss[i] = weight[i] * (max(v, 0.0) - v * labels[i] + log(1.0 + exp(-abs(v))));
}

@compute @workgroup_size(256)
fn bce_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  let s = select(exp(v) / (1.0 + exp(v)), 1.0 / (1.0 + exp(-v)), v >= 0.0);
  dx[i] = weight[i] * (s - labels[i]) * factor[0];
}
