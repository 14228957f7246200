// matmul_subgroup4: C[b] = alpha * op(A[b]) @ op(B[b]) (+ bias), the product of matmul.wgsl and
// matmul-subgroup.wgsl (same Params, bindings and override constants, A and B read as
// array<vec4f>) for lavapipe-like CPU drivers. Same scheme as matmul_subgroup (lanes load, then
// subgroupBroadcast hands every lane the rows of op(A)), with every load a vec4 along the
// operand's contiguous axis: lavapipe runs a storage load as a per-lane loop, and a vec4 costs
// ~2.3x a scalar load there for 4x the values (2026-12-04, Mesa 25.0, 2-core AMD EPYC). Per 4 k,
// 4 + 8 vec4 loads feed 4 x 32 rows x 8 columns of FMAs in each lane, against 16 + 32 scalar
// loads in matmul_subgroup. That bought less than the loads' count says: 1.17-1.38x
// matmul_subgroup on op(B) = B^T with K >= 512 (the x W^T of a linear layer), parity at K = 128,
// 0.8-1.0x on the other layouts (bench/matmul.mjs), so the runtime times both per shape class.
// RG (row groups of SG rows per workgroup) is 4 here; src/ops/matmul.ts also builds it with 8
// (matmul_subgroup4_tall: twice the FMAs per B load, 512 accumulators per lane), which ran
// 1.08-1.12x the 4-group kernel on B^T with K = 1024 and lost on the other layouts.
// Needs every row stride, offset and batch / head stride of A and B a multiple of 4 and both
// buffers a multiple of 16 bytes (src/ops/matmul.ts checks, else uses matmul_subgroup); M, N
// and K are free: what lies past an edge is read and never stored, and with K_TAIL the values
// of the last step past K are zeroed. With ROW_SUMS it also writes op(A)'s row sums (matmul-io.wgsl).
// src/ops/matmul.ts prepends `enable subgroups;`, subgroup-lanes.wgsl (lanes_of), gelu.wgsl and
// matmul-io.wgsl (with A and B declared array<vec4f>).

// Lanes per subgroup = invocations per workgroup: 4 or 8.
override SG: u32 = 8u;
// K % 4 != 0: the values of the last step past K are read as zeros
override K_TAIL: bool = false;

const SN = 8u; // columns per lane
// Row groups of SG rows per workgroup: 4, or 8 in the tall variant (src/ops/matmul.ts rewrites it).
const RG = 4u;
const SG_MAX = 8u;
const ACC = RG * SG_MAX * SN; // accumulators per lane

// The row (of the workgroup's RG SG) that lane l's value of row group g holds.
fn row_of(l: u32, g: u32) -> u32 { return select(SG * g + l, RG * l + g, TRANS_A); }

// acc[row_of(l, g) * SN + j] += (lane l's a) * b[j] for the SG lanes l.
fn rows4(acc: ptr<function, array<f32, ACC>>, g: u32, a: f32, b: ptr<function, array<f32, SN>>) {
  let x = lanes_of(a);
  for (var l = 0u; l < SG; l++) {
    let r = row_of(l, g);
    for (var j = 0u; j < SN; j++) { (*acc)[r * SN + j] = fma(x[l], (*b)[j], (*acc)[r * SN + j]); }
  }
}

