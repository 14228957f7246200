// Row gather (gather.wgsl): embedding lookup and index_select, with a deterministic
// scatter-add backward (no atomics). Ids known on the CPU are range-checked before dispatch and
// bucketed for the backward (by row when there are more ids than rows, by distinct id otherwise);
// ids made on the GPU sum from each id's first position (no more ids than rows) or scan.
import gatherSource from '../../shaders/gather.wgsl';
import { defineShader, runtime } from '../runtime.js';
import { Tensor, record, shapeStr } from '../tensor.js';
import { checkDtype, normalizeAxis } from './util.js';

const GATHER = defineShader('gather', gatherSource);
// an f16 table (embeddings stored in half for inference, devices with shader-f16): gather_forward
// reads it widened to f32, the output stays f32
const GATHER_F16 = defineShader('gather_f16', halfTable(gatherSource), ['enable f16;']);

function halfTable(src: string): string {
  const decl = 'var<storage, read> table: array<f32>;';
  const load = 'fn table_at(j: u32) -> f32 { return table[j]; }';
  if (!src.includes(decl) || !src.includes(load))
    throw new Error('gather: gather.wgsl no longer has the table declaration / load the f16 variant rewrites');
  return src.replace(decl, 'var<storage, read> table: array<f16>;').replace(load, 'fn table_at(j: u32) -> f32 { return f32(table[j]); }');
}

function checkIds(op: string, ids: Tensor, rows: number): void {
  checkDtype(op, 'indices', ids, 'i32');
  const host = ids.hostData;
  if (!host) {
    // made on the GPU: the kernel clamps (it cannot read past the table); a bad id fails the next readback
    const r = ids.intRange;
    if (!(r && r[0] >= 0 && r[1] <= rows)) runtime().checkRange(ids, 0, rows, `${op}: indices ${shapeStr(ids.shape)} (range [0, ${rows}))`);
    return;
  }
  for (let i = 0; i < host.length; i++) {
    const v = host[i];
    if (v < 0 || v >= rows) {
      throw new Error(`${op}: index ${v} at position ${i} of indices ${shapeStr(ids.shape)} is out of range [0, ${rows})`);
    }
  }
}

/** Stable counting sort of ids by row: positions of row v are order[offsets[v] .. offsets[v + 1]). */
function bucketByRow(ids: Int32Array, rows: number): { offsets: Int32Array; order: Int32Array } {
  const offsets = new Int32Array(rows + 1);
  for (let m = 0; m < ids.length; m++) offsets[ids[m] + 1]++;
  for (let v = 0; v < rows; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, rows);
  const order = new Int32Array(Math.max(1, ids.length));
  for (let m = 0; m < ids.length; m++) order[next[ids[m]]++] = m;
  return { offsets, order };
}

/**
 * Stable bucketing of ids by distinct value, padding left out: bucket d holds the positions
 * order[offsets[d] .. offsets[d + 1]) of one id, in index order (for no more ids than rows).
 */
function bucketByDistinct(ids: Int32Array, rows: number, paddingIdx: number): { distinct: number; offsets: Int32Array; order: Int32Array } {
  const counts = new Int32Array(rows);
  for (let m = 0; m < ids.length; m++) counts[ids[m]]++;
  if (paddingIdx >= 0 && paddingIdx < rows) counts[paddingIdx] = 0;
  const bucketOf = new Int32Array(rows).fill(-1);
  const offsets = [0];
  for (let m = 0; m < ids.length; m++) {
    const v = ids[m];
    if (counts[v] === 0 || bucketOf[v] >= 0) continue;
    bucketOf[v] = offsets.length - 1;
    offsets.push(offsets[offsets.length - 1] + counts[v]);
  }
  const next = Int32Array.from(offsets.slice(0, -1));
  const order = new Int32Array(Math.max(1, offsets[offsets.length - 1]));
  for (let m = 0; m < ids.length; m++) {
    const d = bucketOf[ids[m]];
    if (d >= 0) order[next[d]++] = m;
  }
  return { distinct: offsets.length - 1, offsets: Int32Array.from(offsets), order };
}

