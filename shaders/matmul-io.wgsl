// Params, bindings, override constants and the addressing and store shared by matmul.wgsl and
// matmul-subgroup.wgsl (prepended to both by src/ops/matmul.ts, after gelu.wgsl).
//
// Addressing: product z of the batch is (z / heads, z % heads); operand X of it starts at
// off_x + (z / heads) * stride_x + (z % heads) * head_x, and its rows lie ld_x apart. Plain
// batched matrices have heads = 1, ld = their row length; attention reads one head's columns of
// a packed [B, T, 3H] projection in place (ld = 3H, head_x = head size) and writes the context
// straight into [B, T, H] rows, so no head split / merge copies are made.
struct Params {
  M: u32, N: u32, K: u32, alpha: f32,
  stride_a: u32, stride_b: u32, stride_c: u32, heads: u32,
  head_a: u32, head_b: u32, head_c: u32, lda: u32,
  ldb: u32, ldc: u32, off_a: u32, off_b: u32,
  off_c: u32, bias_off: u32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// [N] from bias_off, added to every row; without HAS_BIAS a 16-byte placeholder is bound and never read
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// With STORE_PRE: alpha * op(A) @ op(B) before the bias and GELU, laid out as C (what GELU's
// backward needs); otherwise a placeholder, never written
@group(0) @binding(5) var<storage, read_write> C_pre: array<f32>;
// With ROW_SUMS (the subgroup kernels only, batch 1): row_sums[m] = the sum over k of op(A)[m, k]
// (before alpha), from the loads the product makes anyway: a linear layer's bias gradient
// beside its weight's (op(A) = dY^T). Otherwise a placeholder, never written.
@group(0) @binding(6) var<storage, read_write> row_sums: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// C = gelu(alpha * acc + bias), the exact (erf) GELU: a linear layer and its activation in one dispatch
override GELU: bool = false;
override STORE_PRE: bool = false;
override ROW_SUMS: bool = false;

fn start_a(z: u32) -> u32 { return p.off_a + (z / p.heads) * p.stride_a + (z % p.heads) * p.head_a; }
fn start_b(z: u32) -> u32 { return p.off_b + (z / p.heads) * p.stride_b + (z % p.heads) * p.head_b; }
fn start_c(z: u32) -> u32 { return p.off_c + (z / p.heads) * p.stride_c + (z % p.heads) * p.head_c; }

// Strides of op(A) along m and k and of op(B) along k and n (TRANS_* are constants: they fold).
fn a_strides() -> vec2u { return select(vec2u(p.lda, 1u), vec2u(1u, p.lda), TRANS_A); }
fn b_strides() -> vec2u { return select(vec2u(p.ldb, 1u), vec2u(1u, p.ldb), TRANS_B); }

// NaN test on the bits: compilers may assume `v != v` is false (WGSL allows finite-math folding).
fn mm_is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }

// The output of column n at C[i]: alpha * acc (+ bias) (through GELU), and C_pre[i] with STORE_PRE.
fn store_out(i: u32, n: u32, acc: f32) {
  var v = p.alpha * acc;
  if (STORE_PRE) { C_pre[i] = v; }
  if (HAS_BIAS) { v += bias[p.bias_off + n]; }
  // some builtins (SwiftShader's exp(NaN) = inf) lose a NaN: pass it through as torch does
  if (GELU) { v = select(gelu_erf(v), v, mm_is_nan(v)); }
  C[i] = v;
}
