export * from './job-queue.js';
export * from './event-bus.js';
export * from './state-store.js';
export * from './llm-provider.js';
export * from './rate-limiter.js';
export * from './control-bus.js';
export * from './flush-log.js';
export * from './spend-ledger.js';
