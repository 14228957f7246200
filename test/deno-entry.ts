// The op suites that run under Deno (its own WebGPU, wgpu on lavapipe), bundled by scripts/test.mjs.
import './engine-nn.test.js';
import './engine-core.test.js';
import './optim-adamw.test.js';
import './models-portable.test.js';
import './engine-nan.test.js';
import './engine-misuse.test.js';
import './engine-attention.test.js';
import './engine-fused.test.js';
import './engine-fused-layer.test.js';
import './engine-f16.test.js';
import './engine-amp.test.js';
