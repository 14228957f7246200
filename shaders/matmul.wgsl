// Batched matmul C[b] = alpha * op(A[b]) @ op(B[b]) (+ bias[n] when HAS_BIAS), op = transpose
// when TRANS_A / TRANS_B. The bias add is fused into the store, so a linear layer is one dispatch.
// A is [batch, M, K] (or [batch, K, M] transposed), B is [batch, K, N] (or [batch, N, K]);
// a batch stride of 0 broadcasts a matrix over the batch. Three variants here (and matmul_subgroup
// in matmul-subgroup.wgsl, for CPU adapters with subgroups):
//  - matmul_tiled: 16x16 shared-memory tiles, one output per invocation (fast on real GPUs);
//  - matmul_register: no shared memory and no barriers, an 8x8 block of outputs per invocation,
//    written out by hand (fast on CPU Vulkan, where workgroup barriers are very expensive; on
//    SwiftShader too, whose compiler neither unrolls loops nor keeps small arrays in registers);
//  - matmul_register16: the same with a 16x16 block written as constant-count loops, for
//    compilers that unroll them (lavapipe: ~1.6x matmul_register at n >= 512). On these CPU
//    drivers every storage load costs far more than an FMA, so bigger blocks (fewer loads per
//    FMA) win even when their accumulators spill.
// Params, bindings, constants, addressing (base_*, *_strides, ld*) and the store (store_out, with
// the bias and GELU epilogue): matmul-io.wgsl (prepended by src/ops/matmul.ts).

fn a_at(base: u32, m: u32, k: u32) -> f32 {
  if (TRANS_A) { return A[base + k * p.lda + m]; }
  return A[base + m * p.lda + k];
}
fn b_at(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return B[base + n * p.ldb + k]; }
  return B[base + k * p.ldb + n];
}

const TILE = 16u;
var<workgroup> tile_a: array<f32, 256>;
var<workgroup> tile_b: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  let batch = wid.z;
  let base_a = start_a(batch);
  let base_b = start_b(batch);
  var acc = 0.0;
  let tiles = (p.K + TILE - 1u) / TILE;
  for (var t = 0u; t < tiles; t++) {
    let ka = t * TILE + lid.x;
    let kb = t * TILE + lid.y;
    tile_a[lid.y * TILE + lid.x] = select(0.0, a_at(base_a, min(row, p.M - 1u), min(ka, p.K - 1u)), row < p.M && ka < p.K);
    tile_b[lid.y * TILE + lid.x] = select(0.0, b_at(base_b, min(kb, p.K - 1u), min(col, p.N - 1u)), kb < p.K && col < p.N);
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) {
      acc += tile_a[lid.y * TILE + k] * tile_b[k * TILE + lid.x];
    }
    workgroupBarrier();
  }
  if (row < p.M && col < p.N) {
    store_out(start_c(batch) + row * p.ldc + col, col, acc);
  }
}

// C[base + j] = the output of v[j] for the columns col + j inside the matrix.
fn store4(base: u32, col: u32, v: vec4f) {
  for (var j = 0u; j < 4u; j++) {
    if (col + j < p.N) { store_out(base + j, col + j, v[j]); }
  }
}

