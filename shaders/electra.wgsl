// ELECTRA's replaced-token step: the discriminator's input is the original ids with the masked
// positions replaced by the generator's samples; its label is 1 where the sample differs from
// the original token (a correct sample counts as original).
struct Params { tokens: u32, count: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> original: array<i32>;
@group(0) @binding(1) var<storage, read> positions: array<i32>;
@group(0) @binding(2) var<storage, read> samples: array<i32>;
@group(0) @binding(3) var<storage, read_write> replaced: array<i32>;
@group(0) @binding(4) var<storage, read_write> labels: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// Every token: copy the original, label 0.
@compute @workgroup_size(256)
fn replace_init(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.tokens) { return; }
  replaced[i] = original[i];
  labels[i] = 0.0;
}

// Every masked position (distinct, so no two invocations write the same token).
@compute @workgroup_size(256)
fn replace_scatter(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.count) { return; }
  let at = u32(positions[i]);
  if (at >= p.tokens) { return; }
  replaced[at] = samples[i];
  labels[at] = select(0.0, 1.0, samples[i] != original[at]);
}
