import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.log('ADAPTER none');
  process.exit(3);
}
const i = adapter.info;
console.log(`ADAPTER vendor=${i.vendor} arch=${i.architecture} device=${i.device} desc=${i.description} fallback=${!!i.isFallbackAdapter}`);
console.log(`features: ${[...adapter.features].join(' ')}`);
process.exit(/llvmpipe|swiftshader|lavapipe/i.test(i.description + i.device) ? 4 : 0);
