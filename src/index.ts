// bertgpu: tensors, autograd and WGSL kernels on WebGPU, for the BERT family.
export { init, runtime, hasRuntime, Runtime, defineShader, kernelTimeTable, matmulShapeClass } from './runtime.js';
export type { DType, InitOptions, DeviceReport, MatmulVariant, MatmulShape, Shader, KernelTime } from './runtime.js';
export { Tensor, scope, scopeAsync, noGrad, backward, isGradEnabled, shapeSize } from './tensor.js';
export type { Shape, GradNode } from './tensor.js';
export * from './ops/index.js';
export * from './tokenizers/index.js';
export * from './io/safetensors.js';
export { Module, ModuleList, Linear, Embedding, LayerNorm, Dropout, activation, halfLinearWeights, halfWeights } from './nn/module.js';
export { LoraModel, parseAdapterConfig, type LoraOptions, type AdapterConfig, type PeftTaskType } from './nn/lora.js';
export * from './models/config.js';
export * from './models/bert.js';
export * from './models/tasks.js';
export { runModel, type NamedArrays } from './models/run.js';
export * from './io/pretrained.js';
export * from './finetune/index.js';
export * from './optim/index.js';
export * from './data/index.js';
export { unigramEntropy, nspMajorityAccuracy } from './train/baselines.js';
export { Trainer, datasetSource, type BatchSource, type TrainerOptions, type LogRecord, type EvalRecord } from './train/trainer.js';
export {
  createObjective,
  electraGeneratorConfig,
  OBJECTIVES,
  rate,
  type Count,
  type Objective,
  type ObjectiveName,
  type PretrainingBatch as ObjectiveBatch,
} from './train/objectives.js';
export {
  pipeline,
  loadTaskModel,
  loadTokenizer,
  loadWordPiece,
  fitTokenizer,
  readAdapterFiles,
  taskOfModel,
  maxTokens,
  maskTokenOf,
  fillMask,
  TaskPredictor,
  type PipelineTask,
  type PipelineOptions,
  type PipelineBase,
  type ModelAndTokenizer,
  type TaskModelOptions,
  type TextInput,
  type LabelScore,
  type FillMaskResult,
  type Features,
  type TextClassificationPipeline,
  type TokenClassificationPipeline,
  type QuestionAnsweringPipeline,
  type FillMaskPipeline,
  type FeatureExtractionPipeline,
} from './pipelines.js';
