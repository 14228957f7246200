// Exact (erf) GELU, Hugging Face's "gelu", and its derivative; included by unary.wgsl and
// bias_gelu.wgsl (no bindings here).
const SQRT1_2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit): accurate to f32.
fn erf_(v: f32) -> f32 {
  let z = abs(v);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, v >= 0.0);
}

fn gelu_erf(v: f32) -> f32 { return 0.5 * v * (1.0 + erf_(v * SQRT1_2)); }
fn gelu_erf_grad(v: f32) -> f32 { return 0.5 * (1.0 + erf_(v * SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v); }
