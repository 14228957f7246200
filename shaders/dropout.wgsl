// Inverted dropout: y = x * scale, scale = f32(1 / (1 - p)) from the CPU, where Philox's uniform
// for element i (philox.wgsl's dropout_keep) is >= p, else 0. An invocation takes 4 consecutive
// elements: the four words of one Philox call. The mask is regenerated from the same seed in the backward, so it
// is never stored. A multiply, not a division (WGSL allows 2.5 ULP there): the same bits everywhere.
struct Params { n: u32, seed_lo: u32, seed_hi: u32, offset: u32, p: f32, scale: f32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// The same for forward (x -> y) and backward (g -> dx): both scale the kept elements.
@compute @workgroup_size(256)
fn dropout(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i0 = 4u * index_of(wid, nwg, lid);
  if (i0 >= params.n) { return; }
  let w = dropout_words(i0, params.offset, params.seed_lo, params.seed_hi);
  for (var i = i0; i < min(i0 + 4u, params.n); i++) { y[i] = select(0.0, x[i] * params.scale, dropout_keep_in(w, i, params.p)); }
}
