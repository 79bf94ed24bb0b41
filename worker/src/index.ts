/** The worker as a library: what a composition root (the worker's main, the embedded process) starts. */
export { startWorkerRuntime, type WorkerRuntime } from './runtime/index.js';
export type { WorkerDeps } from './deps.js';
export { createProvider } from './providers/index.js';