function gatherRaw(op: string, x: Tensor, ax: number, indices: Tensor, paddingIdx: number, outShape: number[]) {
  const rows = x.shape[ax];
  checkIds(op, indices, rows);
  const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const p = { outer, rows, inner, count: indices.size, padding_idx: paddingIdx, distinct: 0, pad1: 0, pad2: 0 };
  const out = Tensor.empty(outShape, 'f32', op);
  // rows of >= 64 (embeddings, the MLM gather): a workgroup per row, over vec4s when the rows are
  // (an f32 table); else one invocation per element
  const byRow = inner >= 64;
  const threads = { threads: byRow ? outer * indices.size * 64 : out.size };
  if (byRow && inner % 4 === 0 && x.dtype === 'f32' && x.buffer.size % 16 === 0)
    runtime().dispatch(GATHER, 'gather_forward_rows4', { table4: x, ids: indices, out4: out, p }, threads);
  else
    runtime().dispatch(
      x.dtype === 'f16' ? GATHER_F16 : GATHER,
      byRow ? 'gather_forward_rows' : 'gather_forward',
      { table: x, ids: indices, out, p },
      threads,
    );
  return record(
    op,
    out,
    [x],
    (g, [ids]) => {
      const dx = Tensor.empty(x.shape, 'f32', `${op} backward`);
      const host = ids.hostData;
      if (host && host.length > rows) {
        // Bucketing by row pays when rows get several ids each (token types): the scan would
        // chain many read-modify-writes in one invocation.
        const { offsets, order } = bucketByRow(host, rows);
        const offsetsT = Tensor.fromData(offsets, [offsets.length], 'i32');
        const orderT = Tensor.fromData(order, [order.length], 'i32');
        runtime().dispatch(
          GATHER,
          'gather_backward_sorted',
          { g, offsets: offsetsT, order: orderT, dtable: dx, p },
          { threads: outer * rows * inner },
        );
        offsetsT.dispose();
        orderT.dispose();
      } else if (host) {
        // Fewer ids than rows (word embeddings, positions, the MLM gather): clear the table's
        // gradient and sum only the rows that have ids (lavapipe, 2048 ids into 30522 x 128:
        // ~36 ms for the scan over every row).
        const { distinct, offsets, order } = bucketByDistinct(host, rows, paddingIdx);
        runtime().clear(dx);
        if (distinct > 0) {
          const offsetsT = Tensor.fromData(offsets, [offsets.length], 'i32');
          const orderT = Tensor.fromData(order, [order.length], 'i32');
          runtime().dispatch(
            GATHER,
            'gather_backward_rows',
            { ids, g, offsets: offsetsT, order: orderT, dtable: dx, p: { ...p, distinct } },
            { threads: outer * distinct * 64 },
          );
          offsetsT.dispose();
          orderT.dispose();
        }
      } else if (ids.size <= rows && ids.size < 2 ** 30) {
        // GPU-made ids, no more than rows (ELECTRA's replaced tokens): a cleared gradient, each
        // position linked to the next with its id, one workgroup per first occurrence (lavapipe,
        // 2048 ids into 30522 x 128: ~23 ms scanning every row)
        const links = Tensor.empty([ids.size], 'i32', `${op} backward links`);
        runtime().dispatch(GATHER, 'gather_backward_links', { ids, links, p }, { threads: ids.size });
        runtime().clear(dx);
        runtime().dispatch(GATHER, 'gather_backward_chains', { ids, links_in: links, g, dtable: dx, p }, { threads: ids.size * 64 });
        links.dispose();
      } else {
        runtime().dispatch(GATHER, 'gather_backward', { ids, g, dtable: dx, p }, { threads: outer * rows });
      }
      return [dx];
    },
    [indices],
  );
}

/** out = x.index_select(axis, indices): shape of x with dimension `axis` replaced by indices.size. */
export function indexSelect(x: Tensor, axis: number, indices: Tensor): Tensor {
  checkDtype('indexSelect', 'x', x, 'f32');
  checkDtype('indexSelect', 'indices', indices, 'i32');
  if (indices.rank !== 1) throw new Error(`indexSelect: indices must be 1-D, got ${shapeStr(indices.shape)}`);
  const ax = normalizeAxis('indexSelect', axis, x.rank);
  const outShape = [...x.shape];
  outShape[ax] = indices.size;
  return gatherRaw('indexSelect', x, ax, indices, -1, outShape);
}

/**
 * Embedding lookup: weight [V, D], ids of any shape -> [...ids.shape, D]. Rows equal to
 * paddingIdx get no gradient (as torch.nn.Embedding(padding_idx=...)).
 */
export function embedding(weight: Tensor, ids: Tensor, paddingIdx?: number): Tensor {
  if (weight.dtype === 'f16') {
    if (weight.requiresGrad)
      throw new Error(`embedding: weight ${shapeStr(weight.shape)} is f16 and requires grad; f16 storage is for weights that do not train`);
  } else checkDtype('embedding', 'weight', weight, 'f32');
  checkDtype('embedding', 'ids', ids, 'i32');
  if (weight.rank !== 2) throw new Error(`embedding: weight must be [num_embeddings, dim], got ${shapeStr(weight.shape)}`);
  return gatherRaw('embedding', weight, 0, ids, paddingIdx ?? -1, [...ids.shape, weight.shape[1]]);
}
