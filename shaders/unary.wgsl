// Elementwise functions y = f(x) (entry point per function) and their gradients dx = g * f'(x).
// The exact GELU comes from gelu.wgsl (shared with bias_gelu.wgsl).
// `alpha` is the scalar of pow / add / mul.
struct Params { n: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
// backward: dx = g * f'(x) (some use the saved output y instead of x)
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> saved_y: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

const SQRT_2_OVER_PI = 0.7978845608028654;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// NaN test on the bits: compilers may assume `v != v` is false (WGSL allows finite-math folding).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

// tanh that cannot overflow to NaN for large |v|, and keeps a NaN (clamp would turn it into -1).
fn tanh_(v: f32) -> f32 { return select(tanh(clamp(v, -15.0, 15.0)), v, is_nan(v)); } // clamp(NaN) is -15

fn gelu_tanh(v: f32) -> f32 { return 0.5 * v * (1.0 + tanh_(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))); }
fn sigmoid_(v: f32) -> f32 { return select(exp(v) / (1.0 + exp(v)), 1.0 / (1.0 + exp(-v)), v >= 0.0); }

// v^a for any sign of v when a is an integer (WGSL's pow() is undefined for v < 0);
// a negative base with a fractional exponent gives NaN, as in torch.
fn pow_signed(v: f32, a: f32) -> f32 {
  if (a == 0.0) { return 1.0; }
  if (a == 1.0) { return v; }
  if (a == 2.0) { return v * v; }
  let m = pow(abs(v), a);
  if (v >= 0.0) { return m; }
  if (fract(a) != 0.0) { return sqrt(v); }
  return select(m, -m, (abs(a) % 2.0) == 1.0);
}

override OP: u32 = 0u;
// 0 neg, 1 exp, 2 log, 3 sqrt, 4 rsqrt, 5 tanh, 6 relu, 7 sigmoid, 8 gelu (erf), 9 gelu (tanh),
// 10 pow(alpha), 11 x + alpha, 12 x * alpha, 13 abs
fn forward(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return sqrt(v); }
    case 4u: { return inverseSqrt(v); }
    case 5u: { return tanh_(v); }
    case 6u: { return select(max(v, 0.0), v, is_nan(v)); } // max(NaN, 0) may be 0; torch keeps NaN
    case 7u: { return sigmoid_(v); }
    case 8u: { return gelu_erf(v); }
    case 9u: { return gelu_tanh(v); }
    case 10u: { return pow_signed(v, p.alpha); }
    case 11u: { return v + p.alpha; }
    case 12u: { return v * p.alpha; }
    default: { return abs(v); }
  }
}

fn derivative(v: f32, out: f32) -> f32 {
  switch OP {
    case 0u: { return -1.0; }
    case 1u: { return out; }
    case 2u: { return 1.0 / v; }
    case 3u: { return 0.5 / out; }
    case 4u: { return -0.5 * out * out * out; }
    case 5u: { return 1.0 - out * out; }
    case 6u: { return select(0.0, 1.0, v > 0.0); }
    case 7u: { return out * (1.0 - out); }
    case 8u: { return gelu_erf_grad(v); }
    case 9u: {
      let u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
      let t = tanh_(u);
      return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
    }
    case 10u: { return select(p.alpha * pow_signed(v, p.alpha - 1.0), 0.0, p.alpha == 0.0); }
    case 11u: { return 1.0; }
    case 12u: { return p.alpha; }
    default: { return sign(v); }
  }
}

@compute @workgroup_size(256)
fn unary_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  // every function here maps NaN to NaN in torch (pow(NaN, 0) = 1 aside); builtins such as
  // SwiftShader's exp(NaN) = inf do not, so the NaN is passed through explicitly
  y[i] = select(forward(v), v, is_nan(v) && !(OP == 10u && p.alpha == 0.0));
}

@compute @workgroup_size(256)
fn unary_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  dx[i] = g[i] * derivative(x[i], saved_y[i]);
}
