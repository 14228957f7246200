// The op suites that run in headless Chromium (WebGPU on SwiftShader), bundled by scripts/test.mjs.
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