@compute @workgroup_size(SG)
fn matmul_subgroup4(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let row0 = wid.y * RG * SG;
  let col0 = wid.x * SG * SN;
  let batch = wid.z;
  let base_a = start_a(batch);
  let base_b = start_b(batch);
  // op(A): transposed, lane l reads rows row0 + RG l .. + RG - 1 (RG / 4 vec4s per k); else rows
  // row0 + SG g + l (g < RG), clamped, 4 k per vec4. Element offsets, all multiples of 4.
  let at = base_a + row0 + RG * lane;
  var ao: array<u32, RG>;
  for (var g = 0u; g < RG; g++) { ao[g] = base_a + min(row0 + g * SG + lane, p.M - 1u) * p.lda; }
  // op(B): lane l's columns are col0 + SN l + j (j < SN)
  let bc = base_b + col0 + SN * lane;
  var bo: array<u32, SN>;
  for (var j = 0u; j < SN; j++) { bo[j] = base_b + min(col0 + SN * lane + j, p.N - 1u) * p.ldb; }
  var acc: array<f32, ACC>;
  var sums: array<f32, 8>; // with ROW_SUMS: this lane's value of row group g summed over k (RG used)
  for (var k = 0u; k < p.K; k += 4u) {
    // xa[kk][g]: this lane's value of row group g at k + kk; xb[kk][j]: of column j
    var xa: array<array<f32, 8>, 4>; // RG used
    var xb: array<array<f32, SN>, 4>;
    if (TRANS_A) {
      for (var kk = 0u; kk < 4u; kk++) {
        for (var h = 0u; h < RG / 4u; h++) {
          let q = A[(at + (k + kk) * p.lda) / 4u + h];
          for (var i = 0u; i < 4u; i++) { xa[kk][4u * h + i] = q[i]; }
        }
      }
    } else {
      for (var g = 0u; g < RG; g++) {
        let q = A[(ao[g] + k) / 4u];
        for (var kk = 0u; kk < 4u; kk++) { xa[kk][g] = q[kk]; }
      }
    }
    if (TRANS_B) {
      for (var j = 0u; j < SN; j++) {
        let q = B[(bo[j] + k) / 4u];
        for (var kk = 0u; kk < 4u; kk++) { xb[kk][j] = q[kk]; }
      }
    } else {
      for (var kk = 0u; kk < 4u; kk++) {
        let q0 = B[(bc + (k + kk) * p.ldb) / 4u];
        let q1 = B[(bc + (k + kk) * p.ldb) / 4u + 1u];
        for (var j = 0u; j < 4u; j++) { xb[kk][j] = q0[j]; xb[kk][j + 4u] = q1[j]; }
      }
    }
    if (K_TAIL) {
      for (var kk = 0u; kk < 4u; kk++) {
        if (k + kk >= p.K) {
          for (var g = 0u; g < RG; g++) { xa[kk][g] = 0.0; }
          for (var j = 0u; j < SN; j++) { xb[kk][j] = 0.0; }
        }
      }
    }
    if (ROW_SUMS) {
      for (var kk = 0u; kk < 4u; kk++) {
        for (var g = 0u; g < RG; g++) { sums[g] += xa[kk][g]; }
      }
    }
    for (var kk = 0u; kk < 4u; kk++) {
      var b = xb[kk];
      rows4(&acc, 0u, xa[kk][0], &b);
      rows4(&acc, 1u, xa[kk][1], &b);
      rows4(&acc, 2u, xa[kk][2], &b);
      rows4(&acc, 3u, xa[kk][3], &b);
      if (RG == 8u) {
        rows4(&acc, 4u, xa[kk][4], &b);
        rows4(&acc, 5u, xa[kk][5], &b);
        rows4(&acc, 6u, xa[kk][6], &b);
        rows4(&acc, 7u, xa[kk][7], &b);
      }
    }
  }
  // the workgroups of the first column block write the row sums (rows past M were clamped copies)
  if (ROW_SUMS && wid.x == 0u) {
    for (var g = 0u; g < RG; g++) {
      let r = row0 + row_of(lane, g);
      if (r < p.M) { row_sums[r] = sums[g]; }
    }
  }
  let base_c = start_c(batch);
  for (var j = 0u; j < SN; j++) {
    let c = col0 + SN * lane + j;
    if (c < p.N) {
      for (var r = 0u; r < RG * SG; r++) {
        if (row0 + r < p.M) { store_out(base_c + (row0 + r) * p.ldc + c, c, acc[r * SN + j]); }
      }
    }
  }
}
