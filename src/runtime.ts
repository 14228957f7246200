// The WebGPU runtime: device acquisition, kernel registry (bindings derived from the WGSL source
// with wgsl_reflect), buffer pool, one pending command encoder, explicit flush and readback.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import checkSource from '../shaders/check.wgsl';

/** f16: storage only (weights for inference, read by matmul with f32 accumulation), where the device has shader-f16. */
export type DType = 'f32' | 'i32' | 'f16';
export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, i32: 4, f16: 2 };

export interface InitOptions {
  /** A `GPU` object (navigator.gpu or one from npm `webgpu`); found automatically when absent. */
  gpu?: GPU;
  /** Use this adapter instead of requesting one. */
  adapter?: GPUAdapter;
  /** Use this device as is (its limits and features are whatever it was created with). */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /** Force a matmul kernel variant for every shape (tests run each variant this way). */
  matmulVariant?: MatmulVariant;
  /** Force the attention path for every head size (tests run each this way). */
  attentionVariant?: AttentionVariant;
  /** Force the row kernels' variant (layer norm, cross-entropy; tests run each this way). */
  rowVariant?: RowVariant;
  /**
   * Measured matmul variant choices (ops.tuneMatmul): true (default) reads and writes them in a
   * per-device cache (a JSON file under the user's cache directory in Node / Deno, localStorage
   * in a browser); 'memory' measures but keeps nothing; false never measures and keeps the
   * per-adapter defaults (deterministic; the tests use it). BERTGPU_MATMUL_TUNING=0 in the
   * environment means false.
   */
  matmulTuning?: boolean | 'memory';
}

/** GPU time of one kernel entry point over a profiled stretch (timestamp queries). */
export interface KernelTime {
  kernel: string; // shader:entry
  dispatches: number;
  ms: number; // total GPU time
}

/** A `stopProfile()` result as table lines: kernel, calls per step, GPU ms per step, share, µs per call. */
export function kernelTimeTable(times: KernelTime[], steps: number, top = 20): string[] {
  const total = times.reduce((a, t) => a + t.ms, 0);
  const lines = [
    `${'kernel'.padEnd(42)}${'calls/step'.padStart(11)}${'ms/step'.padStart(10)}${'share'.padStart(8)}${'µs/call'.padStart(9)}`,
  ];
  for (const t of times.slice(0, top)) {
    const share = `${((100 * t.ms) / Math.max(total, 1e-12)).toFixed(1)}%`;
    lines.push(
      `${t.kernel.padEnd(42)}${(t.dispatches / steps).toFixed(1).padStart(11)}${(t.ms / steps).toFixed(3).padStart(10)}${share.padStart(8)}${((1000 * t.ms) / t.dispatches).toFixed(0).padStart(9)}`,
    );
  }
  return lines;
}

/** Timestamp queries per query set: two per profiled dispatch; a full set flushes. */
const PROFILE_QUERIES = 4096;

/**
 * matmul kernels (shaders/matmul*.wgsl): 'tiled' = shared-memory tiles (real GPUs); 'register' =
 * barrier-free 8x8 register blocks; 'register16' = barrier-free 16x16 blocks; 'subgroup' = op(A)
 * broadcast across the lanes of a 4- or 8-lane subgroup (CPU adapters with subgroups);
 * 'subgroup4' = the same with vec4 loads (f32 operands with strides and offsets that are
 * multiples of 4; others take 'subgroup'); 'subgrouptall' / 'subgroup4tall' = subgroup /
 * subgroup4 with 8 row groups per workgroup instead of 4.
 */
export type MatmulVariant = 'tiled' | 'register' | 'register16' | 'subgroup' | 'subgrouptall' | 'subgroup4' | 'subgroup4tall';

/** One matmul product's dimensions: op(A) is M x K, op(B) K x N. */
export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
}

/**
 * The shape class a measured matmul choice stands for: the transpose flags and each dimension
 * rounded to a power of two (at least 16, so small products share one class).
 */
export function matmulShapeClass(m: number, n: number, k: number, transA = false, transB = false): string {
  const c = (d: number) => 2 ** Math.max(4, Math.round(Math.log2(Math.max(1, d))));
  return `${transA ? 't' : 'n'}${transB ? 't' : 'n'}:${c(m)}x${c(n)}x${c(k)}`;
}

/**
 * Fused attention kernels (shaders/attention.wgsl): 'rows' = barrier-free, keys read from storage
 * (CPU adapters); 'tiled' = key / query blocks shared in workgroup memory (GPUs).
 */
export type AttentionKernel = 'rows' | 'tiled';
/** An attention kernel, or 'unfused' (matmul, softmax, dropout, matmul: the models' other path). */
export type AttentionVariant = AttentionKernel | 'unfused';
/**
 * Kernels that reduce along a row (layer norm forward / backward, with and without the residual;
 * cross-entropy's log-sum-exp): 'thread' = one invocation per row, no barriers (CPU adapters);
 * 'workgroup' = a workgroup of 64 per row, reading the row coalesced and reducing in workgroup
 * memory (GPUs, where one invocation per row leaves most of the device idle and strides memory).
 */
export type RowVariant = 'thread' | 'workgroup';

export interface DeviceReport {
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  features: string[];
  limits: Record<string, number>;
  runtime: 'browser' | 'deno' | 'node';
  /** Lanes per subgroup where the device has 'subgroups' and the adapter gives one fixed size (lavapipe 8, SwiftShader 4). */
  subgroupSize?: number;
}

