// AdamW (torch.optim.AdamW's single-tensor update) and the global gradient norm it clips by.
//
// grad_sumsq_many (below): for up to 7 gradients per dispatch, each workgroup sums
//   (g * grad_scale)^2 over a grid-stride slice of one gradient and writes one partial.
// grad_norm_finalize: one workgroup sums every partial: norm = sqrt(total) / loss scale (the
//   gradients carry the loss scale: 1 without one); clip coefficient min(1, max_norm / (norm +
//   1e-6)) as torch.nn.utils.clip_grad_norm_ (1 when max_norm <= 0), divided by the loss scale so
//   adamw applies unscaled, clipped gradients; a non-finite norm sets the skip flag (and counts the
//   skipped step), which makes adamw a no-op. With a dynamic loss scale it then updates the scale
//   as torch's GradScaler.update: times backoff_factor after a non-finite step, times
//   growth_factor after growth_interval finite ones in a row.
// adamw: one invocation per element of one parameter tensor; its moments live at
//   `offset` in the flat m / v buffers. Scalars that depend on the step (lr, bias corrections)
//   come from the CPU in the uniform. adamw_pair (below) does the same for two tensors at once.
struct FinalizeParams {
  slots: u32, max_norm: f32, dynamic: u32, growth_interval: u32,
  growth_factor: f32, backoff_factor: f32, pad0: u32, pad1: u32,
}
struct AdamParams {
  n: u32, offset: u32, grad_scale: f32, decay: f32,   // decay = 1 - lr * weight_decay
  beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32,
  step_size: f32, bc2_sqrt: f32, eps: f32, pad0: u32, // step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t)
}

@group(0) @binding(0) var<storage, read> g: array<f32>;

@group(0) @binding(3) var<storage, read> partials_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> norm: array<f32>;      // [1]: the global norm
@group(0) @binding(5) var<storage, read_write> clip: array<f32>;      // [2]: coefficient, skip flag
@group(0) @binding(6) var<storage, read_write> skipped: array<i32>;   // [1]: steps skipped so far
@group(0) @binding(7) var<uniform> fp: FinalizeParams;
@group(0) @binding(30) var<storage, read_write> loss_scale: array<f32>;    // [1]: the scale this step's gradients carry
@group(0) @binding(31) var<storage, read_write> growth_tracker: array<i32>; // [1]: finite steps since the scale last changed

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
    let scale = loss_scale[0];
    let n = sqrt(total) / scale;
    norm[0] = n;
    // Exponent bits all ones = inf or NaN (a bit test, safe under fast-math compilers).
    let finite = (bitcast<u32>(n) & 0x7f800000u) != 0x7f800000u;
    var coef = 1.0;
    if (fp.max_norm > 0.0) { coef = min(1.0, fp.max_norm / (n + 1e-6)); }
    clip[0] = select(0.0, coef / scale, finite);
    clip[1] = select(1.0, 0.0, finite);
    if (!finite) { skipped[0] = skipped[0] + 1; }
    if (fp.dynamic != 0u) {
      if (!finite) {
        loss_scale[0] = scale * fp.backoff_factor;
        growth_tracker[0] = 0;
      } else if (growth_tracker[0] + 1 >= i32(fp.growth_interval)) {
        loss_scale[0] = scale * fp.growth_factor;
        growth_tracker[0] = 0;
      } else {
        growth_tracker[0] = growth_tracker[0] + 1;
      }
    }
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

// ---- grouped variants: fewer dispatches per step, the same arithmetic ----
// grad_sumsq_many: up to 7 gradients per dispatch (7 read bindings + partials = 8, the per-stage
// storage-buffer count WebGPU guarantees). Workgroup (x, y) sums gradient y's elements x*WG + lid
// + j*k*WG (Kahan, then a tree) into its partial x; an earlier one-gradient-per-dispatch kernel did
// exactly this, and the parameters after three clipped steps hash the same as with it.
struct SumsqManyParams {
  count: u32, grad_scale: f32, pad0: u32, pad1: u32,
  n_lo: vec4<u32>, n_hi: vec4<u32>,       // element counts of gradients 0-3, 4-6
  slot_lo: vec4<u32>, slot_hi: vec4<u32>, // first partial of each
  k_lo: vec4<u32>, k_hi: vec4<u32>,       // partials (workgroups) of each
}

@group(0) @binding(13) var<storage, read> g0: array<f32>;
@group(0) @binding(14) var<storage, read> g1: array<f32>;
@group(0) @binding(15) var<storage, read> g2: array<f32>;
@group(0) @binding(16) var<storage, read> g3: array<f32>;
@group(0) @binding(17) var<storage, read> g4: array<f32>;
@group(0) @binding(18) var<storage, read> g5: array<f32>;
@group(0) @binding(19) var<storage, read> g6: array<f32>;
@group(0) @binding(20) var<storage, read_write> partials_many: array<f32>;
@group(0) @binding(21) var<uniform> smp: SumsqManyParams;

