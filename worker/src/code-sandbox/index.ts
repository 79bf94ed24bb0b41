/** Code nodes' JavaScript, run in QuickJS (WASM) in a pool of worker threads, bounded. */
export * from './code-sandbox.js';
export type { CodeLogEntry, CodeRunOutcome } from './code-task.js';
