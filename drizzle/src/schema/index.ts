export * from './workspaces.js';
export * from './credentials.js';
export * from './flows.js';
export * from './executions.js';
export * from './pricing.js';
export * from './events.js';
export * from './output-blobs.js';
export * from './tasks.js';
