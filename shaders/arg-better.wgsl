// Argmax's pick, shared by reduce.wgsl's workgroup argmax and gumbel_max.wgsl (no bindings here;
// the including shader defines is_nan).
const NO_INDEX = 0xffffffffu; // an invocation with no element of the row

// whether (vb, ib) beats (va, ia): any element beats none, a NaN beats a number, the lower index
// breaks ties
fn arg_better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  if (ia == NO_INDEX || ib == NO_INDEX) { return ia == NO_INDEX && ib != NO_INDEX; }
  let na = is_nan(va);
  let nb = is_nan(vb);
  if (na || nb) {
    if (na && nb) { return ib < ia; }
    return nb;
  }
  return vb > va || (vb == va && ib < ia);
}
