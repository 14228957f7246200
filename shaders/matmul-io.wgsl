// Params, bindings and override constants shared by matmul.wgsl and matmul-subgroup.wgsl
// (prepended to both by src/ops/matmul.ts).
struct Params { M: u32, N: u32, K: u32, alpha: f32, stride_a: u32, stride_b: u32, stride_c: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// [N], added to every row; without HAS_BIAS a 16-byte placeholder is bound and never read
@group(0) @binding(4) var<storage, read> bias: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
