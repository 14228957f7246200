// Range checks of integer data made on the GPU (ids, labels with no CPU copy): kernels clamp a
// bad id so they never read outside a buffer, and this records that it happened, so the runtime
// can fail the next readback with the op's name instead of training on a clamped id.
// flags[2 * slot] counts the bad values, flags[2 * slot + 1] keeps the first bad position.
struct Params { n: u32, lo: i32, hi: i32, ignore: i32, has_ignore: u32, slot: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> flags: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> p: Params;

fn index_of(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid.x; }

@compute @workgroup_size(256)
fn check_range(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = index_of(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = ids[i];
  if (p.has_ignore == 1u && v == p.ignore) { return; }
  if (v < p.lo || v >= p.hi) {
    atomicAdd(&flags[2u * p.slot], 1u);
    atomicMin(&flags[2u * p.slot + 1u], i);
  }
}
