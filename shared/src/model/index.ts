/**
 * The runtime model: statuses, results, errors as stored, usage and spend, events, hot state
 * and the outcomes of its transitions. A leaf: it imports nothing outside this folder, and
 * ports, engine, errors and adapters import it.
 */
export * from './error-codes.js';
export * from './statuses.js';
export * from './usage.js';
export * from './node-result.js';
export * from './events.js';
export * from './hot-state.js';
export type * from './transitions.js';
