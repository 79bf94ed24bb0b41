export * from './task-worker.js';