fn lane(lo: vec4<u32>, hi: vec4<u32>, y: u32) -> u32 {
  if (y < 4u) { return lo[y]; }
  return hi[y - 4u];
}

// s += (value * grad_scale)^2, Kahan-compensated by c
fn add_square(s: ptr<function, f32>, c: ptr<function, f32>, value: f32) {
  let x = value * smp.grad_scale;
  let yk = x * x - *c;
  let t = *s + yk;
  *c = (t - *s) - yk;
  *s = t;
}

// Dispatched as [max k, count, 1] workgroups.
@compute @workgroup_size(256)
fn grad_sumsq_many(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let y = wid.y;
  let k = lane(smp.k_lo, smp.k_hi, y);
  // whole workgroups leave together, so the barriers below stay in uniform control flow
  if (y >= smp.count || wid.x >= k) { return; }
  let n = lane(smp.n_lo, smp.n_hi, y);
  let stride = k * WG;
  var s = 0.0;
  var c = 0.0;
  let i0 = wid.x * WG + lid.x;
  // one loop per binding, chosen once (y is uniform): a switch inside the loop costs lavapipe ~3x
  switch y {
    case 0u: { for (var i = i0; i < n; i += stride) { add_square(&s, &c, g0[i]); } }
    case 1u: { for (var i = i0; i < n; i += stride) { add_square(&s, &c, g1[i]); } }
    case 2u: { for (var i = i0; i < n; i += stride) { add_square(&s, &c, g2[i]); } }
    case 3u: { for (var i = i0; i < n; i += stride) { add_square(&s, &c, g3[i]); } }
    case 4u: { for (var i = i0; i < n; i += stride) { add_square(&s, &c, g4[i]); } }
    case 5u: { for (var i = i0; i < n; i += stride) { add_square(&s, &c, g5[i]); } }
    default: { for (var i = i0; i < n; i += stride) { add_square(&s, &c, g6[i]); } }
  }
  sh[lid.x] = s;
  let total = tree_sum(lid.x);
  if (lid.x == 0u) { partials_many[lane(smp.slot_lo, smp.slot_hi, y) + wid.x] = total; }
}

// grad_sumsq_many4: the same over the gradients read as vec4s (buffers of whole vec4s; elements
// past n masked), one load per 4 elements (lavapipe: ~2x). Workgroup (x, y) takes gradient y's
// vectors x*WG + lid + j*k*WG; its k counts vectors, not elements.
@group(0) @binding(32) var<storage, read> h0: array<vec4f>;
@group(0) @binding(33) var<storage, read> h1: array<vec4f>;
@group(0) @binding(34) var<storage, read> h2: array<vec4f>;
@group(0) @binding(35) var<storage, read> h3: array<vec4f>;
@group(0) @binding(36) var<storage, read> h4: array<vec4f>;
@group(0) @binding(37) var<storage, read> h5: array<vec4f>;
@group(0) @binding(38) var<storage, read> h6: array<vec4f>;

// s += (value * grad_scale)^2 per component, Kahan-compensated by c, for the elements below n
fn add_square4(s: ptr<function, vec4f>, c: ptr<function, vec4f>, q: u32, n: u32, value: vec4f) {
  let inside = (vec4u(4u * q) + vec4u(0u, 1u, 2u, 3u)) < vec4u(n);
  let x = select(vec4f(0.0), value * smp.grad_scale, inside);
  let yk = x * x - *c;
  let t = *s + yk;
  *c = (t - *s) - yk;
  *s = t;
}

@compute @workgroup_size(256)
fn grad_sumsq_many4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let y = wid.y;
  let k = lane(smp.k_lo, smp.k_hi, y);
  if (y >= smp.count || wid.x >= k) { return; }
  let n = lane(smp.n_lo, smp.n_hi, y);
  let n4 = (n + 3u) / 4u;
  let stride = k * WG;
  var s = vec4f(0.0);
  var c = vec4f(0.0);
  let q0 = wid.x * WG + lid.x;
  switch y {
    case 0u: { for (var q = q0; q < n4; q += stride) { add_square4(&s, &c, q, n, h0[q]); } }
    case 1u: { for (var q = q0; q < n4; q += stride) { add_square4(&s, &c, q, n, h1[q]); } }
    case 2u: { for (var q = q0; q < n4; q += stride) { add_square4(&s, &c, q, n, h2[q]); } }
    case 3u: { for (var q = q0; q < n4; q += stride) { add_square4(&s, &c, q, n, h3[q]); } }
    case 4u: { for (var q = q0; q < n4; q += stride) { add_square4(&s, &c, q, n, h4[q]); } }
    case 5u: { for (var q = q0; q < n4; q += stride) { add_square4(&s, &c, q, n, h5[q]); } }
    default: { for (var q = q0; q < n4; q += stride) { add_square4(&s, &c, q, n, h6[q]); } }
  }
  sh[lid.x] = (s.x + s.y) + (s.z + s.w);
  let total = tree_sum(lid.x);
  if (lid.x == 0u) { partials_many[lane(smp.slot_lo, smp.slot_hi, y) + wid.x] = total; }
}

