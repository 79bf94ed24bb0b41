export * from './keys.js';
export * from './bullmq-queue.js';
export * from './redis-state-store.js';
export * from './redis-event-bus.js';
export * from './redis-rate-limiter.js';
export * from './redis-control-bus.js';
export * from './redis-flush-log.js';
export * from './redis-spend-ledger.js';
