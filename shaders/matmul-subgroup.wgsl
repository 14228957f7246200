// matmul_subgroup: C[b] = alpha * op(A[b]) @ op(B[b]) (+ bias), the same product as matmul.wgsl
// (same Params, bindings and override constants) for CPU Vulkan drivers, whose subgroups are SG
// SIMD lanes (lavapipe 8, SwiftShader 4). On lavapipe (Mesa 25.0) every storage load inside a
// loop is a per-lane scalar load with a mask and a bounds branch per lane, far dearer than an
// FMA, while a subgroupBroadcast is a register shuffle. So each lane loads one row of op(A) per
// SG rows and the broadcasts hand every lane all of them: per k, 4 + 8 per-lane loads feed
// 4 SG x 8 FMAs in each lane. A workgroup is one subgroup; it covers RG SG rows x 8 SG columns,
// lane l the columns col0 + l + SG j (j < 8). RG = 4 here; src/ops/matmul.ts also builds it with
// RG = 8 (matmul_subgroup_tall: 8 + 8 loads per 512 FMAs, 512 accumulators per lane), which ran
// 1.05-1.3x the 4-group kernel on most of a BERT step's products on lavapipe (src/runtime.ts). Used only where the adapter's subgroup size is
// fixed at 4 or 8 (the runtime checks and passes it as SG). With ROW_SUMS it also writes op(A)'s
// row sums (matmul-io.wgsl).
// src/ops/matmul.ts prepends `enable subgroups;`, subgroup-lanes.wgsl (lanes_of), gelu.wgsl and
// matmul-io.wgsl (Params, bindings, constants, addressing and the store).

// Lanes per subgroup = invocations per workgroup: 4 or 8.
override SG: u32 = 8u;

const SN = 8u; // columns per lane
// Row groups of SG rows per workgroup: 4, or 8 in the tall variant (src/ops/matmul.ts rewrites it).
const RG = 4u;
const SG_MAX = 8u;
const ACC = RG * SG_MAX * SN; // accumulators per lane

// acc[(base + l) * SN + j] += (lane l's a) * b[j] for the SG lanes l (SG is a constant: the
// upper half folds away for SG = 4, and every index is a constant once the loops unroll).
fn rows(acc: ptr<function, array<f32, ACC>>, base: u32, a: f32, b: ptr<function, array<f32, SN>>) {
  let x = lanes_of(a);
  for (var l = 0u; l < SG; l++) {
    for (var j = 0u; j < SN; j++) { (*acc)[(base + l) * SN + j] = fma(x[l], (*b)[j], (*acc)[(base + l) * SN + j]); }
  }
}

@compute @workgroup_size(SG)
fn matmul_subgroup(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let row0 = wid.y * RG * SG;
  let col0 = wid.x * SG * SN;
  let batch = wid.z;
  let sa = a_strides();
  let sb = b_strides();
  // Lane l loads rows row0 + SG g + l (g < RG) and columns col0 + l + SG j, clamped inside the
  // matrix: what lies past an edge is computed and never stored.
  let base_a = start_a(batch);
  let a0 = base_a + min(row0 + lane, p.M - 1u) * sa.x;
  let a1 = base_a + min(row0 + SG + lane, p.M - 1u) * sa.x;
  let a2 = base_a + min(row0 + 2u * SG + lane, p.M - 1u) * sa.x;
  let a3 = base_a + min(row0 + 3u * SG + lane, p.M - 1u) * sa.x;
  let a4 = base_a + min(row0 + 4u * SG + lane, p.M - 1u) * sa.x; // a4 .. a7: RG = 8 only
  let a5 = base_a + min(row0 + 5u * SG + lane, p.M - 1u) * sa.x;
  let a6 = base_a + min(row0 + 6u * SG + lane, p.M - 1u) * sa.x;
  let a7 = base_a + min(row0 + 7u * SG + lane, p.M - 1u) * sa.x;
  var bo: array<u32, SN>;
  for (var j = 0u; j < SN; j++) { bo[j] = start_b(batch) + min(col0 + lane + SG * j, p.N - 1u) * sb.y; }
  var acc: array<f32, ACC>;
  // with ROW_SUMS: this lane's rows row0 + SG g + lane summed over k (g < 4; sums_hi g - 4)
  var sums = vec4f(0.0);
  var sums_hi = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let ka = k * sa.y;
    let kb = k * sb.x;
    var b: array<f32, SN>;
    for (var j = 0u; j < SN; j++) { b[j] = B[bo[j] + kb]; }
    let x0 = A[a0 + ka];
    let x1 = A[a1 + ka];
    let x2 = A[a2 + ka];
    let x3 = A[a3 + ka];
    rows(&acc, 0u, x0, &b);
    rows(&acc, SG, x1, &b);
    rows(&acc, 2u * SG, x2, &b);
    rows(&acc, 3u * SG, x3, &b);
    if (ROW_SUMS) { sums += vec4f(x0, x1, x2, x3); }
    if (RG == 8u) {
      let x4 = A[a4 + ka];
      let x5 = A[a5 + ka];
      let x6 = A[a6 + ka];
      let x7 = A[a7 + ka];
      rows(&acc, 4u * SG, x4, &b);
      rows(&acc, 5u * SG, x5, &b);
      rows(&acc, 6u * SG, x6, &b);
      rows(&acc, 7u * SG, x7, &b);
      if (ROW_SUMS) { sums_hi += vec4f(x4, x5, x6, x7); }
    }
  }
  // the workgroups of the first column block write the row sums (rows past M were clamped copies)
  if (ROW_SUMS && wid.x == 0u) {
    for (var g = 0u; g < RG; g++) {
      let r = row0 + g * SG + lane;
      if (r < p.M) { row_sums[r] = select(sums_hi[g % 4u], sums[g % 4u], g < 4u); }
    }
  }
  let base_c = start_c(batch);
  for (var j = 0u; j < SN; j++) {
    let c = col0 + lane + SG * j;
    if (c < p.N) {
      for (var r = 0u; r < RG * SG; r++) {
        if (row0 + r < p.M) { store_out(base_c + (row0 + r) * p.ldc + c, c, acc[r * SN + j]); }
      }
    }
  }
}