// adamw_pair: two parameter tensors (whose moments share one m / v chunk) in one dispatch;
// invocation i < n0 updates the first at i, the rest the second at i - n0, with adamw's arithmetic.
struct AdamPairParams {
  n0: u32, n1: u32, offset0: u32, offset1: u32,
  decay0: f32, decay1: f32, step_size0: f32, step_size1: f32,
  bc2_sqrt0: f32, bc2_sqrt1: f32, grad_scale: f32, eps: f32,
  beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32,
}

@group(0) @binding(22) var<storage, read_write> pa: array<f32>;
@group(0) @binding(23) var<storage, read> ga: array<f32>;
@group(0) @binding(24) var<storage, read_write> pb: array<f32>;
@group(0) @binding(25) var<storage, read> gb: array<f32>;
@group(0) @binding(26) var<storage, read_write> m2: array<f32>;
@group(0) @binding(27) var<storage, read_write> v2: array<f32>;
@group(0) @binding(28) var<storage, read> clip2: array<f32>;
@group(0) @binding(29) var<uniform> ap2: AdamPairParams;

@compute @workgroup_size(256)
fn adamw_pair(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= ap2.n0 + ap2.n1 || clip2[1] != 0.0) { return; }
  let first = i < ap2.n0;
  let e = select(i - ap2.n0, i, first);
  var grad: f32;
  var pv: f32;
  if (first) { grad = ga[e]; pv = pa[e]; } else { grad = gb[e]; pv = pb[e]; }
  let gi = grad * ap2.grad_scale * clip2[0];
  let j = select(ap2.offset1, ap2.offset0, first) + e;
  let param = pv * select(ap2.decay1, ap2.decay0, first);
  let mi = m2[j] * ap2.beta1 + gi * ap2.one_minus_beta1;
  let vi = v2[j] * ap2.beta2 + ap2.one_minus_beta2 * gi * gi;
  m2[j] = mi;
  v2[j] = vi;
  let denom = sqrt(vi) / select(ap2.bc2_sqrt1, ap2.bc2_sqrt0, first) + ap2.eps;
  let updated = param - select(ap2.step_size1, ap2.step_size0, first) * (mi / denom);
  if (first) { pa[e] = updated; } else { pb[e] = updated; }
}

// adamw_pair4: adamw_pair four elements per invocation (lavapipe streams vec4 loads ~1.7x faster
// than scalar ones), for tensors whose sizes and moment offsets are multiples of 4; the same
// arithmetic per element. The first tensor's elements take whole workgroups, the second's start at
// the next one, so which tensor a workgroup updates is uniform in it. n1 = 0 updates one tensor.
@group(0) @binding(32) var<storage, read_write> pa4: array<vec4f>;
@group(0) @binding(33) var<storage, read> ga4: array<vec4f>;
@group(0) @binding(34) var<storage, read_write> pb4: array<vec4f>;
@group(0) @binding(35) var<storage, read> gb4: array<vec4f>;
@group(0) @binding(36) var<storage, read_write> m4: array<vec4f>;
@group(0) @binding(37) var<storage, read_write> v4: array<vec4f>;

@compute @workgroup_size(256)
fn adamw_pair4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let group = wid.y * nwg.x + wid.x;
  let groups0 = (ap2.n0 / 4u + WG - 1u) / WG;
  let first = group < groups0;
  let e = select(group - groups0, group, first) * WG + lid.x;
  if (e >= select(ap2.n1, ap2.n0, first) / 4u || clip2[1] != 0.0) { return; }
  var grad: vec4f;
  var pv: vec4f;
  if (first) { grad = ga4[e]; pv = pa4[e]; } else { grad = gb4[e]; pv = pb4[e]; }
  let gi = grad * ap2.grad_scale * clip2[0];
  let j = select(ap2.offset1, ap2.offset0, first) / 4u + e;
  let param = pv * select(ap2.decay1, ap2.decay0, first);
  let mi = m4[j] * ap2.beta1 + gi * ap2.one_minus_beta1;
  let vi = v4[j] * ap2.beta2 + ap2.one_minus_beta2 * gi * gi;
  m4[j] = mi;
  v4[j] = vi;
  let denom = sqrt(vi) / select(ap2.bc2_sqrt1, ap2.bc2_sqrt0, first) + ap2.eps;
  let updated = param - select(ap2.step_size1, ap2.step_size0, first) * (mi / denom);
  if (first) { pa4[e] = updated; } else { pb4[e] = updated; }
}
