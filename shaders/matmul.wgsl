// Batched matmul C[b] = alpha * op(A[b]) @ op(B[b]), op = transpose when TRANS_A / TRANS_B.
// A is [batch, M, K] (or [batch, K, M] transposed), B is [batch, K, N] (or [batch, N, K]);
// a batch stride of 0 broadcasts a matrix over the batch. Two variants:
//  - matmul_tiled: 16x16 shared-memory tiles, one output per invocation (fast on real GPUs);
//  - matmul_register: no shared memory and no barriers, a 4x4 block of outputs per invocation
//    (fast on CPU Vulkan, where workgroup barriers are very expensive).
struct Params { M: u32, N: u32, K: u32, alpha: f32, stride_a: u32, stride_b: u32, stride_c: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override TRANS_A: bool = false;
override TRANS_B: bool = false;

fn a_at(base: u32, m: u32, k: u32) -> f32 {
  if (TRANS_A) { return A[base + k * p.M + m]; }
  return A[base + m * p.K + k];
}
fn b_at(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return B[base + n * p.K + k]; }
  return B[base + k * p.N + n];
}

const TILE = 16u;
var<workgroup> tile_a: array<f32, 256>;
var<workgroup> tile_b: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  let batch = wid.z;
  let base_a = batch * p.stride_a;
  let base_b = batch * p.stride_b;
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
    C[batch * p.stride_c + row * p.N + col] = p.alpha * acc;
  }
}

@compute @workgroup_size(8, 8)
fn matmul_register(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let batch = gid.z;
  let base_a = batch * p.stride_a;
  let base_b = batch * p.stride_b;
  // Clamp loads inside the matrix; rows/cols past the edge are computed but never stored.
  let r1 = min(row0 + 1u, p.M - 1u);
  let r2 = min(row0 + 2u, p.M - 1u);
  let r3 = min(row0 + 3u, p.M - 1u);
  let c1 = min(col0 + 1u, p.N - 1u);
  let c2 = min(col0 + 2u, p.N - 1u);
  let c3 = min(col0 + 3u, p.N - 1u);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let b = vec4f(b_at(base_b, k, col0), b_at(base_b, k, c1), b_at(base_b, k, c2), b_at(base_b, k, c3));
    acc0 += a_at(base_a, row0, k) * b;
    acc1 += a_at(base_a, r1, k) * b;
    acc2 += a_at(base_a, r2, k) * b;
    acc3 += a_at(base_a, r3, k) * b;
  }
  let base_c = batch * p.stride_c;
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (col0 + j < p.N) { C[base_c + r * p.N + col0 + j] = p.alpha * accs[i][j]; }
    }
  }
}