@compute @workgroup_size(16, 4)
fn matmul_register(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 8u;
  let col0 = gid.x * 8u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let batch = gid.z;
  let sa = a_strides();
  let sb = b_strides();
  // Offsets of the 8 rows of op(A) and 8 columns of op(B), clamped inside the matrix: rows and
  // columns past the edge are computed but never stored. Hoisted out of the k loop.
  let base_a = start_a(batch);
  let a0 = base_a + row0 * sa.x;
  let a1 = base_a + min(row0 + 1u, p.M - 1u) * sa.x;
  let a2 = base_a + min(row0 + 2u, p.M - 1u) * sa.x;
  let a3 = base_a + min(row0 + 3u, p.M - 1u) * sa.x;
  let a4 = base_a + min(row0 + 4u, p.M - 1u) * sa.x;
  let a5 = base_a + min(row0 + 5u, p.M - 1u) * sa.x;
  let a6 = base_a + min(row0 + 6u, p.M - 1u) * sa.x;
  let a7 = base_a + min(row0 + 7u, p.M - 1u) * sa.x;
  let base_b = start_b(batch);
  let b0 = base_b + col0 * sb.y;
  let b1 = base_b + min(col0 + 1u, p.N - 1u) * sb.y;
  let b2 = base_b + min(col0 + 2u, p.N - 1u) * sb.y;
  let b3 = base_b + min(col0 + 3u, p.N - 1u) * sb.y;
  let b4 = base_b + min(col0 + 4u, p.N - 1u) * sb.y;
  let b5 = base_b + min(col0 + 5u, p.N - 1u) * sb.y;
  let b6 = base_b + min(col0 + 6u, p.N - 1u) * sb.y;
  let b7 = base_b + min(col0 + 7u, p.N - 1u) * sb.y;
  // acc<row>_<column quad>
  var acc0_0 = vec4f(0.0); var acc0_1 = vec4f(0.0);
  var acc1_0 = vec4f(0.0); var acc1_1 = vec4f(0.0);
  var acc2_0 = vec4f(0.0); var acc2_1 = vec4f(0.0);
  var acc3_0 = vec4f(0.0); var acc3_1 = vec4f(0.0);
  var acc4_0 = vec4f(0.0); var acc4_1 = vec4f(0.0);
  var acc5_0 = vec4f(0.0); var acc5_1 = vec4f(0.0);
  var acc6_0 = vec4f(0.0); var acc6_1 = vec4f(0.0);
  var acc7_0 = vec4f(0.0); var acc7_1 = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let ka = k * sa.y;
    let kb = k * sb.x;
    let v0 = vec4f(B[b0 + kb], B[b1 + kb], B[b2 + kb], B[b3 + kb]);
    let v1 = vec4f(B[b4 + kb], B[b5 + kb], B[b6 + kb], B[b7 + kb]);
    let x0 = A[a0 + ka]; acc0_0 += x0 * v0; acc0_1 += x0 * v1;
    let x1 = A[a1 + ka]; acc1_0 += x1 * v0; acc1_1 += x1 * v1;
    let x2 = A[a2 + ka]; acc2_0 += x2 * v0; acc2_1 += x2 * v1;
    let x3 = A[a3 + ka]; acc3_0 += x3 * v0; acc3_1 += x3 * v1;
    let x4 = A[a4 + ka]; acc4_0 += x4 * v0; acc4_1 += x4 * v1;
    let x5 = A[a5 + ka]; acc5_0 += x5 * v0; acc5_1 += x5 * v1;
    let x6 = A[a6 + ka]; acc6_0 += x6 * v0; acc6_1 += x6 * v1;
    let x7 = A[a7 + ka]; acc7_0 += x7 * v0; acc7_1 += x7 * v1;
  }
  let rows = array<array<vec4f, 2>, 8>(
    array(acc0_0, acc0_1), array(acc1_0, acc1_1), array(acc2_0, acc2_1), array(acc3_0, acc3_1),
    array(acc4_0, acc4_1), array(acc5_0, acc5_1), array(acc6_0, acc6_1), array(acc7_0, acc7_1));
  let base_c = start_c(batch);
  for (var i = 0u; i < 8u; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    let o = base_c + r * p.ldc + col0;
    store4(o, col0, rows[i][0]);
    store4(o + 4u, col0 + 4u, rows[i][1]);
  }
}

@compute @workgroup_size(8, 8)
fn matmul_register16(@builtin(global_invocation_id) gid: vec3u) {
  const RM = 16u;
  const RN = 16u;
  const QN = RN / 4u;
  let row0 = gid.y * RM;
  let col0 = gid.x * RN;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let batch = gid.z;
  let sa = a_strides();
  let sb = b_strides();
  var ao: array<u32, RM>;
  for (var i = 0u; i < RM; i++) { ao[i] = start_a(batch) + min(row0 + i, p.M - 1u) * sa.x; }
  var bo: array<u32, RN>;
  for (var j = 0u; j < RN; j++) { bo[j] = start_b(batch) + min(col0 + j, p.N - 1u) * sb.y; }
  var acc: array<vec4f, RM * QN>;
  for (var k = 0u; k < p.K; k++) {
    let ka = k * sa.y;
    let kb = k * sb.x;
    var v: array<vec4f, QN>;
    for (var q = 0u; q < QN; q++) {
      v[q] = vec4f(B[bo[4u * q] + kb], B[bo[4u * q + 1u] + kb], B[bo[4u * q + 2u] + kb], B[bo[4u * q + 3u] + kb]);
    }
    for (var i = 0u; i < RM; i++) {
      let x = A[ao[i] + ka];
      for (var q = 0u; q < QN; q++) { acc[i * QN + q] += x * v[q]; }
    }
  }
  let base_c = start_c(batch);
  for (var i = 0u; i < RM; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var q = 0u; q < QN; q++) { store4(base_c + r * p.ldc + col0 + 4u * q, col0 + 4u * q, acc[i * QN + q]); }
  }
}
