// AdamW (torch.optim.AdamW's single-tensor update) and the global gradient norm it clips by.
//
// grad_sumsq: per parameter tensor, each workgroup sums (g * grad_scale)^2 over a grid-stride
//   slice and writes one partial into `partials[slot + wid.x]`.
// grad_norm_finalize: one workgroup sums every partial: norm = sqrt(total); clip coefficient
//   min(1, max_norm / (norm + 1e-6)) as torch.nn.utils.clip_grad_norm_ (1 when max_norm <= 0);
//   a non-finite norm sets the skip flag (and counts the skipped step), which makes adamw a no-op.
// adamw: one invocation per element of one parameter tensor; its moments live at
//   `offset` in the flat m / v buffers. Scalars that depend on the step (lr, bias corrections)
//   come from the CPU in the uniform.
struct SumsqParams { n: u32, slot: u32, grad_scale: f32, pad0: u32 }
struct FinalizeParams { slots: u32, max_norm: f32, pad0: u32, pad1: u32 }
struct AdamParams {
  n: u32, offset: u32, grad_scale: f32, decay: f32,   // decay = 1 - lr * weight_decay
  beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32,
  step_size: f32, bc2_sqrt: f32, eps: f32, pad0: u32, // step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t)
}

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> sp: SumsqParams;

@group(0) @binding(3) var<storage, read> partials_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> norm: array<f32>;      // [1]: the global norm
@group(0) @binding(5) var<storage, read_write> clip: array<f32>;      // [2]: coefficient, skip flag
@group(0) @binding(6) var<storage, read_write> skipped: array<i32>;   // [1]: steps skipped so far
@group(0) @binding(7) var<uniform> fp: FinalizeParams;

@group(0) @binding(8) var<storage, read_write> p: array<f32>;
@group(0) @binding(9) var<storage, read_write> m: array<f32>;
@group(0) @binding(10) var<storage, read_write> v: array<f32>;
@group(0) @binding(11) var<storage, read> clip_in: array<f32>;
@group(0) @binding(12) var<uniform> ap: AdamParams;

const WG = 256u;
var<workgroup> sh: array<f32, WG>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * WG + lid.x; }

fn tree_sum(lid: u32) -> f32 {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { sh[lid] = sh[lid] + sh[lid + s]; }
    workgroupBarrier();
  }
  return sh[0];
}

// Dispatched as [k, 1, 1] workgroups; workgroup w covers elements w*WG + lid + j*k*WG.
@compute @workgroup_size(256)
fn grad_sumsq(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let stride = nwg.x * WG;
  var s = 0.0;
  var c = 0.0; // Kahan: long slices stay accurate in f32
  for (var i = wid.x * WG + lid.x; i < sp.n; i += stride) {
    let x = g[i] * sp.grad_scale;
    let y = x * x - c;
    let t = s + y;
    c = (t - s) - y;
    s = t;
  }
  sh[lid.x] = s;
  let total = tree_sum(lid.x);
  if (lid.x == 0u) { partials[sp.slot + wid.x] = total; }
}

@compute @workgroup_size(256)
fn grad_norm_finalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  var s = 0.0;
  var c = 0.0;
  for (var i = lid.x; i < fp.slots; i += WG) {
    let y = partials_in[i] - c;
    let t = s + y;
    c = (t - s) - y;
    s = t;
  }
  sh[lid.x] = s;
  let total = tree_sum(lid.x);
  if (lid.x == 0u) {
    let n = sqrt(total);
    norm[0] = n;
    // Exponent bits all ones = inf or NaN (a bit test, safe under fast-math compilers).
    let finite = (bitcast<u32>(n) & 0x7f800000u) != 0x7f800000u;
    var coef = 1.0;
    if (fp.max_norm > 0.0) { coef = min(1.0, fp.max_norm / (n + 1e-6)); }
    clip[0] = select(0.0, coef, finite);
    clip[1] = select(1.0, 0.0, finite);
    if (!finite) { skipped[0] = skipped[0] + 1; }
  }
}

@compute @workgroup_size(256)
fn adamw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= ap.n || clip_in[1] != 0.0) { return; }
  let gi = g[i] * ap.grad_scale * clip_in[0];
  let j = ap.offset + i;
  let param = p[i] * ap.decay;
  let mi = m[j] * ap.beta1 + gi * ap.one_minus_beta1;
  let vi = v[j] * ap.beta2 + ap.one_minus_beta2 * gi * gi;
  m[j] = mi;
  v[j] = vi;
  let denom = sqrt(vi) / ap.bc2_sqrt + ap.eps;
  p[i] = param - ap.step_size * (mi / denom);
}
