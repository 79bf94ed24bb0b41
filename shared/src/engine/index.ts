export * from './types.js';
export * from './node-policy.js';
export * from './totals.js';
export * from './event-ids.js';
export * from './execution-output.js';
export * from './apply-commit.js';
export * from './apply-control.js';
export * from './spend.js';