/** Bindings of one compute entry point, as read from the WGSL source. */
interface ResourceInfo {
  name: string;
  binding: number;
  kind: 'read-only-storage' | 'storage' | 'uniform';
  elementType: string; // f32 / i32 / u32 for storage arrays, the struct name for uniforms
  members: UniformMember[]; // uniform struct members
  size: number; // uniform struct size in bytes
  slotBytes: number; // uniform: bytes bound per dispatch (the struct size rounded up to 16)
}

interface UniformMember {
  name: string;
  offset: number;
  type: string;
  /** Lane type and count (vec4<u32>: u32, 4); null for a type the writer does not support. */
  scalar: 'f32' | 'i32' | 'u32' | null;
  lanes: number;
}

/** One chunk of the per-submission uniform arena: a GPU buffer and the CPU bytes written into it at flush. */
interface ArenaChunk {
  buffer: GPUBuffer;
  view: DataView;
  used: number;
}

// Uniform values of all dispatches in a submission are packed into arena chunks of this size and
// bound with dynamic offsets: one writeBuffer per chunk per flush instead of a buffer and a write
// per dispatch, and bind groups that depend only on the storage buffers (so a step finds them cached).
const ARENA_CHUNK_BYTES = 1 << 18;

// Dawn crashes the process (SIGSEGV, no message) when one command buffer holds ~50,000 dispatches
// writing distinct buffers (a 3000-layer config's initialisation, 50,000 randn in a scope). A
// pending encoder is submitted once it holds this many dispatches; a training step of bert-base
// records ~2,000, so steps stay one submission.
export const MAX_DISPATCHES_PER_SUBMIT = 8192;

const CHECK = defineShader('check', checkSource);
/** Range checks of GPU-made integer data per submission (two u32 flags each). */
const MAX_CHECKS_PER_SUBMIT = 256;

function uniformMember(m: any): UniformMember {
  const type: string = m.type.name + (m.type.format ? `<${m.type.format.name}>` : '');
  const lanes = Number(/^vec(\d)/.exec(type)?.[1] ?? 1);
  const base = type.replace(/^vec\d<(.*)>$/, '$1').replace(/^vec\d([fiu])$/, (_, c) => ({ f: 'f32', i: 'i32', u: 'u32' })[c as 'f']);
  const scalar = base === 'f32' || base === 'i32' || base === 'u32' ? base : null;
  return { name: m.name, offset: m.offset, type, scalar, lanes };
}

interface EntryInfo {
  shader: string;
  entry: string;
  workgroupSize: [number, number, number];
  resources: ResourceInfo[];
  layout: GPUBindGroupLayout;
  pipelines: Map<string, GPUComputePipeline>;
  /** Bind groups by the ids of their buffers: a training step binds the same pooled buffers each time. */
  groups: Map<string, GPUBindGroup>;
  /** `kernel NAME.wgsl:ENTRY`, the prefix of this entry point's errors. */
  where: string;
}

export interface Shader {
  name: string;
  source: string;
}

/**
 * A shader file: `defineShader('softmax', source)` where source is the imported .wgsl text.
 * `includes` are sources of helper files (functions only) prepended to it (WGSL has no #include).
 */
export function defineShader(name: string, source: string, includes: string[] = []): Shader {
  return { name, source: [...includes, source].join('\n') };
}

/** Anything a storage binding accepts: a tensor-like object exposing its buffer and dtype. */
export interface Bindable {
  readonly buffer: GPUBuffer;
  readonly dtype: DType | 'u32';
  readonly label: string;
}

export type UniformValues = Record<string, number | number[]>;

function runtimeName(): DeviceReport['runtime'] {
  const g = globalThis as any;
  if (typeof g.Deno !== 'undefined') return 'deno';
  if (typeof g.window !== 'undefined' || typeof g.WorkerGlobalScope !== 'undefined') return 'browser';
  return 'node';
}

let nodeGPU: GPU | null = null;

async function findGPU(): Promise<GPU> {
  const nav = (globalThis as any).navigator;
  if (nav?.gpu) return nav.gpu as GPU;
  if (runtimeName() === 'node') {
    let mod: any;
    const name = 'webgpu'; // kept in a variable so browser bundlers leave it alone
    try {
      mod = await import(/* @vite-ignore */ name);
    } catch (err) {
      throw new Error(
        `bertgpu init: no navigator.gpu and the npm package 'webgpu' could not be loaded (${(err as Error).message}); run 'npm install webgpu'`,
      );
    }
    Object.assign(globalThis, mod.globals);
    // Keep the Dawn instance reachable: if it is garbage-collected, its device dies with it.
    nodeGPU ??= mod.create([]) as GPU;
    return nodeGPU;
  }
  throw new Error('bertgpu init: this runtime has no WebGPU (navigator.gpu is undefined)');
}

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];
const LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

let current: Runtime | null = null;

/** Gets a WebGPU device (browser, Deno or Node) and makes it the current runtime. */
export async function init(options: InitOptions = {}): Promise<Runtime> {
  let device = options.device;
  let adapter = options.adapter ?? null;
  if (!device) {
    if (!adapter) {
      const gpu = options.gpu ?? (await findGPU());
      adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
      if (!adapter)
        throw new Error(
          'bertgpu init: requestAdapter() returned null (no usable WebGPU adapter; see README for the Vulkan driver this machine needs)',
        );
    }
    const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter!.features.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const name of LIMIT_NAMES) {
      const v = (adapter.limits as any)[name];
      if (typeof v === 'number') requiredLimits[name] = v;
    }
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  }
  const info: any = adapter?.info ?? {};
  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) limits[name] = (device.limits as any)[name];
  const report: DeviceReport = {
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
      isFallbackAdapter: !!(info.isFallbackAdapter ?? (adapter as any)?.isFallbackAdapter),
    },
    features: [...device.features].map(String).sort(),
    limits,
    runtime: runtimeName(),
  };
  if (device.features.has('subgroups') && info.subgroupMinSize > 0 && info.subgroupMinSize === info.subgroupMaxSize)
    report.subgroupSize = info.subgroupMinSize;
  current?.destroy();
  current = new Runtime(device, report, options);
  return current;
}

