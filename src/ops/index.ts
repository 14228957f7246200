// Every op, and the helpers autograd needs to accumulate gradients.
import { setGradHelpers } from '../tensor.js';
import { add } from './binary.js';
import { onesLike } from './creation.js';
import { setMulScalar } from './reduce.js';
import { mulScalar } from './unary.js';

setGradHelpers(add, onesLike);
setMulScalar(mulScalar);

export * from './creation.js';
export * from './unary.js';
export * from './binary.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './attention.js';
export * from './layernorm.js';
export * from './residual-layernorm.js';
export * from './bias-gelu.js';
export * from './cast.js';
export * from './qkv-linear.js';
export * from './gather.js';
export * from './dropout.js';
export * from './losses.js';
export * from './sample.js';
