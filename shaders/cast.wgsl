// f32 <-> f16 conversion, one element per invocation (src/ops/cast.ts prepends `enable f16;`).
// To f16 rounds to nearest even as WGSL's f16() does; magnitudes past 65504 become inf (as torch's
// .half()): under autocast that is how a loss scale too large for a gradient shows up, as an inf
// the optimizer's non-finite check turns into a skipped step and a smaller scale.
struct Params { n: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> x32: array<f32>;
@group(0) @binding(1) var<storage, read_write> y16: array<f16>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> x16: array<f16>;
@group(0) @binding(4) var<storage, read_write> y32: array<f32>;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

// f16() of a finite f32 past the f16 range is not defined by WGSL: clamp to inf by hand (NaN stays NaN).
fn to_half(v: f32) -> f16 {
  let bits = bitcast<u32>(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return f16(v); } // NaN
  if (abs(v) >= 65520.0) { return select(f16(-65504.0), f16(65504.0), v > 0.0) * f16(2.0); } // rounds past max: inf
  return f16(v);
}

@compute @workgroup_size(256)
fn cast_to_f16(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  y16[i] = to_half(x32[i]);
}

@compute @workgroup_size(256)
fn cast_to_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  y32[i] = f32(x16[i]);
}