export function runtime(): Runtime {
  if (!current) throw new Error('bertgpu: no device; call `await init()` first');
  return current;
}

export function hasRuntime(): boolean {
  return current !== null;
}

function sizeClass(bytes: number): number {
  // Power-of-two classes up to 1 MiB, then 1 MiB steps: bounded waste, good reuse. Above 16 MiB,
  // eighths of the octave (waste < 12.5%): sizes that vary by batch (the MLM decoder's logits over
  // the masked rows, 32-36 MiB at bert-base's vocab) fall in one or two classes the pool reuses,
  // instead of new buffers, which Dawn zero-fills on first use (~20 ms for 36 MB on lavapipe).
  const b = Math.max(16, bytes);
  if (b <= 1 << 20) return 2 ** Math.ceil(Math.log2(b));
  if (b <= 16 << 20) return Math.ceil(b / (1 << 20)) * (1 << 20);
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

export class Runtime {
  readonly device: GPUDevice;
  readonly report: DeviceReport;
  readonly options: InitOptions;
  /** Bytes held by live tensors' buffers, and the number of live GPU storages. */
  liveBytes = 0;
  liveStorages = 0;
  liveTensors = 0;
  /** Bytes in the free pool (not counted as live). */
  pooledBytes = 0;
  private readonly entries = new Map<string, EntryInfo>();
  private readonly reflections = new Map<string, WgslReflect>();
  /** Free buffers safe for any use (never referenced by the pending encoder). */
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Freed while the pending encoder may still read them: reusable only as kernel outputs. */
  private readonly freeInEncoder = new Map<number, GPUBuffer[]>();
  private readonly arena: ArenaChunk[] = [];
  private profiler: {
    querySet: GPUQuerySet;
    kernels: string[];
    pending: Promise<void>[];
    totals: Map<string, KernelTime>;
    shapes: boolean;
  } | null = null;
  /** Set by an op just before a dispatch: the shape it works on, for profiles taken with { shapes: true }. */
  profileShape: string | null = null;
  private arenaIndex = 0;
  private readonly trash: GPUBuffer[] = [];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private errors: string[] = [];
  dispatchCount = 0;
  /** Dispatches that found their bind group cached / had to create one (createBindGroup is the costliest call of a dispatch). */
  bindGroupHits = 0;
  bindGroupMisses = 0;
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private cachedGroups = 0;
  submitCount = 0;
  /** Dispatches recorded into the pending encoder (submitted at MAX_DISPATCHES_PER_SUBMIT). */
  private pendingDispatches = 0;
  /** Set by destroy() (a new init() replaced this runtime): its tensors can no longer be used. */
  destroyed = false;
  /** Range checks recorded into the pending encoder (what each checks, for the error message). */
  private checks: { what: string; n: number }[] = [];
  private checkFlags: GPUBuffer | null = null;
  /** Submitted checks whose flags are being read back: each resolves to its failure messages. */
  private pendingChecks: Promise<string[]>[] = [];

  constructor(device: GPUDevice, report: DeviceReport, options: InitOptions) {
    this.device = device;
    this.report = report;
    this.options = options;
    device.addEventListener?.('uncapturederror', (ev: any) => {
      this.errors.push(`${String(ev.error?.message ?? ev.error ?? ev)} (${this.inFlight()})`);
    });
    // A lost device (driver reset, GPU process crash, destroy()) fails every later call with one
    // clear message instead of a hang or the driver's own error on each buffer.
    void device.lost?.then((info: GPUDeviceLostInfo) => {
      if (this.destroyed) return; // replaced by init() on purpose
      this.lost = `WebGPU device lost (${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}) ${this.inFlight()}. Call init() for a new device; a Trainer continues from its last checkpoint with Trainer.resume()`;
    });
  }

  /** Set when the device was lost: the message every later call fails with. */
  lost: string | null = null;
  /** The last kernels recorded (a ring): what was in flight when an error or a device loss came. */
  private readonly recent: string[] = [];

  /** The last kernels recorded, as shader.wgsl:entry (at most 8, the newest last). */
  lastKernels(): string[] {
    return [...this.recent];
  }

  private inFlight(): string {
    return this.recent.length ? `while running ${this.recent.join(', ')} (the last kernels recorded)` : 'before any kernel ran';
  }

  private throwIfLost(): void {
    if (this.lost) throw new Error(this.lost);
  }

  get maxBindingSize(): number {
    return this.report.limits.maxStorageBufferBindingSize;
  }

  hasFeature(name: string): boolean {
    return this.report.features.includes(name);
  }

  // ---- memory ----

  /** A storage buffer of at least `bytes`; `forOutput` buffers may come from ones the pending encoder reads. */
  acquire(bytes: number, what: string, forOutput = false): GPUBuffer {
    this.throwIfLost();
    const limit = this.report.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new Error(`${what}: needs a ${bytes}-byte buffer, larger than this device's maxStorageBufferBindingSize (${limit} bytes)`);
    }
    const maxBuffer = this.report.limits.maxBufferSize;
    if (bytes > maxBuffer)
      throw new Error(`${what}: needs a ${bytes}-byte buffer, larger than this device's maxBufferSize (${maxBuffer} bytes)`);
    const size = sizeClass(bytes);
    const pools = forOutput ? [this.freeInEncoder, this.free] : [this.free];
    let buffer: GPUBuffer | undefined;
    for (const pool of pools) {
      buffer = pool.get(size)?.pop();
      if (buffer) {
        this.pooledBytes -= size;
        break;
      }
    }
    buffer ??= this.device.createBuffer({
      size: Math.min(size, limit), // bytes <= limit was checked above
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.liveBytes += buffer.size;
    this.liveStorages++;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (this.destroyed) {
      // a tensor made before a new init(): its buffer belongs to the old device, never to the new pool
      buffer.destroy();
      return;
    }
    this.liveBytes -= buffer.size;
    this.liveStorages--;
    this.pushFree(this.encoder ? this.freeInEncoder : this.free, buffer);
    this.pooledBytes += buffer.size;
  }

  /**
   * Free lists are kept sorted so acquire() hands out the lowest-id free buffer of a size. With
   * last-in-first-out the choice would depend on the order buffers came back, which shifts from
   * step to step (the number of masked positions varies); lowest-id gives a step the same buffers
   * as the one before, so its dispatches find their cached bind groups.
   */
  private pushFree(pool: Map<number, GPUBuffer[]>, buffer: GPUBuffer): void {
    let list = pool.get(buffer.size);
    if (!list) pool.set(buffer.size, (list = []));
    const id = this.bufferId(buffer);
    // descending ids: pop() takes the lowest
    let lo = 0,
      hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bufferId(list[mid]) > id) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, buffer);
  }

  /** Frees the pooled (unused) buffers back to the driver. */
  trimPool(): void {
    this.flush();
    this.clearBindGroups();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }

  upload(buffer: GPUBuffer, data: ArrayBufferView): void {
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  // ---- kernels ----

  private reflect(shader: Shader): WgslReflect {
    let r = this.reflections.get(shader.name);
    if (!r) {
      r = new WgslReflect(shader.source);
      this.reflections.set(shader.name, r);
    }
    return r;
  }

  entryInfo(shader: Shader, entry: string): EntryInfo {
    const key = `${shader.name}:${entry}`;
    let info = this.entries.get(key);
    if (info) return info;
    const reflection = this.reflect(shader);
    const fn = reflection.entry.compute.find((f) => f.name === entry);
    if (!fn) throw new Error(`kernel ${shader.name}.wgsl has no compute entry point '${entry}'`);
    const resources: ResourceInfo[] = fn.resources.map((r: any) => {
      if (r.group !== 0)
        throw new Error(`kernel ${shader.name}.wgsl:${entry}: binding '${r.name}' uses group ${r.group}; only group 0 is supported`);
      const isUniform = r.resourceType === 0;
      // array<atomic<u32>> binds as a u32 array
      const format = r.type.format?.name === 'atomic' ? r.type.format.format : r.type.format;
      // array<vec4f> binds an f32 tensor read four elements at a time
      const vec4f = format?.name === 'vec4f' || (format?.name === 'vec4' && format.format?.name === 'f32');
      const elementType = isUniform ? r.type.name : vec4f ? 'f32' : (format?.name ?? r.type.name);
      return {
        name: r.name,
        binding: r.binding,
        kind: isUniform ? 'uniform' : r.access === 'read' ? 'read-only-storage' : 'storage',
        elementType,
        members: isUniform ? (r.type.members ?? []).map(uniformMember) : [],
        size: r.size,
        slotBytes: Math.max(16, Math.ceil(r.size / 16) * 16),
      } satisfies ResourceInfo;
    });
    resources.sort((a, b) => a.binding - b.binding);
    const layout = this.device.createBindGroupLayout({
      label: key,
      entries: resources.map((r) => ({
        binding: r.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: r.kind, hasDynamicOffset: r.kind === 'uniform' },
      })),
    });
    const ws = fn.workgroupSize ?? [1, 1, 1];
    info = {
      shader: shader.name,
      entry,
      where: `kernel ${shader.name}.wgsl:${entry}`,
      workgroupSize: [ws[0] ?? 1, ws[1] ?? 1, ws[2] ?? 1],
      resources,
      layout,
      pipelines: new Map(),
      groups: new Map(),
    };
    this.entries.set(key, info);
    return info;
  }

  private modules = new Map<string, GPUShaderModule>();

  private pipeline(shader: Shader, info: EntryInfo, constants: Record<string, number>): GPUComputePipeline {
    let key = ''; // built by hand: this runs on every dispatch
    for (const k in constants) key += `${k}=${constants[k]},`;
    let p = info.pipelines.get(key);
    if (p) return p;
    let module = this.modules.get(shader.name);
    if (!module) {
      module = this.device.createShaderModule({ label: `${shader.name}.wgsl`, code: shader.source });
      this.modules.set(shader.name, module);
    }
    p = this.device.createComputePipeline({
      label: `${shader.name}.wgsl:${info.entry}`,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [info.layout] }),
      compute: { module, entryPoint: info.entry, constants },
    });
    info.pipelines.set(key, p);
    return p;
  }

  /** Writes a uniform struct's values into the arena; returns the chunk and the dynamic offset. */
  private uniformSlot(res: ResourceInfo, values: UniformValues, where: string): { chunk: ArenaChunk; offset: number } {
    let given = 0;
    for (const _ in values) given++;
    const align = this.report.limits.minUniformBufferOffsetAlignment || 256;
    let chunk = this.arena[this.arenaIndex];
    if (chunk && chunk.used + res.slotBytes > ARENA_CHUNK_BYTES) chunk = this.arena[++this.arenaIndex];
    if (!chunk) {
      chunk = {
        buffer: this.device.createBuffer({
          size: ARENA_CHUNK_BYTES,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
          label: 'uniform arena',
        }),
        view: new DataView(new ArrayBuffer(ARENA_CHUNK_BYTES)),
        used: 0,
      };
      this.arena[this.arenaIndex] = chunk;
    }
    const base = chunk.used;
    const view = chunk.view;
    for (const m of res.members) {
      const v = values[m.name];
      if (v === undefined) throw new Error(`${where}: uniform '${res.name}' is missing member '${m.name}'`);
      given--;
      if (m.scalar === null) throw new Error(`${where}: uniform member '${m.name}' has unsupported type ${m.type}`);
      const isArray = Array.isArray(v);
      if (isArray !== m.type.startsWith('vec') || (isArray && v.length !== m.lanes)) {
        throw new Error(`${where}: uniform member '${m.name}' is ${m.type}, got ${isArray ? v.length : 1} values`);
      }
      for (let i = 0; i < m.lanes; i++) {
        const x = isArray ? v[i] : v;
        const off = base + m.offset + 4 * i;
        if (m.scalar === 'f32') view.setFloat32(off, x, true);
        else if (m.scalar === 'i32') view.setInt32(off, x, true);
        else {
          if (!(x >= 0 && x <= 0xffffffff && Number.isInteger(x)))
            throw new Error(`${where}: uniform member '${m.name}' must be a u32, got ${x}`);
          view.setUint32(off, x, true);
        }
      }
    }
    if (given !== 0) {
      const extra = Object.keys(values).filter((k) => !res.members.some((m) => m.name === k));
      throw new Error(`${where}: uniform '${res.name}' has no member(s) ${extra.join(', ')}`);
    }
    chunk.used = base + Math.ceil(res.slotBytes / align) * align;
    return { chunk, offset: base };
  }

  /**
   * Records one dispatch into the pending encoder. Every binding of the entry point (read from
   * the WGSL) must be given by name; dtypes and read/write access are checked against it.
   * `threads` is the number of invocations wanted along x (spread over y when it exceeds the
   * per-dimension limit), or explicit workgroup counts [x, y, z].
   */
  dispatch(
    shader: Shader,
    entry: string,
    bindings: Record<string, Bindable | UniformValues>,
    grid: { threads: number } | { workgroups: [number, number, number] },
    constants: Record<string, number> = {},
  ): void {
    const shape = this.profileShape; // meant for this dispatch only, even one that records nothing
    this.profileShape = null;
    this.throwIfLost();
    const info = this.entryInfo(shader, entry);
    const where = info.where;
    let given = 0;
    for (const _ in bindings) given++;
    const buffers: GPUBuffer[] = [];
    const offsets: number[] = [];
    for (const res of info.resources) {
      const b = bindings[res.name];
      if (b === undefined) throw new Error(`${where}: binding '${res.name}' (@binding(${res.binding})) was not given`);
      given--;
      if (res.kind === 'uniform') {
        if ((b as Bindable).buffer)
          throw new Error(`${where}: binding '${res.name}' is a uniform struct; pass its member values, not a tensor`);
        const slot = this.uniformSlot(res, b as UniformValues, where);
        buffers.push(slot.chunk.buffer);
        offsets.push(slot.offset);
        continue;
      }
      const t = b as Bindable;
      if (!t.buffer) throw new Error(`${where}: binding '${res.name}' is a storage buffer; pass a tensor`);
      if (res.elementType !== t.dtype && !(res.elementType === 'u32' && t.dtype === 'i32' && t.label.startsWith('u32:'))) {
        throw new Error(`${where}: binding '${res.name}' holds array<${res.elementType}>, got a ${t.dtype} tensor (${t.label})`);
      }
      // a written buffer may not be bound twice (resources are in binding order, so check both ways)
      for (let j = 0; j < buffers.length; j++) {
        if (buffers[j] !== t.buffer) continue;
        const other = info.resources[j];
        if (res.kind === 'storage') throw new Error(`${where}: binding '${res.name}' is written but its buffer is also bound elsewhere`);
        if (other.kind === 'storage') throw new Error(`${where}: binding '${res.name}' aliases a written buffer`);
      }
      buffers.push(t.buffer);
    }
    if (given !== 0) {
      const unknown = Object.keys(bindings).filter((k) => !info.resources.some((r) => r.name === k));
      throw new Error(
        `${where}: unknown binding(s) ${unknown.join(', ')}; the shader declares ${info.resources.map((r) => r.name).join(', ')}`,
      );
    }
    let wg: [number, number, number];
    if ('threads' in grid) {
      const groups = Math.max(1, Math.ceil(grid.threads / info.workgroupSize[0]));
      const maxX = this.report.limits.maxComputeWorkgroupsPerDimension;
      wg = groups <= maxX ? [groups, 1, 1] : [maxX, Math.ceil(groups / maxX), 1];
    } else wg = grid.workgroups;
    const maxDim = this.report.limits.maxComputeWorkgroupsPerDimension;
    if (wg.some((n) => n > maxDim))
      throw new Error(`${where}: ${wg.join('x')} workgroups exceed maxComputeWorkgroupsPerDimension (${maxDim})`);
    if (wg.some((n) => n === 0)) return;
    const pipeline = this.pipeline(shader, info, constants);
    const group = this.bindGroup(info, buffers);
    const pass = this.profiler
      ? this.profiledPass(`${info.shader}:${info.entry}${this.profiler.shapes && shape ? ` ${shape}` : ''}`)
      : this.computePass();
    pass.setPipeline(pipeline);
    if (offsets.length) pass.setBindGroup(0, group, offsets);
    else pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    this.dispatchCount++;
    if (this.recent.push(`${info.shader}.wgsl:${info.entry}`) > 8) this.recent.shift();
    if (++this.pendingDispatches >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /**
   * Records a check that every value of `ids` (i32, made on the GPU) lies in [lo, hi) (or equals
   * `ignore`). A failure does not stop the kernels (they clamp); it fails the next read() or
   * sync() with an Error naming `what`, the count and the first bad position.
   */
  checkRange(ids: Bindable & { size: number }, lo: number, hi: number, what: string, ignore?: number): void {
    if (this.checks.length >= MAX_CHECKS_PER_SUBMIT) this.flush();
    if (!this.checkFlags) {
      this.checkFlags = this.device.createBuffer({
        size: 8 * MAX_CHECKS_PER_SUBMIT,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label: 'range-check flags',
      });
    }
    const slot = this.checks.length;
    // queued before this submission (and after the previous one, which read its flags already)
    this.device.queue.writeBuffer(this.checkFlags, 8 * slot, new Uint32Array([0, 0xffffffff]));
    this.checks.push({ what, n: ids.size });
    const flags: Bindable = { buffer: this.checkFlags, dtype: 'u32', label: 'u32:range-check flags' };
    const p = { n: ids.size, lo, hi, ignore: ignore ?? 0, has_ignore: ignore === undefined ? 0 : 1, slot, pad0: 0, pad1: 0 };
    this.dispatch(CHECK, 'check_range', { ids, flags, p }, { threads: ids.size });
  }

  /** Copies this submission's check flags out; after submit, maps them and turns failures into messages. */
  private readChecks(): (() => void) | null {
    if (!this.checks.length || !this.encoder) return null;
    const checks = this.checks.splice(0);
    const bytes = 8 * checks.length;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.encoder.copyBufferToBuffer(this.checkFlags!, 0, staging, 0, bytes);
    return () => {
      this.pendingChecks.push(
        staging.mapAsync(GPUMapMode.READ).then(() => {
          const f = new Uint32Array(staging.getMappedRange().slice(0));
          staging.unmap();
          staging.destroy();
          const failed: string[] = [];
          checks.forEach((c, k) => {
            if (f[2 * k])
              failed.push(
                `${c.what}: ${f[2 * k]} of ${c.n} values made on the GPU are out of range (first at position ${f[2 * k + 1]}); the kernel clamped them`,
              );
          });
          return failed;
        }),
      );
    };
  }

  /** Throws for any failed range check of work submitted so far (waits for their readback). */
  private async throwFailedChecks(): Promise<void> {
    if (!this.pendingChecks.length) return;
    const failed = (await Promise.all(this.pendingChecks.splice(0))).flat();
    if (failed.length) throw new Error(failed.join('; '));
  }

  private placeholderBuffers = new Map<string, GPUBuffer>();

  /**
   * A 16-byte zeroed storage buffer for a binding an entry point declares but does not use under
   * the constants given (e.g. matmul's bias without HAS_BIAS): WebGPU needs every binding bound.
   * Each `slot` is its own buffer, so an unused written binding (slot 'written') never aliases an
   * unused read one.
   */
  placeholder(slot = 'read'): Bindable {
    let buffer = this.placeholderBuffers.get(slot);
    if (!buffer) {
      buffer = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: `placeholder ${slot}` });
      this.placeholderBuffers.set(slot, buffer);
    }
    return { buffer, dtype: 'f32', label: 'placeholder' };
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  /** The bind group of `buffers` (in resource order; uniforms: their arena chunk, bound at a dynamic offset). */
  private bindGroup(info: EntryInfo, buffers: GPUBuffer[]): GPUBindGroup {
    let key = '';
    for (const b of buffers) key += `${this.bufferId(b)},`;
    let group = info.groups.get(key);
    if (group) {
      this.bindGroupHits++;
      return group;
    }
    this.bindGroupMisses++;
    // bounded: buffers that churn (new shapes) would otherwise pile up groups
    if (this.cachedGroups >= 20000) this.clearBindGroups();
    const entries = info.resources.map((r, i): GPUBindGroupEntry => ({
      binding: r.binding,
      resource: r.kind === 'uniform' ? { buffer: buffers[i], offset: 0, size: r.slotBytes } : { buffer: buffers[i] },
    }));
    group = this.device.createBindGroup({ layout: info.layout, entries });
    info.groups.set(key, group);
    this.cachedGroups++;
    return group;
  }

  /** Forgets cached bind groups (they keep their buffers alive; needed before buffers are destroyed). */
  private clearBindGroups(): void {
    for (const info of this.entries.values()) info.groups.clear();
    this.cachedGroups = 0;
  }

  /**
   * Starts timing every dispatch on the GPU (each gets its own compute pass with timestamp writes,
   * which adds some overhead of its own); `stopProfile()` returns the time per kernel. With
   * `shapes`, ops that name their shape (matmul, sum) are listed per shape.
   */
  startProfile(options: { shapes?: boolean } = {}): void {
    if (!this.hasFeature('timestamp-query'))
      throw new Error(
        `startProfile: this device has no 'timestamp-query' feature (adapter: ${this.report.adapter.description || this.report.adapter.device})`,
      );
    if (this.profiler) throw new Error('startProfile: a profile is already running');
    this.flush();
    this.profiler = {
      querySet: this.device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES }),
      kernels: [],
      pending: [],
      totals: new Map(),
      shapes: options.shapes ?? false,
    };
  }

  /** Ends the profile: GPU time per kernel entry point, the largest first. */
  async stopProfile(): Promise<KernelTime[]> {
    const prof = this.profiler;
    if (!prof) throw new Error('stopProfile: no profile is running (call startProfile() first)');
    this.flush();
    this.profiler = null;
    await Promise.all(prof.pending);
    prof.querySet.destroy();
    this.throwErrors();
    return [...prof.totals.values()].sort((a, b) => b.ms - a.ms);
  }

  private profiledPass(kernel: string): GPUComputePassEncoder {
    const prof = this.profiler!;
    this.endPass();
    if (2 * (prof.kernels.length + 1) > PROFILE_QUERIES) this.flush();
    const i = prof.kernels.length;
    prof.kernels.push(kernel);
    this.pass = this.commandEncoder().beginComputePass({
      timestampWrites: { querySet: prof.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
    return this.pass;
  }

  /** Resolves this encoder's timestamps into a buffer read back after the submission. */
  private resolveProfile(): (() => void) | null {
    const prof = this.profiler;
    if (!prof || !prof.kernels.length || !this.encoder) return null;
    const kernels = prof.kernels.splice(0);
    const bytes = 16 * kernels.length;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.encoder.resolveQuerySet(prof.querySet, 0, 2 * kernels.length, resolved, 0);
    this.encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    return () => {
      prof.pending.push(
        staging.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigUint64Array(staging.getMappedRange());
          kernels.forEach((k, j) => {
            const e = prof.totals.get(k) ?? { kernel: k, dispatches: 0, ms: 0 };
            e.dispatches++;
            e.ms += Number(t[2 * j + 1] - t[2 * j]) / 1e6; // nanoseconds
            prof.totals.set(k, e);
          });
          staging.unmap();
          staging.destroy();
          resolved.destroy();
        }),
      );
    };
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Records zeroing the first `bytes` of a tensor's buffer (all of its bytes by default), in order with the dispatches. */
  clear(t: { buffer: GPUBuffer; bytes: number }, bytes = t.bytes): void {
    this.throwIfLost();
    const size = Math.ceil(bytes / 4) * 4;
    if (size === 0) return;
    this.endPass();
    this.commandEncoder().clearBuffer(t.buffer, 0, size);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.endPass();
    // the arena's values go to the queue before the work that reads them; writeBuffer is ordered
    // after earlier submissions, so those still read the values they were recorded with
    for (let i = 0; i <= this.arenaIndex && i < this.arena.length; i++) {
      const c = this.arena[i];
      if (c.used) this.device.queue.writeBuffer(c.buffer, 0, c.view.buffer, 0, c.used);
      c.used = 0;
    }
    this.arenaIndex = 0;
    const readProfile = this.resolveProfile();
    const readChecks = this.readChecks();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.submitCount++;
    }
    this.pendingDispatches = 0;
    readProfile?.();
    readChecks?.();
    for (const list of this.freeInEncoder.values()) for (const b of list) this.pushFree(this.free, b);
    this.freeInEncoder.clear();
    for (const b of this.trash.splice(0)) b.destroy();
    this.throwErrors();
  }

  private throwErrors(): void {
    this.throwIfLost();
    if (this.errors.length) {
      const msg = this.errors.splice(0).join('; ');
      throw new Error(`WebGPU error: ${msg}`);
    }
  }

  /** Submits pending work and reads `bytes` from `buffer`. */
  async read(buffer: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(4, size), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    if (size > 0) this.copy(buffer, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (err) {
      await this.settleLoss();
      this.throwIfLost();
      throw new Error(`read: mapping the staging buffer failed (${(err as Error).message}) ${this.inFlight()}`);
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.throwErrors();
    await this.throwFailedChecks();
    return out;
  }

  /** A rejected map may come before the device's `lost` promise has run its handler: give it a turn. */
  private async settleLoss(): Promise<void> {
    if (!this.lost)
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 50))]).then(() => new Promise((r) => setTimeout(r, 0)));
  }

  /** Waits until the GPU has finished everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwErrors();
    await this.throwFailedChecks();
  }

  destroy(): void {
    this.destroyed = true;
    this.endPass();
    this.encoder = null;
    this.clearBindGroups();
    for (const m of [this.free, this.freeInEncoder]) for (const l of m.values()) for (const b of l) b.destroy();
    for (const c of this.arena.splice(0)) c.buffer.destroy();
    this.checkFlags?.destroy();
    if (current === this) current = null;
  }

  /**
   * Measured choices by shape class (matmulShapeClass), filled by ops.tuneMatmul; shape classes
   * asked for but not measured yet are kept in matmulUntuned (with one shape each) to tune later.
   */
  readonly matmulChoices = new Map<string, MatmulVariant>();
  readonly matmulUntuned = new Map<string, MatmulShape>();

  matmulVariant(m: number, n: number, k: number, transA = false, transB = false, batch = 1): MatmulVariant {
    if (this.options.matmulVariant) return this.options.matmulVariant;
    if (this.options.matmulTuning !== false) {
      const key = matmulShapeClass(m, n, k, transA, transB);
      const chosen = this.matmulChoices.get(key);
      if (chosen) return chosen;
      if (!this.matmulUntuned.has(key) && this.matmulUntuned.size < 256) this.matmulUntuned.set(key, { M: m, N: n, K: k, transA, transB });
    }
    return this.defaultMatmulVariant(m, n, k, batch, transB, transA);
  }

  /** The per-adapter choice without measurements (`batch`: products in one dispatch, e.g. attention's heads). */
  defaultMatmulVariant(m: number, n: number, k: number, batch = 1, transB = false, transA = false): MatmulVariant {
    const a = this.report.adapter;
    const desc = `${a.description} ${a.device} ${a.architecture} ${a.vendor}`;
    // Workgroup barriers are very slow on CPU Vulkan (lavapipe, SwiftShader): register blocking
    // wins there (bench/matmul.mjs). lavapipe's compiler unrolls the 16x16 block's loops and runs
    // it ~1.6x faster than 8x8 once there are enough 128x128 tiles to keep every core busy;
    // SwiftShader does not unroll them (16x16 runs ~5x slower there), so it keeps 8x8.
    // With 8-lane subgroups (lavapipe), broadcasting op(A) across the lanes needs ~3x fewer
    // per-lane loads per FMA than register16 and ran 1.5-3.5x faster (bench/matmul.mjs).
    // (2026-12-04, 2-core AMD EPYC, idle) the subgroup kernel also ran 1.5-2.5x register on
    // attention's batched 128 x 64 products and on single 64 x 64 to 128 x 128 ones; below about
    // 32 x 32 outputs the two tie (a dispatch costs more than its arithmetic).
    // Its vec4 loads (subgroup4) ran 1.17-1.38x that on op(B) = B^T with K >= 512 (a linear
    // layer's x W^T), 0.97-1.04x at K = 128 and 0.8-1.0x on the other layouts (bench/matmul.mjs,
    // 5-7 rounds, 2026-12-04, same machine); tuneMatmul measures both per shape class.
    // On an AVX-512 EPYC (2 cores, 2026-12-04, 3 rounds) subgroup4tall (8 row groups) ran
    // 1.08-1.12x subgroup4 and 1.4-1.6x subgroup on B^T with K = 1024, and subgroup won at K = 256.
    // Later that evening (same box, 3 interleaved rounds) 8 row groups with scalar loads
    // (subgrouptall) ran 1.06-1.14x subgroup on every A^T B product (a weight's gradient),
    // 1.05-1.28x on A B with N <= 512 and 1.14-1.3x on B^T with K <= 512 (the MLM decoder
    // 294 x 30522 x 128 included), lost 0.84-0.92x on A B with N = 1024, and subgroup4tall led
    // at B^T with K = 1024. Tall blocks (64 rows) need rows: below 128 the 4-group kernel stays.
    if (/llvmpipe|lavapipe/i.test(desc)) {
      if (this.report.subgroupSize === 8) {
        if (m * n * batch < 32 * 32) return 'register';
        if (transB && k >= 1024) return 'subgroup4tall';
        return m >= 128 && (transA || transB || n < 1024) ? 'subgrouptall' : 'subgroup';
      }
      return m >= 128 && n >= 128 && m * n >= 256 * 256 ? 'register16' : 'register';
    }
    if (a.isFallbackAdapter || /swiftshader/i.test(desc)) return 'register';
    // H100 through Dawn/Vulkan (bench/gpu-kit, 2026-11-26): 8x8 register blocking beat the
    // shared-memory tiles from 2048^2 outputs up (10.1 vs 5.6 TFLOPS at n=2048), tied at 1024
    // and lost below. Only measured on NVIDIA, so other GPUs keep the tiles.
    if (/nvidia/i.test(desc) && m * n >= 2048 * 2048) return 'register';
    return m * n >= 64 * 64 && k >= 16 ? 'tiled' : 'register';
  }

  setMatmulVariant(v: MatmulVariant | undefined): void {
    this.options.matmulVariant = v;
  }

  /** A software adapter (lavapipe / llvmpipe, SwiftShader, or one the browser calls a fallback). */
  isCpuAdapter(): boolean {
    const a = this.report.adapter;
    return a.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(`${a.description} ${a.device} ${a.architecture} ${a.vendor}`);
  }

  rowVariant(): RowVariant {
    return this.options.rowVariant ?? (this.isCpuAdapter() ? 'thread' : 'workgroup');
  }

  setRowVariant(v: RowVariant | undefined): void {
    this.options.rowVariant = v;
  }

  attentionVariant(headDim: number): AttentionVariant {
    if (this.options.attentionVariant) return this.options.attentionVariant;
    if (headDim > 128) return 'unfused'; // the fused kernels' per-row arrays hold 128
    // CPU adapters: the fused kernels recompute q k^T in both backward kernels and lose there
    // (bench/attention.mjs, lavapipe, bert-tiny B8 x T128: 11.4 vs 8.6 s per training step), so
    // they keep the matmuls; 'rows' still saves the [B, heads, T, T] activations when forced.
    // GPUs take the tiled kernels, whose memory traffic grows with T, not T^2 (not yet timed on one).
    return this.isCpuAdapter() ? 'unfused' : 'tiled';
  }

  setAttentionVariant(v: AttentionVariant | undefined): void {
    this.options.attentionVariant = v;
  }
}
