// lanes_of(a): the value of `a` in each of the SG lanes (SG <= 8), in every lane; entries past SG
// stay 0. Prepended to matmul-subgroup.wgsl and matmul-subgroup4.wgsl, each of which declares the
// override SG (a constant once the pipeline is made, so the upper half folds away for SG = 4).
fn lanes_of(a: f32) -> array<f32, 8> {
  var x: array<f32, 8>;
  x[0] = subgroupBroadcast(a, 0u);
  x[1] = subgroupBroadcast(a, 1u);
  x[2] = subgroupBroadcast(a, 2u);
  x[3] = subgroupBroadcast(a, 3u);
  if (SG == 8u) {
    x[4] = subgroupBroadcast(a, 4u);
    x[5] = subgroupBroadcast(a, 5u);
    x[6] = subgroupBroadcast(a, 6u);
    x[7] = subgroupBroadcast(a, 7u);
  }
  return x;
}
