export * from './memory-queue.js';
export * from './memory-state-store.js';
export * from './memory-event-bus.js';
export * from './memory-rate-limiter.js';
export * from './memory-control-bus.js';
export * from './memory-flush-log.js';
export * from './memory-spend-ledger.js';
export * from './memory-execution-admission.js';
