// Fine-tuning data, tasks and metrics (pure TypeScript; `batchInputs` makes the GPU tensors).
export * from './data.js';
export * from './encoding.js';
export * from './collate.js';
export * from './qa.js';
export * from './tagging.js';
export * from './tasks.js';
export * from './inputs.js';
export * as metrics from './metrics.js';
export * from './train.js';
export * from './features.js';
export * from './continual.js';
export * from './baselines.js';
export * from './add-words.js';
