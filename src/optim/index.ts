// Optimizers and learning-rate schedules.
export * from './adamw.js';
export * from './schedule.js';
